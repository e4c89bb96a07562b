// Package hubtest is a strict stand-in for the Hugging Face Hub's model
// file routes, for tests of code that downloads a model's files (a
// tokenizer.json) through hubclient.
package hubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// ModelHub is a strict stand-in for the Hub's model routes that ModelFile
// uses: the revision API, the non-recursive tree of a folder, and resolve,
// which redirects LFS content to another host (the CDN), as the Hub does.
type ModelHub struct {
	t     *testing.T
	token string
	Hub   *httptest.Server  // the Hub's API and resolve routes
	CDN   *httptest.Server  // where LFS content is redirected
	SHA   string            // the commit main points at
	Files map[string][]byte // path -> content; paths ending .json are LFS
	mu    sync.Mutex
	calls []string
}

// NewModelHub serves repository org/tok (to requests with token, when
// token is not empty) with three files (two LFS JSON
// files, one regular) at commit SHA; the server is closed with the test.
func NewModelHub(t *testing.T, token string) *ModelHub {
	m := &ModelHub{t: t, token: token, SHA: strings.Repeat("ab", 20), Files: map[string][]byte{
		"tokenizer.json":     []byte(`{"model":{"type":"BPE"}}`),
		"sub/tokenizer.json": []byte(`{"model":{"type":"BPE","sub":true}}`),
		"config.txt":         []byte("regular file"),
	}}
	m.CDN = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.record("cdn " + r.URL.Path)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the token reached the CDN host")
		}
		p := strings.TrimPrefix(r.URL.Path, "/lfs/")
		w.Write(m.Files[p])
	}))
	m.Hub = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(func() { m.Hub.Close(); m.CDN.Close() })
	return m
}

func (m *ModelHub) record(s string) { m.mu.Lock(); m.calls = append(m.calls, s); m.mu.Unlock() }

// Count is how many requests so far start with prefix ("cdn ", "GET /api/…").
func (m *ModelHub) Count(prefix string) int {
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

func (m *ModelHub) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	m.record(r.Method + " " + p)
	if r.Method != http.MethodGet {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if m.token != "" && r.Header.Get("Authorization") != "Bearer "+m.token {
		http.Error(w, `{"error":"Invalid credentials in Authorization header"}`, http.StatusUnauthorized)
		return
	}
	const repo = "/org/tok"
	switch {
	case p == "/api/models"+repo+"/revision/main":
		json.NewEncoder(w).Encode(map[string]string{"sha": m.SHA})
	case p == "/api/models"+repo+"/revision/gone":
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, `{"error":"Invalid rev id: gone"}`, http.StatusNotFound)
	case strings.HasPrefix(p, "/api/models"+repo+"/tree/"+m.SHA):
		if q := r.URL.Query(); q.Get("recursive") != "false" {
			m.t.Errorf("tree asked recursively: %s", r.URL.RawQuery)
		}
		dir := strings.TrimPrefix(strings.TrimPrefix(p, "/api/models"+repo+"/tree/"+m.SHA), "/")
		var out []map[string]any
		for fp, b := range m.Files {
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
	case strings.HasPrefix(p, repo+"/resolve/"+m.SHA+"/"):
		fp := strings.TrimPrefix(p, repo+"/resolve/"+m.SHA+"/")
		b, ok := m.Files[fp]
		switch {
		case !ok:
			http.Error(w, "no file", http.StatusNotFound)
		case strings.HasSuffix(fp, ".json"):
			http.Redirect(w, r, m.CDN.URL+"/lfs/"+fp, http.StatusFound)
		default:
			w.Write(b)
		}
	default:
		m.t.Errorf("unexpected request %s %s", r.Method, p)
		http.Error(w, "not found", http.StatusNotFound)
	}
}
