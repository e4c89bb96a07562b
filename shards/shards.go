// Package shards owns the shard directory: what a build (or one shard of
// it) leaves for the release, and the only code that writes it, finds it,
// says whether it is complete and reads it back.
//
//	OUT/shards/00003-of-00016/  tasks.jsonl variants.jsonl verdicts.jsonl
//	                            lineage.json stats.json failures.jsonl DONE
//
// A shard's files are written in canonical order, each atomically, and DONE
// last: a shard is complete exactly when DONE is there (Complete).
package shards

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"kforge/datasets"
	"kforge/pipeline"
)

// Shard file names.
const (
	TasksFile    = "tasks.jsonl"
	VariantsFile = "variants.jsonl"
	VerdictsFile = "verdicts.jsonl"
	// LineageFile is what the shard was built from (sources and commits,
	// model and digest, toolchain, device, config), for the manifest.
	LineageFile = "lineage.json"
	StatsFile   = "stats.json"
	// FailuresFile lists a shard's failed items, one datasets.Failure a
	// line: what the run could not judge (a source it could not read, a
	// request that kept failing, a crashed compiler). Absent or empty when
	// nothing failed.
	FailuresFile = "failures.jsonl"
	// DoneFile is written last, atomically: its presence means the shard is
	// complete.
	DoneFile = "DONE"
)

// Complete reports whether the shard directory is complete: the one place
// that answers it.
func Complete(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, DoneFile))
	return err == nil && st.Mode().IsRegular()
}

// notComplete is the error for reading a shard that is not complete.
func notComplete(dir string) error {
	return fmt.Errorf("shard %s is not complete (no %s marker)", dir, DoneFile)
}

// Output is everything one shard run writes.
type Output struct {
	Shard    pipeline.Shard
	Data     *datasets.ShardData // sorted into canonical order by Write
	Stats    pipeline.Snapshot
	Lineage  *Lineage
	Failures []datasets.Failure // sorted by Write
}

// Write writes a shard's files in canonical order, each atomically, and the
// DONE marker last: a shard with DONE is complete.
func Write(dir string, o Output) error {
	if o.Data == nil {
		o.Data = &datasets.ShardData{}
	}
	o.Data.Sort()
	datasets.SortFailures(o.Failures)
	files := []struct {
		name  string
		write func(*os.File) error
	}{
		{TasksFile, func(f *os.File) error { return datasets.WriteJSONL(f, o.Data.Tasks) }},
		{VariantsFile, func(f *os.File) error { return datasets.WriteJSONL(f, o.Data.Variants) }},
		{VerdictsFile, func(f *os.File) error { return datasets.WriteJSONL(f, o.Data.Verdicts) }},
		{LineageFile, func(f *os.File) error { return writeJSON(f, o.Lineage) }},
		{StatsFile, func(f *os.File) error { return writeJSON(f, o.Stats) }},
		{FailuresFile, func(f *os.File) error { return datasets.WriteJSONL(f, o.Failures) }},
		{DoneFile, func(f *os.File) error { _, err := f.WriteString(o.Shard.String() + "\n"); return err }},
	}
	for _, f := range files {
		if err := pipeline.WriteAtomic(filepath.Join(dir, f.name), 0o644, f.write); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(f *os.File, v any) error {
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Reopen makes a complete shard incomplete again, so a run builds it anew
// (retrying its failed items from the cache). DONE goes first: a run killed
// while retrying leaves an incomplete shard, which the next run resumes.
func Reopen(dir string) error {
	if err := os.Remove(filepath.Join(dir, DoneFile)); err != nil {
		return fmt.Errorf("reopen shard: %w", err)
	}
	return nil
}

// RemoveTemp removes what killed runs left in a shard directory (the
// temporary files of atomic writes). A shard has one writer at a time.
func RemoveTemp(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if pipeline.IsTempName(e.Name()) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadStats reads a shard's stats.json. A complete shard without it, or with
// a file that does not decode, is an error naming the file.
func ReadStats(dir string) (*pipeline.Stats, error) {
	path := filepath.Join(dir, StatsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("shard stats: %w", err)
	}
	var snap pipeline.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("shard stats %s: %w", path, err)
	}
	st := pipeline.NewStats()
	st.Merge(snap)
	return st, nil
}

// State says whether a shard is complete and, then, how many items failed
// in it (from its stats).
func State(dir string) (done bool, failed int64, err error) {
	if !Complete(dir) {
		return false, 0, nil
	}
	st, err := ReadStats(dir)
	if err != nil {
		return true, 0, err
	}
	return true, st.Failed(), nil
}

// ReadFailures reads a shard's failures; a shard without the file has none.
func ReadFailures(dir string) ([]datasets.Failure, error) {
	out, err := datasets.ReadJSONL[datasets.Failure](filepath.Join(dir, FailuresFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return out, err
}

// Read reads a complete shard directory whole. A shard without its DONE
// marker is refused: its files may be from a run that did not finish.
func Read(dir string) (*datasets.ShardData, error) {
	if !Complete(dir) {
		return nil, notComplete(dir)
	}
	var d datasets.ShardData
	var err error
	if d.Tasks, err = datasets.ReadJSONL[datasets.Task](filepath.Join(dir, TasksFile)); err != nil {
		return nil, err
	}
	if d.Variants, err = datasets.ReadJSONL[datasets.Variant](filepath.Join(dir, VariantsFile)); err != nil {
		return nil, err
	}
	if d.Verdicts, err = datasets.ReadJSONL[datasets.Verdict](filepath.Join(dir, VerdictsFile)); err != nil {
		return nil, err
	}
	return &d, nil
}
