package shards

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"kforge/datasets"
	"kforge/pipeline"
)

// Find turns the arguments into complete and missing shard
// directories. A build directory (one holding shards/ and no DONE of its own)
// stands for the shard directories in it.
func Find(args []string) (complete, missing []string, err error) {
	var dirs []string
	for _, a := range args {
		a = filepath.Clean(a)
		fi, err := os.Stat(a)
		if err != nil {
			// A named shard directory that does not exist is a missing
			// shard, not a usage error: its job may have died early.
			if errors.Is(err, os.ErrNotExist) && shardNameRe.MatchString(filepath.Base(a)) {
				dirs = append(dirs, a)
				continue
			}
			return nil, nil, fmt.Errorf("shard directory: %w", err)
		}
		if !fi.IsDir() {
			return nil, nil, fmt.Errorf("%s is not a directory", a)
		}
		if isBuildDir(a) {
			found, err := buildShards(a)
			if err != nil {
				return nil, nil, err
			}
			dirs = append(dirs, found...)
			continue
		}
		dirs = append(dirs, a)
	}
	complete, missing, err = checkShards(dirs)
	if err != nil {
		return nil, nil, err
	}
	if dup := firstDup(complete); dup != "" {
		return nil, nil, fmt.Errorf("shard %s is given twice", dup)
	}
	// The release must not depend on the order shards were named in.
	slices.Sort(complete)
	return complete, missing, nil
}

func isBuildDir(dir string) bool {
	if Complete(dir) {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, "shards"))
	return err == nil && fi.IsDir()
}

// buildShards lists the shard directories of a build directory (or of a
// kforge serve output directory).
func buildShards(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "shards"))
	if err != nil {
		return nil, fmt.Errorf("build directory: %w", err)
	}
	var dirs []string
	for _, e := range ents {
		// I-of-N from build; any other name (serve-<time>-<pid> from kforge
		// serve) counts by its DONE marker. Hidden names are temporary.
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, filepath.Join(dir, "shards", e.Name()))
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("build directory %s has no shard directories under shards/", dir)
	}
	return dirs, nil
}

// shardNameRe matches shard directory names, I-of-N (pipeline.Shard.Name
// writes them zero-padded).
var shardNameRe = regexp.MustCompile(`^([0-9]+)-of-([0-9]+)$`)

// checkShards sorts shard directories into complete (DONE present) and
// missing. Directories named I-of-N must agree on N, and every index 0..N-1
// must be present: an absent index is reported missing, under the folder of
// the others. Directories with other names count by their DONE marker only.
func checkShards(dirs []string) (complete, missing []string, err error) {
	n := 0
	seen := map[int]string{}
	parent := ""
	for _, d := range dirs {
		if Complete(d) {
			complete = append(complete, d)
		} else {
			missing = append(missing, d)
		}
		m := shardNameRe.FindStringSubmatch(filepath.Base(d))
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		switch {
		case c < 1 || i >= c:
			return nil, nil, fmt.Errorf("shard %s: index %d is not below the count %d", d, i, c)
		case n != 0 && c != n:
			return nil, nil, fmt.Errorf("shards of different counts (%d and %d: %s): a task may be in both; merge one build's shards", n, c, d)
		}
		if prev, ok := seen[i]; ok {
			return nil, nil, fmt.Errorf("shard %d/%d is given twice: %s and %s", i, c, prev, d)
		}
		n, seen[i] = c, d
		if parent == "" {
			parent = filepath.Dir(d)
		}
	}
	for i := range n {
		if _, ok := seen[i]; !ok {
			missing = append(missing, filepath.Join(parent, pipeline.Shard{I: i, N: n}.Name()))
		}
	}
	slices.Sort(missing)
	return complete, missing, nil
}

func firstDup(xs []string) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			return s[i]
		}
	}
	return ""
}

// Set is the complete shards of one release, checked to agree.
type Set struct {
	Dirs    []string // sorted
	Lineage *Lineage // the shards' common lineage; nil when they carry none
	Stats   *pipeline.Stats
	// Failures are the shards' failed items and unreadable sources, in
	// canonical order; a source unreadable in several shards is one failure.
	Failures []datasets.Failure
}

// Check reads complete shard directories for a release: each must be
// complete with readable stats, and all must agree on their lineage.
func Check(dirs []string) (*Set, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no shards to build from")
	}
	s := &Set{Dirs: slices.Compact(slices.Sorted(slices.Values(dirs))), Stats: pipeline.NewStats()}
	for _, d := range s.Dirs {
		if !Complete(d) {
			return nil, notComplete(d)
		}
		st, err := ReadStats(d)
		if err != nil {
			return nil, err
		}
		s.Stats.Merge(st.Snapshot())
		fs, err := ReadFailures(d)
		if err != nil {
			return nil, err
		}
		s.Failures = append(s.Failures, fs...)
	}
	datasets.SortFailures(s.Failures)
	// Every shard mines every source: a source unreadable in several shards
	// is one failure.
	s.Failures = slices.CompactFunc(s.Failures, func(x, y datasets.Failure) bool { return x == y })
	var err error
	if s.Lineage, err = Agree(s.Dirs); err != nil {
		return nil, err
	}
	return s, nil
}
