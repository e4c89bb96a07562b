package model

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/pipeline"
)

const testModel = "qwen3-coder:30b"

func loadTask(t testing.TB, name string) *datasets.Task {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var task datasets.Task
	if err := json.Unmarshal(b, &task); err != nil {
		t.Fatal(err)
	}
	if task.Files[0].Content[task.Region.Start:task.Region.End] != task.Region.Text {
		t.Fatalf("%s: region offsets do not match its text", name)
	}
	return &task
}

func testConfig(f *fakeServer) Config {
	return Config{Provider: "ollama", Host: f.srv.URL, Model: testModel, Samples: 3, Rounds: 2,
		Temperature: 0.7, TopP: 0.95, Seed: 7, NumCtx: 8192, MaxTokens: 4096, Concurrency: 4,
		Timeout: 5 * time.Second, Retries: 3, Backoff: time.Millisecond, ContextLines: 3, MaxRegionBytes: 4096}
}

// newGen returns a generator on f with cfg, logging into the test's output.
func newGen(t testing.TB, cfg Config, cache pipeline.Cache) (*Generator, *pipeline.Stats) {
	t.Helper()
	stats := pipeline.NewStats()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	g, err := New(cfg, cache, stats, log)
	if err != nil {
		t.Fatal(err)
	}
	return g, stats
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestGenerateFillsVariantAndRerunMakesNoCalls(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{Digest: "sha256:abc123"})
	task := loadTask(t, "task_hip.json")
	cache, err := pipeline.OpenDirCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first := map[int]datasets.Variant{}
	for run := range 2 {
		g, stats := newGen(t, testConfig(f), cache)
		if err := g.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
		for s := range 3 {
			v, err := g.Generate(ctx, Request{Task: task, Arch: "gfx90a", Baseline: 0.125}, s)
			if err != nil {
				t.Fatal(err)
			}
			if run == 0 {
				first[s] = v
				continue
			}
			want := first[s]
			want.Cached = true
			if !jsonEqual(v, want) {
				t.Errorf("sample %d: rerun variant differs:\n%+v\n%+v", s, v, want)
			}
		}
		if got := len(f.calls()); got != 3 {
			t.Errorf("run %d: server saw %d chat calls in all, want 3", run, got)
		}
		wantCalls, wantHits := int64(3), int64(0)
		if run == 1 {
			wantCalls, wantHits = 0, 3
		}
		if stats.Get("llm.calls") != wantCalls || stats.Get("llm.cache_hits") != wantHits || stats.Get("generated") != 3 {
			t.Errorf("run %d: calls=%d hits=%d generated=%d", run, stats.Get("llm.calls"), stats.Get("llm.cache_hits"), stats.Get("generated"))
		}
		if run == 0 {
			snap := stats.Snapshot()
			if snap.Sums["llm.prompt_tokens"] != 3*(100+2) || snap.Sums["llm.completion_tokens"] != 120 || snap.Sums["llm.seconds"] <= 0 {
				t.Errorf("sums = %v", snap.Sums)
			}
		}
	}
	ids := map[string]bool{}
	for s, v := range first {
		if v.ID != datasets.VariantID(&v) || ids[v.ID] {
			t.Errorf("sample %d: id %q not the variant's own or repeated", s, v.ID)
		}
		ids[v.ID] = true
		if v.TaskID != task.ID || v.Round != 0 || v.Sample != s || v.Parent != "" || v.Provider != "ollama" ||
			v.Model != testModel || v.ModelDigest != "sha256:abc123" || !strings.HasPrefix(v.PromptVersion, "hip-program/v1-") {
			t.Errorf("sample %d: header %+v", s, v)
		}
		if v.Sampling != (datasets.Sampling{Temperature: 0.7, TopP: 0.95, Seed: 7 + s, NumCtx: 8192, MaxTokens: 4096}) {
			t.Errorf("sample %d: sampling %+v", s, v.Sampling)
		}
		if len(v.Messages) != 3 || v.Messages[0].Role != "system" || v.Messages[1].Role != "user" || v.Messages[2].Role != "assistant" {
			t.Fatalf("sample %d: messages %+v", s, v.Messages)
		}
		if v.Rejected != "" || !strings.Contains(v.Region, "// candidate "+itoa(7+s)) || !strings.HasSuffix(v.Region, "}\n") {
			t.Errorf("sample %d: region %q rejected %q", s, v.Region, v.Rejected)
		}
		if v.PromptTokens != 102 || v.CompletionTokens != 40 || v.DurationSeconds <= 0 || v.Cached {
			t.Errorf("sample %d: accounting %+v", s, v)
		}
	}
	// What went over the wire: the official client's options, one seed per sample.
	for _, c := range f.calls() {
		if c.Options["temperature"] != 0.7 || c.Options["num_ctx"] != 8192.0 || c.Options["num_predict"] != 4096.0 {
			t.Errorf("options sent = %v", c.Options)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestPromptShowsWhatMayChangeAndHidesHiddenSizes(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{})
	tests := []struct {
		file   string
		want   []string
		hidden []string
	}{
		{"task_hip.json",
			[]string{"vector_add", "fp32", "gfx90a", "c = a + b over n floats", "0.125 ms", "Keep the kernel name",
				"__global__ void vadd(const float* a, const float* b, float* c, int n)", "if (i < n) c[i] = a[i] + b[i];",
				"int main(int argc", "#define CHECK", "EDITABLE REGION", "lines 8-11", "default: N=1048576", "exactly one fenced code block"},
			[]string{"tail_hidden_sz", "999983"}},
		{"task_ck.json",
			[]string{"gemm", "fp16", "row, col, row", "MPerBlock = 128", "BlockSize = 256", "ADataType = ADataType", "struct DeviceGemmXdl;",
				"m3840n4096k4096", "M=3840 N=4096", "line 7 is the editable region"},
			[]string{"m1000n1000k1000_hidden", "1000 1000 1000"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			task := loadTask(t, tc.file)
			g, _ := newGen(t, testConfig(f), nil)
			msgs, err := g.Conversation(Request{Task: task, Arch: "gfx90a", Baseline: 0.125})
			if err != nil {
				t.Fatal(err)
			}
			all := msgs[0].Content + msgs[1].Content
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("prompt lacks %q", w)
				}
			}
			for _, h := range tc.hidden {
				if strings.Contains(all, h) {
					t.Errorf("prompt shows hidden %q", h)
				}
			}
			if strings.Contains(all, "<no value>") {
				t.Errorf("template left a hole:\n%s", all)
			}
		})
	}
}

func TestRefinementContinuesConversation(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{Caps: []string{"completion", "thinking"}})
	f.setAnswer(func(c chatCall) reply {
		r := defaultAnswer(c)
		r.Thinking = "think about coalescing"
		return r
	})
	task := loadTask(t, "task_hip.json")
	cfg := testConfig(f)
	cfg.Think = true
	g, _ := newGen(t, cfg, pipeline.NewMemCache())
	ctx := context.Background()
	if err := g.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	v0, err := g.Generate(ctx, Request{Task: task, Arch: "gfx90a"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v0.Reasoning != "think about coalescing" || v0.Messages[2].Thinking != "think about coalescing" {
		t.Errorf("reasoning not recorded: %+v", v0)
	}
	verdict := &datasets.Verdict{VariantID: v0.ID, Status: datasets.StatusRejected, RejectedBy: "correctness", Reason: "wrong result on size tail_hidden_sz",
		Gate: datasets.Check{OK: true}, Splice: datasets.Check{OK: true},
		Compile: datasets.CompileResult{OK: true},
		Correctness: []datasets.RunResult{
			{Size: "default", Who: "candidate", Pass: true},
			{Size: "tail_hidden_sz", Who: "candidate", Pass: false, Exit: 1, Detail: "FAIL at 999980 (run: ./vadd 999983)"},
		},
		Timing: &datasets.Timing{Size: "default", RefMedian: 0.125, CandMedian: 0.1}, Speedup: 1.25}
	v1, err := g.Generate(ctx, Request{Task: task, Round: 1, Parent: &v0, Verdict: verdict, Arch: "gfx90a"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Parent != v0.ID || v1.Round != 1 || v1.Sampling.Seed != 7+1+roundSeedStride || v1.ID == v0.ID {
		t.Errorf("round 1 header: %+v", v1)
	}
	if len(v1.Messages) != 5 || !jsonEqual(v1.Messages[:3], v0.Messages) || v1.Messages[3].Role != "user" || v1.Messages[4].Role != "assistant" {
		t.Fatalf("round 1 conversation: %+v", v1.Messages)
	}
	fb := v1.Messages[3].Content
	for _, w := range []string{"a held-out size", "FAIL at 999980", "0.125 ms", "0.1 ms", "1.25x", "Fix the problem"} {
		if !strings.Contains(fb, w) {
			t.Errorf("feedback lacks %q:\n%s", w, fb)
		}
	}
	if strings.Contains(fb, "tail_hidden_sz") || strings.Contains(fb, "999983") {
		t.Errorf("feedback names a hidden size:\n%s", fb)
	}
	calls := f.calls()
	last := calls[len(calls)-1]
	if len(last.Messages) != 4 || last.Messages[2].Thinking != "" || !last.Think {
		t.Errorf("round 1 request: think=%v messages=%+v", last.Think, last.Messages)
	}
	if _, err := g.Generate(ctx, Request{Task: task, Round: 1}, 0); err == nil {
		t.Error("round 1 without a parent: no error")
	}
}

func TestCompileFeedbackIsTrimmed(t *testing.T) {
	var log strings.Builder
	for i := range 500 {
		log.WriteString("vadd.hip:10:3: note: candidate function not viable\n")
		if i == 250 {
			log.WriteString("vadd.hip:11:7: error: use of undeclared identifier 'tid'\n")
		}
	}
	f := newFakeServer(t)
	g, _ := newGen(t, testConfig(f), nil)
	task := loadTask(t, "task_hip.json")
	parent := datasets.Variant{ID: "p", Messages: []datasets.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}, {Role: "assistant", Content: "a"}}}
	msgs, err := g.Conversation(Request{Task: task, Round: 1, Parent: &parent,
		Verdict: &datasets.Verdict{Status: datasets.StatusRejected, RejectedBy: "compile", Gate: datasets.Check{OK: true}, Compile: datasets.CompileResult{Log: log.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	fb := msgs[3].Content
	if !strings.Contains(fb, "use of undeclared identifier 'tid'") || !strings.Contains(fb, "more lines omitted") || len(fb) > 6000 {
		t.Errorf("feedback (%d bytes) does not lead with the error or is not trimmed:\n%.600s", len(fb), fb)
	}
}

func TestFaultsAreRetriedOrFail(t *testing.T) {
	tests := []struct {
		name     string
		faults   []reply
		timeout  time.Duration
		wantErr  string
		attempts int
	}{
		{"500 then ok", []reply{{Status: 500, Error: "boom"}}, 0, "", 2},
		{"429 with Retry-After", []reply{{Status: 429, Error: "slow down", RetryAfter: "0"}}, 0, "", 2},
		{"503 twice", []reply{{Status: 503}, {Status: 503}}, 0, "", 3},
		{"malformed JSON", []reply{{Raw: "{not json\n"}}, 0, "", 2},
		{"truncated stream", []reply{{Content: "```cpp\nint x;", Chunks: 2, Truncate: true}}, 0, "", 2},
		{"timeout", []reply{{Hang: true}}, 300 * time.Millisecond, "", 2},
		{"slow but in time", []reply{{Delay: 50 * time.Millisecond, Content: "```cpp\nint x;\n```\n"}}, 0, "", 1},
		{"always 500", []reply{{Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}}, 0, "giving up after 4 attempts", 4},
		{"400 is not retried", []reply{{Status: 400, Error: "bad request"}}, 0, "bad request", 1},
	}
	for _, official := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/official=%v", tc.name, official), func(t *testing.T) {
				f := newFakeServer(t)
				f.addModel(testModel, fakeModel{})
				f.script(tc.faults...)
				cfg := testConfig(f)
				if tc.timeout > 0 {
					cfg.Timeout = tc.timeout
				}
				cache := pipeline.NewMemCache()
				g, stats := newGen(t, cfg, cache)
				g.prov.(*ollamaProvider).official = official
				task := loadTask(t, "task_hip.json")
				v, err := g.Generate(context.Background(), Request{Task: task}, 0)
				if got := len(f.calls()); got != tc.attempts {
					t.Errorf("server saw %d attempts, want %d", got, tc.attempts)
				}
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want %q", err, tc.wantErr)
					}
					if stats.Get("llm.errors") != 1 || stats.Get("llm.calls") != 0 {
						t.Errorf("errors=%d calls=%d", stats.Get("llm.errors"), stats.Get("llm.calls"))
					}
					// Nothing was cached: the next run asks again.
					if _, err := g.Generate(context.Background(), Request{Task: task}, 0); err != nil {
						t.Fatalf("second try: %v", err)
					}
					if got := len(f.calls()); got != tc.attempts+1 {
						t.Errorf("a failure was cached: %d calls", got)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if v.Region == "" && v.Rejected == "" {
					t.Errorf("no region and no rejection: %+v", v)
				}
				if stats.Get("llm.retries") != int64(tc.attempts-1) || stats.Get("llm.calls") != 1 {
					t.Errorf("retries=%d calls=%d", stats.Get("llm.retries"), stats.Get("llm.calls"))
				}
			})
		}
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	tests := []struct {
		name   string
		faults []reply
		want   []time.Duration // delays asked for, exactly; nil: from backoff
	}{
		{"429 seconds", []reply{{Status: 429, RetryAfter: "7"}}, []time.Duration{7 * time.Second}},
		{"503 date", []reply{{Status: 503, RetryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}, []time.Duration{maxRetryAfter}},
		{"500 without header", []reply{{Status: 500}, {Status: 500}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.addModel(testModel, fakeModel{})
			f.script(tc.faults...)
			cfg := testConfig(f)
			cfg.Backoff = 100 * time.Millisecond
			g, _ := newGen(t, cfg, nil)
			var delays []time.Duration
			g.retry.sleep = func(_ context.Context, d time.Duration) error { delays = append(delays, d); return nil }
			if _, err := g.Generate(context.Background(), Request{Task: loadTask(t, "task_hip.json")}, 0); err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				if len(delays) != 1 || delays[0] < tc.want[0]-time.Second || delays[0] > tc.want[0] {
					t.Errorf("delays %v, want %v", delays, tc.want)
				}
				return
			}
			// Exponential backoff with jitter: attempt i waits Backoff·2^i·[0.5, 1.5).
			if len(delays) != 2 || delays[0] < 50*time.Millisecond || delays[0] >= 150*time.Millisecond ||
				delays[1] < 100*time.Millisecond || delays[1] >= 300*time.Millisecond {
				t.Errorf("delays %v", delays)
			}
		})
	}
}

func TestCancelledContextStopsRetries(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{})
	f.script(reply{Hang: true})
	g, _ := newGen(t, testConfig(f), nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := g.Generate(ctx, Request{Task: loadTask(t, "task_hip.json")}, 0)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.calls()); n != 1 {
		t.Errorf("%d attempts after cancel", n)
	}
}

func TestUnusableAnswersAreRejectedNotErrors(t *testing.T) {
	task := loadTask(t, "task_hip.json")
	tests := []struct {
		name   string
		rep    reply
		reason string
	}{
		{"no code", reply{Content: "I would unroll the loop."}, "no code block"},
		{"empty", reply{Content: ""}, "empty answer"},
		{"hit the token limit", reply{Content: "```cpp\n__global__ void vadd(", DoneReason: "length"}, "truncated"},
		{"conflicting", reply{Content: "```cpp\nint a;\n```\nor\n```cpp\nint b;\n```\n"}, "conflicting code blocks"},
		{"unterminated", reply{Content: "```cpp\nint a;\n"}, "unterminated code block"},
		{"absurd size", reply{Content: "```cpp\n" + strings.Repeat("x", 5000) + "\n```\n"}, "absurd size"},
		{"unchanged", reply{Content: "```cpp\n" + task.Region.Text + "```\n"}, "identical to the reference"},
		{"shell only", reply{Content: "```bash\nhipcc -O3 x.hip\n```\n"}, "no C++ code block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.addModel(testModel, fakeModel{})
			f.setAnswer(func(chatCall) reply { return tc.rep })
			cache := pipeline.NewMemCache()
			g, stats := newGen(t, testConfig(f), cache)
			v, err := g.Generate(context.Background(), Request{Task: task}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(v.Rejected, tc.reason) || v.Region != "" {
				t.Errorf("rejected = %q region = %q, want %q", v.Rejected, v.Region, tc.reason)
			}
			if v.ID != datasets.VariantID(&v) || len(v.Messages) != 3 {
				t.Errorf("rejected variant not fully recorded: %+v", v)
			}
			if stats.Get("extract.rejected") != 1 {
				t.Errorf("extract.rejected = %d", stats.Get("extract.rejected"))
			}
			// The answer itself is cached: a rerun pays nothing for it.
			if _, err := g.Generate(context.Background(), Request{Task: task}, 0); err != nil || len(f.calls()) != 1 {
				t.Errorf("rerun: err=%v calls=%d", err, len(f.calls()))
			}
		})
	}
}

func TestStructuredAnswer(t *testing.T) {
	for _, provider := range []string{"ollama", "openai"} {
		t.Run(provider, func(t *testing.T) {
			f := newFakeServer(t)
			f.addModel(testModel, fakeModel{})
			task := loadTask(t, "task_hip.json")
			cand := "__global__ void vadd(const float* a, const float* b, float* c, int n) {\n  int i = blockIdx.x * 256 + threadIdx.x;\n  if (i < n) c[i] = a[i] + b[i];\n}\n"
			f.setAnswer(func(c chatCall) reply {
				b, _ := json.Marshal(map[string]string{"region": cand, "notes": "fixed block size"})
				return reply{Content: string(b), PromptTokens: 5, CompletionTokens: 6}
			})
			cfg := testConfig(f)
			cfg.Structured = true
			cfg.Provider = provider
			if provider == "openai" {
				cfg.Host = f.srv.URL + "/v1"
			}
			g, _ := newGen(t, cfg, nil)
			v, err := g.Generate(context.Background(), Request{Task: task}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if v.Region != cand || v.Rejected != "" {
				t.Errorf("region %q rejected %q", v.Region, v.Rejected)
			}
			c := f.calls()[0]
			if !json.Valid(c.Format) || !strings.Contains(string(c.Format), `"region"`) {
				t.Errorf("format sent = %s", c.Format)
			}
			if !strings.Contains(c.Messages[1].Content, "JSON object") {
				t.Errorf("prompt does not ask for JSON")
			}
			f.setAnswer(func(chatCall) reply { return reply{Content: `{"region": "x"`} })
			v, err = g.Generate(context.Background(), Request{Task: task}, 1)
			if err != nil || !strings.Contains(v.Rejected, "invalid JSON answer") {
				t.Errorf("bad JSON: err=%v rejected=%q", err, v.Rejected)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	t.Run("present", func(t *testing.T) {
		f := newFakeServer(t)
		f.addModel(testModel, fakeModel{Digest: "sha256:feed"})
		g, _ := newGen(t, testConfig(f), nil)
		if err := g.Prepare(context.Background()); err != nil {
			t.Fatal(err)
		}
		m := g.Model()
		if m.Digest != "sha256:feed" || m.Family != "qwen3moe" || m.Quantization != "Q4_K_M" || !strings.Contains(m.Parameters, "top_p") {
			t.Errorf("model info %+v", m)
		}
		if f.hit("/api/pull") != 0 {
			t.Error("pulled a model that was there")
		}
	})
	t.Run("missing, no pull", func(t *testing.T) {
		f := newFakeServer(t)
		cfg := testConfig(f)
		cfg.Pull = false
		g, _ := newGen(t, cfg, nil)
		err := g.Prepare(context.Background())
		if err == nil || !strings.Contains(err.Error(), "ollama pull "+testModel) || !strings.Contains(err.Error(), "pull: true") {
			t.Fatalf("err = %v", err)
		}
		if f.hit("/api/pull") != 0 || f.hit("/api/show") != 1 {
			t.Errorf("show=%d pull=%d", f.hit("/api/show"), f.hit("/api/pull"))
		}
	})
	t.Run("missing, pulled", func(t *testing.T) {
		f := newFakeServer(t)
		f.library[normalizeOllamaModel(testModel)] = fakeModel{Digest: "sha256:pulled", Layers: 2}
		cfg := testConfig(f)
		cfg.Pull = true
		var logs bytes.Buffer
		g, err := New(cfg, nil, nil, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		var progress bytes.Buffer
		g.SetProgressOutput(&progress)
		if err := g.Prepare(context.Background()); err != nil {
			t.Fatal(err)
		}
		if g.Model().Digest != "sha256:pulled" {
			t.Errorf("digest %q", g.Model().Digest)
		}
		// Not a terminal: progress goes to the log, a line per layer quarter.
		if n := strings.Count(logs.String(), "layer="); n < 8 || !strings.Contains(logs.String(), "status=success") {
			t.Errorf("%d layer lines in the log:\n%s", n, logs.String())
		}
		if _, err := g.Generate(context.Background(), Request{Task: loadTask(t, "task_hip.json")}, 0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("pull fails", func(t *testing.T) {
		f := newFakeServer(t)
		cfg := testConfig(f)
		cfg.Pull = true
		g, _ := newGen(t, cfg, nil)
		err := g.Prepare(context.Background())
		if err == nil || !strings.Contains(err.Error(), "file does not exist") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("pull stream cut", func(t *testing.T) {
		f := newFakeServer(t)
		f.library[normalizeOllamaModel(testModel)] = fakeModel{Digest: "sha256:pulled", Layers: 2}
		f.pullTruncate = true
		cfg := testConfig(f)
		cfg.Pull = true
		g, _ := newGen(t, cfg, nil)
		if err := g.Prepare(context.Background()); err == nil || !strings.Contains(err.Error(), "ended before success") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("think unsupported", func(t *testing.T) {
		f := newFakeServer(t)
		f.addModel(testModel, fakeModel{Caps: []string{"completion"}})
		cfg := testConfig(f)
		cfg.Think = true
		g, _ := newGen(t, cfg, nil)
		if err := g.Prepare(context.Background()); err == nil || !strings.Contains(err.Error(), "think: false") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OLLAMA_HOST", func(t *testing.T) {
		f := newFakeServer(t)
		f.addModel(testModel, fakeModel{Digest: "sha256:env"})
		t.Setenv("OLLAMA_HOST", f.srv.URL)
		cfg := testConfig(f)
		cfg.Host = ""
		g, _ := newGen(t, cfg, nil)
		if err := g.Prepare(context.Background()); err != nil || g.Model().Digest != "sha256:env" {
			t.Fatalf("err = %v digest %q", err, g.Model().Digest)
		}
	})
}

func TestOpenAIProvider(t *testing.T) {
	const key = "sk-test-7f3a9c"
	f := newFakeServer(t)
	f.addModel("gpt-oss:120b", fakeModel{})
	f.apiKey = key
	t.Setenv("KFORGE_TEST_KEY", key)
	cfg := testConfig(f)
	cfg.Provider, cfg.Host, cfg.Model, cfg.APIKeyEnv = "openai", f.srv.URL+"/v1", "gpt-oss:120b", "KFORGE_TEST_KEY"
	cache := pipeline.NewMemCache()
	g, stats := newGen(t, cfg, cache)
	ctx := context.Background()
	if err := g.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	task := loadTask(t, "task_hip.json")
	f.script(reply{Status: 503, RetryAfter: "0"}, reply{Truncate: true, Content: "```cpp\nint x;\n```"})
	v, err := g.Generate(ctx, Request{Task: task}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if v.Provider != "openai" || v.Rejected != "" || !strings.Contains(v.Region, "candidate 9") || v.PromptTokens != 102 || v.CompletionTokens != 40 {
		t.Errorf("variant %+v", v)
	}
	calls := f.calls()
	if len(calls) != 3 || calls[2].Auth != "Bearer "+key || calls[2].Options["seed"] != 9.0 || calls[2].Options["num_predict"] != 4096.0 {
		t.Errorf("calls %+v", calls)
	}
	if stats.Get("llm.retries") != 2 {
		t.Errorf("retries = %d", stats.Get("llm.retries"))
	}
	if _, err := g.Generate(ctx, Request{Task: task}, 2); err != nil || len(f.calls()) != 3 {
		t.Errorf("rerun made a call: %v", err)
	}
	f.setAnswer(func(chatCall) reply { return reply{Content: "```cpp\nint x", DoneReason: "length"} })
	if v, err := g.Generate(ctx, Request{Task: task}, 3); err != nil || !strings.Contains(v.Rejected, "truncated") {
		t.Errorf("length: err=%v rejected=%q", err, v.Rejected)
	}

	// A wrong key: 401 is not retried, and the key never shows in the error.
	t.Setenv("KFORGE_TEST_KEY", key+"-wrong")
	bad, _ := newGen(t, cfg, nil)
	n := len(f.calls())
	_, err = bad.Generate(ctx, Request{Task: task}, 4)
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), key) {
		t.Errorf("err = %v", err)
	}
	if err := bad.Prepare(ctx); err == nil || strings.Contains(err.Error(), key) {
		t.Errorf("prepare err = %v", err)
	}
	if len(f.calls()) != n {
		t.Error("an unauthorized call reached the model")
	}

	// The model must be served; no key variable set is a config error.
	cfg2 := cfg
	cfg2.Model = "missing-model"
	t.Setenv("KFORGE_TEST_KEY", key)
	g2, _ := newGen(t, cfg2, nil)
	if err := g2.Prepare(ctx); err == nil || !strings.Contains(err.Error(), "not served") {
		t.Errorf("err = %v", err)
	}
	t.Setenv("KFORGE_TEST_KEY", "")
	if _, err := New(cfg, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "KFORGE_TEST_KEY") {
		t.Errorf("New without key: %v", err)
	}
}

// TestFakeServerRejectsWhatRealServersReject checks the double itself.
func TestFakeServerRejectsWhatRealServersReject(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{})
	tests := []struct {
		method, path, body string
		code               int
	}{
		{"GET", "/api/chat", "", 405},
		{"POST", "/api/chat", "", 400},
		{"POST", "/api/chat", "{not json", 400},
		{"POST", "/api/chat", `{"messages":[{"role":"user","content":"hi"}]}`, 400},
		{"POST", "/api/chat", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, 404},
		{"POST", "/api/chat", `{"model":"` + testModel + `","messages":"hi"}`, 400},
		{"POST", "/api/chat", `{"model":"` + testModel + `","messages":[{"role":"robot","content":"hi"}]}`, 400},
		{"POST", "/api/chat", `{"model":"` + testModel + `","messages":[],"options":{"temperature":"hot"}}`, 400},
		{"POST", "/api/chat", `{"model":"` + testModel + `","messages":[],"options":{"max_tokens":5}}`, 400},
		{"POST", "/api/chat", `{"model":"` + testModel + `","messages":[],"format":"yaml"}`, 400},
		{"POST", "/api/chat", `{"model":"` + testModel + `","messages":[],"think":true}`, 400},
		{"POST", "/api/chat", `{"model":"` + testModel + `","messages":[],"temprature":1}`, 400},
		{"POST", "/api/chat", `{"model":"` + testModel + `","messages":[]}`, 200},
		{"POST", "/api/show", `{"model":"nope"}`, 404},
		{"GET", "/api/show", "", 405},
		{"POST", "/api/tags", "", 405},
		{"GET", "/api/pull", "", 405},
		{"POST", "/api/pull", `{}`, 400},
		{"GET", "/v1/chat/completions", "", 405},
		{"POST", "/v1/chat/completions", `{"model":"` + testModel + `","messages":[]}`, 400},
		{"POST", "/v1/chat/completions", `{"model":"` + testModel + `","messages":[{"role":"user","content":"x"}],"temperature":3}`, 400},
		{"POST", "/v1/chat/completions", `{"model":"` + testModel + `","messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}}`, 400},
		{"POST", "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s %s: %d, want %d", tc.method, tc.path, tc.body, resp.StatusCode, tc.code)
		}
	}
	if len(f.calls()) != 0 {
		t.Errorf("rejected requests reached the model: %d", len(f.calls()))
	}
}

func TestConcurrentGenerateIsBounded(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{})
	f.setAnswer(func(c chatCall) reply { r := defaultAnswer(c); r.Delay = 20 * time.Millisecond; return r })
	cfg := testConfig(f)
	cfg.Concurrency = 3
	g, stats := newGen(t, cfg, pipeline.NewMemCache())
	task := loadTask(t, "task_hip.json")
	var wg sync.WaitGroup
	for s := range 24 {
		wg.Go(func() {
			if _, err := g.Generate(context.Background(), Request{Task: task}, s); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if f.maxInFlight > 3 || stats.Get("llm.calls") != 24 {
		t.Errorf("max in flight %d, calls %d", f.maxInFlight, stats.Get("llm.calls"))
	}
}

func TestImproved(t *testing.T) {
	kept := func(s float64) *datasets.Verdict {
		return &datasets.Verdict{Status: datasets.StatusKept, Gate: datasets.Check{OK: true}, Compile: datasets.CompileResult{OK: true}, Speedup: s,
			Correctness: []datasets.RunResult{{Who: "candidate", Pass: true}}}
	}
	compiled := &datasets.Verdict{Status: datasets.StatusRejected, Gate: datasets.Check{OK: true}, Compile: datasets.CompileResult{OK: true},
		Correctness: []datasets.RunResult{{Who: "candidate", Pass: false}}}
	correct := &datasets.Verdict{Status: datasets.StatusUnverified, Gate: datasets.Check{OK: true}, Compile: datasets.CompileResult{OK: true},
		Correctness: []datasets.RunResult{{Who: "reference", Pass: true}, {Who: "candidate", Pass: true}}}
	gateFail := &datasets.Verdict{Status: datasets.StatusRejected}
	tests := []struct {
		name            string
		best, candidate *datasets.Verdict
		want            bool
	}{
		{"nil candidate", kept(1.2), nil, false},
		{"nothing vs nothing", nil, nil, false},
		{"kept over none", nil, kept(1.1), true},
		{"gate failure over none", nil, gateFail, true},
		{"compiled over gate failure", gateFail, compiled, true},
		{"correct over compiled", compiled, correct, true},
		{"kept over correct", correct, kept(1.05), true},
		{"compiled does not beat kept", kept(1.5), compiled, false},
		{"faster kept", kept(1.2), kept(1.5), true},
		{"noise-level gain", kept(1.2), kept(1.205), false},
		{"slower kept", kept(1.5), kept(1.2), false},
		{"same rank, not kept", compiled, compiled, false},
	}
	for _, tc := range tests {
		if got := Improved(tc.best, tc.candidate); got != tc.want {
			t.Errorf("%s: Improved = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Provider: "ollama"},
		{Provider: "bard", Model: "m"},
		{Provider: "ollama", Model: "m", Host: "http://[::1"},
	} {
		if _, err := New(cfg, nil, nil, nil); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
