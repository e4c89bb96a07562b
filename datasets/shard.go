package datasets

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// Shard file names. A shard directory holds the outcome of one part of a
// build; DoneFile is written last, atomically, so its presence means the
// shard is complete.
const (
	TasksFile    = "tasks.jsonl"
	VariantsFile = "variants.jsonl"
	VerdictsFile = "verdicts.jsonl"
	StatsFile    = "stats.json"
	DoneFile     = "DONE"
)

// ShardData is everything a shard produced.
type ShardData struct {
	Tasks    []Task
	Variants []Variant
	Verdicts []Verdict
}

// Sort puts the data in its canonical order (by id), so that the files a
// shard writes do not depend on the order work finished in.
func (d *ShardData) Sort() {
	slices.SortFunc(d.Tasks, func(a, b Task) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.Variants, func(a, b Variant) int {
		return cmp.Or(cmp.Compare(a.TaskID, b.TaskID), cmp.Compare(a.Round, b.Round), cmp.Compare(a.Sample, b.Sample), cmp.Compare(a.ID, b.ID))
	})
	slices.SortFunc(d.Verdicts, func(a, b Verdict) int {
		return cmp.Or(cmp.Compare(a.TaskID, b.TaskID), cmp.Compare(a.VariantID, b.VariantID))
	})
}

// WriteJSONL writes one JSON object per line.
func WriteJSONL[T any](w io.Writer, items []T) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range items {
		if err := enc.Encode(&items[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadJSONL reads one JSON object per line; a bad line is an error naming it.
func ReadJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var x T
		if err := json.Unmarshal(b, &x); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, x)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// ReadShard reads a complete shard directory. A shard without its DONE marker
// is refused: its files may be from a run that did not finish.
func ReadShard(dir string) (*ShardData, error) {
	if _, err := os.Stat(filepath.Join(dir, DoneFile)); err != nil {
		return nil, fmt.Errorf("shard %s is not complete (no %s marker)", dir, DoneFile)
	}
	var d ShardData
	var err error
	if d.Tasks, err = ReadJSONL[Task](filepath.Join(dir, TasksFile)); err != nil {
		return nil, err
	}
	if d.Variants, err = ReadJSONL[Variant](filepath.Join(dir, VariantsFile)); err != nil {
		return nil, err
	}
	if d.Verdicts, err = ReadJSONL[Verdict](filepath.Join(dir, VerdictsFile)); err != nil {
		return nil, err
	}
	return &d, nil
}
