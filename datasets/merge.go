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
	"strings"
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
