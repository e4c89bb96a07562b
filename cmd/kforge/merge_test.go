package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"kforge/pipeline"
	"kforge/shards"
)

// makeShard writes a shard directory of build dir; done adds its DONE marker.
func makeShard(t *testing.T, dir string, i, n int, done bool) string {
	t.Helper()
	d := filepath.Join(dir, "shards", pipeline.Shard{I: i, N: n}.Name())
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{shards.TasksFile, shards.VariantsFile, shards.VerdictsFile} {
		if err := os.WriteFile(filepath.Join(d, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(d, shards.StatsFile), []byte(`{"counters":{"tasks":2}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if done {
		if err := os.WriteFile(filepath.Join(d, shards.DoneFile), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestMergeRefusesMissingShards(t *testing.T) {
	b := t.TempDir()
	makeShard(t, b, 0, 3, true)
	s1 := makeShard(t, b, 1, 3, false)
	absent := filepath.Join(b, "shards", pipeline.Shard{I: 2, N: 3}.Name())
	rel := filepath.Join(b, "release")
	for _, args := range [][]string{
		{"merge", "--out", rel, b}, // the build directory
		{"merge", "--out", rel, filepath.Join(b, "shards", "00000-of-00003"), s1}, // shard directories
	} {
		e, _, errb := testEnv()
		if code := run(context.Background(), e, args); code != exitFailed {
			t.Fatalf("%q: exit %d, want %d: %s", args, code, exitFailed, errb)
		}
		for _, want := range []string{"2 shard(s) missing", s1, absent, "--allow-missing"} {
			if !strings.Contains(errb.String(), want) {
				t.Errorf("%q: stderr lacks %q:\n%s", args, want, errb)
			}
		}
		if _, err := os.Stat(rel); err == nil {
			t.Fatal("a release was written despite missing shards")
		}
	}
}

func TestMergeUsage(t *testing.T) {
	b := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no out", []string{"merge", b}, exitUsage, "--out and at least one SHARD_DIR"},
		{"no shards", []string{"merge", "--out", b}, exitUsage, "--out and at least one SHARD_DIR"},
		{"no such dir", []string{"merge", "--out", b, filepath.Join(b, "nope")}, exitUsage, "no such file"},
		{"a file", []string{"merge", "--out", b, "merge_test.go"}, exitUsage, "not a directory"},
		{"empty dir is an unfinished shard", []string{"merge", "--out", filepath.Join(b, "r"), b}, exitFailed, "1 shard(s) missing"},
		{"bad recipe", []string{"merge", "-c", "testdata/nope.yaml", "--out", b, b}, exitUsage, "nope.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, errb := testEnv()
			if code := run(context.Background(), e, tc.args); code != tc.code || !strings.Contains(errb.String(), tc.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errb, tc.code, tc.msg)
			}
		})
	}
}

// With every shard complete (or --allow-missing), merge hands the shards to
// the release writer.
func TestMergeCallsRelease(t *testing.T) {
	b := t.TempDir()
	makeShard(t, b, 0, 2, true)
	makeShard(t, b, 1, 2, false)
	rel := filepath.Join(b, "release")
	e, out, errb := testEnv()
	code := run(context.Background(), e, []string{"merge", "--allow-missing", "-c", "testdata/slurm-recipe.yaml", "--out", rel, b})
	if strings.Contains(errb.String(), "not built yet") {
		t.Skip("the release writer is not merged yet")
	}
	if code != exitItemsBad {
		t.Fatalf("exit %d, want %d (a shard was left out): %s", code, exitItemsBad, errb)
	}
	if !strings.Contains(out.String(), `"files"`) {
		t.Fatalf("no summary printed: %s", out)
	}
}

func writeLineage(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, shards.LineageFile), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestShardsLineage(t *testing.T) {
	b := t.TempDir()
	s0, s1 := makeShard(t, b, 0, 2, true), makeShard(t, b, 1, 2, true)
	base := `{"build":"x","sources":[{"url":"/r","commit":"aaaa"}],"dataset":{"Formats":["sft"],"Seed":7,"HeldOutFraction":0.25}}`
	writeLineage(t, s0, base)
	// Same content, other key order and spacing: the same lineage.
	writeLineage(t, s1, `{"dataset":{"HeldOutFraction":0.25,"Seed":7,"Formats":["sft"]}, "sources":[{"commit":"aaaa","url":"/r"}],"build":"x"}`)
	lin, err := shards.Agree([]string{s0, s1})
	if err != nil {
		t.Fatal(err)
	}
	d, err := releaseDataset(nil, lin)
	if err != nil {
		t.Fatal(err)
	}
	if d.Seed != 7 || d.HeldOutFraction != 0.25 || !slices.Equal(d.Formats, []string{"sft"}) || d.NGram != 13 {
		t.Fatalf("dataset from lineage %+v: want the shards' values over the defaults", d)
	}

	writeLineage(t, s1, `{"build":"x","sources":[{"url":"/r","commit":"bbbb"}],"dataset":{"Formats":["sft"],"Seed":7,"HeldOutFraction":0.25}}`)
	if _, err := shards.Agree([]string{s0, s1}); err == nil || !strings.Contains(err.Error(), "differs in sources") {
		t.Fatalf("shards from different commits: %v", err)
	}
	os.Remove(filepath.Join(s1, shards.LineageFile))
	if _, err := shards.Agree([]string{s0, s1}); err == nil {
		t.Fatal("a shard without lineage merged with one with")
	}
	writeLineage(t, s1, `{"build":`)
	if _, err := shards.Agree([]string{s0, s1}); err == nil || !strings.Contains(err.Error(), shards.LineageFile) {
		t.Fatalf("broken lineage file: %v", err)
	}
}

func TestMergeRefusesMixedLineage(t *testing.T) {
	b := t.TempDir()
	writeLineage(t, makeShard(t, b, 0, 2, true), `{"model":{"model":"a"}}`)
	writeLineage(t, makeShard(t, b, 1, 2, true), `{"model":{"model":"b"}}`)
	e, _, errb := testEnv()
	if code := run(context.Background(), e, []string{"merge", "--out", filepath.Join(b, "release"), b}); code != exitFailed || !strings.Contains(errb.String(), "lineage differs in model") {
		t.Fatalf("exit %d: %s", code, errb)
	}
}

// The merge publishes only within the recipe's failure budget
// (publish.max_failed_items, publish.max_failed_fraction), counting the
// failed items of every shard; over it, it writes the release, makes no Hub
// call and exits 3. (Within it, publishing is attempted: without HF_TOKEN it
// fails, which is how this test sees the attempt.)
func TestMergeFailureBudget(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		http.Error(w, `{"error":"no"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	b := t.TempDir()
	makeShard(t, b, 0, 2, true)
	s1 := makeShard(t, b, 1, 2, true)
	// Shard 1 finished with 2 failed items out of 12.
	st := `{"seconds":1,"counters":{"generated":10},"failures":{"generate":{"timeout":2}}}`
	if err := os.WriteFile(filepath.Join(s1, shards.StatsFile), []byte(st), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/slurm-recipe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, budget string
		flags        []string
		code         int
		msg          string
		publish      bool
	}{
		{"default budget is zero", "", nil, exitItemsBad, "not publishing: 2 items failed, more than publish.max_failed_items=0", false},
		{"within the count", "  max_failed_items: 5\n", nil, exitFailed, "HF_TOKEN", true},
		{"over the fraction", "  max_failed_items: -1\n  max_failed_fraction: 0.1\n", nil, exitItemsBad, "more than publish.max_failed_fraction=0.1", false},
		{"within the fraction", "  max_failed_items: -1\n  max_failed_fraction: 0.2\n", nil, exitFailed, "HF_TOKEN", true},
		{"--no-publish", "  max_failed_items: 5\n", []string{"--no-publish"}, exitItemsBad, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recipe := filepath.Join(t.TempDir(), "r.yaml")
			body := string(src) + "publish:\n  repo: org/data\n  endpoint: " + srv.URL + "\n" + tc.budget
			if err := os.WriteFile(recipe, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			calls = 0
			mu.Unlock()
			rel := filepath.Join(t.TempDir(), "release")
			e, _, errb := testEnv()
			args := append([]string{"merge", "-c", recipe, "--out", rel}, tc.flags...)
			code := run(context.Background(), e, append(args, b))
			if strings.Contains(errb.String(), "not built yet") {
				t.Skip("the release writer is not merged yet")
			}
			if code != tc.code || !strings.Contains(errb.String(), tc.msg) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, tc.code, tc.msg, errb)
			}
			if _, err := os.Stat(filepath.Join(rel, "manifest.json")); err != nil {
				t.Errorf("no release written: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !tc.publish && calls != 0 {
				t.Errorf("%d Hub calls, want none", calls)
			}
		})
	}
}
