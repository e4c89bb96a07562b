package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/pipeline"
)

// This file is the provider conformance suite, in the manner of Go's
// testing/slogtest: one function, testProvider, holds the contract every
// model provider meets, and each provider's test runs it. The provider
// interface stays unexported, so the suite lives in the package's tests;
// an implementation enters it through a providerImpl row, which says only
// how to point a Config at the fake server (the fake speaks both APIs and
// normalises what it received into a chatCall), never what to expect.

// providerImpl is one provider under the suite.
type providerImpl struct {
	name string
	// config returns a Config that makes New build this provider against f.
	config func(t *testing.T, f *fakeServer) Config
	// digest: the API reports the model's digest, and Prepare must record it.
	digest bool
}

var (
	ollamaImpl = providerImpl{name: "ollama", digest: true, config: func(t *testing.T, f *fakeServer) Config {
		return testConfig(f)
	}}
	openaiImpl = providerImpl{name: "openai", config: func(t *testing.T, f *fakeServer) Config {
		cfg := testConfig(f)
		cfg.Provider, cfg.Host = "openai", f.srv.URL+"/v1"
		return cfg
	}}
)

func TestOllamaProviderConformance(t *testing.T) { testProvider(t, ollamaImpl) }
func TestOpenAIProviderConformance(t *testing.T) { testProvider(t, openaiImpl) }

// conformanceModel is the model every case serves; it can think.
const conformanceModel = "qwen3:8b"

// suiteProvider builds impl's provider through New against a fresh fake,
// logging at debug level into the returned buffer.
func suiteProvider(t *testing.T, impl providerImpl, edit func(*Config)) (provider, *Generator, *fakeServer, *syncBuffer) {
	t.Helper()
	f := newFakeServer(t)
	f.addModel(conformanceModel, fakeModel{Digest: "sha256:c0ffee", Caps: []string{"completion", "thinking"}})
	cfg := impl.config(t, f)
	cfg.Model = conformanceModel
	cfg.Retries, cfg.Backoff, cfg.Timeout = 2, time.Millisecond, 5*time.Second
	if edit != nil {
		edit(&cfg)
	}
	logs := &syncBuffer{}
	g, err := New(cfg, nil, pipeline.NewStats(), slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("%s: New: %v", impl.name, err)
	}
	if g.prov.Name() != impl.name {
		t.Fatalf("New built provider %q, want %q", g.prov.Name(), impl.name)
	}
	return g.prov, g, f, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var suiteMessages = []datasets.Message{
	{Role: "system", Content: "You write HIP kernels."},
	{Role: "user", Content: "Make it faster."},
	{Role: "assistant", Content: "```cpp\n__global__ void k() {}\n```"},
	{Role: "user", Content: "It failed to compile: try again."},
}

// testProvider reports every way impl breaks the provider contract.
func testProvider(t *testing.T, impl providerImpl) {
	ctx := context.Background()

	t.Run("request", func(t *testing.T) {
		// The model, every message in order, the sampling options and the
		// token limit reach the server; the think switch goes out both ways,
		// as a thinking model thinks when it is left out.
		for _, think := range []bool{false, true} {
			p, _, f, _ := suiteProvider(t, impl, nil)
			opt := callOptions{Temperature: 0.25, TopP: 0.5, Seed: 42, NumCtx: 8192, MaxTokens: 777, Think: think}
			if _, err := p.Chat(ctx, suiteMessages, opt); err != nil {
				t.Fatalf("think %v: %v", think, err)
			}
			calls := f.calls()
			if len(calls) != 1 {
				t.Fatalf("think %v: %d calls reached the server, want 1", think, len(calls))
			}
			c := calls[0]
			if c.Model != conformanceModel {
				t.Errorf("think %v: model %q, want %q", think, c.Model, conformanceModel)
			}
			var got []datasets.Message
			for _, m := range c.Messages {
				got = append(got, datasets.Message{Role: m.Role, Content: m.Content})
			}
			if !slices.Equal(got, suiteMessages) {
				t.Errorf("think %v: messages\n%v\nwant\n%v", think, got, suiteMessages)
			}
			for k, want := range map[string]float64{"temperature": 0.25, "top_p": 0.5, "seed": 42, "num_predict": 777} {
				if v, ok := c.Options[k].(float64); !ok || v != want {
					t.Errorf("think %v: %s = %v (%T), want %v", think, k, c.Options[k], c.Options[k], want)
				}
			}
			if !c.ThinkSent || c.Think != think {
				t.Errorf("think %v: server saw think=%v (sent explicitly: %v)", think, c.Think, c.ThinkSent)
			}
		}
	})

	t.Run("answer", func(t *testing.T) {
		// However the answer arrives (streamed in pieces or whole), the
		// content, the reasoning, the stop reason and the usage come back
		// split as the server sent them.
		for _, rep := range []reply{
			{Content: "plain answer", DoneReason: "stop", PromptTokens: 11, CompletionTokens: 22, Chunks: 1},
			{Content: "answer in pieces ```cpp\nx\n```", Thinking: "first I think", DoneReason: "length", PromptTokens: 7, CompletionTokens: 4096, Chunks: 5},
		} {
			p, _, f, _ := suiteProvider(t, impl, nil)
			f.script(rep)
			r, err := p.Chat(ctx, suiteMessages, callOptions{Seed: 1, TopP: 1})
			if err != nil {
				t.Fatal(err)
			}
			want := callResult{Content: rep.Content, Thinking: rep.Thinking, DoneReason: rep.DoneReason,
				PromptTokens: rep.PromptTokens, CompletionTokens: rep.CompletionTokens}
			if r.Seconds < 0 {
				t.Errorf("negative seconds %v", r.Seconds)
			}
			r.Seconds = 0
			if r != want {
				t.Errorf("chunks %d: got %+v\nwant %+v", rep.Chunks, r, want)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		// 408, 429 and 5xx are worth another attempt, other 4xx are not;
		// truncated and malformed answers are errors worth another attempt;
		// a server's message reaches the error.
		for _, tc := range []struct {
			rep       reply
			retryable bool
		}{
			{reply{Status: 429, Error: "slow down"}, true},
			{reply{Status: 408, Error: "request timeout"}, true},
			{reply{Status: 500, Error: "oom while loading"}, true},
			{reply{Status: 502, Error: "bad gateway"}, true},
			{reply{Status: 503, Error: "overloaded"}, true},
			{reply{Status: 400, Error: "bad prompt"}, false},
			{reply{Status: 401, Error: "who are you"}, false},
			{reply{Status: 403, Error: "forbidden here"}, false},
			{reply{Status: 404, Error: "no such model"}, false},
			{reply{Status: 422, Error: "unprocessable"}, false},
			{reply{Content: "half an answer", Chunks: 3, Truncate: true}, true},
			{reply{Raw: "{\"not\": json"}, true},
		} {
			p, _, f, _ := suiteProvider(t, impl, nil)
			f.script(tc.rep)
			_, err := p.Chat(ctx, suiteMessages, callOptions{Seed: 1, TopP: 1})
			name := fmt.Sprintf("status %d truncate %v raw %q", tc.rep.Status, tc.rep.Truncate, tc.rep.Raw)
			if err == nil {
				t.Errorf("%s: no error", name)
				continue
			}
			if retryable(err) != tc.retryable {
				t.Errorf("%s: retryable %v, want %v (%v)", name, retryable(err), tc.retryable, err)
			}
			if tc.rep.Status != 0 && tc.rep.Status != 401 && !strings.Contains(err.Error(), tc.rep.Error) {
				t.Errorf("%s: the server's message %q is not in the error %q", name, tc.rep.Error, err)
			}
		}
	})

	t.Run("context", func(t *testing.T) {
		// A cancelled call ends with context.Canceled and is not retried; a
		// call past its deadline ends with DeadlineExceeded, which is.
		for _, deadline := range []bool{false, true} {
			p, _, f, _ := suiteProvider(t, impl, nil)
			f.script(reply{Hang: true})
			cctx, cancel := context.WithCancel(ctx)
			if deadline {
				cctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
			} else {
				go func() {
					for f.hit(pathOf(impl)) == 0 {
						time.Sleep(time.Millisecond)
					}
					cancel()
				}()
			}
			done := make(chan error, 1)
			go func() { _, err := p.Chat(cctx, suiteMessages, callOptions{Seed: 1, TopP: 1}); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
				t.Fatalf("deadline %v: Chat did not return after its context ended", deadline)
			}
			cancel()
			want := context.Canceled
			if deadline {
				want = context.DeadlineExceeded
			}
			if !errors.Is(err, want) {
				t.Errorf("deadline %v: err %v, want one wrapping %v", deadline, err, want)
			}
			if retryable(err) != deadline {
				t.Errorf("deadline %v: retryable %v", deadline, retryable(err))
			}
		}
	})

	t.Run("prepare", func(t *testing.T) {
		// Prepare describes the served model (digest where the API has
		// one) with the host's credentials removed, and names a model the
		// server lacks.
		const pw = "hostpw-conformance-31337"
		p, _, f, _ := suiteProvider(t, impl, func(c *Config) {
			c.Host = strings.Replace(c.Host, "http://", "http://alice:"+pw+"@", 1)
		})
		info, err := p.Prepare(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Provider != p.Name() || info.Model != conformanceModel {
			t.Errorf("info %+v: provider or model wrong", info)
		}
		if strings.Contains(info.Host, pw) || !strings.Contains(info.Host, "127.0.0.1") {
			t.Errorf("info host %q: credentials kept or host lost", info.Host)
		}
		if impl.digest && info.Digest != "sha256:c0ffee" {
			t.Errorf("digest %q, want sha256:c0ffee", info.Digest)
		}
		if !impl.digest && info.Digest != "" {
			t.Errorf("digest %q from an API without one", info.Digest)
		}
		_ = f
		p, _, _, logs := suiteProvider(t, impl, func(c *Config) {
			c.Model = "absent-model:1b"
			c.Host = strings.Replace(c.Host, "http://", "http://alice:"+pw+"@", 1)
		})
		_, err = p.Prepare(ctx)
		if err == nil || !strings.Contains(err.Error(), "absent-model:1b") {
			t.Errorf("a model the server lacks: err %v, want one naming it", err)
		}
		if err != nil && strings.Contains(err.Error()+logs.String(), pw) {
			t.Errorf("the host's password reached the error or the log: %v\n%s", err, logs)
		}
	})

	t.Run("secrets", func(t *testing.T) {
		// The API key goes in the Authorization header and nowhere else:
		// not in the URL, the body or another header, and never in an error
		// or a log line, even when the server echoes it back.
		const key = "sk-conformance-key-0123456789"
		t.Setenv("KFORGE_CONFORMANCE_KEY", key)
		p, g, f, logs := suiteProvider(t, impl, func(c *Config) { c.APIKeyEnv = "KFORGE_CONFORMANCE_KEY" })
		f.mu.Lock()
		f.apiKey = key
		f.mu.Unlock()
		if _, err := p.Prepare(ctx); err != nil {
			t.Fatalf("Prepare with the key: %v", err)
		}
		if _, err := p.Chat(ctx, suiteMessages, callOptions{Seed: 1, TopP: 1}); err != nil {
			t.Fatalf("Chat with the key: %v", err)
		}
		for _, c := range f.calls() {
			if c.Header.Get("Authorization") != "Bearer "+key {
				t.Errorf("Authorization %q, want the bearer key", c.Header.Get("Authorization"))
			}
			raw, _ := json.Marshal(c.Raw)
			if strings.Contains(c.URL+string(raw), key) {
				t.Errorf("the key is in the URL or body: %s %s", c.URL, raw)
			}
			for h, vs := range c.Header {
				if h != "Authorization" && strings.Contains(strings.Join(vs, " "), key) {
					t.Errorf("the key is in header %s", h)
				}
			}
		}
		// An error answer that echoes the key, through the retry loop.
		f.script(reply{Status: 503, Error: "upstream said: Bearer " + key}, reply{Status: 400, Error: "bad: Bearer " + key})
		_, err := g.call(ctx, suiteMessages, callOptions{Seed: 1, TopP: 1})
		if err == nil {
			t.Fatal("no error from echoed error answers")
		}
		if strings.Contains(err.Error(), key) || strings.Contains(logs.String(), key) {
			t.Errorf("the key reached an error or the log:\nerr %v\nlog %s", err, logs)
		}
		// A key the server refuses: a permanent failure, key not shown.
		f.mu.Lock()
		f.apiKey = "another-key"
		f.mu.Unlock()
		_, err = p.Chat(ctx, suiteMessages, callOptions{Seed: 1, TopP: 1})
		if err == nil || retryable(err) || strings.Contains(err.Error(), key) {
			t.Errorf("a refused key: err %v (retryable %v)", err, retryable(err))
		}
	})
}

// pathOf is the chat endpoint impl's requests reach on the fake.
func pathOf(impl providerImpl) string {
	if impl.name == "openai" {
		return "/v1/chat/completions"
	}
	return "/api/chat"
}

// TestProviderConformanceCoversEveryProvider: a provider New can build
// that the suite does not run fails here.
func TestProviderConformanceCoversEveryProvider(t *testing.T) {
	covered := map[string]bool{ollamaImpl.name: true, openaiImpl.name: true}
	for _, name := range []string{"ollama", "openai"} {
		g, err := New(Config{Provider: name, Host: "http://127.0.0.1:1", Model: "m"}, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !covered[g.prov.Name()] {
			t.Errorf("provider %s is not run by the conformance suite", g.prov.Name())
		}
	}
	if _, err := New(Config{Provider: "other", Model: "m"}, nil, nil, nil); err == nil {
		t.Error("a provider outside the suite's list can be built; add it to the suite")
	}
}
