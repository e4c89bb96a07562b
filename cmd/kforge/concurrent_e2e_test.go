//go:build hosttest

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrentBuildsAgree runs two `kforge build`s of one recipe at the
// same time over one fresh shared cache, into two --out directories: each
// model call is made once (the other build waits for it through the cache's
// key lock and reads the answer), each compile and measurement is done once,
// so both builds judge from the same timings and write byte-identical
// releases.
func TestConcurrentBuildsAgree(t *testing.T) {
	for _, tool := range []string{"git", "c++"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the fixture needs it", tool)
		}
	}
	root := t.TempDir()
	bin := buildKforge(t, root)
	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	fake.delay = 150 * time.Millisecond // both builds ask while the first answer is still coming
	recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "concurrent", samples: 2, rounds: 1, concurrency: 2, backend: "host-test", sharedCache: true})
	const tasks, samples = 3, 2

	outs := []string{filepath.Join(root, "night-a"), filepath.Join(root, "night-b")}
	logs := make([]bytes.Buffer, len(outs))
	errs := make([]error, len(outs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, out := range outs {
		wg.Go(func() {
			cmd := exec.Command(bin, "build", "-c", recipe, "--out", out)
			cmd.Dir, cmd.Env = root, cleanEnv()
			cmd.Stdout, cmd.Stderr = &logs[i], &logs[i]
			errs[i] = cmd.Run()
		})
	}
	wg.Wait()
	t.Logf("two concurrent builds: %s, %d model calls", time.Since(start).Round(time.Millisecond), fake.chats.Load())
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %s: %v\n%s", outs[i], err, logs[i].String())
		}
	}
	if n := fake.chats.Load(); n != tasks*samples {
		t.Errorf("the two builds made %d model calls, want %d (each once)", n, tasks*samples)
	}
	compareTrees(t, filepath.Join(outs[0], "release"), filepath.Join(outs[1], "release"))
	// No lock or temporary file is left in the shared cache.
	filepath.WalkDir(filepath.Join(root, "cache"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (filepath.Ext(p) == ".lock" || bytes.Contains([]byte(d.Name()), []byte(".tmp-"))) {
			t.Errorf("left in the cache: %s", p)
		}
		return nil
	})
}
