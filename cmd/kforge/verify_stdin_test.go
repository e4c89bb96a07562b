package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/internal/parquetrows"
	"kforge/shards"
	"kforge/sinks/release"
	"kforge/sinks/release/releasetest"
)

// TestVerifyTaskSpecOnStdin takes the task_spec of an rl row of a real
// release and gives it to `kforge verify --tasks -` on stdin: the task is
// found (the run gets as far as choosing the backend, which it names as
// unknown), and the same spec read back is the row's task.
func TestVerifyTaskSpecOnStdin(t *testing.T) {
	root := t.TempDir()
	build, err := releasetest.Build(root)
	if err != nil {
		t.Fatal(err)
	}
	complete, _, err := shards.Find([]string{build})
	if err != nil {
		t.Fatal(err)
	}
	ds := datasets.Config{Formats: []string{datasets.ConfigRL}, Seed: 1, NearDupThreshold: 0.9, NGram: 13, MaxShardMB: 10, Verl: true}
	out := filepath.Join(root, "release")
	sum, err := release.Build(context.Background(), release.Options{Shards: complete, Out: out, Dataset: ds})
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	for _, f := range sum.Files {
		if strings.HasPrefix(f, "data/rl/") {
			if err := parquetrows.Each(context.Background(), filepath.Join(out, f), func(m map[string]any) error {
				rows = append(rows, m)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(rows) == 0 {
		t.Fatal("no rl rows")
	}
	row := rows[0]
	spec := row["task_spec"].(string)
	if gt := row["reward_model"].(map[string]any)["ground_truth"]; gt != spec {
		t.Errorf("reward_model.ground_truth differs from task_spec")
	}
	cand := filepath.Join(root, "cand.hip")
	os.WriteFile(cand, []byte(row["reference_solution"].(string)), 0o644)

	old := stdin
	t.Cleanup(func() { stdin = old })
	stdin = strings.NewReader(spec)
	task, err := findTask("-", "")
	if err != nil || task.ID != row["task_id"] {
		t.Fatalf("findTask(-): %v, task %v, want %v", err, task, row["task_id"])
	}
	stdin = strings.NewReader(spec)
	code, _, stderr := runCLI(t, nil, "verify", "--tasks", "-", "--candidate", cand, "--backend", "tpu")
	if code != exitFailed || !strings.Contains(stderr, "unknown backend") {
		t.Errorf("verify --tasks -: exit %d, %s", code, stderr)
	}
	for _, c := range []struct{ in, msg string }{{"", "no task"}, {"{}", "no id"}, {"nonsense", "not task JSON"}} {
		stdin = strings.NewReader(c.in)
		if _, err := findTask("-", ""); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("stdin %q: %v, want %q", c.in, err, c.msg)
		}
	}
	stdin = strings.NewReader(spec)
	code, _, stderr = runCLI(t, nil, "verify", "--tasks", "-", "--candidate", "-")
	if code != exitUsage || !strings.Contains(stderr, "both read stdin") {
		t.Errorf("both on stdin: exit %d, %s", code, stderr)
	}
}
