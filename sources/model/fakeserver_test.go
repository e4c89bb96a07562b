package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"kforge/datasets"
)

// fakeModel is a model the fake server holds or can pull.
type fakeModel struct {
	Digest string
	Caps   []string // completion, thinking, …
	Layers int      // pull: layers streamed
	Levels bool     // takes think levels ("low", "medium", "high"), as gpt-oss does
}

// reply is one scripted answer of the fake server.
type reply struct {
	Delay      time.Duration // before the answer starts
	Status     int           // an HTTP error answer when not 0 or 200
	Error      string        // its message
	RetryAfter string        // its Retry-After header
	Raw        string        // a 200 body written as is (malformed answers)
	Hang       bool          // never answer; the client must give up
	Truncate   bool          // end the stream (or body) before the final message

	Content          string
	Thinking         string
	DoneReason       string // "stop" when empty
	PromptTokens     int
	CompletionTokens int
	Chunks           int // stream the content in this many pieces
}

// chatCall is a chat request the fake server accepted, in either API.
type chatCall struct {
	API      string // ollama or openai
	Model    string
	Messages []datasets.Message
	Options  map[string]any
	Format   json.RawMessage
	Think    bool
	// ThinkSent says the think switch went out explicitly (either way).
	ThinkSent bool
	Auth      string
	// Header and URL are the request's headers and URL as received.
	Header http.Header
	URL    string
	// Raw is the request body's top-level fields as sent, so tests can
	// assert what went over the wire, absent fields included.
	Raw map[string]json.RawMessage
}

// fakeServer speaks Ollama's /api/chat, /api/show, /api/pull, /api/tags and
// the OpenAI-compatible /v1/models and /v1/chat/completions. It validates
// requests as the real servers do (method, JSON body, field types, model,
// roles, options, format, thinking support), and a little more strictly:
// unknown fields and options, which the real server ignores with a warning,
// are rejected so that a typo in a request cannot go unnoticed.
type fakeServer struct {
	t   testing.TB
	srv *httptest.Server

	mu           sync.Mutex
	models       map[string]fakeModel // on the server, by name with tag
	library      map[string]fakeModel // what a pull can fetch
	faults       []reply              // consumed first by chat calls, in order
	answer       func(chatCall) reply // then this answers
	apiKey       string               // required on /v1 when set
	pullTruncate bool
	chats        []chatCall
	hits         map[string]int // requests per path, rejected ones too
	rejected     []string       // messages of the 4xx answers
	inFlight     int
	maxInFlight  int
	// slots, when set, is the server's parallelism (OLLAMA_NUM_PARALLEL):
	// a chat waits for one of them before it is worked on, as in the real
	// server's queue, and that wait counts in the client's time.
	slots chan struct{}
}

func newFakeServer(t testing.TB) *fakeServer {
	f := &fakeServer{t: t, models: map[string]fakeModel{}, library: map[string]fakeModel{}, hits: map[string]int{}}
	f.answer = defaultAnswer
	mux := http.NewServeMux()
	mux.HandleFunc("/api/chat", f.chat)
	mux.HandleFunc("/api/show", f.show)
	mux.HandleFunc("/api/tags", f.tags)
	mux.HandleFunc("/api/pull", f.pull)
	mux.HandleFunc("/v1/models", f.oaModels)
	mux.HandleFunc("/v1/chat/completions", f.oaChat)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.URL.Path]++
		key := f.apiKey
		f.mu.Unlock()
		// Ollama behind an authenticating proxy: /api wants the key too.
		if key != "" && strings.HasPrefix(r.URL.Path, "/api/") && r.Header.Get("Authorization") != "Bearer "+key {
			f.fail(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// defaultAnswer answers with one code block that depends on the seed, so
// different samples give different candidates.
func defaultAnswer(c chatCall) reply {
	seed, _ := c.Options["seed"].(float64)
	return reply{
		Content:      fmt.Sprintf("Unrolled by four.\n\n```cpp\n__global__ void vadd(const float* a, const float* b, float* c, int n) {\n  // candidate %d\n  int i = blockIdx.x * blockDim.x + threadIdx.x;\n  if (i < n) c[i] = a[i] + b[i];\n}\n```\n", int(seed)),
		PromptTokens: 100 + len(c.Messages), CompletionTokens: 40, Chunks: 3,
	}
}

func (f *fakeServer) addModel(name string, m fakeModel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.models[normalizeOllamaModel(name)] = m
}

func (f *fakeServer) script(rs ...reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, rs...)
}

func (f *fakeServer) setAnswer(fn func(chatCall) reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = fn
}

func (f *fakeServer) calls() []chatCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.chats)
}

func (f *fakeServer) hit(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// next records an accepted call and picks its reply.
func (f *fakeServer) next(c chatCall) reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chats = append(f.chats, c)
	if len(f.faults) > 0 {
		r := f.faults[0]
		f.faults = f.faults[1:]
		return r
	}
	return f.answer(c)
}

// peak is the most chats the server worked on at once.
func (f *fakeServer) peak() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInFlight
}

func (f *fakeServer) enter() func() {
	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}
}

// fail writes an Ollama-style error answer.
func (f *fakeServer) fail(w http.ResponseWriter, code int, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if code >= 400 && code < 500 {
		f.mu.Lock()
		f.rejected = append(f.rejected, msg)
		f.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// setParallel makes the server work on at most n chats at once.
func (f *fakeServer) setParallel(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slots = make(chan struct{}, n)
}

// queue waits for a slot of the server's parallelism; it reports false when
// the client went away first. release gives the slot back.
func (f *fakeServer) queue(r *http.Request) (release func(), ok bool) {
	f.mu.Lock()
	slots := f.slots
	f.mu.Unlock()
	if slots == nil {
		return func() {}, true
	}
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, true
	case <-r.Context().Done():
		return nil, false
	}
}

// decode reads a JSON body into v as the real server's binding does, but
// rejecting unknown fields.
func decode(r *http.Request, v any) error {
	_, err := decodeRaw(r, v)
	return err
}

// decodeRaw is decode that also returns the body's top-level fields.
func decodeRaw(r *http.Request, v any) (map[string]json.RawMessage, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("missing request body")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	return raw, decodeStrict(b, v)
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("invalid character after top-level value")
	}
	return nil
}

// wait sleeps for d or until the client goes away.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// scripted plays the fault parts of a reply (delay, hang, error status,
// raw body); it reports whether the reply was fully answered by them.
func (f *fakeServer) scripted(w http.ResponseWriter, r *http.Request, rep reply, openai bool) bool {
	if rep.Hang {
		<-r.Context().Done()
		return true
	}
	if rep.Delay > 0 && !wait(r, rep.Delay) {
		return true
	}
	if rep.Status != 0 && rep.Status != http.StatusOK {
		if rep.RetryAfter != "" {
			w.Header().Set("Retry-After", rep.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.Status)
		if openai {
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": rep.Error, "type": "server_error", "code": rep.Status}})
		} else {
			json.NewEncoder(w).Encode(map[string]string{"error": rep.Error})
		}
		return true
	}
	if rep.Raw != "" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, rep.Raw)
		return true
	}
	return false
}

var validRoles = []string{"system", "user", "assistant", "tool"}

func (f *fakeServer) chat(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.fail(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
		return
	}
	var req api.ChatRequest
	raw, err := decodeRaw(r, &req)
	if err != nil {
		f.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if req.Model == "" {
		f.fail(w, http.StatusBadRequest, "model is required")
		return
	}
	f.mu.Lock()
	m, ok := f.models[normalizeOllamaModel(req.Model)]
	f.mu.Unlock()
	if !ok {
		f.fail(w, http.StatusNotFound, "model %q not found, try pulling it first", req.Model)
		return
	}
	for _, msg := range req.Messages {
		if !slices.Contains(validRoles, msg.Role) {
			f.fail(w, http.StatusBadRequest, "invalid role %q", msg.Role)
			return
		}
	}
	for k := range req.Options {
		if !optionNames[k] {
			f.fail(w, http.StatusBadRequest, "unknown option %q", k)
			return
		}
	}
	opts := api.DefaultOptions()
	if err := opts.FromMap(req.Options); err != nil {
		f.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if len(req.Format) > 0 && string(req.Format) != `"json"` {
		var schema map[string]any
		if json.Unmarshal(req.Format, &schema) != nil || schema["type"] == nil {
			f.fail(w, http.StatusBadRequest, "invalid format: %s", req.Format)
			return
		}
	}
	if !req.Think.IsValid() {
		f.fail(w, http.StatusBadRequest, "invalid think value")
		return
	}
	if req.Think.IsString() && !m.Levels {
		f.fail(w, http.StatusBadRequest, "think value %q is not supported for this model", req.Think.String())
		return
	}
	think := req.Think != nil && req.Think.Bool()
	if think && !slices.Contains(m.Caps, "thinking") {
		f.fail(w, http.StatusBadRequest, "%q does not support thinking", req.Model)
		return
	}
	if len(req.Messages) == 0 {
		json.NewEncoder(w).Encode(api.ChatResponse{Model: req.Model, CreatedAt: time.Now(), Done: true, DoneReason: "load"})
		return
	}
	c := chatCall{API: "ollama", Model: req.Model, Options: req.Options, Format: req.Format, Think: think, Raw: raw,
		ThinkSent: req.Think != nil, Auth: r.Header.Get("Authorization"), Header: r.Header.Clone(), URL: r.URL.String()}
	for _, msg := range req.Messages {
		c.Messages = append(c.Messages, datasets.Message{Role: msg.Role, Content: msg.Content, Thinking: msg.Thinking})
	}
	release, ok := f.queue(r)
	if !ok {
		return
	}
	defer release()
	defer f.enter()()
	rep := f.next(c)
	if f.scripted(w, r, rep, false) {
		return
	}
	stream := req.Stream == nil || *req.Stream
	done := api.ChatResponse{Model: req.Model, CreatedAt: time.Now(), Done: true, DoneReason: cmpOr(rep.DoneReason, "stop"),
		Metrics: api.Metrics{PromptEvalCount: rep.PromptTokens, EvalCount: rep.CompletionTokens, TotalDuration: time.Millisecond}}
	if !stream {
		if rep.Truncate {
			io.WriteString(w, `{"model":"`+req.Model+`","message":{"role":"assistant","content":"`)
			return
		}
		done.Message = api.Message{Role: "assistant", Content: rep.Content, Thinking: rep.Thinking}
		json.NewEncoder(w).Encode(done)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	if rep.Thinking != "" {
		enc.Encode(api.ChatResponse{Model: req.Model, CreatedAt: time.Now(), Message: api.Message{Role: "assistant", Thinking: rep.Thinking}})
	}
	for _, part := range pieces(rep.Content, max(rep.Chunks, 1)) {
		enc.Encode(api.ChatResponse{Model: req.Model, CreatedAt: time.Now(), Message: api.Message{Role: "assistant", Content: part}})
		w.(http.Flusher).Flush()
	}
	if rep.Truncate {
		return
	}
	done.Message = api.Message{Role: "assistant"}
	enc.Encode(done)
}

// optionNames are the option keys Ollama knows.
var optionNames = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range []string{"num_keep", "seed", "num_predict", "top_k", "top_p", "min_p", "typical_p", "repeat_last_n",
		"temperature", "repeat_penalty", "presence_penalty", "frequency_penalty", "stop",
		"num_ctx", "num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread"} {
		m[k] = true
	}
	return m
}()

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func pieces(s string, n int) []string {
	var out []string
	step := max(1, (len(s)+n-1)/n)
	for len(s) > step {
		out = append(out, s[:step])
		s = s[step:]
	}
	return append(out, s)
}

func (f *fakeServer) show(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.fail(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
		return
	}
	var req api.ShowRequest
	if err := decode(r, &req); err != nil {
		f.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if req.Model == "" {
		f.fail(w, http.StatusBadRequest, "model is required")
		return
	}
	f.mu.Lock()
	m, ok := f.models[normalizeOllamaModel(req.Model)]
	f.mu.Unlock()
	if !ok {
		f.fail(w, http.StatusNotFound, "model '%s' not found", req.Model)
		return
	}
	caps := m.Caps
	if caps == nil {
		caps = []string{"completion"}
	}
	json.NewEncoder(w).Encode(map[string]any{
		"parameters":   "temperature 0.7\ntop_p 0.8",
		"details":      map[string]any{"family": "qwen3moe", "parameter_size": "30.5B", "quantization_level": "Q4_K_M", "format": "gguf"},
		"model_info":   map[string]any{"general.architecture": "qwen3moe"},
		"capabilities": caps,
	})
}

func (f *fakeServer) tags(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		f.fail(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
		return
	}
	f.mu.Lock()
	var list api.ListResponse
	for name, m := range f.models {
		list.Models = append(list.Models, api.ListModelResponse{Name: name, Model: name, Digest: m.Digest, Size: 1 << 30})
	}
	f.mu.Unlock()
	slices.SortFunc(list.Models, func(a, b api.ListModelResponse) int { return strings.Compare(a.Name, b.Name) })
	json.NewEncoder(w).Encode(list)
}

func (f *fakeServer) pull(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.fail(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
		return
	}
	var req api.PullRequest
	if err := decode(r, &req); err != nil {
		f.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	//lint:ignore SA1019 the fake accepts the older spelling, as the real server does
	name := cmpOr(req.Model, req.Name)
	if name == "" {
		f.fail(w, http.StatusBadRequest, "model is required")
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	enc.Encode(api.ProgressResponse{Status: "pulling manifest"})
	f.mu.Lock()
	m, ok := f.library[normalizeOllamaModel(name)]
	truncate := f.pullTruncate
	f.mu.Unlock()
	if !ok {
		// The real server reports a streamed pull's failure in the stream.
		enc.Encode(map[string]string{"error": "pull model manifest: file does not exist"})
		return
	}
	for l := range max(m.Layers, 1) {
		digest := fmt.Sprintf("sha256:%064x", l+1)
		const total = 1 << 20
		for done := int64(0); done <= total; done += total / 8 {
			enc.Encode(api.ProgressResponse{Status: "pulling " + digest[7:19], Digest: digest, Total: total, Completed: done})
			w.(http.Flusher).Flush()
			if truncate && l == 0 && done >= total/2 {
				return
			}
		}
	}
	for _, s := range []string{"verifying sha256 digest", "writing manifest", "success"} {
		enc.Encode(api.ProgressResponse{Status: s})
	}
	f.addModel(name, m)
}

func (f *fakeServer) oaAuth(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	key := f.apiKey
	f.mu.Unlock()
	if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
		f.mu.Lock()
		f.rejected = append(f.rejected, "unauthorized")
		f.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		// Echo what came, as some proxies do; the client must redact it.
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "invalid api key: " + r.Header.Get("Authorization"), "type": "invalid_request_error"}})
		return false
	}
	return true
}

func (f *fakeServer) oaFail(w http.ResponseWriter, code int, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	f.mu.Lock()
	f.rejected = append(f.rejected, msg)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
}

func (f *fakeServer) oaModels(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		f.oaFail(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
		return
	}
	if !f.oaAuth(w, r) {
		return
	}
	f.mu.Lock()
	var data []map[string]any
	for name := range f.models {
		data = append(data, map[string]any{"id": strings.TrimSuffix(name, ":latest"), "object": "model", "owned_by": "kforge-test"})
	}
	f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

// oaRequestIn is what the fake accepts on /v1/chat/completions.
type oaRequestIn struct {
	Model       string      `json:"model"`
	Messages    []oaMessage `json:"messages"`
	Temperature *float64    `json:"temperature"`
	TopP        *float64    `json:"top_p"`
	Seed        *int        `json:"seed"`
	MaxTokens   *int        `json:"max_tokens"`
	// max_completion_tokens replaces max_tokens (deprecated by OpenAI; vLLM
	// and SGLang take both); reasoning_effort and chat_template_kwargs are
	// vLLM's and SGLang's reasoning controls.
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
	ReasoningEffort     *string        `json:"reasoning_effort"`
	ChatTemplateKwargs  map[string]any `json:"chat_template_kwargs"`
	Stream              bool           `json:"stream"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict bool            `json:"strict"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

func (f *fakeServer) oaChat(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.oaFail(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
		return
	}
	if !f.oaAuth(w, r) {
		return
	}
	var req oaRequestIn
	raw, err := decodeRaw(r, &req)
	if err != nil {
		f.oaFail(w, http.StatusBadRequest, "invalid request body: %v", err)
		return
	}
	switch {
	case req.Model == "":
		f.oaFail(w, http.StatusBadRequest, "model is required")
		return
	case len(req.Messages) == 0:
		f.oaFail(w, http.StatusBadRequest, "messages must not be empty")
		return
	case req.Temperature != nil && (*req.Temperature < 0 || *req.Temperature > 2):
		f.oaFail(w, http.StatusBadRequest, "temperature must be within [0, 2]")
		return
	case req.TopP != nil && (*req.TopP <= 0 || *req.TopP > 1):
		f.oaFail(w, http.StatusBadRequest, "top_p must be within (0, 1]")
		return
	case req.Stream:
		f.oaFail(w, http.StatusBadRequest, "this fake answers non-streamed requests only")
		return
	case req.ReasoningEffort != nil && !slices.Contains([]string{"none", "low", "medium", "high"}, *req.ReasoningEffort):
		f.oaFail(w, http.StatusBadRequest, "invalid reasoning_effort %q", *req.ReasoningEffort)
		return
	}
	if v, ok := req.ChatTemplateKwargs["enable_thinking"]; ok {
		if _, isBool := v.(bool); !isBool {
			f.oaFail(w, http.StatusBadRequest, "chat_template_kwargs.enable_thinking must be a boolean")
			return
		}
	}
	if rf := req.ResponseFormat; rf != nil {
		ok := rf.Type == "text" || rf.Type == "json_object" || (rf.Type == "json_schema" && rf.JSONSchema != nil && json.Valid(rf.JSONSchema.Schema))
		if !ok {
			f.oaFail(w, http.StatusBadRequest, "invalid response_format")
			return
		}
	}
	f.mu.Lock()
	_, ok := f.models[normalizeOllamaModel(req.Model)]
	f.mu.Unlock()
	if !ok {
		f.oaFail(w, http.StatusNotFound, "model %q not found", req.Model)
		return
	}
	for _, m := range req.Messages {
		if !slices.Contains(validRoles, m.Role) {
			f.oaFail(w, http.StatusBadRequest, "invalid role %q", m.Role)
			return
		}
	}
	c := chatCall{API: "openai", Model: req.Model, Auth: r.Header.Get("Authorization"), Options: map[string]any{}, Raw: raw,
		Header: r.Header.Clone(), URL: r.URL.String()}
	for _, m := range req.Messages {
		c.Messages = append(c.Messages, datasets.Message{Role: m.Role, Content: m.Content})
	}
	if req.Seed != nil {
		c.Options["seed"] = float64(*req.Seed)
	}
	if req.Temperature != nil {
		c.Options["temperature"] = *req.Temperature
	}
	if req.TopP != nil {
		c.Options["top_p"] = *req.TopP
	}
	if req.MaxTokens != nil {
		c.Options["num_predict"] = float64(*req.MaxTokens)
	}
	if req.MaxCompletionTokens != nil {
		c.Options["num_predict"] = float64(*req.MaxCompletionTokens)
	}
	if v, ok := req.ChatTemplateKwargs["enable_thinking"].(bool); ok {
		c.Think, c.ThinkSent = v, true
	}
	if req.ReasoningEffort != nil {
		// Ollama's /v1: "none" is off, a level is on.
		c.Think, c.ThinkSent = *req.ReasoningEffort != "none", true
	}
	if req.ResponseFormat != nil && req.ResponseFormat.JSONSchema != nil {
		c.Format = req.ResponseFormat.JSONSchema.Schema
	}
	release, ok := f.queue(r)
	if !ok {
		return
	}
	defer release()
	defer f.enter()()
	rep := f.next(c)
	if f.scripted(w, r, rep, true) {
		return
	}
	finish := cmpOr(rep.DoneReason, "stop")
	body, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": finish,
			"message": map[string]any{"role": "assistant", "content": rep.Content, "reasoning_content": rep.Thinking}}},
		"usage": map[string]any{"prompt_tokens": rep.PromptTokens, "completion_tokens": rep.CompletionTokens, "total_tokens": rep.PromptTokens + rep.CompletionTokens},
	})
	w.Header().Set("Content-Type", "application/json")
	if rep.Truncate {
		body = body[:len(body)/2]
	}
	w.Write(body)
}
