package datasets

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
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

// Failure is one failed item of a build.
type Failure struct {
	Stage  string `json:"stage"`            // mine, generate, prepare, measure
	Source string `json:"source,omitempty"` // the repository, for a source that could not be read
	TaskID string `json:"task_id,omitempty"`
	Round  int    `json:"round"`
	Sample int    `json:"sample"`
	Error  string `json:"error"`
	// Allowed marks a source the recipe let the build go on without
	// (sources.allow_partial): named, but not counted as a failed item.
	Allowed bool `json:"allowed,omitempty"`
}

// SortFailures puts failures in their canonical order.
func SortFailures(xs []Failure) {
	slices.SortFunc(xs, func(a, b Failure) int {
		return cmp.Or(cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Source, b.Source), cmp.Compare(a.TaskID, b.TaskID),
			cmp.Compare(a.Round, b.Round), cmp.Compare(a.Sample, b.Sample), cmp.Compare(a.Error, b.Error))
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
