package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Cache stores the results of expensive steps (model calls, compiles, GPU
// measurements) under content-addressed keys, so a rerun pays only for what
// changed. A corrupt or truncated value must read as a miss, never as a result.
type Cache interface {
	// Get returns the value under key; ok is false on a miss.
	Get(ctx context.Context, key Key) (value []byte, ok bool, err error)
	// Put stores value under key, replacing any old value atomically.
	Put(ctx context.Context, key Key, value []byte) error
}

// Key is a cache key: a kind (a namespace such as "llm" or "compile") and the
// hex SHA-256 of the canonical inputs.
type Key struct {
	Kind string
	Hash string
}

func (k Key) String() string { return k.Kind + "/" + k.Hash }

// NewKey hashes everything that determines a result. Parts are encoded as
// JSON (maps with sorted keys), one per line, after the kind, so the key is
// canonical for plain data.
func NewKey(kind string, parts ...any) Key {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	enc := json.NewEncoder(h)
	for _, p := range parts {
		if err := enc.Encode(p); err != nil {
			panic(fmt.Sprintf("pipeline.NewKey(%s): unencodable part %T: %v", kind, p, err))
		}
	}
	return Key{Kind: kind, Hash: hex.EncodeToString(h.Sum(nil))}
}

// DirCache is a Cache in a directory: one file per value at
// <dir>/<kind>/<hash[:2]>/<hash>, written atomically. Each file holds a magic
// header, the value's length and its SHA-256, so a torn or tampered file is
// detected and read as a miss. Several processes and hosts may share it.
type DirCache struct {
	dir string
}

var cacheMagic = []byte("KFC1")

// OpenDirCache opens (creating) a directory cache.
func OpenDirCache(dir string) (*DirCache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	return &DirCache{dir: dir}, nil
}

// Dir is the cache's root directory.
func (c *DirCache) Dir() string { return c.dir }

func (c *DirCache) path(k Key) string {
	h := k.Hash
	if len(h) < 3 {
		h = "000" + h
	}
	return filepath.Join(c.dir, k.Kind, h[:2], h)
}

// Get implements Cache.
func (c *DirCache) Get(_ context.Context, k Key) ([]byte, bool, error) {
	b, err := os.ReadFile(c.path(k))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache get %s: %w", k, err)
	}
	v, ok := unframe(b)
	return v, ok, nil
}

// Put implements Cache.
func (c *DirCache) Put(_ context.Context, k Key, v []byte) error {
	if err := WriteFileAtomic(c.path(k), frame(v), 0o644); err != nil {
		return fmt.Errorf("cache put %s: %w", k, err)
	}
	return nil
}

func frame(v []byte) []byte {
	sum := sha256.Sum256(v)
	b := make([]byte, 0, len(cacheMagic)+8+len(sum)+len(v))
	b = append(b, cacheMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(v)))
	b = append(b, sum[:]...)
	return append(b, v...)
}

func unframe(b []byte) ([]byte, bool) {
	const head = 4 + 8 + sha256.Size
	if len(b) < head || !bytes.Equal(b[:4], cacheMagic) {
		return nil, false
	}
	n := binary.BigEndian.Uint64(b[4:12])
	v := b[head:]
	if uint64(len(v)) != n {
		return nil, false
	}
	sum := sha256.Sum256(v)
	if !bytes.Equal(sum[:], b[12:head]) {
		return nil, false
	}
	return v, true
}

// MemCache is an in-memory Cache, for tests and one-shot commands.
type MemCache struct {
	mu sync.Mutex
	m  map[Key][]byte
}

// NewMemCache returns an empty in-memory cache.
func NewMemCache() *MemCache { return &MemCache{m: map[Key][]byte{}} }

// Get implements Cache.
func (c *MemCache) Get(_ context.Context, k Key) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return bytes.Clone(v), ok, nil
}

// Put implements Cache.
func (c *MemCache) Put(_ context.Context, k Key, v []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = bytes.Clone(v)
	return nil
}

// Cached returns the JSON value under key, or computes it with fn, stores it and
// returns it. hit says whether the value came from the cache. A value that no
// longer decodes into T is a miss. fn's error is returned as is and nothing is stored.
func Cached[T any](ctx context.Context, c Cache, key Key, fn func(context.Context) (T, error)) (v T, hit bool, err error) {
	if c != nil {
		b, ok, err := c.Get(ctx, key)
		if err != nil {
			return v, false, err
		}
		if ok {
			if err := json.Unmarshal(b, &v); err == nil {
				return v, true, nil
			}
			var zero T
			v = zero
		}
	}
	v, err = fn(ctx)
	if err != nil {
		return v, false, err
	}
	if c != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return v, false, fmt.Errorf("cache encode %s: %w", key, err)
		}
		if err := c.Put(ctx, key, b); err != nil {
			return v, false, err
		}
	}
	return v, false, nil
}
