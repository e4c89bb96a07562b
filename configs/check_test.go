package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// base is a valid recipe; each case below adds to it or changes it.
const base = `name: t
sources:
  repos: [{url: /tmp/r}]
model:
  model: m
`

// TestLoadRejectsWhatUsedToPass: each recipe here passed `config check`
// (and so started a build) before, or failed without a line. Each problem
// must be reported with file:line, by Load, the function both `config
// check` and `kforge build` call.
func TestLoadRejectsWhatUsedToPass(t *testing.T) {
	dir := t.TempDir()
	exists := filepath.Join(dir, "evalset.jsonl")
	if err := os.WriteFile(exists, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such-file.parquet")
	cases := []struct {
		name, src string
		want      []string // substrings of the error, each with file:line
	}{
		{"duration that does not parse", base + "run:\n  progress_interval: soon\n",
			[]string{"r.yaml:7: run.progress_interval: want a duration like 90s or 10m, got \"soon\""}},
		{"duration below its minimum", base + "run:\n  progress_interval: 1ms\n",
			[]string{"r.yaml:7: run.progress_interval: 1ms is below the minimum 1s"}},
		{"second YAML document", base + "---\nname: other\n",
			[]string{"r.yaml:6: a second YAML document (---)"}},
		{"second YAML document that is broken", base + "---\nname: [\n",
			[]string{"r.yaml:7: a second YAML document (---), and not valid YAML"}},
		{"missing decontamination set", base + "dataset:\n  decontaminate:\n    - " + exists + "\n    - " + missing + "\n",
			[]string{"r.yaml:9: dataset.decontaminate[1]: " + missing + " does not exist"}},
		{"missing replay path", base + "dataset:\n  replay:\n    sources:\n      - path: " + missing + "\n",
			[]string{"r.yaml:9: dataset.replay.sources[0].path: " + missing + " does not exist"}},
		{"missing name", strings.Replace(base, "name: t\n", "", 1),
			[]string{"r.yaml:1: name: required"}},
		{"missing name below a comment", "# nightly\n\n" + strings.Replace(base, "name: t\n", "", 1),
			[]string{"r.yaml:3: name: required"}},
		{"binary junk", "\x00\x01\x02\xff\xfe binary",
			[]string{"r.yaml:1: not valid YAML: control characters are not allowed"}},
		{"binary junk on line 4", base[:strings.Index(base, "model:")] + "junk: \x01\x02\n",
			[]string{"r.yaml:4: not valid YAML"}},
		{"invalid UTF-8 on line 2", "name: t\nsources: \xff\xfe\n",
			[]string{"r.yaml:2: not valid YAML"}},
		{"api key instead of its variable", strings.Replace(base, "  model: m\n", "  model: m\n  api_key_env: sk-abc123.def\n", 1),
			[]string{"r.yaml:6: model.api_key_env: want the name of an environment variable"}},
		{"model host that is no URL", strings.Replace(base, "  model: m\n", "  model: m\n  host: 'ftp://x'\n", 1),
			[]string{"r.yaml:6: model.host: want a http or https URL"}},
		{"publish tag with a space", base + "publish:\n  repo: org/data\n  tag: v1 final\n",
			[]string{"r.yaml:8: publish.tag: \"v1 final\" is not a valid git tag name"}},
		{"every problem at once", strings.Replace(base, "name: t\n", "", 1) + "verify:\n  repetitions: many\npublish:\n  repo: nope\ndataset:\n  decontaminate: [" + missing + "]\nrun: {progress_interval: soon}\n",
			[]string{"r.yaml:1: name: required", "r.yaml:6: verify.repetitions: want an integer", "r.yaml:8: publish.repo: want ORG/NAME",
				"r.yaml:10: dataset.decontaminate[0]: " + missing + " does not exist", "r.yaml:11: run.progress_interval: want a duration"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "r.yaml")
			if err := os.WriteFile(p, []byte(c.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatalf("accepted:\n%s", c.src)
			}
			got := strings.ReplaceAll(err.Error(), p, "r.yaml")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, l := range strings.Split(got, "\n") {
				if !strings.HasPrefix(l, "r.yaml:") || strings.HasPrefix(l, "r.yaml: ") {
					t.Errorf("a problem without file:line: %q", l)
				}
			}
		})
	}
}

// TestPathsCheckedOnlyByLoad: Parse reads no file; Load checks the paths,
// unless told to skip them (a recipe written for another machine).
func TestPathsCheckedOnlyByLoad(t *testing.T) {
	src := base + "dataset:\n  decontaminate: [/nonexistent/kforge/eval.jsonl]\n"
	if _, err := Parse("r.yaml", []byte(src)); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p := filepath.Join(t.TempDir(), "r.yaml")
	os.WriteFile(p, []byte(src), 0o644)
	if _, err := Load(p); err == nil {
		t.Fatal("Load accepted a missing decontamination set")
	}
	if _, err := LoadWith(p, Options{SkipPaths: true}); err != nil {
		t.Fatalf("LoadWith SkipPaths: %v", err)
	}
	ok := base + "dataset:\n  decontaminate: [" + p + "]\n---\n"
	os.WriteFile(p, []byte(ok[:len(ok)-4]), 0o644)
	if _, err := Load(p); err != nil {
		t.Fatalf("an existing path: %v", err)
	}
}
