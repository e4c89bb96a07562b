package model

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/schollz/progressbar/v3"
)

func TestExtract(t *testing.T) {
	const ref = "int f() { return 1; }\n"
	tests := []struct {
		name       string
		res        callResult
		structured bool
		region     string
		rejected   string
		reasoning  string
	}{
		{"one block", callResult{Content: "Faster:\n```cpp\nint f() { return 2; }\n```\n"}, false, "int f() { return 2; }\n", "", ""},
		{"untagged block", callResult{Content: "```\nint f() { return 2; }\n```"}, false, "int f() { return 2; }\n", "", ""},
		{"tilde fence", callResult{Content: "~~~hip\nint f() { return 2; }\n~~~\n"}, false, "int f() { return 2; }\n", "", ""},
		{"longer fence holds backticks", callResult{Content: "````cpp\nint f() { return 2; } // ```\n````\n"}, false, "int f() { return 2; } // ```\n", "", ""},
		{"repeated identical block", callResult{Content: "```cpp\nint f() { return 2; }\n```\nagain:\n```cpp\nint f() { return 2; }\n```\n"}, false, "int f() { return 2; }\n", "", ""},
		{"shell block ignored", callResult{Content: "```bash\nhipcc x\n```\n```cpp\nint f() { return 2; }\n```\n"}, false, "int f() { return 2; }\n", "", ""},
		{"CRLF", callResult{Content: "```cpp\r\nint f() { return 2; }\r\n```\r\n"}, false, "int f() { return 2; }\n", "", ""},
		{"think tags", callResult{Content: "<think>try LDS</think>\n```cpp\nint f() { return 2; }\n```"}, false, "int f() { return 2; }\n", "", "try LDS"},
		{"thinking field", callResult{Content: "```cpp\nint f() { return 2; }\n```", Thinking: "  vectorise  "}, false, "int f() { return 2; }\n", "", "vectorise"},
		{"unclosed think", callResult{Content: "<think>hmm, what if"}, false, "", "inside its reasoning", "hmm, what if"},
		{"length", callResult{Content: "```cpp\nint f() { return 2; }\n```", DoneReason: "length"}, false, "", "token limit", ""},
		{"empty", callResult{Content: " \n"}, false, "", "empty answer", ""},
		{"prose only", callResult{Content: "Use a bigger block."}, false, "", "no code block", ""},
		{"two candidates", callResult{Content: "```cpp\nint f() { return 2; }\n```\n```cpp\nint f() { return 3; }\n```"}, false, "", "conflicting code blocks: 2", ""},
		{"unterminated", callResult{Content: "```cpp\nint f() { return 2; }\n"}, false, "", "unterminated", ""},
		{"empty block", callResult{Content: "```cpp\n\n```"}, false, "", "empty code block", ""},
		{"same as reference modulo spaces", callResult{Content: "```cpp\nint f()  {\n return 1; }\n```"}, false, "", "identical to the reference", ""},
		{"too big", callResult{Content: "```cpp\n" + strings.Repeat("a", 300) + "\n```"}, false, "", "absurd size: 301 bytes (limit 256)", ""},
		{"NUL byte", callResult{Content: "```cpp\nint\x00 f;\n```"}, false, "", "not valid UTF-8", ""},
		{"json", callResult{Content: `{"region":"int f() { return 2; }","notes":"n"}`}, true, "int f() { return 2; }\n", "", ""},
		{"json in a fence", callResult{Content: "```json\n{\"region\":\"int f() { return 2; }\\n\",\"notes\":\"\"}\n```"}, true, "int f() { return 2; }\n", "", ""},
		{"json broken", callResult{Content: `{"region": "int`}, true, "", "invalid JSON answer", ""},
		{"json trailing text", callResult{Content: `{"region": "int g;"} and more`}, true, "", "text after the object", ""},
		{"json no region", callResult{Content: `{"notes": "none"}`}, true, "", "without a region", ""},
		{"json region not a string", callResult{Content: `{"region": 5}`}, true, "", "invalid JSON answer", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := extract(tc.res, ref, tc.structured, 256)
			if x.Region != tc.region || !strings.Contains(x.Rejected, tc.rejected) || (tc.rejected == "") != (x.Rejected == "") {
				t.Errorf("extract = region %q rejected %q; want %q, %q", x.Region, x.Rejected, tc.region, tc.rejected)
			}
			if x.Reasoning != tc.reasoning {
				t.Errorf("reasoning = %q, want %q", x.Reasoning, tc.reasoning)
			}
		})
	}
}

func TestExtractKeepsReferenceTrailingNewline(t *testing.T) {
	x := extract(callResult{Content: "```cpp\nusing G = X<1, 2>;\n```"}, "using G = X<3, 4>;", false, 1024)
	if x.Region != "using G = X<1, 2>;" {
		t.Errorf("region %q", x.Region)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{"100000", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	p := retryPolicy{Base: 100 * time.Millisecond}
	for attempt := range 6 {
		base := p.Base << attempt
		seen := map[time.Duration]bool{}
		for range 50 {
			d := p.backoff(attempt)
			if d < base/2 || d >= base*3/2 {
				t.Fatalf("attempt %d: delay %v outside [%v, %v)", attempt, d, base/2, base*3/2)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: only %d distinct delays: no jitter", attempt, len(seen))
		}
	}
	if d := (retryPolicy{Base: time.Hour}).backoff(30); d > maxRetryAfter*3/2 {
		t.Errorf("uncapped delay %v", d)
	}
}

func TestPullProgressBars(t *testing.T) {
	var out bytes.Buffer
	pp := &pullProgress{out: &out, tty: true, log: slog.New(slog.DiscardHandler), bars: map[string]*progressbar.ProgressBar{}, logged: map[string]int64{}}
	pp.update(api.ProgressResponse{Status: "pulling manifest"})
	for _, d := range []string{"sha256:aaaaaaaaaaaaaaaa", "sha256:bbbbbbbbbbbbbbbb"} {
		for c := int64(0); c <= 1000; c += 250 {
			pp.update(api.ProgressResponse{Status: "pulling", Digest: d, Total: 1000, Completed: c})
		}
	}
	pp.update(api.ProgressResponse{Status: "success"})
	pp.finish()
	s := out.String()
	for _, w := range []string{"pulling manifest", "pulling aaaaaaaaaaaa", "pulling bbbbbbbbbbbb", "100%", "success"} {
		if !strings.Contains(s, w) {
			t.Errorf("progress output lacks %q:\n%q", w, s)
		}
	}
	if len(pp.bars) != 2 {
		t.Errorf("%d bars, want one per layer", len(pp.bars))
	}
}
