package serve

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"kforge/datasets"
	"kforge/pipeline"
	"kforge/shards"
)

// JournalFile is the append-only record of a serve shard: one line per
// task (first use) and per finished episode, synced as written, so a killed
// server loses no finished episode; the shard's canonical files are
// rewritten from it.
const JournalFile = "episodes.jsonl"

// Episode is one recorded episode: its task, and per turn the candidate
// (variant, whose messages are the whole conversation up to its answer) and
// its verdict (whose Extra holds the reward and its rule).
type Episode struct {
	ID       string             `json:"episode_id"`
	TaskID   string             `json:"task_id"`
	Variants []datasets.Variant `json:"variants"`
	Verdicts []datasets.Verdict `json:"verdicts"`
	// End says why it ended: done, reset, closed, expired, drained.
	End string `json:"end"`
}

type journalLine struct {
	Task    *datasets.Task `json:"task,omitempty"`
	Episode *Episode       `json:"episode,omitempty"`
}

// Recorder appends episodes to one shard directory.
type Recorder struct {
	dir     string
	lineage *shards.Lineage

	mu       sync.Mutex
	journal  *os.File
	tasks    map[string]datasets.Task
	data     datasets.ShardData
	episodes int64
	dirty    bool
}

// OpenRecorder opens (or creates) the shard directory dir. An existing
// journal there is read back first, so episodes recorded by an earlier run
// are kept. The shard's files are package shards' (build's format).
func OpenRecorder(dir string, lineage *shards.Lineage) (*Recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Recorder{dir: dir, lineage: lineage, tasks: map[string]datasets.Task{}}
	path := filepath.Join(dir, JournalFile)
	if err := r.load(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	r.journal = f
	return r, nil
}

// load reads a journal back. A torn last line (a kill mid-write) is
// dropped; any other bad line is an error naming it.
func (r *Recorder) load(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var bad error
	for n := 1; sc.Scan(); n++ {
		if bad != nil {
			return bad
		}
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			bad = fmt.Errorf("%s:%d: %w", path, n, err)
			continue
		}
		r.apply(l)
	}
	r.dirty = r.episodes > 0
	return sc.Err()
}

func (r *Recorder) apply(l journalLine) {
	if l.Task != nil {
		if _, ok := r.tasks[l.Task.ID]; !ok {
			r.tasks[l.Task.ID] = *l.Task
			r.data.Tasks = append(r.data.Tasks, *l.Task)
		}
	}
	if e := l.Episode; e != nil {
		r.data.Variants = append(r.data.Variants, e.Variants...)
		r.data.Verdicts = append(r.data.Verdicts, e.Verdicts...)
		r.episodes++
	}
}

func (r *Recorder) write(l journalLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := r.journal.Write(append(b, '\n')); err != nil {
		return err
	}
	r.apply(l)
	return nil
}

// Record appends an episode (with its task the first time) to the journal
// and syncs it. An episode without a judged turn is not recorded.
func (r *Recorder) Record(t *datasets.Task, e *Episode) error {
	if len(e.Variants) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.journal == nil {
		return errors.New("recorder closed")
	}
	if _, ok := r.tasks[t.ID]; !ok {
		if err := r.write(journalLine{Task: t}); err != nil {
			return fmt.Errorf("record: %w", err)
		}
	}
	if err := r.write(journalLine{Episode: e}); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	r.dirty = true
	return r.journal.Sync()
}

// Episodes is the number of episodes recorded.
func (r *Recorder) Episodes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.episodes
}

// Dir is the shard directory.
func (r *Recorder) Dir() string { return r.dir }

// Flush writes the shard's files from everything recorded, when anything
// changed since the last flush: after it the shard is complete (DONE) and
// `kforge export` reads it.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.dirty {
		return nil
	}
	d := datasets.ShardData{Tasks: slices.Clone(r.data.Tasks), Variants: slices.Clone(r.data.Variants), Verdicts: slices.Clone(r.data.Verdicts)}
	stats := pipeline.NewStats()
	stats.Add("episodes", r.episodes)
	stats.Add("mined", int64(len(d.Tasks)))
	stats.Add("generated", int64(len(d.Variants)))
	for _, vd := range d.Verdicts {
		if vd.Gate.OK {
			stats.Add("gated", 1)
		}
		if vd.Compile.OK {
			stats.Add("compiled", 1)
		}
		if correct(&vd) || vd.Status == datasets.StatusKept || vd.Status == datasets.StatusQuarantined {
			stats.Add("correct", 1)
		}
		switch vd.Status {
		case datasets.StatusKept:
			stats.Add("faster", 1)
			stats.Add("kept", 1)
		case datasets.StatusQuarantined:
			stats.Add("faster", 1)
			stats.Add("quarantined", 1)
		case datasets.StatusRejected:
			stats.Reject("verify", vd.RejectedBy)
		}
	}
	// DONE goes first so a reader never takes half-rewritten files for a
	// complete shard; shards.Write puts it back last.
	if shards.Complete(r.dir) {
		if err := shards.Reopen(r.dir); err != nil {
			return err
		}
	}
	if err := shards.Write(r.dir, shards.Output{Shard: pipeline.All, Data: &d, Stats: stats.Snapshot(), Lineage: r.lineage}); err != nil {
		return fmt.Errorf("write shard %s: %w", r.dir, err)
	}
	r.dirty = false
	return nil
}

// Close flushes and closes the journal.
func (r *Recorder) Close() error {
	err := r.Flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.journal != nil {
		err = errors.Join(err, r.journal.Close())
		r.journal = nil
	}
	return err
}

// Recover finalises the serve shards under root (OUT/shards) that a killed
// server left with episodes their files do not hold yet: each is rewritten
// from its journal. It returns how many it rewrote.
func Recover(root string, lineage *shards.Lineage) (int, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		dir := filepath.Join(root, e.Name())
		j, err := os.Stat(filepath.Join(dir, JournalFile))
		if !e.IsDir() || err != nil {
			continue
		}
		if d, err := os.Stat(filepath.Join(dir, shards.DoneFile)); err == nil && !d.ModTime().Before(j.ModTime()) {
			continue
		}
		r, err := OpenRecorder(dir, lineage)
		if err != nil {
			return n, err
		}
		r.dirty = true
		if err := r.Close(); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
