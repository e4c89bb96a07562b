package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureRepo commits a copy of testdata/repos/<name> into a fresh git repository.
func fixtureRepo(t *testing.T, name string) string {
	return gitFixture(t, filepath.Join("..", "..", "testdata", "repos", name), filepath.Join(t.TempDir(), name))
}

func readTasks(t *testing.T, p string) []map[string]any {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", len(out)+1, err)
		}
		out = append(out, m)
	}
	return out
}

func TestMineRepoFlag(t *testing.T) {
	repo := fixtureRepo(t, "minick")
	out := filepath.Join(t.TempDir(), "tasks.jsonl")
	cache := t.TempDir()
	code, _, stderr := runCLI(t, nil, "mine", "--repo", repo, "--kind", "auto", "--out", out, "--cache-dir", cache)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	tasks := readTasks(t, out)
	if len(tasks) != 4 {
		t.Fatalf("%d tasks", len(tasks))
	}
	for _, task := range tasks {
		for _, k := range []string{"id", "kind", "op", "dtypes", "source", "region", "sizes", "build", "run"} {
			if _, ok := task[k]; !ok {
				t.Errorf("task lacks %q", k)
			}
		}
		src := task["source"].(map[string]any)
		for _, k := range []string{"repo", "commit", "path", "blob", "lines", "license"} {
			if _, ok := src[k]; !ok {
				t.Errorf("source lacks %q", k)
			}
		}
	}
	for _, want := range []string{"mined 4 tasks", "by kind: ck-example=3 ck-tile=1", "by op: gemm=4", "by dtype: fp32=3 fp16=1", "ck-example: unbalanced template argument list", "ck-example: instance inside #if block"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stderr, "by op family (tasks; skipped by reason):") {
		t.Errorf("summary lacks the op-family table:\n%s", stderr)
	}
	// --explain-skips names each skipped instance as file:alias under its reason.
	code, _, stderr = runCLI(t, nil, "mine", "--repo", repo, "--kind", "auto", "--out", out, "--cache-dir", cache, "--explain-skips")
	if code != exitOK {
		t.Fatalf("--explain-skips: exit %d: %s", code, stderr)
	}
	_, after, _ := strings.Cut(stderr, "ck-example: instance inside #if block\n")
	if line, _, _ := strings.Cut(after, "\n"); !strings.Contains(line, "example/") || !strings.Contains(line, ".cpp:") {
		t.Errorf("--explain-skips: no file:alias under the #if reason:\n%s", stderr)
	}
	// Only one kind, on request.
	code, _, stderr = runCLI(t, nil, "mine", "--repo", repo, "--kind", "ck-tile", "--out", out, "--cache-dir", cache)
	if code != exitOK || len(readTasks(t, out)) != 1 {
		t.Errorf("--kind ck-tile: exit %d\n%s", code, stderr)
	}
}

func TestMineConfigFlag(t *testing.T) {
	repo := fixtureRepo(t, "hipprogs")
	dir := t.TempDir()
	recipe := filepath.Join(dir, "recipe.yaml")
	os.WriteFile(recipe, []byte("name: t\nout: "+filepath.Join(dir, "out")+"\nsources:\n  repos:\n    - url: "+repo+"\n      kind: hip-program\n      paths: [HIP-Basic]\nmodel:\n  model: qwen3-coder:30b\nverify:\n  archs: [gfx942]\n"), 0o644)
	out := filepath.Join(dir, "tasks.jsonl")
	code, _, stderr := runCLI(t, nil, "mine", "-c", recipe, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	tasks := readTasks(t, out)
	if len(tasks) != 2 {
		t.Fatalf("%d tasks\n%s", len(tasks), stderr)
	}
	if archs := tasks[0]["archs"].([]any); len(archs) != 1 || archs[0] != "gfx942" {
		t.Errorf("archs %v, want the recipe's verify.archs", archs)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "cache", "git")); err != nil {
		t.Errorf("mirror not under the recipe's <out>/cache: %v", err)
	}
	if !strings.Contains(stderr, "hip-program: no result check") {
		t.Errorf("summary lacks the skip reason:\n%s", stderr)
	}
}

func TestMineBadInvocations(t *testing.T) {
	cache := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"mine"}, exitUsage, "give either -c FILE or --repo"},
		{[]string{"mine", "--repo", "x", "-c", "y"}, exitUsage, "give either"},
		{[]string{"mine", "--repo", "x", "--kind", "cuda"}, exitUsage, "not one of"},
		{[]string{"mine", "-c", "/no/such/recipe.yaml"}, exitUsage, "recipe.yaml"},
		{[]string{"mine", "--repo", filepath.Join(cache, "missing"), "--cache-dir", cache, "--out", filepath.Join(cache, "t.jsonl")}, exitFailed, "no repository could be mined"},
	} {
		code, _, stderr := runCLI(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(cache, "t.jsonl")); err == nil {
		t.Errorf("a failed run wrote its output")
	}
}
