//go:build hosttest

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// e2eOpts are what the end-to-end recipes differ in.
type e2eOpts struct {
	name            string
	samples, rounds int
	concurrency     int
	backend         string // host-test or compile-only
	sharedCache     bool   // cache_dir beside the builds, shared by every --out
}

// e2eRecipe writes a recipe for the fixture repository and the scripted
// model at host into root and returns its path.
func e2eRecipe(t testing.TB, root, repo, host string, o e2eOpts) string {
	t.Helper()
	cache := ""
	if o.sharedCache {
		cache = "cache_dir: " + filepath.Join(root, "cache") + "\n"
	}
	recipe := filepath.Join(root, o.name+".yaml")
	writeFile(t, recipe, fmt.Sprintf(`name: %[1]s
out: %[2]s/unused
%[3]ssources:
  repos:
    - url: %[4]s
      kind: hip-program
model:
  provider: ollama
  host: %[5]s
  model: fake-coder:1b
  samples: %[6]d
  rounds: %[7]d
  concurrency: %[8]d
  pull: false
verify:
  backend: %[9]s
  archs: [gfx90a]
  repetitions: 5
  # Host timings on a shared CPU are noisy and the fixture's reference is
  # deliberately slow (powf per term), so its real ~5-10x win must not be
  # quarantined as implausible.
  max_speedup: 100
  compile_workers: 1
dataset:
  formats: [sft, rl, pairs, multiturn]
  heldout_fraction: 0.34
  replay:
    fraction: 0
`, o.name, root, cache, repo, host, o.samples, o.rounds, o.concurrency, o.backend))
	return recipe
}

// TestBuildResumesAfterSIGKILL kills a build midway with SIGKILL, then runs
// the same command again: the rerun must finish the shard and the release,
// and pay only for what the killed run had not finished (model calls are
// the costly part; at most the one call in flight at the kill is repeated).
func TestBuildResumesAfterSIGKILL(t *testing.T) {
	for _, tool := range []string{"git", "c++"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the fixture needs it", tool)
		}
	}
	root := t.TempDir()
	bin := buildKforge(t, root)
	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	fake.delay = 300 * time.Millisecond
	recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "sigkill", samples: 2, rounds: 1, concurrency: 1, backend: "host-test"})
	out := filepath.Join(root, "out")
	const tasks, samples = 3, 2 // the fixture's programs × samples, one round

	cmd := exec.Command(bin, "build", "-c", recipe, "--out", out)
	cmd.Env = cleanEnv()
	logf, _ := os.Create(filepath.Join(root, "killed.log"))
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for fake.chats.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	before := fake.chats.Load()
	if before >= tasks*samples {
		t.Fatalf("the build made all %d calls before it was killed; the test proves nothing", before)
	}
	shard := filepath.Join(out, "shards", "00000-of-00001")
	for _, f := range []string{"DONE", "tasks.jsonl", "verdicts.jsonl"} {
		if _, err := os.Stat(filepath.Join(shard, f)); err == nil {
			t.Errorf("the killed build left %s with its final name", f)
		}
	}

	runKforge(t, root, bin, "build", "-c", recipe, "--out", out)
	rerun := fake.chats.Load() - before
	if _, err := os.Stat(filepath.Join(shard, "DONE")); err != nil {
		t.Fatalf("the rerun did not complete the shard: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "release", "manifest.json")); err != nil {
		t.Fatalf("the rerun wrote no release: %v", err)
	}
	if total := before + rerun; total < tasks*samples || total > tasks*samples+1 {
		t.Errorf("killed run %d + rerun %d model calls; want %d (at most one repeated)", before, rerun, tasks*samples)
	}
	// A third run over a complete shard does nothing at all.
	runKforge(t, root, bin, "build", "-c", recipe, "--out", out)
	if n := fake.chats.Load() - before - rerun; n != 0 {
		t.Errorf("a run over a complete shard made %d model calls", n)
	}
}

// BenchmarkNightlyRerun measures a nightly rerun with nothing changed: a
// first build (scripted model answering after 200 ms, compile-only backend
// with real hipcc compiles), then a build into a new directory over the same
// cache. Reported: rerun_ratio = rerun wall time / first build's (target
// under 0.05) and rerun_model_calls (must be 0).
func BenchmarkNightlyRerun(b *testing.B) {
	if _, err := exec.LookPath("hipcc"); err != nil {
		b.Skip("no hipcc")
	}
	for i := range b.N {
		root := b.TempDir()
		bin := buildKforge(b, root)
		repo := e2eRepo(b, root)
		fake := newFakeOllama(b, "fake-coder:1b", fixtureAnswer)
		fake.delay = 200 * time.Millisecond
		recipe := e2eRecipe(b, root, repo, fake.URL(), e2eOpts{name: "nightly-bench", samples: 4, rounds: 2, concurrency: 4, backend: "compile-only", sharedCache: true})
		start := time.Now()
		runKforge(b, root, bin, "build", "-c", recipe, "--out", filepath.Join(root, fmt.Sprint("night-1-", i)))
		first := time.Since(start)
		calls := fake.chats.Load()
		start = time.Now()
		runKforge(b, root, bin, "build", "-c", recipe, "--out", filepath.Join(root, fmt.Sprint("night-2-", i)))
		second := time.Since(start)
		b.ReportMetric(first.Seconds(), "first_s")
		b.ReportMetric(second.Seconds(), "rerun_s")
		b.ReportMetric(second.Seconds()/first.Seconds(), "rerun_ratio")
		b.ReportMetric(float64(fake.chats.Load()-calls), "rerun_model_calls")
		if fake.chats.Load() != calls {
			b.Fatalf("the rerun made %d model calls", fake.chats.Load()-calls)
		}
	}
}
