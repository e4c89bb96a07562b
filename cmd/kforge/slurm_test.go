package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kforge/internal/sched"
)

func testEnv() (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, &out, &errb
}

func TestSlurmSubmitDryRun(t *testing.T) {
	wd, _ := os.Getwd()
	recipe := filepath.Join(wd, "testdata", "slurm-recipe.yaml")
	e, out, errb := testEnv()
	code := run(context.Background(), e, []string{"slurm", "submit", "-c", "testdata/slurm-recipe.yaml", "--shards", "4",
		"--partition", "gpu", "--time", "30", "--kforge", "/opt/kforge", "--dry-run"})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	buildDir := filepath.Join(wd, "out", "slurm-test")
	job := sched.SlurmJob{Name: "kforge-slurm-test", Kforge: "/opt/kforge", Config: recipe, Out: buildDir, Workdir: wd,
		Shards: 4, Partition: "gpu", Time: "30"}
	array, err := job.ArrayScript()
	if err != nil {
		t.Fatal(err)
	}
	merge, _ := job.MergeScript()
	want := "# " + job.ArrayScriptPath() + "\n" + array + "\n# " + job.MergeScriptPath() + "\n" + merge + "\n# submit:\n" +
		"sbatch --parsable " + job.ArrayScriptPath() + "\n" +
		"sbatch --parsable --dependency=afterany:<array job id> " + job.MergeScriptPath() + "\n"
	if out.String() != want {
		t.Fatalf("dry run printed\n%s\nwant\n%s", out, want)
	}
	for _, s := range []string{"#SBATCH --array=0-3\n", "#SBATCH --partition=gpu\n", "#SBATCH --time=30\n", "build -c " + recipe} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("dry run lacks %q", s)
		}
	}
	if strings.Contains(out.String(), "gpus-per-task") {
		t.Error("compile-only recipe asked for GPUs")
	}
	if _, err := os.Stat(buildDir); err == nil {
		t.Error("dry run wrote files")
	}
}

func TestSlurmSubmitUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no verb", []string{"slurm"}, exitUsage, "usage: kforge slurm submit"},
		{"unknown verb", []string{"slurm", "cancel"}, exitUsage, "usage"},
		{"no recipe", []string{"slurm", "submit", "--shards", "2"}, exitUsage, "-c FILE is needed"},
		{"no shards", []string{"slurm", "submit", "-c", "testdata/slurm-recipe.yaml"}, exitUsage, "--shards N is needed"},
		{"bad recipe", []string{"slurm", "submit", "-c", "testdata/nope.yaml", "--shards", "2"}, exitUsage, "nope.yaml"},
		{"bad time", []string{"slurm", "submit", "-c", "testdata/slurm-recipe.yaml", "--shards", "2", "--time", "soon", "--dry-run"}, exitUsage, "Slurm syntax"},
		{"bad partition", []string{"slurm", "submit", "-c", "testdata/slurm-recipe.yaml", "--shards", "2", "--partition", "a b", "--dry-run"}, exitUsage, "partition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, errb := testEnv()
			if code := run(context.Background(), e, tc.args); code != tc.code || !strings.Contains(errb.String(), tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errb, tc.msg)
			}
		})
	}
}

func TestSlurmSubmitRecipeDefaults(t *testing.T) {
	// A GPU backend gets a GPU per shard, and run.shards is the default count.
	e, out, errb := testEnv()
	code := run(context.Background(), e, []string{"slurm", "submit", "-c", "testdata/slurm-recipe-rocm.yaml", "--kforge", "/k", "--dry-run"})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, s := range []string{"#SBATCH --array=0-7\n", "#SBATCH --gpus-per-task=1\n", "--out /scratch/rocm --shard", "/scratch/rocm/shards/*-of-00008\n", "#SBATCH --job-name=kforge-rocm\n"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("dry run lacks %q:\n%s", s, out)
		}
	}
	e, out, _ = testEnv()
	run(context.Background(), e, []string{"slurm", "submit", "-c", "testdata/slurm-recipe-rocm.yaml", "--kforge", "/k", "--gpus-per-task", "0", "--dry-run"})
	if strings.Contains(out.String(), "gpus-per-task") {
		t.Error("--gpus-per-task 0 still asks for GPUs")
	}
}

func TestSlurmSubmitRuns(t *testing.T) {
	outDir := filepath.Join(t.TempDir(), "build")
	var calls [][]string
	fake := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		calls = append(calls, append([]string{name}, args...))
		if len(calls) == 1 {
			return []byte("101\n"), nil
		}
		if args[1] != "--dependency=afterany:101" {
			return nil, errors.New("merge not made dependent on the array")
		}
		return []byte("102\n"), nil
	}
	e, out, errb := testEnv()
	code := report(e.stderr, "slurm submit", slurmSubmit(context.Background(), e, []string{"-c", "testdata/slurm-recipe.yaml", "--shards", "3", "--out", outDir, "--kforge", "/k"}, fake))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if len(calls) != 2 {
		t.Fatalf("sbatch called %d times, want 2", len(calls))
	}
	for _, s := range []string{"array job 101: 3 shards", "merge job 102: release in " + filepath.Join(outDir, "release")} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(outDir, "slurm", "build.sbatch"))
	if err != nil || !strings.Contains(string(b), "#SBATCH --array=0-2\n") {
		t.Fatalf("array script: %v\n%s", err, b)
	}
}

func TestJobName(t *testing.T) {
	for in, want := range map[string]string{"nightly": "kforge-nightly", "slurm test": "kforge-slurm-test", "  ": "kforge", "a/b:c": "kforge-a-b-c"} {
		if got := jobName(in); got != want {
			t.Errorf("jobName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSlurmSubmitWarnsOfCompleteShards(t *testing.T) {
	b := t.TempDir()
	makeShard(t, b, 1, 3, true)
	makeShard(t, b, 0, 2, true) // another count: not this build's
	e, _, errb := testEnv()
	if code := run(context.Background(), e, []string{"slurm", "submit", "-c", "testdata/slurm-recipe.yaml", "--shards", "3", "--out", b, "--kforge", "/k", "--dry-run"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(errb.String(), "1 of 3 shards to run in "+b+" are already complete") {
		t.Fatalf("no warning: %s", errb)
	}
}

func TestSlurmHelp(t *testing.T) {
	e, out, _ := testEnv()
	if code := run(context.Background(), e, []string{"slurm", "-h"}); code != exitOK || !strings.Contains(out.String(), "-gpus-per-task") {
		t.Fatalf("exit %d: %s", code, out)
	}
}

// --indices runs only the chosen shards, as I/N of the whole build; "failed"
// picks those not DONE or DONE with failed items. The merge goes to the
// recipe's merge partition.
func TestSlurmSubmitIndices(t *testing.T) {
	b := t.TempDir()
	makeShard(t, b, 0, 4, true)
	makeShard(t, b, 2, 4, true)
	// Shard 2 finished with a failed item; 1 and 3 never finished.
	st := `{"seconds":1,"funnel":[],"counters":{},"failures":{"generate":{"timeout":1}}}`
	if err := os.WriteFile(filepath.Join(b, "shards", "00002-of-00004", "stats.json"), []byte(st), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := filepath.Join(t.TempDir(), "r.yaml")
	src, err := os.ReadFile("testdata/slurm-recipe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recipe, append(src, "slurm:\n  partition: gpu\n  merge_partition: cpu\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		indices, array string
	}{
		{"3,1", "#SBATCH --array=1,3\n"},
		{"1-3", "#SBATCH --array=1,2,3\n"},
		{"failed", "#SBATCH --array=1,2,3\n"},
	} {
		e, out, errb := testEnv()
		code := run(context.Background(), e, []string{"slurm", "submit", "-c", recipe, "--shards", "4", "--out", b, "--kforge", "/k", "--indices", tc.indices, "--dry-run"})
		if code != exitOK {
			t.Fatalf("--indices %s: exit %d: %s", tc.indices, code, errb)
		}
		for _, want := range []string{tc.array, `shard="$SLURM_ARRAY_TASK_ID/4"`, "#SBATCH --partition=gpu\n", "#SBATCH --partition=cpu\n"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("--indices %s: dry run lacks %q:\n%s", tc.indices, want, out)
			}
		}
	}
	for _, bad := range []string{"4", "x", "3-1", "1,1"} {
		e, _, errb := testEnv()
		if code := run(context.Background(), e, []string{"slurm", "submit", "-c", recipe, "--shards", "4", "--out", b, "--kforge", "/k", "--indices", bad, "--dry-run"}); code != exitUsage {
			t.Errorf("--indices %s: exit %d, want %d: %s", bad, code, exitUsage, errb)
		}
	}
}
