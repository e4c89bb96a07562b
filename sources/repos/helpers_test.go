package repos

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kforge/datasets"
)

// fixture returns the path of a fixture tree under testdata/repos.
func fixture(name string) string {
	return filepath.Join("..", "..", "testdata", "repos", name)
}

// copyTree copies a directory tree (regular files only).
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// gitRun runs git in dir with a fixed identity and dates, so commits are reproducible.
func gitRun(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=kforge test", "-c", "user.email=test@kforge.invalid", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// makeRepo copies fixture trees into a fresh git repository (each under its
// destination prefix), lets edit add hostile files, commits, and returns the
// repository's path.
func makeRepo(t testing.TB, trees map[string]string, edit func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	for prefix, src := range trees {
		copyTree(t, src, filepath.Join(dir, prefix))
	}
	if edit != nil {
		edit(dir)
	}
	gitRun(t, dir, "init", "-q")
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "commit", "-q", "-m", "fixture")
	return dir
}

func commit(t testing.TB, dir, msg string) string {
	t.Helper()
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "commit", "-q", "-m", msg)
	return gitRun(t, dir, "rev-parse", "HEAD")
}

func mine(t testing.TB, cfg Config, cache string) *Result {
	t.Helper()
	if cfg.Licenses == nil {
		cfg.Licenses = []string{"MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause"}
	}
	res, err := Mine(context.Background(), cfg, Options{CacheDir: cache, Archs: []string{"gfx90a"}})
	if err != nil {
		t.Fatalf("Mine: %v", err)
	}
	return res
}

func byName(tasks []datasets.Task) map[string]datasets.Task {
	m := map[string]datasets.Task{}
	for _, t := range tasks {
		m[t.Name] = t
	}
	return m
}

func ids(tasks []datasets.Task) map[string]string {
	m := map[string]string{}
	for _, t := range tasks {
		m[t.Name] = t.ID
	}
	return m
}
