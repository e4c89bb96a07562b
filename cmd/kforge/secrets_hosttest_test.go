//go:build hosttest

package main

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestNoPlantedSecretIsWritten plants credentials (a Hub token, API keys in
// the environment, model.host with user:password, a Hub endpoint with
// user:password) and runs build, export, merge and publish (dry run, and a
// real attempt that the Hub refuses). No file any of them writes (shards,
// lineage, manifests, cards, stats, the cache), nothing they print, and
// nothing sent to the Hub (bodies; the token's own Authorization header
// aside) may contain a planted secret. The compiler is a wrapper around c++
// that dumps its environment into the compile log, which verdicts keep: the
// secrets must not be in it either.
func TestNoPlantedSecretIsWritten(t *testing.T) {
	for _, tool := range []string{"git", "c++"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the fixture needs it", tool)
		}
	}
	planted := map[string]string{
		"HF_TOKEN":              "hf_plantedHubToken0123456789abcdef",
		"OPENAI_API_KEY":        "sk-planted-openai-0123456789",
		"KFORGE_TEST_MODEL_KEY": "planted-model-key-0123456789",
		"AWS_SECRET_ACCESS_KEY": "planted-aws-secret-0123456789",
	}
	const modelPW, hubPW = "planted-model-pw-5678", "planted-hub-pw-4321"
	for k, v := range planted {
		t.Setenv(k, v)
	}
	secrets := []string{modelPW, hubPW, "alice:", "bob:"}
	for _, v := range planted {
		secrets = append(secrets, v)
	}
	leaks := func(s string) []string {
		var found []string
		for _, v := range secrets {
			if strings.Contains(s, v) {
				found = append(found, v)
			}
		}
		return found
	}

	root := t.TempDir()
	// The compiler: c++ behind a wrapper that prints its environment.
	realCXX, _ := exec.LookPath("c++")
	wrapDir := filepath.Join(root, "wrap", "bin")
	os.MkdirAll(wrapDir, 0o755)
	writeFile(t, filepath.Join(wrapDir, "c++"), "#!/bin/sh\necho KFORGE-ENV-DUMP >&2\nenv >&2\nexec "+realCXX+" \"$@\"\n")
	os.Chmod(filepath.Join(wrapDir, "c++"), 0o755)
	t.Setenv("PATH", wrapDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	repo := e2eRepo(t, root)
	fake := newFakeOllama(t, "fake-coder:1b", fixtureAnswer)
	host := strings.Replace(fake.URL(), "http://", "http://alice:"+modelPW+"@", 1)
	recipe := e2eRecipe(t, root, repo, host, e2eOpts{name: "secrets", samples: 1, rounds: 1, concurrency: 1, backend: "host-test"})
	b, _ := os.ReadFile(recipe)
	writeFile(t, recipe, strings.Replace(string(b), "  pull: false\n", "  pull: false\n  api_key_env: KFORGE_TEST_MODEL_KEY\n", 1))

	var hubMu sync.Mutex
	var hubBodies []string
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hubMu.Lock()
		hubBodies = append(hubBodies, r.Method+" "+r.URL.String()+"\n"+string(body))
		hubMu.Unlock()
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, `{"error":"Repository not found: `+r.URL.String()+`"}`, http.StatusNotFound)
	}))
	defer hub.Close()
	getenv := map[string]string{"HOME": t.TempDir(), "HF_ENDPOINT": strings.Replace(hub.URL, "http://", "http://bob:"+hubPW+"@", 1)}
	for k, v := range planted {
		getenv[k] = v
	}

	out := filepath.Join(root, "out")
	var printed []string
	step := func(okCodes []int, args ...string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, getenv, args...)
		printed = append(printed, stdout, stderr)
		for _, c := range okCodes {
			if c == code {
				return
			}
		}
		t.Fatalf("kforge %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	step([]int{exitOK, exitItemsBad}, "build", "-c", recipe, "--out", out)
	if fake.chats.Load() == 0 {
		t.Fatal("the build made no model call: it proves nothing")
	}
	step([]int{exitOK}, "export", "--from", out, "--out", filepath.Join(root, "exported"), "-c", recipe)
	step([]int{exitOK}, "merge", "--out", filepath.Join(root, "merged"), "-c", recipe, out)
	step([]int{exitOK}, "publish", filepath.Join(root, "exported"), "--repo", "org/data", "--dry-run", "--tag", "v2026.01.01")
	step([]int{exitFailed}, "publish", filepath.Join(root, "merged"), "--repo", "org/data", "--tag", "v2026.01.01")

	dumped := false
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == recipe || strings.HasPrefix(p, wrapDir) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dumped = dumped || strings.Contains(string(b), "KFORGE-ENV-DUMP")
		if l := leaks(string(b)); len(l) > 0 {
			rel, _ := filepath.Rel(root, p)
			t.Errorf("%s holds planted secrets %q", rel, l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !dumped {
		t.Error("no written file holds the compiler's environment dump: the compiler check proves nothing")
	}
	for i, s := range printed {
		if l := leaks(s); len(l) > 0 {
			t.Errorf("output %d holds planted secrets %q:\n%s", i, l, s)
		}
	}
	hubMu.Lock()
	defer hubMu.Unlock()
	if len(hubBodies) == 0 {
		t.Error("publish made no Hub call")
	}
	for _, s := range hubBodies {
		if l := leaks(s); len(l) > 0 {
			t.Errorf("sent to the Hub: planted secrets %q in %s", l, s)
		}
	}
}
