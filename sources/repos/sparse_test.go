package repos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPartialMirrorFetchesOnlyTheSubdir mines a project inside a monorepo
// served over a filter-capable transport (file:// with
// uploadpack.allowFilter): the mirror is a partial clone, the project's
// blobs are fetched, and no blob outside it ever is.
func TestPartialMirrorFetchesOnlyTheSubdir(t *testing.T) {
	big := strings.Repeat("not part of the project\n", 4096)
	repo := makeRepo(t, map[string]string{"projects/tile": fixture("minitile")}, func(dir string) {
		for _, p := range []string{"projects/other/huge.bin.txt", "projects/other/b.cpp", "README.md"} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, p), []byte(p+"\n"+big), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	gitRun(t, repo, "config", "uploadpack.allowFilter", "true")
	gitRun(t, repo, "config", "uploadpack.allowAnySHA1InWant", "true")
	outside := map[string]bool{}
	for _, p := range []string{"projects/other/huge.bin.txt", "projects/other/b.cpp", "README.md"} {
		outside[gitRun(t, repo, "rev-parse", "HEAD:"+p)] = true
	}
	cache := t.TempDir()
	res := mine(t, Config{Repos: []RepoConfig{{URL: "file://" + repo, Subdir: "projects/tile"}}}, cache)
	if len(res.Tasks) == 0 || res.Repos[0].Error != "" {
		t.Fatalf("mined %d tasks, repo %+v, skipped %v", len(res.Tasks), res.Repos, res.Skipped)
	}
	mirror := filepath.Join(cache, "git", mirrorName("file://"+repo))
	if got := gitRun(t, mirror, "config", "--get", "remote.origin.promisor"); got != "true" {
		t.Fatalf("the mirror is not a partial clone (promisor %q)", got)
	}
	missing := map[string]bool{}
	for _, l := range strings.Split(gitRun(t, mirror, "rev-list", "--objects", "--all", "--missing=print"), "\n") {
		if strings.HasPrefix(l, "?") {
			missing[strings.TrimPrefix(l, "?")] = true
		}
	}
	for id := range outside {
		if !missing[id] {
			t.Errorf("blob %s outside the subdirectory was fetched", id)
		}
	}
	for _, l := range strings.Split(gitRun(t, mirror, "ls-tree", "-r", "HEAD", "--", "projects/tile"), "\n") {
		if f := strings.Fields(l); len(f) == 4 && missing[f[2]] {
			t.Errorf("blob of %s under the subdirectory is missing", f[3])
		}
	}
	// A checkout of a task's source holds the project, from the same mirror.
	dir, err := Checkout(t.Context(), cache, res.Tasks[0].Source)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "example/ck_tile/05_reduce/reduce.cpp")); err != nil {
		t.Errorf("checkout: %v", err)
	}
	for _, l := range strings.Split(gitRun(t, mirror, "rev-list", "--objects", "--all", "--missing=print"), "\n") {
		if outside[strings.TrimPrefix(l, "?")] && !strings.HasPrefix(l, "?") {
			t.Errorf("the checkout fetched %s from outside the subdirectory", l)
		}
	}
}
