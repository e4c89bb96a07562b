package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kforge/sinks/release/releasetest"
)

func TestExport(t *testing.T) {
	build, err := releasetest.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "rel")

	// One shard never finished: export refuses unless told --partial.
	code, _, stderr := runCLI(t, nil, "export", "--from", build, "--out", out)
	if code != exitFailed || !strings.Contains(stderr, "00002-of-00003") {
		t.Fatalf("incomplete build: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := runCLI(t, nil, "export", "--from", build, "--out", out, "--partial")
	if code != exitItemsBad || !strings.Contains(stdout, "sft/train") {
		t.Fatalf("--partial: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	first, err := os.ReadFile(filepath.Join(out, "data", "sft", "train-00000-of-00001.parquet"))
	if err != nil {
		t.Fatal(err)
	}

	// With the incomplete shard finished (empty), a re-export with a recipe
	// is complete and byte-identical for the data (the recipe changes no
	// dataset key). A shard directory removed instead is a missing shard.
	inc := filepath.Join(build, "shards", "00002-of-00003")
	os.RemoveAll(inc)
	if code, _, stderr := runCLI(t, nil, "export", "--from", build, "--out", out); code != exitFailed || !strings.Contains(stderr, "00002-of-00003") {
		t.Fatalf("removed shard: exit %d, stderr %q", code, stderr)
	}
	if _, err := releasetest.WriteShard(inc, nil, 20); err != nil {
		t.Fatal(err)
	}
	recipe := filepath.Join(t.TempDir(), "r.yaml")
	os.WriteFile(recipe, []byte("name: t\nsources:\n  repos:\n    - url: https://example.org/k.git\n      kind: hip-program\nmodel:\n  model: test-coder:7b\n"), 0o644)
	code, _, stderr = runCLI(t, nil, "export", "--from", build, "--out", out, "-c", recipe)
	if code != exitOK {
		t.Fatalf("export -c: exit %d: %s", code, stderr)
	}
	again, _ := os.ReadFile(filepath.Join(out, "data", "sft", "train-00000-of-00001.parquet"))
	if !bytes.Equal(first, again) {
		t.Errorf("re-export changed the sft data")
	}
	man, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	if !strings.Contains(string(man), `"recipe": "t"`) {
		t.Errorf("manifest lineage lacks the recipe")
	}

	for _, args := range [][]string{
		{"export"},
		{"export", "--from", build},
		{"export", "--from", build, "--out", out, "-c", filepath.Join(t.TempDir(), "missing.yaml")},
		{"export", "--bogus"},
	} {
		if code, _, _ := runCLI(t, nil, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, _ := runCLI(t, nil, "export", "--from", t.TempDir(), "--out", out); code != exitFailed {
		t.Errorf("no shards dir: exit %d", code)
	}
}
