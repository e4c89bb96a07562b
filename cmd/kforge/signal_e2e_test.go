//go:build hosttest

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBuildStopsOnSIGTERM sends SIGTERM to a build midway, as Slurm does
// before a time limit (--signal) or on preemption and Kubernetes does on
// eviction: the build must stop cleanly, exit 143 (128+SIGTERM, not the 1
// of a crash), leave no DONE, and a rerun of the same command must finish
// the shard without asking the model again for what the stopped run had.
func TestBuildStopsOnSIGTERM(t *testing.T) {
	needFixtureTools(t)
	root := t.TempDir()
	bin := buildKforge(t, root)
	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	fake.delay = 300 * time.Millisecond
	recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "sigterm", samples: 2, rounds: 1, concurrency: 1, backend: "host-test"})
	out := filepath.Join(root, "out")
	const tasks, samples = 3, 2

	cmd := exec.Command(bin, "build", "-c", recipe, "--out", out)
	cmd.Env = cleanEnv()
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for fake.chats.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- cmd.Wait() }()
	var err error
	select {
	case err = <-stopped:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the build did not stop within a minute of SIGTERM:\n%s", log.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Fatalf("after SIGTERM: %v, want exit status 143:\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "rerun the same command to resume") {
		t.Errorf("the log does not say how to resume:\n%s", log.String())
	}
	before := fake.chats.Load()
	if before >= tasks*samples {
		t.Fatalf("the build made all %d calls before SIGTERM; the test proves nothing", before)
	}
	shard := filepath.Join(out, "shards", "00000-of-00001")
	if _, err := os.Stat(filepath.Join(shard, "DONE")); err == nil {
		t.Fatal("the stopped build marked its shard DONE")
	}
	if left := leftovers(out); len(left) > 0 {
		t.Errorf("the stopped build left temporary files: %q", left)
	}

	runKforge(t, root, bin, "build", "-c", recipe, "--out", out)
	if _, err := os.Stat(filepath.Join(shard, "DONE")); err != nil {
		t.Fatalf("the rerun did not complete the shard: %v", err)
	}
	if total := fake.chats.Load(); total < tasks*samples || total > tasks*samples+1 {
		t.Errorf("stopped run %d + rerun %d model calls; want %d (at most one repeated)", before, total-before, tasks*samples)
	}
}
