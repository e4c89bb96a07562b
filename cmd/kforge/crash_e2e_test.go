//go:build hosttest

package main

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashSafety kills `kforge build` with SIGKILL at random points and
// resumes it with the same command. Every resumed build must write a release
// byte-identical to an uninterrupted build's, leave no temporary file
// anywhere under its build directory, and make at most the model calls of a
// clean build plus those in flight at the kill. KFORGE_CRASH_BENCH=N runs N
// kills (default 3) and logs the figures.
//
// Host timings differ from run to run, so every trial starts with the
// uninterrupted build's measurement and qualification caches: what is
// compared is what the build does with them (and everything else is paid
// for again).
func TestCrashSafety(t *testing.T) {
	needFixtureTools(t)
	kills := 3
	if s := os.Getenv("KFORGE_CRASH_BENCH"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("KFORGE_CRASH_BENCH=%q: want a count", s)
		}
		kills = n
	}
	root := t.TempDir()
	bin := buildKforge(t, root)
	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	fake.delay = 50 * time.Millisecond
	const concurrency = 2
	recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "crash", samples: 2, rounds: 2, concurrency: concurrency, backend: "host-test"})

	ref := filepath.Join(root, "ref")
	start := time.Now()
	runKforge(t, root, bin, "build", "-c", recipe, "--out", ref)
	clean := time.Since(start)
	cleanCalls := fake.chats.Load()
	want := readTree(t, filepath.Join(ref, "release"))
	t.Logf("clean build: %.2fs, %d model calls, %d release files", clean.Seconds(), cleanCalls, len(want))

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	var worstExtra int64
	var killedDone int
	for i := range kills {
		out := filepath.Join(root, "trial-"+strconv.Itoa(i))
		// Measurements and the reference's qualification (its timings) are
		// the clean build's; model calls, compiles and the rest are paid again.
		for _, kind := range []string{"measure", "qualify"} {
			if _, err := os.Stat(filepath.Join(ref, "cache", kind)); err != nil {
				continue
			}
			if err := os.CopyFS(filepath.Join(out, "cache", kind), os.DirFS(filepath.Join(ref, "cache", kind))); err != nil {
				t.Fatal(err)
			}
		}
		before := fake.chats.Load()
		at := time.Duration(rng.Int64N(int64(clean)))
		cmd := exec.Command(bin, "build", "-c", recipe, "--out", out)
		cmd.Env = cleanEnv()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
			killedDone++ // finished before the kill: still a valid trial
		case <-time.After(at):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
		killedCalls := fake.chats.Load() - before
		runKforge(t, root, bin, "build", "-c", recipe, "--out", out)
		total := fake.chats.Load() - before
		extra := total - cleanCalls
		worstExtra = max(worstExtra, extra)
		t.Logf("trial %d: kill at %.2fs, %d calls before it, %d in all (%+d against a clean build)", i, at.Seconds(), killedCalls, total, extra)
		if extra > concurrency {
			t.Errorf("trial %d: %d model calls, more than a clean build's %d plus the %d that can be in flight", i, total, cleanCalls, concurrency)
		}
		if left := leftovers(out); len(left) > 0 {
			t.Errorf("trial %d: temporary files left: %v", i, left)
		}
		sameTree(t, filepath.Join(ref, "release"), filepath.Join(out, "release"))
		if t.Failed() {
			return
		}
	}
	t.Logf("%d kills: every release identical to the clean build's, no temporary file left, worst extra model calls %d (in flight at most %d); %d runs finished before their kill",
		kills, worstExtra, concurrency, killedDone)
}

// leftovers lists temporary files and directories under dir: atomic
// writes' ".NAME.tmp-*", releases' ".release.tmp-*", mirrors' ".clone-*",
// checkouts' ".tmp-*", ".damaged-*".
func leftovers(dir string) []string {
	var left []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n := d.Name()
		if strings.HasPrefix(n, ".") && (strings.Contains(n, ".tmp-") || strings.HasPrefix(n, ".clone-") || strings.HasPrefix(n, ".tmp-") || strings.HasPrefix(n, ".damaged-") || strings.Contains(n, ".old-")) {
			left = append(left, strings.TrimPrefix(p, dir+"/"))
		}
		return nil
	})
	return left
}
