//go:build hosttest

package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// truncateHalf replaces path (which may be a hard link shared with another
// repository) by a new file holding the first half of its bytes.
func truncateHalf(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(path), 0o755)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b[:len(b)/2], 0o444); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedMirrorAndCheckoutAreRebuilt: after a build, every loose object
// of the cached git mirror and a header of the cached checkout are
// truncated. The next build over the same cache finds both damaged,
// re-clones the mirror, re-extracts the checkout, succeeds, and writes the
// release the first build wrote.
func TestDamagedMirrorAndCheckoutAreRebuilt(t *testing.T) {
	needFixtureTools(t)
	root := t.TempDir()
	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "heal", samples: 1, rounds: 1, concurrency: 2, backend: "host-test", sharedCache: true})
	first := filepath.Join(root, "night-1")
	if code, _, stderr := runCLI(t, nil, "build", "-c", recipe, "--out", first); code != exitOK {
		t.Fatalf("first build: exit %d\n%s", code, stderr)
	}

	cache := filepath.Join(root, "cache")
	mirrors, _ := filepath.Glob(filepath.Join(cache, "git", "*"))
	if len(mirrors) != 1 {
		t.Fatalf("mirrors %v", mirrors)
	}
	var objects []string
	filepath.WalkDir(filepath.Join(mirrors[0], "objects"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(filepath.Base(filepath.Dir(p))) == 2 {
			objects = append(objects, p)
		}
		return nil
	})
	if len(objects) == 0 {
		t.Fatal("no loose objects in the mirror to damage")
	}
	for _, p := range objects {
		truncateHalf(t, p)
	}
	headers, _ := filepath.Glob(filepath.Join(cache, "checkouts", "*", "*", "Common", "kforge_host.h"))
	if len(headers) != 1 {
		t.Fatalf("checkout headers %v", headers)
	}
	truncateHalf(t, headers[0])

	// A new process, as a nightly is: a process checks a checkout once.
	bin := buildKforge(t, root)
	second := filepath.Join(root, "night-2")
	cmd := exec.Command(bin, "build", "-c", recipe, "--out", second)
	cmd.Env = cleanEnv()
	var errb strings.Builder
	cmd.Stderr = &errb
	err := cmd.Run()
	stderr := errb.String()
	if err != nil {
		t.Fatalf("build over the damaged cache: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "re-cloned it") {
		t.Errorf("the log does not say the mirror was rebuilt:\n%s", stderr)
	}
	if out, err := exec.Command("git", "--git-dir", mirrors[0], "fsck", "--full").CombinedOutput(); err != nil {
		t.Errorf("the mirror is still damaged: %v\n%s", err, out)
	}
	want, _ := os.ReadFile(filepath.Join(repo, "Common", "kforge_host.h"))
	if got, _ := os.ReadFile(headers[0]); string(got) != string(want) {
		t.Errorf("the checkout's header was not restored (%d bytes, want %d)", len(got), len(want))
	}
	sameTree(t, filepath.Join(first, "release"), filepath.Join(second, "release"))
}
