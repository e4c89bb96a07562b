package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheckReportsEverything: `config check` over several recipes
// reports every problem of each with file:line (a second document, a bad
// duration, a missing decontamination set, binary junk) and exits 2; with
// --skip-paths the paths are not checked.
func TestConfigCheckReportsEverything(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nsources: {repos: [{url: /r}]}\nmodel: {model: m}\nrun: {progress_interval: soon}\ndataset: {decontaminate: [/nonexistent/eval.jsonl]}\n---\nname: y\n"), 0o644)
	junk := filepath.Join(dir, "junk.yaml")
	os.WriteFile(junk, []byte("\x7fELF\x02\x01\x01\x00\x00"), 0o644)
	code, _, stderr := runCLI(t, nil, "config", "check", bad, junk)
	if code != exitUsage {
		t.Errorf("exit %d", code)
	}
	for _, w := range []string{"bad.yaml:4: run.progress_interval: want a duration", "bad.yaml:5: dataset.decontaminate[0]: /nonexistent/eval.jsonl does not exist",
		"bad.yaml:6: a second YAML document", "junk.yaml:1: not valid YAML"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	_, _, stderr = runCLI(t, nil, "config", "check", "--skip-paths", bad)
	if strings.Contains(stderr, "does not exist") || !strings.Contains(stderr, "progress_interval") {
		t.Errorf("--skip-paths:\n%s", stderr)
	}
}
