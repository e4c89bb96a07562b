//go:build hosttest

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildChecksPathsBeforeAnyModelCall: a recipe whose replay source or
// decontamination set is missing fails at the build's start, with file:line,
// before any model call (counted at the fake model server) and before any
// output is written; not at the release, after every call was paid for.
func TestBuildChecksPathsBeforeAnyModelCall(t *testing.T) {
	for _, tool := range []string{"git", "c++"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the fixture needs it", tool)
		}
	}
	root := t.TempDir()
	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	missing := filepath.Join(root, "replay", "general.parquet")
	for _, c := range []struct{ name, replace, want string }{
		{"replay", "  replay:\n    fraction: 0\n", "  replay:\n    fraction: 0.05\n    sources:\n      - path: " + missing + "\n"},
		{"decontaminate", "  replay:\n    fraction: 0\n", "  decontaminate: [" + missing + "]\n  replay:\n    fraction: 0\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			recipe := e2eRecipe(t, root, repo, fake.URL(), e2eOpts{name: "paths-" + c.name, samples: 1, rounds: 1, concurrency: 1, backend: "host-test"})
			b, _ := os.ReadFile(recipe)
			if !strings.Contains(string(b), c.replace) {
				t.Fatalf("the e2e recipe changed; update this test:\n%s", b)
			}
			writeFile(t, recipe, strings.Replace(string(b), c.replace, c.want, 1))
			out := filepath.Join(root, "out-"+c.name)
			code, _, stderr := runCLI(t, nil, "build", "-c", recipe, "--out", out)
			if code != exitUsage || !strings.Contains(stderr, missing+" does not exist") || !strings.Contains(stderr, filepath.Base(recipe)+":") {
				t.Errorf("exit %d, want %d with the missing path and file:line; stderr:\n%s", code, exitUsage, stderr)
			}
			if n := fake.chats.Load(); n != 0 {
				t.Errorf("%d model calls before the bad path was noticed", n)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("the refused build wrote its output directory")
			}
		})
	}
}
