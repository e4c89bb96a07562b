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
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
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
// header, the SHA-256 of the key it was stored under, the value's length and
// its SHA-256, so a torn or tampered file, or a file under another key's
// name, is detected and read as a miss. Several processes and hosts may
// share it: a value being computed is computed once (see Lock).
type DirCache struct {
	dir string
	// LeaseTTL is how long a computing process's lock on a key lasts
	// without renewal (default DefaultLeaseTTL); it is renewed every
	// LeaseTTL/4 while the computation runs, so only a dead or frozen
	// holder's lock expires.
	LeaseTTL time.Duration
	// Log receives a warning for each entry read back that was not stored
	// under its key (default: discarded).
	Log *slog.Logger

	mismatches atomic.Int64
}

// cacheMagic starts every cache file. KFC2 binds the value to its key; KFC1
// files (no key) read as misses.
var cacheMagic = []byte("KFC2")

// DefaultLeaseTTL is a key lock's lifetime without renewal.
const DefaultLeaseTTL = time.Minute

// TempMaxAge is the age after which a temporary file in the cache is
// removed whoever wrote it (writers on other hosts cannot be asked).
const TempMaxAge = time.Hour

// OpenDirCache opens (creating) a directory cache. Temporary files of
// writers that were killed are removed (see SweepTemp), at most once every
// few minutes per directory.
func OpenDirCache(dir string) (*DirCache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	c := &DirCache{dir: dir, LeaseTTL: DefaultLeaseTTL, Log: slog.New(slog.DiscardHandler)}
	c.sweep(5 * time.Minute)
	return c, nil
}

// sweep removes dead writers' temporary files and dead holders' expired
// locks, unless a sweep of this directory started less than every ago.
func (c *DirCache) sweep(every time.Duration) {
	mark := filepath.Join(c.dir, ".swept")
	if info, err := os.Stat(mark); err == nil && time.Since(info.ModTime()) < every {
		return
	}
	if err := os.WriteFile(mark, nil, 0o644); err != nil {
		return
	}
	SweepTemp(c.dir, TempMaxAge)
	sweepLocks(c.dir, c.leaseTTL())
}

// Mismatches is how many entries this handle found stored under another
// key's name (each read as a miss).
func (c *DirCache) Mismatches() int64 { return c.mismatches.Load() }

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
	v, st := unframe(k, b)
	if st == frameWrongKey {
		c.mismatches.Add(1)
		if c.Log != nil {
			c.Log.Warn("cache entry stored under another key's name: read as a miss", "key", k.String(), "path", c.path(k))
		}
	}
	return v, st == frameOK, nil
}

// Put implements Cache.
func (c *DirCache) Put(_ context.Context, k Key, v []byte) error {
	if err := WriteFileAtomic(c.path(k), frame(k, v), 0o644); err != nil {
		return fmt.Errorf("cache put %s: %w", k, err)
	}
	return nil
}

// keySum is what a frame holds of its key.
func keySum(k Key) [sha256.Size]byte { return sha256.Sum256([]byte(k.String())) }

func frame(k Key, v []byte) []byte {
	ks := keySum(k)
	sum := sha256.Sum256(v)
	b := make([]byte, 0, len(cacheMagic)+len(ks)+8+len(sum)+len(v))
	b = append(b, cacheMagic...)
	b = append(b, ks[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(v)))
	b = append(b, sum[:]...)
	return append(b, v...)
}

type frameStatus int

const (
	frameOK       frameStatus = iota
	frameCorrupt              // torn, altered, or of another format
	frameWrongKey             // whole and intact, but stored under another key
)

func unframe(k Key, b []byte) ([]byte, frameStatus) {
	const head = 4 + sha256.Size + 8 + sha256.Size
	if len(b) < head || !bytes.Equal(b[:4], cacheMagic) {
		return nil, frameCorrupt
	}
	ks := b[4 : 4+sha256.Size]
	n := binary.BigEndian.Uint64(b[4+sha256.Size : 4+sha256.Size+8])
	v := b[head:]
	if uint64(len(v)) != n {
		return nil, frameCorrupt
	}
	sum := sha256.Sum256(v)
	if !bytes.Equal(sum[:], b[head-sha256.Size:head]) {
		return nil, frameCorrupt
	}
	if want := keySum(k); !bytes.Equal(ks, want[:]) {
		return nil, frameWrongKey
	}
	return v, frameOK
}

// MemCache is an in-memory Cache, for tests and one-shot commands.
type MemCache struct {
	mu    sync.Mutex
	m     map[Key][]byte
	locks map[Key]chan struct{}
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

// ErrNotStored wraps the error of a Put that failed after the value was
// computed (a full disk, say): Cached returns the value with it. The value is
// right, only not kept; a caller may use it (and pay again next run) or fail
// the item.
var ErrNotStored = errors.New("value computed but not stored in the cache")

// Cached returns the JSON value under key, or computes it with fn, stores it and
// returns it. hit says whether the value came from the cache. A value that no
// longer decodes into T is a miss. fn's error is returned as is and nothing is
// stored: fn must return an error, not a value, for anything that depends on
// the machine rather than on the inputs (a full disk, the OOM killer, a
// timeout of the tool, a missing tool), so that it is tried again next time.
//
// When c is a Locker, a miss takes the key's lock and looks again before
// computing, so processes and hosts sharing the cache compute a value once:
// the others wait for it and read it.
func Cached[T any](ctx context.Context, c Cache, key Key, fn func(context.Context) (T, error)) (v T, hit bool, err error) {
	if c == nil {
		v, err = fn(ctx)
		return v, false, err
	}
	get := func() (T, bool, error) {
		var v T
		b, ok, err := c.Get(ctx, key)
		if err != nil || !ok {
			return v, false, err
		}
		if json.Unmarshal(b, &v) != nil {
			var zero T
			return zero, false, nil
		}
		return v, true, nil
	}
	if v, ok, err := get(); err != nil || ok {
		return v, ok, err
	}
	if l, ok := c.(Locker); ok {
		unlock, err := l.Lock(ctx, key)
		if err != nil {
			return v, false, err
		}
		defer unlock()
		if v, ok, err := get(); err != nil || ok {
			return v, ok, err
		}
	}
	v, err = fn(ctx)
	if err != nil {
		return v, false, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v, false, fmt.Errorf("cache encode %s: %w", key, err)
	}
	if err := c.Put(ctx, key, b); err != nil {
		return v, false, fmt.Errorf("%w: %w", ErrNotStored, err)
	}
	return v, false, nil
}

// ErrMachine marks an outcome decided by the machine rather than by the
// inputs: a full disk, the OOM killer or a memory limit of ours, a signal
// from outside, a timeout of the tool itself, a missing tool, a sandbox that
// did not start. Such an outcome is an error, never a cached result: the item
// fails and is tried again next time.
var ErrMachine = errors.New("machine fault (not a result of the inputs; not cached)")
