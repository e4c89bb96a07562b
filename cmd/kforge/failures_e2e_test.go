//go:build hosttest

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"kforge/datasets"
)

func needFixtureTools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"git", "c++"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the fixture needs it", tool)
		}
	}
}

// editRecipe replaces old by repl in the recipe file, once.
func editRecipe(t testing.TB, path, old, repl string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("recipe %s lacks %q", path, old)
	}
	writeFile(t, path, strings.Replace(string(b), old, repl, 1))
}

type manifestFailures struct {
	Release struct {
		Failures []datasets.Failure `json:"failures"`
	} `json:"release"`
}

func readManifestFailures(t testing.TB, release string) []datasets.Failure {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(release, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifestFailures
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m.Release.Failures
}

// TestUnreadableSourceFails: a recipe with two repositories, one of which
// cannot be read, is a failed build (exit 3, no publish), the source named
// in the log's summary, the card and the manifest; with
// sources.allow_partial the build goes on from the other (exit 0), still
// naming it.
func TestUnreadableSourceFails(t *testing.T) {
	needFixtureTools(t)
	root := t.TempDir()
	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "partial", samples: 1, rounds: 1, concurrency: 2, backend: "host-test"})
	gone := filepath.Join(root, "gone-repo")
	editRecipe(t, recipe, "      kind: hip-program\n", "      kind: hip-program\n    - url: "+gone+"\n      kind: hip-program\n")

	out := filepath.Join(root, "out")
	code, _, stderr := runCLI(t, nil, "build", "-c", recipe, "--out", out)
	if code != exitItemsBad {
		t.Fatalf("exit %d with an unreadable source, want %d:\n%s", code, exitItemsBad, stderr)
	}
	if !strings.Contains(stderr, "unreadable_sources=["+gone+"]") || !strings.Contains(stderr, "source unreadable") {
		t.Errorf("the summary does not name the unreadable source:\n%s", stderr)
	}
	card, err := os.ReadFile(filepath.Join(out, "release", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(card), "## Incomplete build") || !strings.Contains(string(card), "| "+gone+" | no |") {
		t.Errorf("the card does not name the unreadable source:\n%s", card)
	}
	fs := readManifestFailures(t, filepath.Join(out, "release"))
	if len(fs) != 1 || fs[0].Source != gone || fs[0].Stage != "mine" || fs[0].Allowed {
		t.Errorf("manifest failures %+v", fs)
	}

	editRecipe(t, recipe, "sources:\n", "sources:\n  allow_partial: true\n")
	out2 := filepath.Join(root, "out-partial")
	code, _, stderr = runCLI(t, nil, "build", "-c", recipe, "--out", out2)
	if code != exitOK {
		t.Fatalf("exit %d with sources.allow_partial, want 0:\n%s", code, stderr)
	}
	card, _ = os.ReadFile(filepath.Join(out2, "release", "README.md"))
	if !strings.Contains(string(card), "| "+gone+" | yes (`sources.allow_partial`) |") {
		t.Errorf("a partial build's card does not name the source it lacks:\n%s", card)
	}
	if fs := readManifestFailures(t, filepath.Join(out2, "release")); len(fs) != 1 || !fs[0].Allowed {
		t.Errorf("partial manifest failures %+v", fs)
	}
}

// TestRetryFailedItems: the model server fails some requests once; the
// build exits 3, its card and manifest list the failed items, and rerunning
// the same command asks the model for exactly those again (everything else
// from the cache), exits 0, and writes the release a build without faults
// writes.
func TestRetryFailedItems(t *testing.T) {
	needFixtureTools(t)
	root := t.TempDir()
	repo := e2eRepo(t, root)
	var mu sync.Mutex
	var asked []string
	failed := map[string]bool{}
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	fake.fault = func(prompt string, seed int) bool {
		k := "?"
		if m := kernelRe.FindStringSubmatch(prompt); m != nil {
			k = m[1]
		}
		key := fmt.Sprintf("%s/%d", k, seed)
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, key)
		// Sample 1 of poly_eval and box_smooth fails, once.
		if (k == "poly_eval" || k == "box_smooth") && seed == 2 && !failed[key] {
			failed[key] = true
			return true
		}
		return false
	}
	recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "retry", samples: 2, rounds: 1, concurrency: 2, backend: "host-test", sharedCache: true})
	editRecipe(t, recipe, "  pull: false\n", "  pull: false\n  retries: 0\n")
	out := filepath.Join(root, "out")

	code, _, stderr := runCLI(t, nil, "build", "-c", recipe, "--out", out)
	if code != exitItemsBad {
		t.Fatalf("exit %d, want %d:\n%s", code, exitItemsBad, stderr)
	}
	if !strings.Contains(stderr, "only the failed items are retried") {
		t.Errorf("the log does not say how to retry the failed items:\n%s", stderr)
	}
	fs := readManifestFailures(t, filepath.Join(out, "release"))
	if len(fs) != 2 || fs[0].Stage != "generate" || fs[0].Sample != 1 || fs[0].TaskID == "" {
		t.Fatalf("manifest failures %+v", fs)
	}
	card, _ := os.ReadFile(filepath.Join(out, "release", "README.md"))
	if !strings.Contains(string(card), "2 items failed") || !strings.Contains(string(card), fs[0].TaskID) {
		t.Errorf("the card does not list the failed items:\n%s", card)
	}

	mu.Lock()
	first := len(asked)
	mu.Unlock()
	code, _, stderr = runCLI(t, nil, "build", "-c", recipe, "--out", out)
	if code != exitOK {
		t.Fatalf("rerun: exit %d, want 0:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "retrying exactly those") {
		t.Errorf("the rerun does not say it retries the failed items:\n%s", stderr)
	}
	mu.Lock()
	again := slices.Sorted(slices.Values(asked[first:]))
	mu.Unlock()
	if want := []string{"box_smooth/2", "poly_eval/2"}; !slices.Equal(again, want) {
		t.Errorf("the rerun asked the model for %v, want exactly the failed %v", again, want)
	}
	if fs := readManifestFailures(t, filepath.Join(out, "release")); len(fs) != 0 {
		t.Errorf("failures remain after the retry: %+v", fs)
	}

	// The retried release is the release of a build that never failed (over
	// the same cache: host timings differ from run to run, so only cached
	// measurements give the same bytes).
	calls := fake.chats.Load() // same server: the model host is lineage
	recipe2 := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "clean", samples: 2, rounds: 1, concurrency: 2, backend: "host-test", sharedCache: true})
	editRecipe(t, recipe2, "  pull: false\n", "  pull: false\n  retries: 0\n")
	editRecipe(t, recipe2, "name: clean\n", "name: retry\n")
	cleanOut := filepath.Join(root, "clean")
	if code, _, stderr := runCLI(t, nil, "build", "-c", recipe2, "--out", cleanOut); code != exitOK {
		t.Fatalf("clean build: exit %d\n%s", code, stderr)
	}
	if n := fake.chats.Load() - calls; n != 0 {
		t.Errorf("the build over the retried build's cache made %d model calls", n)
	}
	sameTree(t, filepath.Join(cleanOut, "release"), filepath.Join(out, "release"))
}

// sameTree fails unless the two directories hold the same files with the
// same bytes.
func sameTree(t testing.TB, want, got string) {
	t.Helper()
	a, b := readTree(t, want), readTree(t, got)
	if !slices.Equal(slices.Sorted(mapsKeys(a)), slices.Sorted(mapsKeys(b))) {
		t.Fatalf("%s has %v, want %v", got, slices.Sorted(mapsKeys(b)), slices.Sorted(mapsKeys(a)))
	}
	for p, x := range a {
		if string(x) != string(b[p]) {
			t.Errorf("%s differs from a clean build's", p)
		}
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
