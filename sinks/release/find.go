package release

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"kforge/datasets"
)

// FindShards lists the shard directories of a build, <buildDir>/shards/*/:
// complete ones carry the DONE marker, missing ones do not (still running,
// failed or killed). Both lists are sorted.
func FindShards(buildDir string) (complete, missing []string, err error) {
	root := filepath.Join(buildDir, "shards")
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("find shards: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if st, err := os.Stat(filepath.Join(dir, datasets.DoneFile)); err == nil && st.Mode().IsRegular() {
			complete = append(complete, dir)
		} else {
			missing = append(missing, dir)
		}
	}
	slices.Sort(complete)
	slices.Sort(missing)
	return complete, missing, nil
}
