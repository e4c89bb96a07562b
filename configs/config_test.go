package configs

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecipesAreValid(t *testing.T) {
	names, _ := fs.Glob(Recipes, "*.yaml")
	if len(names) < 3 {
		t.Fatalf("want at least quickstart, nightly and release, got %v", names)
	}
	for _, n := range names {
		b, _ := Recipes.ReadFile(n)
		if _, err := Parse(n, b); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestDefaultsAndValues(t *testing.T) {
	c, err := Parse("x.yaml", []byte(`
name: t
sources:
  repos: [{url: /tmp/r}]
model: {model: m, timeout: 90s, samples: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Model.Samples != 3 || c.Model.Timeout != 90*time.Second || c.Model.Rounds != 2 || c.Model.Provider != "ollama" {
		t.Errorf("model = %+v", c.Model)
	}
	if c.Sources.Repos[0].Ref != "HEAD" || c.Sources.Repos[0].Kind != "auto" {
		t.Errorf("repo defaults not applied: %+v", c.Sources.Repos[0])
	}
	if c.Verify.MinSpeedup != 1.05 || c.Dataset.Replay.Fraction != 0.01 || c.Publish != nil {
		t.Errorf("defaults: verify %+v replay %+v publish %v", c.Verify, c.Dataset.Replay, c.Publish)
	}
}

func TestProblemsCarryLineAndPath(t *testing.T) {
	src := `name: t
sources:
  repos:
    - url: /tmp/r
      kind: cuda-thing
model:
  model: m
  samples: 0
  tempreature: 0.5
  timeout: soon
verify:
  repetitions: many
publish:
  repo: nope
`
	_, err := Parse("bad.yaml", []byte(src))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []string{
		"bad.yaml:5: sources.repos[0].kind: \"cuda-thing\" is not one of",
		"bad.yaml:8: model.samples: 0 is below the minimum 1",
		"bad.yaml:9: model.tempreature: unknown key",
		"bad.yaml:10: model.timeout: want a duration",
		"bad.yaml:12: verify.repetitions: want an integer",
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

func TestCrossFieldProblems(t *testing.T) {
	_, err := Parse("c.yaml", []byte(`name: t
sources: {repos: [{url: /r}]}
model: {model: m}
dataset:
  replay:
    sources:
      - hub: org/data
publish:
  repo: nope
`))
	if err == nil {
		t.Fatal("want problems")
	}
	for _, w := range []string{"c.yaml:7: dataset.replay.sources[0].revision", "c.yaml:9: publish.repo: want ORG/NAME"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %v", w, err)
		}
	}
}

func TestRequiredAndSyntax(t *testing.T) {
	_, err := Parse("r.yaml", []byte("sources: {repos: []}\n"))
	if err == nil || !strings.Contains(err.Error(), "name: required") || !strings.Contains(err.Error(), "model.model: required") {
		t.Errorf("got %v", err)
	}
	_, err = Parse("s.yaml", []byte("name: [\n"))
	if err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Errorf("got %v", err)
	}
}

func TestExplainListsEveryKey(t *testing.T) {
	var b bytes.Buffer
	Explain(&b)
	for _, k := range []string{"model.samples (int) default 4", "verify.backend (string) default compile-only", "sources.repos[].url (string) required", "dataset.replay.fraction (number)", "publish.repo"} {
		if !strings.Contains(b.String(), k) {
			t.Errorf("explain lacks %q", k)
		}
	}
}

// TestModelRulesAtCheck: the model section's value and cross-field rules
// fail at config check (with the key's line), not at the first generation.
func TestModelRulesAtCheck(t *testing.T) {
	cases := []struct{ model, want string }{
		{"{model: m, reasoning_effort: high}", "c.yaml:3: model.reasoning_effort: \"high\" needs model.think: true"},
		{"{model: m, think: true, reasoning_effort: extreme}", "model.reasoning_effort: \"extreme\" is not one of low, medium, high"},
		{"{model: m, provider: openai, max_tokens_field: max_new_tokens}", "model.max_tokens_field"},
	}
	for _, c := range cases {
		_, err := Parse("c.yaml", []byte("name: t\nsources: {repos: [{url: /r}]}\nmodel: "+c.model+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.model, err, c.want)
		}
	}
	if _, err := Parse("c.yaml", []byte("name: t\nsources: {repos: [{url: /r}]}\nmodel: {model: m, think: true, reasoning_effort: low}\n")); err != nil {
		t.Errorf("valid reasoning settings refused: %v", err)
	}
}

func TestNotesOnShardedPublish(t *testing.T) {
	base := "name: t\nsources: {repos: [{url: /r}]}\nmodel: {model: m}\npublish: {repo: org/data}\n"
	for _, c := range []struct {
		extra string
		notes int
	}{{"", 0}, {"run: {shards: 4}\n", 1}, {"slurm: {partition: gpu}\n", 1}} {
		cfg, err := Parse("c.yaml", []byte(base+c.extra))
		if err != nil {
			t.Fatal(err)
		}
		if n := cfg.Notes(); len(n) != c.notes || (c.notes > 0 && !strings.Contains(n[0], "kforge merge -c")) {
			t.Errorf("%q: notes %q", c.extra, n)
		}
	}
}

func TestTokenizerValue(t *testing.T) {
	base := "name: t\nsources: {repos: [{url: /r}]}\nmodel: {model: m}\n"
	for _, c := range []struct{ tok, want string }{
		{"hf://Qwen/Qwen3-8B@main/tokenizer.json", ""},
		{"hf://Qwen/Qwen3-8B/tokenizer.json", "c.yaml:4: dataset.tokenizer: \"hf://Qwen/Qwen3-8B/tokenizer.json\": no @REVISION"},
		{"/nonexistent/tokenizer.json", "dataset.tokenizer: /nonexistent/tokenizer.json does not exist"},
	} {
		f := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(f, []byte(base+"dataset: {tokenizer: \""+c.tok+"\"}\n"), 0o644)
		_, err := Load(f)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want %q", c.tok, err, c.want)
		}
	}
}
