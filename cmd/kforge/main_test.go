package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// runCLI runs kforge in-process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, envv map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return envv[k] }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestReadmeListsEveryCommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte("<!-- cli-reference"))
	if start < 0 {
		t.Fatal("README has no cli-reference table")
	}
	table := string(readme[start:])
	table = table[:strings.Index(table, "\n\n")]
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`kforge ([a-z]+)").FindAllStringSubmatch(table, -1) {
		documented[m[1]] = true
	}
	known := map[string]bool{}
	for _, c := range commands() {
		known[c.name] = true
		if !documented[c.name] {
			t.Errorf("README's CLI reference lacks `kforge %s`", c.name)
		}
	}
	for name := range documented {
		if !known[name] {
			t.Errorf("README documents `kforge %s`, which does not exist", name)
		}
	}
}

func TestUsageAndUnknownCommand(t *testing.T) {
	if code, _, _ := runCLI(t, nil); code != exitUsage {
		t.Errorf("no args: exit %d", code)
	}
	code, _, stderr := runCLI(t, nil, "frobnicate")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestConfigCheck(t *testing.T) {
	recipes, _ := filepath.Glob("../../configs/*.yaml")
	// The shipped recipes name the cluster's replay paths (/scratch/…).
	code, stdout, stderr := runCLI(t, nil, append([]string{"config", "check", "--skip-paths"}, recipes...)...)
	if code != exitOK || strings.Count(stdout, ": ok") != len(recipes) {
		t.Fatalf("shipped recipes: exit %d\n%s%s", code, stdout, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nsources:\n  repos: [{url: /r}]\nmodel:\n  model: m\n  samples: -3\nverfy: {}\n"), 0o644)
	code, _, stderr = runCLI(t, nil, "config", "check", bad)
	if code != exitUsage {
		t.Errorf("bad recipe: exit %d", code)
	}
	for _, want := range []string{"bad.yaml:6: model.samples: -3 is below the minimum 1", "bad.yaml:7: verfy: unknown key"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	code, stdout, _ = runCLI(t, nil, "config", "explain")
	if code != exitOK || !strings.Contains(stdout, "verify.min_speedup (number) default 1.05") {
		t.Errorf("explain: exit %d", code)
	}
}

func TestBuildRefusesBadRecipeBeforeWork(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nsources: {repos: [{url: /r}]}\nmodel: {model: m}\nverify: {backend: tpu}\n"), 0o644)
	code, _, stderr := runCLI(t, nil, "build", "-c", bad, "--out", filepath.Join(dir, "out"))
	if code != exitUsage || !strings.Contains(stderr, "bad.yaml:4: verify.backend") {
		t.Errorf("exit %d stderr %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a refused build created its output directory")
	}
	code, _, stderr = runCLI(t, nil, "build", "-c", bad, "--shard", "4/4")
	if code != exitUsage {
		t.Errorf("bad shard: exit %d %s", code, stderr)
	}
}

func TestDoctorJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("probes compilers")
	}
	code, stdout, stderr := runCLI(t, map[string]string{"OLLAMA_HOST": "127.0.0.1:1"}, "doctor", "--json")
	if code != exitOK && code != exitFailed {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Backends []struct {
			Name   string
			Usable bool
			Why    string
		}
		GPUs  []any
		Model struct {
			Reachable bool
			Note      string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, b := range rep.Backends {
		names[b.Name] = true
		if b.Why == "" {
			t.Errorf("backend %s: no reason given", b.Name)
		}
	}
	for _, n := range []string{"compile-only", "rocm", "cuda"} {
		if !names[n] {
			t.Errorf("doctor does not report backend %s", n)
		}
	}
	keeps := false
	for _, b := range rep.Backends {
		keeps = keeps || (b.Name == "rocm" || b.Name == "cuda") && b.Usable
	}
	if keeps != (code == exitOK) {
		t.Errorf("a backend that keeps variants: %v, exit %d", keeps, code)
	}
	if rep.Model.Reachable || !strings.Contains(rep.Model.Note, "unreachable") {
		t.Errorf("model endpoint on a closed port: %+v", rep.Model)
	}
}

func TestBuildNamesAnUnreachableModelServer(t *testing.T) {
	if _, err := exec.LookPath("hipcc"); err != nil {
		t.Skip("no hipcc: the compile-only backend is checked first")
	}
	dir := t.TempDir()
	recipe := filepath.Join(dir, "r.yaml")
	os.WriteFile(recipe, []byte("name: x\nsources: {repos: [{url: /nonexistent}]}\nmodel: {model: m, host: 'http://127.0.0.1:1', retries: 0}\nverify: {backend: compile-only}\n"), 0o644)
	code, _, stderr := runCLI(t, nil, "build", "-c", recipe, "--out", filepath.Join(dir, "out"))
	if code != exitFailed || !strings.Contains(stderr, "unreachable: start the server (ollama serve) or set model.host") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "shards")); err == nil {
		t.Error("a build that could not start wrote shards")
	}
}

func TestExitAfterSignal(t *testing.T) {
	for _, c := range []struct {
		code int
		sig  os.Signal
		want int
	}{
		{exitFailed, nil, exitFailed},
		{exitFailed, syscall.SIGTERM, 143},
		{exitFailed, os.Interrupt, 130},
		{exitOK, syscall.SIGTERM, exitOK},             // finished before it noticed
		{exitItemsBad, syscall.SIGTERM, exitItemsBad}, // finished, failed items recorded
		{exitUsage, syscall.SIGTERM, exitUsage},
	} {
		if got := exitAfterSignal(c.code, c.sig); got != c.want {
			t.Errorf("exitAfterSignal(%d, %v) = %d, want %d", c.code, c.sig, got, c.want)
		}
	}
}
