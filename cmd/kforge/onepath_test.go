package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kforge/sinks/release/releasetest"
)

// completeBuild is the release fixture's build with lineage in every shard
// and its unfinished shard completed empty.
func completeBuild(t *testing.T) string {
	t.Helper()
	build, err := releasetest.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(build, "shards", "00002-of-00003")
	os.RemoveAll(inc)
	if _, err := releasetest.WriteShard(inc, nil, 20); err != nil {
		t.Fatal(err)
	}
	lin := `{"build":"fixture","dataset":{"Formats":["sft","rl","pairs","multiturn"],"Seed":3,"HeldOutFraction":0.3,"NearDupThreshold":0.9,"NGram":13,"MaxShardMB":450,"PrettyName":"fixture data","Replay":{"Fraction":0.01,"Mode":"tokens"}},` +
		`"kforge":"test","model":{"provider":"ollama","model":"test-coder:7b","digest":"sha256:0123"},"prompts":{"hip-program":"v1"},` +
		`"sampling":{"samples":3,"rounds":2,"temperature":0.7,"top_p":0.95,"seed":1,"num_ctx":32768,"max_tokens":8192},` +
		`"skipped":{"binary":1},"sources":[{"url":"https://example.org/kernels.git","ref":"main","commit":"` + strings.Repeat("ab", 20) + `","tasks":9,"files":12,"programs":9}],` +
		`"verify":{"backend":"rocm","device":{"name":"MI210","arch":"gfx90a","toolchain":"rocm-6.2"},"min_speedup":1.05,"max_speedup":10,"repetitions":5}}`
	for _, s := range []string{"00000-of-00003", "00001-of-00003", "00002-of-00003"} {
		if err := os.WriteFile(filepath.Join(build, "shards", s, "lineage.json"), []byte(lin), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return build
}

// treeFiles reads every file under dir by its relative path.
func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Export and merge of the same shards write the same release, byte for
// byte, manifest included: with the recipe the shards were built with
// (their lineage) and with a recipe given to both.
func TestExportAndMergeWriteTheSameRelease(t *testing.T) {
	build := completeBuild(t)
	recipe := filepath.Join(t.TempDir(), "r.yaml")
	os.WriteFile(recipe, []byte("name: t\nsources:\n  repos:\n    - url: https://example.org/k.git\n      kind: hip-program\nmodel:\n  model: test-coder:7b\ndataset:\n  seed: 5\n"), 0o644)
	for _, tc := range []struct {
		name  string
		flags []string
	}{{"shards' recipe", nil}, {"-c", []string{"-c", recipe}}} {
		t.Run(tc.name, func(t *testing.T) {
			exp, mrg := filepath.Join(t.TempDir(), "exp"), filepath.Join(t.TempDir(), "mrg")
			code, _, stderr := runCLI(t, nil, append([]string{"export", "--from", build, "--out", exp}, tc.flags...)...)
			if code != exitOK {
				t.Fatalf("export: exit %d: %s", code, stderr)
			}
			code, _, stderr = runCLI(t, nil, append(append([]string{"merge", "--out", mrg}, tc.flags...), build)...)
			if code != exitOK {
				t.Fatalf("merge: exit %d: %s", code, stderr)
			}
			a, b := treeFiles(t, exp), treeFiles(t, mrg)
			if len(a) < 4 || len(a) != len(b) {
				t.Fatalf("export wrote %d files, merge %d", len(a), len(b))
			}
			for name, x := range a {
				if !bytes.Equal(x, b[name]) {
					t.Errorf("%s differs between export and merge:\nexport %.600s\nmerge  %.600s", name, x, b[name])
				}
			}
			man := string(a["manifest.json"])
			if !strings.Contains(man, `"model": "test-coder:7b"`) || !strings.Contains(man, `"build": "fixture"`) {
				t.Errorf("manifest lacks the shards' lineage:\n%.800s", man)
			}
		})
	}
}

// A build whose shard is complete but whose lineage cannot be read must not
// write (or publish) a release without lineage.
func TestBuildRefusesUnreadableLineage(t *testing.T) {
	out := t.TempDir()
	shard := filepath.Join(out, "shards", "00000-of-00001")
	if _, err := releasetest.WriteShard(shard, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shard, "lineage.json"), []byte(`{"build":`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, nil, "build", "-c", "testdata/slurm-recipe.yaml", "--out", out, "--cache-dir", filepath.Join(out, "cache"))
	if code == exitOK || !strings.Contains(stderr, "lineage.json") {
		t.Fatalf("exit %d, want a failure naming lineage.json:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "release", "manifest.json")); err == nil {
		t.Fatal("a release was written without the shard's lineage")
	}
}
