package hubclient

import (
	"bytes"
	"context"
	"io/fs"
	"kforge/internal/hubclient/hubtest"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestModelFile(t *testing.T) {
	m := hubtest.NewModelHub(t, testToken)
	c, err := NewClient(ClientOptions{Endpoint: m.Hub.URL, Getenv: func(k string) string {
		return map[string]string{"HF_TOKEN": testToken}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cache := context.Background(), t.TempDir()
	for _, f := range []string{"tokenizer.json", "sub/tokenizer.json", "config.txt"} {
		p, err := c.ModelFile(ctx, "org/tok", "main", f, cache)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if b, _ := os.ReadFile(p); string(b) != string(m.Files[f]) {
			t.Errorf("%s: got %q", f, b)
		}
		if !strings.Contains(p, m.SHA) {
			t.Errorf("%s cached at %s, not under the commit it was read at", f, p)
		}
	}
	// Cached: no second download, at the branch or at the commit.
	before := m.Count("cdn ")
	for _, rev := range []string{"main", m.SHA} {
		if _, err := c.ModelFile(ctx, "org/tok", rev, "tokenizer.json", cache); err != nil {
			t.Fatal(err)
		}
	}
	if m.Count("cdn ") != before {
		t.Errorf("a cached file was downloaded again")
	}
	cache2 := t.TempDir()
	for _, c2 := range []struct{ rev, file, want string }{
		{"gone", "tokenizer.json", "not found"},
		{"main", "missing.json", "no file missing.json"},
		{"main", "../etc/passwd", "relative path"},
		{"main", "/abs", "relative path"},
	} {
		if _, err := c.ModelFile(ctx, "org/tok", c2.rev, c2.file, cache2); err == nil || !strings.Contains(err.Error(), c2.want) {
			t.Errorf("%s@%s: err %v, want %q", c2.file, c2.rev, err, c2.want)
		}
	}
}

// TestModelFileChecksLFSHash: content that does not match the LFS sha256
// the listing gave is refused and nothing is left in the cache.
func TestModelFileChecksLFSHash(t *testing.T) {
	m := hubtest.NewModelHub(t, testToken)
	c, err := NewClient(ClientOptions{Endpoint: m.Hub.URL, Getenv: func(k string) string {
		return map[string]string{"HF_TOKEN": testToken}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The CDN serves other bytes of the same length than the listing's hash.
	orig := m.Files["tokenizer.json"]
	m.CDN.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", len(orig))))
	})
	cache := t.TempDir()
	if _, err := c.ModelFile(context.Background(), "org/tok", "main", "tokenizer.json", cache); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("err %v, want a sha256 mismatch", err)
	}
	var left []string
	filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("cache keeps %v after a failed download", left)
	}
}

// TestModelFileStopsAtTheListedSize: a host that sends more than the
// listing said is cut off at the listed size plus one byte, so it cannot
// fill the disk; nothing is kept.
func TestModelFileStopsAtTheListedSize(t *testing.T) {
	m := hubtest.NewModelHub(t, testToken)
	c, err := NewClient(ClientOptions{Endpoint: m.Hub.URL, Getenv: func(k string) string {
		return map[string]string{"HF_TOKEN": testToken}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64
	m.CDN.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1<<16)
		for range 1 << 10 { // up to 64 MiB, far over the listed size
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	cache := t.TempDir()
	_, err = c.ModelFile(context.Background(), "org/tok", "main", "tokenizer.json", cache)
	if err == nil || !strings.Contains(err.Error(), "want") {
		t.Fatalf("err %v, want a size mismatch", err)
	}
	var kept int64
	filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if st, err := d.Info(); err == nil {
				kept += st.Size()
			}
		}
		return nil
	})
	if kept != 0 {
		t.Errorf("%d bytes left in the cache", kept)
	}
	if got := written.Load(); got >= 64<<20 {
		t.Errorf("the client read all %d bytes the host sent", got)
	}
}
