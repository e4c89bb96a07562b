package sched

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// requireSlurm skips unless a Slurm controller answers here (see
// scripts/slurm-up.sh for a one-node cluster).
func requireSlurm(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no Slurm jobs")
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("no sbatch: install slurm-wlm and run scripts/slurm-up.sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sinfo", "-h", "-o", "%t").Output()
	if err != nil || !strings.Contains(string(out), "idle") && !strings.Contains(string(out), "mix") {
		t.Skipf("no idle Slurm node (sinfo: %q, %v): run scripts/slurm-up.sh", out, err)
	}
}

// fakeKforge stands in for the kforge binary so this test exercises only what
// sched owns: the scripts, their quoting, the array environment and the
// dependency. The build records its shard and marks it DONE; the merge lists
// the shard directories it was given. Shard FAIL exits 1.
const fakeKforge = `#!/bin/bash
set -euo pipefail
cmd=$1; shift
case $cmd in
build)
	[ "$1" = -c ] && [ "$3" = --out ] || { echo "bad args: $*" >&2; exit 2; }
	: "${SLURM_ARRAY_TASK_ID:?}" "${SLURM_ARRAY_TASK_COUNT:?}"
	[ "$SLURM_ARRAY_TASK_ID" != "${FAIL:-none}" ] || { echo "shard $SLURM_ARRAY_TASK_ID fails on purpose" >&2; exit 1; }
	d="$4/shards/$(printf '%05d-of-%05d' "$SLURM_ARRAY_TASK_ID" "$SLURM_ARRAY_TASK_COUNT")"
	mkdir -p "$d"
	printf '%s\n' "$2" "$(pwd)" >"$d/args"
	touch "$d/DONE"
	;;
merge)
	[ "$1" = -c ] && [ "$3" = --out ] || { echo "bad args: $*" >&2; exit 2; }
	out=$4; shift 4
	mkdir -p "$out"
	printf '%s\n' "$@" >"$out/shards.txt"
	;;
*) exit 2 ;;
esac
`

func realJob(t *testing.T, fail string) SlurmJob {
	root := t.TempDir()
	tools := filepath.Join(root, "my tools")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	kforge := filepath.Join(tools, "kforge")
	script := fakeKforge
	if fail != "" {
		script = strings.Replace(script, "${FAIL:-none}", fail, 1)
	}
	if err := os.WriteFile(kforge, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(root, "work dir")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return SlurmJob{
		Name:    "kforge-test",
		Kforge:  kforge,
		Config:  filepath.Join(root, "it's a recipe.yaml"),
		Out:     filepath.Join(root, "out dir", "100%", "$HOME"),
		Workdir: work,
		Shards:  4,
		Time:    "5",
	}
}

func waitJob(t *testing.T, id string) []JobState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	states, err := Wait(ctx, Exec, id, 250*time.Millisecond)
	if err != nil {
		exec.Command("scancel", id).Run()
		t.Fatalf("job %s: %v (states %+v)", id, err, states)
	}
	return states
}

func TestSlurmArrayAndMerge(t *testing.T) {
	requireSlurm(t)
	j := realJob(t, "")
	s, err := Submit(context.Background(), Exec, j)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("array job %s, merge job %s", s.ArrayJob, s.MergeJob)
	merge := waitJob(t, s.MergeJob)
	array := waitJob(t, s.ArrayJob)
	if len(array) != 4 {
		t.Fatalf("array has %d tasks, want 4: %+v", len(array), array)
	}
	for _, st := range append(array, merge...) {
		if st.State != "COMPLETED" {
			t.Fatalf("job %s (task %q) is %s, exit %s; logs in %s", st.ID, st.Array, st.State, st.Exit, j.LogDir())
		}
	}
	var shards []string
	for i := range 4 {
		d := filepath.Join(j.Out, "shards", fmt.Sprintf("%05d-of-00004", i))
		shards = append(shards, d)
		b, err := os.ReadFile(filepath.Join(d, "args"))
		if err != nil {
			t.Fatalf("shard %d did not run: %v", i, err)
		}
		if want := j.Config + "\n" + j.Workdir + "\n"; string(b) != want {
			t.Errorf("shard %d got recipe and workdir %q, want %q", i, b, want)
		}
		if _, err := os.Stat(filepath.Join(j.LogDir(), fmt.Sprintf("build-%s_%d.out", s.ArrayJob, i))); err != nil {
			t.Errorf("no log for shard %d: %v", i, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(j.ReleaseDir(), "shards.txt"))
	if err != nil {
		t.Fatalf("merge did not run: %v", err)
	}
	if got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); !slices.Equal(got, shards) {
		t.Fatalf("merge got shards %q, want %q", got, shards)
	}
}

// A failed shard must keep the merge from running: afterok is never met and
// --kill-on-invalid-dep cancels the merge job.
func TestSlurmFailedShardCancelsMerge(t *testing.T) {
	requireSlurm(t)
	j := realJob(t, "2")
	s, err := Submit(context.Background(), Exec, j)
	if err != nil {
		t.Fatal(err)
	}
	array := waitJob(t, s.ArrayJob)
	failed := 0
	for _, st := range array {
		if st.State == "FAILED" {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d failed array tasks, want 1: %+v", failed, array)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	merge, err := Wait(ctx, Exec, s.MergeJob, 250*time.Millisecond)
	if err == nil && (len(merge) != 1 || merge[0].State != "CANCELLED") {
		t.Fatalf("merge job after a failed shard: %+v, want CANCELLED or never satisfiable", merge)
	}
	if err != nil && !strings.Contains(err.Error(), "can never start") {
		t.Fatal(err)
	}
	exec.Command("scancel", s.MergeJob).Run()
	if _, err := os.Stat(filepath.Join(j.ReleaseDir(), "shards.txt")); err == nil {
		t.Fatal("merge ran although a shard failed")
	}
}
