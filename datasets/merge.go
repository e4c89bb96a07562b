package datasets

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MergeShards reads complete shard directories together and calls fn with
// the data of one task at a time (its task, variants and verdicts, from
// whichever shard holds them), in task-id order. The order of what fn sees
// therefore depends only on the tasks, never on how they were split into
// shards: a build in N shards and a build in one give the same sequence,
// which is what makes their releases byte-identical. Memory is one task's
// data per shard. Each file must be in the canonical order a build writes
// (ShardData.Sort); a file out of order is an error naming it.
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
			{TasksFile, &t.tasks, keyOf(func(x *struct {
				ID string `json:"id"`
			}) string {
				return x.ID
			})},
			{VariantsFile, &t.variants, keyOf(taskIDOf)},
			{VerdictsFile, &t.verdicts, keyOf(taskIDOf)},
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
		var d ShardData
		for _, t := range shards {
			if err := takeAll(t.tasks, next, &d.Tasks); err != nil {
				return err
			}
			if err := takeAll(t.variants, next, &d.Variants); err != nil {
				return err
			}
			if err := takeAll(t.verdicts, next, &d.Verdicts); err != nil {
				return err
			}
		}
		d.Sort()
		if err := fn(&d); err != nil {
			return err
		}
	}
}

// taskIDOf reads only the task id of a variant or verdict line.
func taskIDOf(x *struct {
	TaskID string `json:"task_id"`
}) string {
	return x.TaskID
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

// keyOf decodes only what a key needs (T is a struct of the key fields).
func keyOf[T any](key func(*T) string) func([]byte) (string, error) {
	return func(b []byte) (string, error) {
		var x T
		if err := json.Unmarshal(b, &x); err != nil {
			return "", err
		}
		return key(&x), nil
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

// takeAll decodes every line of s whose key is key into out.
func takeAll[T any](s *jsonlStream, key string, out *[]T) error {
	for s.ok && s.key == key {
		var x T
		if err := json.Unmarshal(s.raw, &x); err != nil {
			return fmt.Errorf("%s:%d: %w", s.path, s.line, err)
		}
		*out = append(*out, x)
		if err := s.advance(); err != nil {
			return err
		}
	}
	return nil
}
