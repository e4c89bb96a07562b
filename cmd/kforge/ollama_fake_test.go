package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeOllama is a scripted model server speaking the part of Ollama's API
// that kforge uses: POST /api/chat (streamed NDJSON or one JSON object),
// POST /api/show, GET /api/tags, POST /api/pull, GET /api/version. It checks
// requests as the real server does (method, JSON body, known model, message
// roles) and answers a chat with answer(prompt, seed), so its answers depend
// only on the request: two builds asking the same get the same.
type fakeOllama struct {
	model  string                               // the one model it has, e.g. "fake-coder:1b"
	answer func(prompt string, seed int) string // the assistant's content
	chats  atomic.Int64                         // chat requests answered
	delay  time.Duration                        // before each chat answer, like a real model's latency
	// fault, when set, is asked before each chat is answered; true fails
	// the request with a 500 (fault injection: a server that falls over).
	fault func(prompt string, seed int) bool
	srv   *httptest.Server
}

func newFakeOllama(t testing.TB, model string, answer func(string, int) string) *fakeOllama {
	f := &fakeOllama{model: model, answer: answer}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/chat", f.chat)
	mux.HandleFunc("/api/show", f.show)
	mux.HandleFunc("/api/tags", f.tags)
	mux.HandleFunc("/api/pull", f.pull)
	mux.HandleFunc("/api/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON200(w, map[string]string{"version": "0.12.6"})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the server's address, for model.host.
func (f *fakeOllama) URL() string { return f.srv.URL }

func ollamaError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON200(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

// known reports whether name is the server's model; like Ollama, a name
// without a tag means ":latest".
func (f *fakeOllama) known(name string) bool {
	norm := func(s string) string {
		if !strings.Contains(s[strings.LastIndex(s, "/")+1:], ":") {
			return s + ":latest"
		}
		return s
	}
	return name != "" && norm(name) == norm(f.model)
}

// decode reads a POST JSON body strictly enough to catch client bugs.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Method != http.MethodPost {
		ollamaError(w, http.StatusMethodNotAllowed, "method not allowed")
		return false
	}
	b, err := io.ReadAll(r.Body)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		ollamaError(w, http.StatusBadRequest, "missing request body")
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		ollamaError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

type fakeChatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role     string `json:"role"`
		Content  string `json:"content"`
		Thinking string `json:"thinking"`
	} `json:"messages"`
	Stream  *bool           `json:"stream"`
	Format  json.RawMessage `json:"format"`
	Options map[string]any  `json:"options"`
	Think   json.RawMessage `json:"think"`
}

func (f *fakeOllama) chat(w http.ResponseWriter, r *http.Request) {
	var req fakeChatRequest
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.Model == "":
		ollamaError(w, http.StatusBadRequest, "model is required")
		return
	case !f.known(req.Model):
		ollamaError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
		return
	case len(req.Messages) == 0:
		// The real server answers an empty chat with a load-only response;
		// kforge never means to send one.
		ollamaError(w, http.StatusBadRequest, "no messages")
		return
	}
	prompt := ""
	for _, m := range req.Messages {
		switch m.Role {
		case "system", "user", "assistant", "tool":
		default:
			ollamaError(w, http.StatusBadRequest, fmt.Sprintf("invalid role %q", m.Role))
			return
		}
		if m.Role == "user" {
			prompt = m.Content
		}
	}
	if prompt == "" {
		ollamaError(w, http.StatusBadRequest, "no user message")
		return
	}
	seed := 0
	if s, ok := req.Options["seed"]; ok {
		n, ok := s.(float64)
		if !ok || n != float64(int(n)) {
			ollamaError(w, http.StatusBadRequest, fmt.Sprintf("option seed: %v is not an integer", s))
			return
		}
		seed = int(n)
	}
	for _, k := range []string{"temperature", "top_p", "num_ctx", "num_predict"} {
		if v, ok := req.Options[k]; ok {
			if _, isNum := v.(float64); !isNum {
				ollamaError(w, http.StatusBadRequest, fmt.Sprintf("option %s: %v is not a number", k, v))
				return
			}
		}
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.fault != nil && f.fault(prompt, seed) {
		ollamaError(w, http.StatusInternalServerError, "injected fault")
		return
	}
	f.chats.Add(1)
	content := f.answer(prompt, seed)
	final := map[string]any{
		"model": req.Model, "created_at": "2026-01-01T00:00:00Z", "done": true, "done_reason": "stop",
		"total_duration": 1000000, "load_duration": 1000, "prompt_eval_count": len(prompt) / 4,
		"prompt_eval_duration": 1000, "eval_count": len(content) / 4, "eval_duration": 1000,
	}
	if req.Stream != nil && !*req.Stream {
		final["message"] = map[string]string{"role": "assistant", "content": content}
		writeJSON200(w, final)
		return
	}
	// Streamed: the content in chunks, then a done object with the counts.
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for len(content) > 0 {
		n := min(len(content), 64)
		enc.Encode(map[string]any{"model": req.Model, "created_at": "2026-01-01T00:00:00Z",
			"message": map[string]string{"role": "assistant", "content": content[:n]}, "done": false})
		content = content[n:]
	}
	final["message"] = map[string]string{"role": "assistant", "content": ""}
	enc.Encode(final)
}

func (f *fakeOllama) show(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
		Name  string `json:"name"` // the older spelling
	}
	if !decode(w, r, &req) {
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	if !f.known(name) {
		ollamaError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", name))
		return
	}
	writeJSON200(w, map[string]any{
		"modelfile":    "FROM fake\n",
		"parameters":   "temperature 0.7",
		"template":     "{{ .Prompt }}",
		"details":      map[string]any{"format": "gguf", "family": "fake", "parameter_size": "1B", "quantization_level": "Q8_0"},
		"model_info":   map[string]any{"general.architecture": "fake"},
		"capabilities": []string{"completion"},
	})
}

func (f *fakeOllama) tags(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		ollamaError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	writeJSON200(w, map[string]any{"models": []map[string]any{{
		"name": f.model, "model": f.model, "modified_at": "2026-01-01T00:00:00Z", "size": 1 << 30,
		"digest":  "sha256:" + strings.Repeat("ab", 32),
		"details": map[string]any{"format": "gguf", "family": "fake", "parameter_size": "1B", "quantization_level": "Q8_0"},
	}}})
}

func (f *fakeOllama) pull(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
		Name  string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	if !f.known(name) {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]string{"error": "pull model manifest: file does not exist"})
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"status": "success"})
}

// The fake must refuse what the real server refuses, or a client bug would
// pass the end-to-end test.
func TestFakeOllamaContract(t *testing.T) {
	f := newFakeOllama(t, "fake-coder:1b", func(p string, seed int) string { return fmt.Sprintf("seed %d: %s", seed, p) })
	post := func(path, body string) (int, string) {
		resp, err := http.Post(f.URL()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, path, body string
		code             int
		has              string
	}{
		{"non-streamed chat", "/api/chat", `{"model":"fake-coder:1b","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],"stream":false,"options":{"seed":3,"temperature":0.7}}`, 200, `"content":"seed 3: hi"`},
		{"streamed by default", "/api/chat", `{"model":"fake-coder:1b","messages":[{"role":"user","content":"hi"}]}`, 200, `"done":true`},
		{"unknown model", "/api/chat", `{"model":"other","messages":[{"role":"user","content":"hi"}]}`, 404, "not found"},
		{"no model", "/api/chat", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model is required"},
		{"bad role", "/api/chat", `{"model":"fake-coder:1b","messages":[{"role":"robot","content":"hi"}]}`, 400, "invalid role"},
		{"no messages", "/api/chat", `{"model":"fake-coder:1b","messages":[]}`, 400, "no messages"},
		{"bad json", "/api/chat", `{"model":`, 400, "error"},
		{"float seed", "/api/chat", `{"model":"fake-coder:1b","messages":[{"role":"user","content":"hi"}],"options":{"seed":1.5}}`, 400, "seed"},
		{"show", "/api/show", `{"model":"fake-coder:1b"}`, 200, `"family":"fake"`},
		{"show unknown", "/api/show", `{"model":"nope"}`, 404, "not found"},
		{"pull unknown", "/api/pull", `{"model":"nope"}`, 500, "file does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.has) {
				t.Fatalf("%s %s: %d %s; want %d with %q", tc.path, tc.body, code, body, tc.code, tc.has)
			}
		})
	}
	// "fake-coder" means fake-coder:latest, which the server lacks.
	_, body := post("/api/chat", `{"model":"fake-coder","messages":[{"role":"user","content":"`+strings.Repeat("x", 200)+`"}],"stream":true,"options":{"seed":1}}`)
	if !strings.Contains(body, "not found") {
		t.Fatalf("untagged name matched a tagged model: %s", body)
	}
	// A streamed answer reassembles to the whole content.
	_, body = post("/api/chat", `{"model":"fake-coder:1b","messages":[{"role":"user","content":"`+strings.Repeat("x", 200)+`"}],"options":{"seed":1}}`)
	var got strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		var chunk struct {
			Message struct{ Content string } `json:"message"`
		}
		if err := json.Unmarshal([]byte(line), &chunk); err != nil {
			t.Fatalf("stream line %q: %v", line, err)
		}
		got.WriteString(chunk.Message.Content)
	}
	if want := "seed 1: " + strings.Repeat("x", 200); got.String() != want {
		t.Fatalf("stream reassembles to %q", got.String())
	}
	resp, err := http.Get(f.URL() + "/api/chat")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /api/chat: %d", resp.StatusCode)
	}
	if n := f.chats.Load(); n != 3 {
		t.Fatalf("%d chats counted, want 3 (only the answered ones)", n)
	}
}
