package hubclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// modelHub is a strict stand-in for the Hub's model routes that ModelFile
// uses: the revision API, the non-recursive tree of a folder, and resolve,
// which redirects LFS content to another host (the CDN), as the Hub does.
type modelHub struct {
	t     *testing.T
	hub   *httptest.Server
	cdn   *httptest.Server
	sha   string
	files map[string][]byte // path -> content; paths ending .json are LFS
	mu    sync.Mutex
	calls []string
}

func newModelHub(t *testing.T) *modelHub {
	m := &modelHub{t: t, sha: strings.Repeat("ab", 20), files: map[string][]byte{
		"tokenizer.json":     []byte(`{"model":{"type":"BPE"}}`),
		"sub/tokenizer.json": []byte(`{"model":{"type":"BPE","sub":true}}`),
		"config.txt":         []byte("regular file"),
	}}
	m.cdn = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.record("cdn " + r.URL.Path)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the token reached the CDN host")
		}
		p := strings.TrimPrefix(r.URL.Path, "/lfs/")
		w.Write(m.files[p])
	}))
	m.hub = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(func() { m.hub.Close(); m.cdn.Close() })
	return m
}

func (m *modelHub) record(s string) { m.mu.Lock(); m.calls = append(m.calls, s); m.mu.Unlock() }

func (m *modelHub) count(prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (m *modelHub) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	m.record(r.Method + " " + p)
	if r.Method != http.MethodGet {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		http.Error(w, `{"error":"Invalid credentials in Authorization header"}`, http.StatusUnauthorized)
		return
	}
	const repo = "/org/tok"
	switch {
	case p == "/api/models"+repo+"/revision/main":
		json.NewEncoder(w).Encode(map[string]string{"sha": m.sha})
	case p == "/api/models"+repo+"/revision/gone":
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, `{"error":"Invalid rev id: gone"}`, http.StatusNotFound)
	case strings.HasPrefix(p, "/api/models"+repo+"/tree/"+m.sha):
		if q := r.URL.Query(); q.Get("recursive") != "false" {
			m.t.Errorf("tree asked recursively: %s", r.URL.RawQuery)
		}
		dir := strings.TrimPrefix(strings.TrimPrefix(p, "/api/models"+repo+"/tree/"+m.sha), "/")
		var out []map[string]any
		for fp, b := range m.files {
			d := ""
			if i := strings.LastIndex(fp, "/"); i >= 0 {
				d = fp[:i]
			}
			if d != dir {
				continue
			}
			e := map[string]any{"type": "file", "path": fp, "oid": "x", "size": len(b)}
			if strings.HasSuffix(fp, ".json") {
				sum := sha256.Sum256(b)
				e["size"] = 134
				e["lfs"] = map[string]any{"oid": hex.EncodeToString(sum[:]), "size": len(b)}
			}
			out = append(out, e)
		}
		json.NewEncoder(w).Encode(out)
	case strings.HasPrefix(p, repo+"/resolve/"+m.sha+"/"):
		fp := strings.TrimPrefix(p, repo+"/resolve/"+m.sha+"/")
		b, ok := m.files[fp]
		switch {
		case !ok:
			http.Error(w, "no file", http.StatusNotFound)
		case strings.HasSuffix(fp, ".json"):
			http.Redirect(w, r, m.cdn.URL+"/lfs/"+fp, http.StatusFound)
		default:
			w.Write(b)
		}
	default:
		m.t.Errorf("unexpected request %s %s", r.Method, p)
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func TestModelFile(t *testing.T) {
	m := newModelHub(t)
	c, err := NewClient(ClientOptions{Endpoint: m.hub.URL, Getenv: func(k string) string {
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
		if b, _ := os.ReadFile(p); string(b) != string(m.files[f]) {
			t.Errorf("%s: got %q", f, b)
		}
		if !strings.Contains(p, m.sha) {
			t.Errorf("%s cached at %s, not under the commit it was read at", f, p)
		}
	}
	// Cached: no second download, at the branch or at the commit.
	before := m.count("cdn ")
	for _, rev := range []string{"main", m.sha} {
		if _, err := c.ModelFile(ctx, "org/tok", rev, "tokenizer.json", cache); err != nil {
			t.Fatal(err)
		}
	}
	if m.count("cdn ") != before {
		t.Errorf("a cached file was downloaded again")
	}
	cache2 := t.TempDir()
	m.mu.Lock()
	good := m.files["tokenizer.json"]
	m.mu.Unlock()
	_ = good
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
	m := newModelHub(t)
	c, err := NewClient(ClientOptions{Endpoint: m.hub.URL, Getenv: func(k string) string {
		return map[string]string{"HF_TOKEN": testToken}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The CDN serves other bytes of the same length than the listing's hash.
	orig := m.files["tokenizer.json"]
	m.cdn.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
