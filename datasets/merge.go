package datasets

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
)

// MergeShards reads complete shard directories together and calls fn with
// the data of one task at a time (its task, variants and verdicts, from
// whichever shard holds them), in task-id order. The order of what fn sees
// therefore depends only on the tasks, never on how they were split into
// shards: a build in N shards and a build in one give the same sequence,
// which is what makes their releases byte-identical. Memory is a few tasks'
// data per shard. Each file must be in the canonical order a build writes
// (ShardData.Sort); a file out of order is an error naming it.
//
// Lines are read on one goroutine, decoded (JSON decoding is most of a
// merge's time) on GOMAXPROCS others, and handed to fn in order on the
// caller's goroutine.
func MergeShards(dirs []string, fn func(*ShardData) error) error {
	var streams []*jsonlStream
	defer func() {
		for _, s := range streams {
			s.close()
		}
	}()
	type trio struct{ tasks, variants, verdicts *jsonlStream }
	var shards []trio
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, DoneFile)); err != nil {
			return fmt.Errorf("shard %s is not complete (no %s marker)", dir, DoneFile)
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
				g := &mergeGroup{done: make(chan struct{})}
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
	finish := func(err error) error {
		close(stop)
		for range order { // let the reader end; the workers drain
		}
		wg.Wait()
		return err
	}
	for g := range order {
		<-g.done
		if g.err != nil {
			return finish(g.err)
		}
		if err := fn(&g.data); err != nil {
			return finish(err)
		}
	}
	wg.Wait()
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
	tasks, variants, verdicts []rawLine
	data                      ShardData
	err                       error
	done                      chan struct{}
}

func (g *mergeGroup) decode() {
	defer close(g.done)
	if g.err = decodeLines(g.tasks, &g.data.Tasks); g.err != nil {
		return
	}
	if g.err = decodeLines(g.variants, &g.data.Variants); g.err != nil {
		return
	}
	if g.err = decodeLines(g.verdicts, &g.data.Verdicts); g.err != nil {
		return
	}
	g.data.Sort()
}

// decodeLines decodes lines into out.
func decodeLines[T any](lines []rawLine, out *[]T) error {
	for _, l := range lines {
		var x T
		if err := json.Unmarshal(l.raw, &x); err != nil {
			return fmt.Errorf("%s:%d: %w", l.path, l.line, err)
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
