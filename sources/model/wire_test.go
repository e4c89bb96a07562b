package model

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"kforge/pipeline"
)

// rawField returns a field of a request as sent, and whether it was there.
func rawField(c chatCall, name string) (string, bool) {
	v, ok := c.Raw[name]
	return string(v), ok
}

// TestOllamaSendsThinkBothWaysAndKeepAlive: a thinking model thinks unless
// told not to, so think goes out as false too; keep_alive keeps the model
// loaded between rounds.
func TestOllamaSendsThinkBothWaysAndKeepAlive(t *testing.T) {
	for _, think := range []bool{false, true} {
		f := newFakeServer(t)
		f.addModel(testModel, fakeModel{Caps: []string{"completion", "thinking"}})
		cfg := testConfig(f)
		cfg.Think = think
		g, _ := newGen(t, cfg, nil)
		if err := g.Prepare(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Generate(context.Background(), Request{Task: loadTask(t, "task_hip.json")}, 0); err != nil {
			t.Fatal(err)
		}
		calls := f.calls()
		if len(calls) != 1 {
			t.Fatalf("think %v: %d calls", think, len(calls))
		}
		want := "false"
		if think {
			want = "true"
		}
		if got, ok := rawField(calls[0], "think"); !ok || got != want {
			t.Errorf("think %v: sent think=%s (present %v), want %s", think, got, ok, want)
		}
		// Not set in the config: the default, which covers a build's rounds.
		if got, ok := rawField(calls[0], "keep_alive"); !ok || got != `"30m0s"` {
			t.Errorf("think %v: sent keep_alive=%s (present %v), want \"30m0s\"", think, got, ok)
		}
	}
}

// TestOpenAISendsMaxCompletionTokensAndThinking: max_completion_tokens, not
// the deprecated max_tokens, and the thinking switch vLLM and SGLang read
// from the chat template's arguments, both ways.
func TestOpenAISendsMaxCompletionTokensAndThinking(t *testing.T) {
	for _, think := range []bool{false, true} {
		f := newFakeServer(t)
		f.addModel("qwen3:32b", fakeModel{})
		cfg := testConfig(f)
		cfg.Provider, cfg.Host, cfg.Model, cfg.Think = "openai", f.srv.URL+"/v1", "qwen3:32b", think
		g, _ := newGen(t, cfg, nil)
		if _, err := g.Generate(context.Background(), Request{Task: loadTask(t, "task_hip.json")}, 0); err != nil {
			t.Fatal(err)
		}
		c := f.calls()[0]
		if got, ok := rawField(c, "max_completion_tokens"); !ok || got != "4096" {
			t.Errorf("think %v: max_completion_tokens=%s (present %v), want 4096", think, got, ok)
		}
		if got, ok := rawField(c, "max_tokens"); ok {
			t.Errorf("think %v: the deprecated max_tokens was sent (%s)", think, got)
		}
		want := `{"enable_thinking":false}`
		if think {
			want = `{"enable_thinking":true}`
		}
		if got, ok := rawField(c, "chat_template_kwargs"); !ok || got != want {
			t.Errorf("think %v: chat_template_kwargs=%s (present %v), want %s", think, got, ok, want)
		}
		if got, ok := rawField(c, "reasoning_effort"); ok {
			t.Errorf("think %v: reasoning_effort %s sent though the recipe sets none", think, got)
		}
	}
}

// TestDefaultConcurrencyDoesNotQueueOnOllama: Ollama works on one request
// at a time unless OLLAMA_NUM_PARALLEL says otherwise, and does not report
// it; a request queued there spends its per-attempt time waiting. With
// model.concurrency unset, requests that wait longer than the per-attempt
// timeout in all must still succeed, without retries.
func TestDefaultConcurrencyDoesNotQueueOnOllama(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{})
	f.setParallel(1)
	f.setAnswer(func(c chatCall) reply { r := defaultAnswer(c); r.Delay = 150 * time.Millisecond; return r })
	cfg := testConfig(f)
	cfg.Concurrency = 0 // the recipe does not set it
	cfg.Timeout, cfg.Retries = 400*time.Millisecond, 0
	var logs bytes.Buffer
	var mu sync.Mutex
	g, err := New(cfg, nil, pipeline.NewStats(), slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	generateAll(t, g, 5)
	if n := f.peak(); n != 1 {
		t.Errorf("server worked on %d requests at once", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "OLLAMA_NUM_PARALLEL") {
		t.Errorf("no log line says why requests go one at a time:\n%s", logs.String())
	}
}

// TestWaitForASlotIsNotAttemptTime: a request that waits for one of
// model.concurrency's slots longer than the per-attempt timeout still
// succeeds; the attempt's clock starts when it is sent.
func TestWaitForASlotIsNotAttemptTime(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{})
	f.setAnswer(func(c chatCall) reply { r := defaultAnswer(c); r.Delay = 150 * time.Millisecond; return r })
	cfg := testConfig(f)
	cfg.Concurrency = 1
	cfg.Timeout, cfg.Retries = 400*time.Millisecond, 0
	g, stats := newGen(t, cfg, nil)
	generateAll(t, g, 5)
	if n := f.peak(); n != 1 || stats.Get("llm.retries") != 0 {
		t.Errorf("max in flight %d, retries %d", n, stats.Get("llm.retries"))
	}
}

// generateAll asks for n samples at once; each must succeed.
func generateAll(t *testing.T, g *Generator, n int) {
	t.Helper()
	task := loadTask(t, "task_hip.json")
	var wg sync.WaitGroup
	for s := range n {
		wg.Go(func() {
			if _, err := g.Generate(context.Background(), Request{Task: task}, s); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestReasoningEffort: the recipe's level goes out as Ollama's think level
// and as OpenAI's reasoning_effort, and is part of the cache key.
func TestReasoningEffort(t *testing.T) {
	ctx := context.Background()
	task := loadTask(t, "task_hip.json")
	f := newFakeServer(t)
	f.addModel("gpt-oss:120b", fakeModel{Caps: []string{"completion", "thinking"}, Levels: true})
	cfg := testConfig(f)
	cfg.Model, cfg.Think, cfg.ReasoningEffort = "gpt-oss:120b", true, "high"
	cache := pipeline.NewMemCache()
	g, _ := newGen(t, cfg, cache)
	if _, err := g.Generate(ctx, Request{Task: task}, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := rawField(f.calls()[0], "think"); got != `"high"` {
		t.Errorf("ollama: think=%s, want \"high\"", got)
	}
	cfg.ReasoningEffort = "low"
	g, _ = newGen(t, cfg, cache)
	if v, err := g.Generate(ctx, Request{Task: task}, 0); err != nil || v.Cached || len(f.calls()) != 2 {
		t.Errorf("another effort reused the cached answer: err %v cached %v", err, v.Cached)
	}

	cfg.Provider, cfg.Host = "openai", f.srv.URL+"/v1"
	g, _ = newGen(t, cfg, nil)
	if _, err := g.Generate(ctx, Request{Task: task}, 0); err != nil {
		t.Fatal(err)
	}
	c := f.calls()[2]
	if got, _ := rawField(c, "reasoning_effort"); got != `"low"` {
		t.Errorf("openai: reasoning_effort=%s, want \"low\"", got)
	}
	if got, _ := rawField(c, "chat_template_kwargs"); got != `{"enable_thinking":true}` {
		t.Errorf("openai: chat_template_kwargs=%s", got)
	}
}

// TestMaxTokensField: max_tokens only when asked for (old servers), or on
// Ollama's /v1 at OLLAMA_HOST, which reads only that and switches thinking
// through reasoning_effort.
func TestMaxTokensField(t *testing.T) {
	ctx := context.Background()
	task := loadTask(t, "task_hip.json")
	f := newFakeServer(t)
	f.addModel("qwen3:32b", fakeModel{})
	for i, tc := range []struct {
		host, field string
		sent        string // the field that carries the limit
		effort      string // reasoning_effort sent, "" for none
		kwargs      bool   // chat_template_kwargs sent
	}{
		{f.srv.URL + "/v1", "max_tokens", "max_tokens", "", true},
		{f.srv.URL + "/v1", "max_completion_tokens", "max_completion_tokens", "", true},
		{f.srv.URL + "/v1", "auto", "max_completion_tokens", "", true},
		{"", "auto", "max_tokens", `"none"`, false},
		{"", "max_completion_tokens", "max_completion_tokens", `"none"`, false},
	} {
		t.Setenv("OLLAMA_HOST", f.srv.URL)
		cfg := testConfig(f)
		cfg.Provider, cfg.Host, cfg.Model, cfg.MaxTokensField = "openai", tc.host, "qwen3:32b", tc.field
		g, _ := newGen(t, cfg, nil)
		if _, err := g.Generate(ctx, Request{Task: task}, i); err != nil {
			t.Fatal(err)
		}
		c := f.calls()[i]
		other := map[string]string{"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}[tc.sent]
		if got, ok := rawField(c, tc.sent); !ok || got != "4096" {
			t.Errorf("%+v: %s=%s", tc, tc.sent, got)
		}
		if _, ok := rawField(c, other); ok {
			t.Errorf("%+v: %s sent too", tc, other)
		}
		if got, _ := rawField(c, "reasoning_effort"); got != tc.effort {
			t.Errorf("%+v: reasoning_effort=%s", tc, got)
		}
		if _, ok := rawField(c, "chat_template_kwargs"); ok != tc.kwargs {
			t.Errorf("%+v: chat_template_kwargs sent: %v", tc, ok)
		}
	}
}

// TestConcurrencyDefault: 1 for Ollama, whose parallelism cannot be asked,
// 8 for OpenAI-compatible servers, and the recipe's value when it sets one.
func TestConcurrencyDefault(t *testing.T) {
	for _, tc := range []struct {
		provider string
		set      int
		want     int
	}{{"ollama", 0, 1}, {"", 0, 1}, {"openai", 0, 8}, {"ollama", 6, 6}, {"openai", 3, 3}} {
		cfg := Config{Provider: tc.provider, Host: "http://127.0.0.1:1", Model: "m", Concurrency: tc.set}
		g, err := New(cfg, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if g.Concurrency() != tc.want || cap(g.sem) != tc.want {
			t.Errorf("%+v: concurrency %d (slots %d)", tc, g.Concurrency(), cap(g.sem))
		}
	}
}

func TestNewRejectsBadModelControls(t *testing.T) {
	for _, cfg := range []Config{
		{Model: "m", ReasoningEffort: "high"}, // without think
		{Model: "m", Think: true, ReasoningEffort: "max"},
		{Model: "m", Provider: "openai", MaxTokensField: "max_new_tokens"},
	} {
		if _, err := New(cfg, nil, nil, nil); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
