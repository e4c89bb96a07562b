package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestKeyIsCanonical(t *testing.T) {
	a := NewKey("llm", map[string]any{"b": 1, "a": 2}, "x")
	b := NewKey("llm", map[string]any{"a": 2, "b": 1}, "x")
	if a != b {
		t.Error("map key order changed the key")
	}
	if NewKey("compile", map[string]any{"a": 2, "b": 1}, "x") == a {
		t.Error("kinds share keys")
	}
	if NewKey("llm", "x", "y") == NewKey("llm", "xy") {
		t.Error("part boundaries are not part of the key")
	}
}

func TestDirCacheRoundTripAndCorruption(t *testing.T) {
	ctx := context.Background()
	c, err := OpenDirCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := NewKey("t", "value")
	if _, ok, _ := c.Get(ctx, k); ok {
		t.Fatal("hit on an empty cache")
	}
	val := bytes.Repeat([]byte("kernel"), 1000)
	if err := c.Put(ctx, k, val); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Get(ctx, k)
	if err != nil || !ok || !bytes.Equal(got, val) {
		t.Fatalf("round trip: ok=%v err=%v", ok, err)
	}
	path := c.path(k)
	raw, _ := os.ReadFile(path)
	cases := map[string][]byte{
		"truncated": raw[:len(raw)-10],
		"flipped":   append(append([]byte{}, raw[:len(raw)-1]...), raw[len(raw)-1]^1),
		"empty":     {},
		"no header": val,
		"extended":  append(append([]byte{}, raw...), 'x'),
	}
	for name, b := range cases {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.Get(ctx, k); ok || err != nil {
			t.Errorf("%s value: ok=%v err=%v, want a miss", name, ok, err)
		}
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("want one file in %s, got %d", filepath.Dir(path), len(entries))
	}
}

func TestDirCacheConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k := NewKey("t", "same")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c, _ := OpenDirCache(dir) // separate handles, as separate processes would have
			v := bytes.Repeat([]byte{byte('a' + i)}, 64<<10)
			if err := c.Put(ctx, k, v); err != nil {
				t.Error(err)
			}
			got, ok, err := c.Get(ctx, k)
			if err != nil || !ok || len(got) != 64<<10 || bytes.Count(got, got[:1]) != len(got) {
				t.Errorf("reader saw a torn value: ok=%v err=%v", ok, err)
			}
		})
	}
	wg.Wait()
}

func TestCachedComputesOnce(t *testing.T) {
	ctx := context.Background()
	c := NewMemCache()
	calls := 0
	fn := func(context.Context) (map[string]int, error) { calls++; return map[string]int{"n": calls}, nil }
	k := NewKey("t", 1)
	v1, hit1, err := Cached(ctx, c, k, fn)
	v2, hit2, _ := Cached(ctx, c, k, fn)
	if err != nil || hit1 || !hit2 || calls != 1 || v1["n"] != 1 || v2["n"] != 1 {
		t.Fatalf("calls=%d hit1=%v hit2=%v v1=%v v2=%v", calls, hit1, hit2, v1, v2)
	}
	// Errors are not cached.
	k2 := NewKey("t", 2)
	_, _, err = Cached(ctx, c, k2, func(context.Context) (int, error) { return 0, errors.New("boom") })
	if err == nil {
		t.Fatal("want error")
	}
	if _, ok, _ := c.Get(ctx, k2); ok {
		t.Error("a failed computation was cached")
	}
	// A value that no longer decodes is a miss.
	c.Put(ctx, k2, []byte("{not json"))
	v, hit, err := Cached(ctx, c, k2, func(context.Context) (int, error) { return 7, nil })
	if err != nil || hit || v != 7 {
		t.Errorf("undecodable value: v=%v hit=%v err=%v", v, hit, err)
	}
}
