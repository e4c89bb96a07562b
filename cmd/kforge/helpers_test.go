package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// gitFixture copies the fixture tree src to dst and commits it as one
// commit with fixed author, committer and dates, so its commit id is the same
// on every run. It returns dst.
func gitFixture(t testing.TB, src, dst string) string {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	env := append(cleanEnv(), "GIT_AUTHOR_NAME=kforge", "GIT_AUTHOR_EMAIL=kforge@example.invalid",
		"GIT_COMMITTER_NAME=kforge", "GIT_COMMITTER_EMAIL=kforge@example.invalid",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "commit.gpgsign=false", "commit", "-q", "-m", "fixture"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dst, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dst
}

// cleanEnv is this process's environment without scheduler variables, so a
// one-process build is not taken for an array task.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SLURM_") || k == "JOB_COMPLETION_INDEX" || k == "KFORGE_SHARDS" {
			continue
		}
		env = append(env, kv)
	}
	return env
}
