//go:build hosttest

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"kforge/internal/sched"
)

// TestSlurmEndToEnd runs a real sharded build on a real Slurm cluster (a
// one-node one from scripts/slurm-up.sh is enough): `kforge slurm submit`
// queues a 4-task array and its merge job, each task builds its shard of a
// fixture repository with a scripted model and the host-test backend, the
// merge job writes the release. A one-process `kforge build` of the same
// recipe must then give the same release, byte for byte, without a single
// model call: it shares the cache, which holds every model answer and every
// measurement (timings on a shared CPU differ from run to run, so equal
// releases need equal measurements, which is what the cache guarantees).
func TestSlurmEndToEnd(t *testing.T) {
	requireSlurmCluster(t)
	for _, tool := range []string{"git", "c++"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the fixture needs it", tool)
		}
	}
	root := t.TempDir()
	bin := buildKforge(t, root)
	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "slurm-e2e", samples: 2, rounds: 1, concurrency: 2, backend: "host-test", sharedCache: true})

	sharded := filepath.Join(root, "sharded")
	out := runKforge(t, root, bin, "slurm", "submit", "-c", recipe, "--shards", "4", "--out", sharded,
		"--gpus-per-task", "0", "--time", "30")
	arrayID := jobID(t, out, "array")
	mergeID := jobID(t, out, "merge")
	t.Cleanup(func() { exec.Command("scancel", arrayID, mergeID).Run() })
	t.Logf("array job %s, merge job %s", arrayID, mergeID)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	logs := filepath.Join(sharded, "slurm", "logs")
	array, err := sched.Wait(ctx, sched.Exec, arrayID, time.Second)
	if err != nil {
		t.Fatalf("array: %v\n%s", err, tails(logs))
	}
	// scontrol forgets finished jobs after MinJobAge (slurm-up.sh sets an
	// hour); the DONE markers below are the record of every shard.
	if len(array) == 0 || len(array) > 4 {
		t.Fatalf("array shows %d tasks, want 1 to 4: %+v", len(array), array)
	}
	merge, err := sched.Wait(ctx, sched.Exec, mergeID, time.Second)
	if err != nil {
		t.Fatalf("merge: %v\n%s", err, tails(logs))
	}
	for _, s := range append(array, merge...) {
		if s.State != "COMPLETED" {
			t.Fatalf("job %s (array task %q) is %s, exit %s\n%s", s.ID, s.Array, s.State, s.Exit, tails(logs))
		}
	}
	for i := range 4 {
		if _, err := os.Stat(filepath.Join(sharded, "shards", fmt.Sprintf("%05d-of-00004", i), "DONE")); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	chats := fake.chats.Load()
	if chats == 0 {
		t.Fatal("the sharded build asked the model nothing")
	}
	rows := mergeRows(t, logs)
	total := int64(0)
	for _, n := range rows {
		total += n
	}
	if total == 0 {
		t.Fatalf("the merged release is empty (rows %v): the test proves nothing about its content\n%s", rows, tails(logs))
	}

	single := filepath.Join(root, "single")
	runKforge(t, root, bin, "build", "-c", recipe, "--out", single)
	if n := fake.chats.Load() - chats; n != 0 {
		t.Errorf("the one-process build over the same cache made %d model calls, want 0", n)
	}
	compareTrees(t, filepath.Join(sharded, "release"), filepath.Join(single, "release"))
}

// requireSlurmCluster skips unless sbatch exists and sinfo shows a usable node.
func requireSlurmCluster(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no Slurm jobs")
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("no sbatch: apt-get install slurm-wlm munge, then scripts/slurm-up.sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sinfo", "-h", "-o", "%t").Output()
	if err != nil || !regexp.MustCompile(`(?m)^(idle|mix)`).Match(out) {
		t.Skipf("no idle Slurm node (sinfo: %q, %v): run scripts/slurm-up.sh", out, err)
	}
}

// buildKforge builds this command, with the host-test backend, for the jobs.
func buildKforge(t testing.TB, root string) string {
	t.Helper()
	// go test puts its own go command first on the PATH.
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build kforge with")
	}
	bin := filepath.Join(root, "bin", "kforge")
	cmd := exec.Command(gobin, "build", "-tags", "hosttest", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// e2eRepo commits testdata/e2e-repo into a git repository under root.
func e2eRepo(t testing.TB, root string) string {
	return gitFixture(t, filepath.Join("testdata", "e2e-repo"), filepath.Join(root, "repo"))
}

func runKforge(t testing.TB, dir, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kforge %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func jobID(t *testing.T, out, kind string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + kind + ` job ([0-9]+):`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s job id in %q", kind, out)
	}
	return m[1]
}

// mergeRows reads the summary `kforge merge` printed into its job log.
func mergeRows(t *testing.T, logs string) map[string]int64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(logs, "merge-*.out"))
	if len(files) != 1 {
		t.Fatalf("merge logs: %q, want one", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// The summary is the indented JSON object on stdout; log lines on
	// stderr may come before and after it.
	b = append([]byte("\n"), b...)
	start := bytes.Index(b, []byte("\n{\n"))
	end := bytes.LastIndex(b, []byte("\n}\n"))
	if start < 0 || end < start {
		t.Fatalf("no summary in the merge log:\n%s", b)
	}
	var sum struct {
		Rows map[string]int64 `json:"rows"`
	}
	if err := json.Unmarshal(b[start+1:end+2], &sum); err != nil {
		t.Fatalf("merge summary: %v\n%s", err, b)
	}
	return sum.Rows
}

// compareTrees requires two directories to hold the same files with the
// same bytes.
func compareTrees(t *testing.T, a, b string) {
	t.Helper()
	files := func(dir string) map[string][]byte {
		m := map[string][]byte{}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			m[rel], err = os.ReadFile(p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	fa, fb := files(a), files(b)
	var names []string
	for n := range fa {
		names = append(names, n)
	}
	for n := range fb {
		if _, ok := fa[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	data := 0
	for _, n := range names {
		x, inA := fa[n]
		y, inB := fb[n]
		switch {
		case !inA:
			t.Errorf("%s: only in the one-process release", n)
		case !inB:
			t.Errorf("%s: only in the merged release", n)
		case !bytes.Equal(x, y):
			i := 0
			for i < min(len(x), len(y)) && x[i] == y[i] {
				i++
			}
			t.Errorf("%s differs at byte %d (%d and %d bytes): merged %q, one-process %q", n, i, len(x), len(y),
				x[max(0, i-40):min(len(x), i+40)], y[max(0, i-40):min(len(y), i+40)])
		}
		if strings.HasPrefix(n, "data"+string(filepath.Separator)) {
			data++
		}
	}
	if data == 0 || fa["manifest.json"] == nil {
		t.Errorf("the releases hold %d data files and manifest %v: %q", data, fa["manifest.json"] != nil, names)
	}
}

// tails shows the end of every job log, for a failed run.
func tails(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.out"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "== %s\n%s\n", f, strings.Join(lines[max(0, len(lines)-25):], "\n"))
	}
	return b.String()
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSlurmFailedItemStillMerges runs a real sharded build on Slurm in which
// one item fails for good (the model server keeps failing it): its shard
// finishes DONE with the failure recorded and exits 3, which Slurm shows,
// and the merge job still runs (afterany) and writes the release, listing
// the failed item; it exits 3 too, as a release with failed items does.
func TestSlurmFailedItemStillMerges(t *testing.T) {
	requireSlurmCluster(t)
	needFixtureTools(t)
	root := t.TempDir()
	bin := buildKforge(t, root)
	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	fake.fault = func(prompt string, seed int) bool {
		m := kernelRe.FindStringSubmatch(prompt)
		return m != nil && m[1] == "poly_eval" && seed == 2
	}
	recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "slurm-fail", samples: 2, rounds: 1, concurrency: 2, backend: "host-test", sharedCache: true})
	editRecipe(t, recipe, "  pull: false\n", "  pull: false\n  retries: 0\n")

	out := filepath.Join(root, "sharded")
	sub := runKforge(t, root, bin, "slurm", "submit", "-c", recipe, "--shards", "2", "--out", out, "--gpus-per-task", "0", "--time", "30")
	arrayID, mergeID := jobID(t, sub, "array"), jobID(t, sub, "merge")
	t.Cleanup(func() { exec.Command("scancel", arrayID, mergeID).Run() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	logs := filepath.Join(out, "slurm", "logs")
	array, err := sched.Wait(ctx, sched.Exec, arrayID, time.Second)
	if err != nil {
		t.Fatalf("array: %v\n%s", err, tails(logs))
	}
	merge, err := sched.Wait(ctx, sched.Exec, mergeID, time.Second)
	if err != nil {
		t.Fatalf("merge: %v (a shard with failed items must not block it)\n%s", err, tails(logs))
	}
	exits := map[string]int{}
	for _, s := range array {
		exits[s.Exit]++
		if s.Exit != "0:0" && s.Exit != "3:0" {
			t.Errorf("array task %s: %s, exit %s; want 0:0 or 3:0", s.Array, s.State, s.Exit)
		}
	}
	if exits["3:0"] != 1 {
		t.Fatalf("array tasks exits %v, want one shard showing exit 3 (finished with failed items)\n%s", exits, tails(logs))
	}
	if len(merge) != 1 || merge[0].Exit != "3:0" {
		t.Fatalf("merge job %+v, want it to have run and exited 3 (release with failed items)\n%s", merge, tails(logs))
	}
	fs := readManifestFailures(t, filepath.Join(out, "release"))
	if len(fs) != 1 || fs[0].Stage != "generate" || fs[0].Sample != 1 {
		t.Fatalf("manifest failures %+v, want the one failed item\n%s", fs, tails(logs))
	}
	if rows := mergeRows(t, logs); len(rows) == 0 {
		t.Fatalf("the merged release has no rows\n%s", tails(logs))
	}
}
