package shards

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"kforge/datasets"
)

// Merge reads complete shard directories together and calls fn with
// the data of one task at a time (its task, variants and verdicts, from
// whichever shard holds them), in task-id order. The order of what fn sees
// therefore depends only on the tasks, never on how they were split into
// shards: a build in N shards and a build in one give the same sequence,
// which is what makes their releases byte-identical. Memory is about
// 2·GOMAXPROCS tasks' data. Each file must be in the canonical order a build
// writes (datasets.ShardData.Sort); a file out of order is an error naming it.
//
// Lines are read on one goroutine, decoded (JSON decoding is most of a
// merge's time) on GOMAXPROCS others, and handed to fn in order on the
// caller's goroutine. A line is read only as far as its key when read, and
// validated whole when decoded, so fn may see the tasks read ahead of a
// broken line before the merge fails with it.
func Merge(dirs []string, fn func(*datasets.ShardData) error) error {
	var streams []*jsonlStream
	defer func() {
		for _, s := range streams {
			s.close()
		}
	}()
	type trio struct{ tasks, variants, verdicts *jsonlStream }
	var shards []trio
	for _, dir := range dirs {
		if !Complete(dir) {
			return notComplete(dir)
		}
		var t trio
		for _, f := range []struct {
			name string
			dst  **jsonlStream
			key  func([]byte) (string, error)
		}{
			{TasksFile, &t.tasks, jsonKey("id")},
			{VariantsFile, &t.variants, jsonKey("task_id")},
			{VerdictsFile, &t.verdicts, jsonKey("task_id")},
		} {
			s, err := openJSONL(filepath.Join(dir, f.name), f.key)
			if err != nil {
				return err
			}
			streams = append(streams, s)
			*f.dst = s
		}
		shards = append(shards, t)
	}

	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *mergeGroup, workers)
	order := make(chan *mergeGroup, 2*workers) // groups in task order, decoded or not
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range jobs {
				g.decode()
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(jobs)
		readErr <- func() error {
			for {
				next, any := "", false
				for _, s := range streams {
					if s.ok && (!any || s.key < next) {
						next, any = s.key, true
					}
				}
				if !any {
					return nil
				}
				g := &mergeGroup{key: next, done: make(chan struct{})}
				for _, t := range shards {
					for _, x := range []struct {
						s   *jsonlStream
						dst *[]rawLine
					}{{t.tasks, &g.tasks}, {t.variants, &g.variants}, {t.verdicts, &g.verdicts}} {
						if err := x.s.takeRaw(next, x.dst); err != nil {
							return err
						}
					}
				}
				select {
				case order <- g:
				case <-stop:
					return nil
				}
				jobs <- g
			}
		}()
	}()
	// However this returns (an error, or a panic in fn), the reader ends
	// and the workers drain before the streams close.
	defer func() {
		close(stop)
		for range order {
		}
		wg.Wait()
	}()
	for g := range order {
		<-g.done
		if g.err != nil {
			return g.err
		}
		if err := fn(&g.data); err != nil {
			return err
		}
	}
	return <-readErr
}

// rawLine is one undecoded line and where it came from.
type rawLine struct {
	raw  []byte
	path string
	line int
}

// mergeGroup is one task's lines from every shard, decoded by a worker
// (done closes when data or err is set).
type mergeGroup struct {
	key                       string // the task id
	tasks, variants, verdicts []rawLine
	data                      datasets.ShardData
	err                       error
	done                      chan struct{}
}

func (g *mergeGroup) decode() {
	defer close(g.done)
	g.err = errors.Join(
		decodeLines(g.key, g.tasks, &g.data.Tasks, func(t *datasets.Task) string { return t.ID }),
		decodeLines(g.key, g.variants, &g.data.Variants, func(v *datasets.Variant) string { return v.TaskID }),
		decodeLines(g.key, g.verdicts, &g.data.Verdicts, func(v *datasets.Verdict) string { return v.TaskID }))
	g.tasks, g.variants, g.verdicts = nil, nil, nil // the raw lines are done with
	if g.err == nil {
		g.data.Sort()
	}
}

// decodeLines decodes lines into out, each of which must belong to the task
// key (a line whose key was read differently, from duplicate keys, is an
// error rather than data under the wrong task).
func decodeLines[T any](key string, lines []rawLine, out *[]T, taskOf func(*T) string) error {
	for _, l := range lines {
		var x T
		if err := json.Unmarshal(l.raw, &x); err != nil {
			return fmt.Errorf("%s:%d: %w", l.path, l.line, err)
		}
		if k := taskOf(&x); k != key {
			return fmt.Errorf("%s:%d: task %q decodes as %q (duplicate keys?)", l.path, l.line, key, k)
		}
		*out = append(*out, x)
	}
	return nil
}

// jsonlStream reads one JSON object per line, keeping the next line and its key.
type jsonlStream struct {
	path string
	f    *os.File
	r    *bufio.Reader
	line int
	key  string
	raw  []byte
	ok   bool
	keyf func([]byte) (string, error)
}

// jsonKey returns a function that reads the string value of one top-level
// key of a JSON object, stopping there: kforge writes the key first or
// second, and decoding (or merely validating) whole lines, which carry the
// code and conversations, made the key cost as much as the line. The line
// is decoded, and so validated, whole when it is taken. A missing key is "".
func jsonKey(name string) func([]byte) (string, error) {
	return func(b []byte) (string, error) {
		dec := json.NewDecoder(bytes.NewReader(b))
		if t, err := dec.Token(); err != nil {
			return "", err
		} else if t != json.Delim('{') {
			return "", fmt.Errorf("want a JSON object, found %v", t)
		}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return "", err
			}
			if k, _ := t.(string); !strings.EqualFold(k, name) {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return "", err
				}
				continue
			}
			var v string
			if err := dec.Decode(&v); err != nil {
				return "", fmt.Errorf("%s: %w", name, err)
			}
			return v, nil
		}
		return "", nil
	}
}

// openJSONL opens a stream. Its buffer is small: a merge holds three streams
// per shard open at once, and a line longer than it is read whole anyway.
func openJSONL(path string, keyf func([]byte) (string, error)) (*jsonlStream, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &jsonlStream{path: path, f: f, r: bufio.NewReaderSize(f, 64<<10), keyf: keyf}
	return s, s.advance()
}

func (s *jsonlStream) close() { s.f.Close() }

// advance reads the next non-empty line, checking that keys never decrease.
func (s *jsonlStream) advance() error {
	prev, had := s.key, s.ok
	for {
		b, err := s.r.ReadBytes('\n')
		if len(b) > 0 || err == nil {
			s.line++
		}
		if len(b) > 0 && b[len(b)-1] == '\n' {
			b = b[:len(b)-1]
		}
		if len(b) == 0 {
			if errors.Is(err, io.EOF) {
				s.ok, s.raw = false, nil
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", s.path, err)
			}
			continue
		}
		key, kerr := s.keyf(b)
		if kerr != nil {
			return fmt.Errorf("%s:%d: %w", s.path, s.line, kerr)
		}
		if had && key < prev {
			return fmt.Errorf("%s:%d: not in canonical order (task %s after %s): was it written by kforge build?", s.path, s.line, key, prev)
		}
		s.key, s.raw, s.ok = key, b, true
		return nil
	}
}

// takeRaw appends every line of s whose key is key to out, undecoded.
func (s *jsonlStream) takeRaw(key string, out *[]rawLine) error {
	for s.ok && s.key == key {
		*out = append(*out, rawLine{raw: s.raw, path: s.path, line: s.line})
		if err := s.advance(); err != nil {
			return err
		}
	}
	return nil
}
