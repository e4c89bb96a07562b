package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kforge/datasets"
)

const fixtures = "../../filters/verify/testdata/poly"

func TestVerifyUsage(t *testing.T) {
	tasks := filepath.Join(fixtures, "tasks.jsonl")
	cand := filepath.Join(fixtures, "candidates", "single.hip")
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no flags", []string{"verify"}, exitUsage, "usage"},
		{"no candidate", []string{"verify", "--tasks", tasks}, exitUsage, "usage"},
		{"unknown task", []string{"verify", "--tasks", tasks, "--task", "nope", "--candidate", cand}, exitUsage, `task "nope" is not in`},
		{"missing candidate", []string{"verify", "--tasks", tasks, "--candidate", "/nonexistent"}, exitUsage, "candidate"},
		{"bad tasks file", []string{"verify", "--tasks", cand, "--candidate", cand}, exitUsage, "not a task"},
		{"unknown backend", []string{"verify", "--tasks", tasks, "--candidate", cand, "--backend", "tpu"}, exitFailed, "unknown backend"},
	} {
		code, _, stderr := runCLI(t, nil, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%s: exit %d, stderr %q", c.name, code, stderr)
		}
	}
}

// TestVerifyCompileOnly: the verdict JSON of a fixture candidate with resource
// usage (real hipcc for gfx90a), and a gate rejection still exits 0.
func TestVerifyCompileOnly(t *testing.T) {
	if _, err := exec.LookPath("hipcc"); err != nil {
		t.Skip("hipcc not installed")
	}
	tasks := filepath.Join(fixtures, "tasks.jsonl")
	code, stdout, stderr := runCLI(t, nil, "verify", "--tasks", tasks, "--candidate", filepath.Join(fixtures, "candidates", "single.hip"), "--backend", "compile-only", "--arch", "gfx90a")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var vd datasets.Verdict
	if err := json.Unmarshal([]byte(stdout), &vd); err != nil {
		t.Fatalf("stdout is not a verdict: %v\n%s", err, stdout)
	}
	if vd.Status != datasets.StatusUnverified || len(vd.Compile.Kernels) != 1 || vd.Compile.Kernels[0].VGPRs == 0 || vd.Device.Arch != "gfx90a" {
		t.Fatalf("verdict %+v", vd)
	}
	code, stdout, _ = runCLI(t, nil, "verify", "--tasks", tasks, "--candidate", filepath.Join(fixtures, "candidates", "macro.hip"), "--backend", "compile-only")
	if code != exitOK || json.Unmarshal([]byte(stdout), &vd) != nil || vd.RejectedBy != "gate/no-preprocessor" {
		t.Fatalf("exit %d verdict %+v", code, vd)
	}
}

// TestVerifyRecipe reads the verify section of a shipped recipe; a gate
// rejection needs no compile.
func TestVerifyRecipe(t *testing.T) {
	if _, err := exec.LookPath("hipcc"); err != nil {
		t.Skip("hipcc not installed")
	}
	code, stdout, stderr := runCLI(t, nil, "verify", "-c", "../../configs/quickstart.yaml", "--tasks", filepath.Join(fixtures, "tasks.jsonl"), "--candidate", filepath.Join(fixtures, "candidates", "fork.hip"), "--cache-dir", t.TempDir())
	var vd datasets.Verdict
	if code != exitOK || json.Unmarshal([]byte(stdout), &vd) != nil || vd.RejectedBy != "gate/no-process" || vd.Backend != "compile-only" {
		t.Fatalf("exit %d, stderr %s, verdict %+v", code, stderr, vd)
	}
	code, _, stderr = runCLI(t, nil, "verify", "-c", filepath.Join(fixtures, "tasks.jsonl"), "--tasks", filepath.Join(fixtures, "tasks.jsonl"), "--candidate", filepath.Join(fixtures, "candidates", "fork.hip"))
	if code != exitUsage || stderr == "" {
		t.Fatalf("a broken recipe: exit %d", code)
	}
}
