// Package decontam keeps evaluation code out of a release: it indexes every
// token n-gram (13 by default) of configured evaluation sets and flags any
// candidate sharing one of them.
package decontam

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"kforge/internal/parquetrows"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"kforge/filters/dedup"
)

// maxFileBytes bounds one code file read from an evaluation directory.
const maxFileBytes = 16 << 20

// Index holds the n-gram hashes of the evaluation sets.
type Index struct {
	n     int
	grams map[uint64]struct{}
	// Texts is the number of evaluation texts indexed.
	Texts int
}

// Load indexes the evaluation sets at paths: JSONL files (every string value
// of every object), Parquet files (every string value of every row) or
// directories (every text file inside, recursively). n is the n-gram length
// in tokens. No paths gives an empty index that flags nothing.
func Load(ctx context.Context, paths []string, n int) (*Index, error) {
	if n <= 0 {
		n = 13
	}
	ix := &Index{n: n, grams: map[uint64]struct{}{}}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("decontamination set: %w", err)
		}
		switch {
		case st.IsDir():
			err = filepath.WalkDir(p, func(path string, de fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if de.IsDir() || !de.Type().IsRegular() {
					return nil
				}
				return ix.addFile(path)
			})
		default:
			err = ix.addFile(p)
		}
		if err != nil {
			return nil, fmt.Errorf("decontamination set %s: %w", p, err)
		}
	}
	return ix, nil
}

func (ix *Index) addFile(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".json":
		return ix.addJSONL(path)
	case ".parquet":
		return ix.addParquet(path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() > maxFileBytes {
		return nil // not source code
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !utf8.Valid(b) || slices.Contains(b, 0) {
		return nil // binary
	}
	ix.Add(string(b))
	return nil
}

func (ix *Index) addJSONL(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	for line := 1; ; line++ {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: value %d: %w", path, line, err)
		}
		ix.addStrings(v)
	}
}

func (ix *Index) addParquet(path string) error {
	return parquetrows.Each(context.Background(), path, func(row map[string]any) error {
		ix.addStrings(row)
		return nil
	})
}

// addStrings indexes every string inside a decoded JSON or Parquet value.
func (ix *Index) addStrings(v any) {
	switch x := v.(type) {
	case string:
		ix.Add(x)
	case []byte:
		if utf8.Valid(x) {
			ix.Add(string(x))
		}
	case []any:
		for _, e := range x {
			ix.addStrings(e)
		}
	case map[string]any:
		for _, e := range x {
			ix.addStrings(e)
		}
	}
}

// Add indexes one evaluation text. Texts shorter than n tokens are ignored:
// they are too short to prove a leak.
func (ix *Index) Add(text string) {
	toks := dedup.Tokens(text)
	if len(toks) < ix.n {
		return
	}
	ix.Texts++
	for _, h := range dedup.NGramHashes(toks, ix.n) {
		ix.grams[h] = struct{}{}
	}
}

// Len is the number of distinct n-grams indexed.
func (ix *Index) Len() int { return len(ix.grams) }

// Contaminated reports whether code shares an n-gram with an evaluation set.
func (ix *Index) Contaminated(code string) bool {
	if len(ix.grams) == 0 {
		return false
	}
	toks := dedup.Tokens(code)
	if len(toks) < ix.n {
		return false
	}
	for _, h := range dedup.NGramHashes(toks, ix.n) {
		if _, ok := ix.grams[h]; ok {
			return true
		}
	}
	return false
}
