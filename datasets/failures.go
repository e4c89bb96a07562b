package datasets

import (
	"cmp"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
)

// FailuresFile lists a shard's failed items, one Failure a line: what the
// run could not judge (a source it could not read, a request that kept
// failing, a crashed compiler). Absent or empty when nothing failed.
const FailuresFile = "failures.jsonl"

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

// ReadFailures reads a shard's failures; a shard without the file has none.
func ReadFailures(dir string) ([]Failure, error) {
	out, err := ReadJSONL[Failure](filepath.Join(dir, FailuresFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return out, err
}
