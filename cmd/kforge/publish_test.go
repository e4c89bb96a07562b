package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// publishEnv runs kforge in-process with the given environment.
func publishEnv(getenv map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return getenv[k] }}, &out, &errb
}

func writeReleaseFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"README.md":                             "---\nlicense: mit\nconfigs:\n- config_name: sft\n  data_files: data/sft/*.parquet\n---\n# x\n",
		"manifest.json":                         "{}\n",
		"data/sft/train-00000-of-00001.parquet": "PAR1\x00\x01PAR1",
	}
	for p, s := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPublishUsage(t *testing.T) {
	dir := writeReleaseFixture(t)
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"publish"}, exitUsage},
		{[]string{"publish", dir}, exitUsage},                                      // no --repo
		{[]string{"publish", dir, "--repo", "noslash"}, exitUsage},                 // bad repo
		{[]string{"publish", dir, "--repo", "a/b", "--tag", "bad tag"}, exitUsage}, // bad tag
		{[]string{"publish", dir, dir, "--repo", "a/b"}, exitUsage},
		{[]string{"publish", filepath.Join(dir, "nope"), "--repo", "a/b"}, exitUsage},
		{[]string{"publish", "--bogus"}, exitUsage},
		{[]string{"publish", "-h"}, exitOK},
	}
	for _, c := range cases {
		e, _, errb := publishEnv(nil)
		if got := run(context.Background(), e, c.args); got != c.want {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, got, c.want, errb.String())
		}
	}
}

// TestPublishDryRunCLI plans against a Hub where the repo does not exist
// and checks that only reads were made and the plan was printed.
func TestPublishDryRunCLI(t *testing.T) {
	var mu sync.Mutex
	var methods []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		methods = append(methods, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, `{"error":"Repository not found"}`, http.StatusNotFound)
	}))
	defer srv.Close()
	dir := writeReleaseFixture(t)
	e, out, errb := publishEnv(map[string]string{"HF_ENDPOINT": srv.URL, "HOME": t.TempDir()})
	code := run(context.Background(), e, []string{"publish", dir, "--repo", "org/data", "--dry-run", "--tag", "v2026.11.29"})
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	for _, s := range []string{"would be created (public)", "data/sft/train-00000-of-00001.parquet", "nothing written"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("plan lacks %q:\n%s", s, out.String())
		}
	}
	for _, m := range methods {
		if strings.HasPrefix(m, "POST") && !strings.HasSuffix(m, "/api/validate-yaml") {
			t.Errorf("dry run made a write call: %s", m)
		}
	}
	// Without --dry-run and without a token, publishing fails clearly.
	e, _, errb = publishEnv(map[string]string{"HF_ENDPOINT": srv.URL, "HOME": t.TempDir()})
	if code := run(context.Background(), e, []string{"publish", dir, "--repo", "org/data"}); code != exitFailed || !strings.Contains(errb.String(), "HF_TOKEN") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// TestPublishLoginAdvice: the usage text and the no-token failure point at
// `hf auth login`, not the removed `huggingface-cli login`.
func TestPublishLoginAdvice(t *testing.T) {
	e, errb, _ := publishEnv(nil) // -h prints the usage on stdout
	if code := run(context.Background(), e, []string{"publish", "-h"}); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	dir := writeReleaseFixture(t)
	e2, _, errb2 := publishEnv(map[string]string{"HOME": t.TempDir(), "HF_ENDPOINT": "http://127.0.0.1:9"})
	if code := run(context.Background(), e2, []string{"publish", dir, "--repo", "org/data", "--tag", "v1"}); code != exitFailed {
		t.Fatalf("exit %d: %s", code, errb2.String())
	}
	for what, s := range map[string]string{"usage": errb.String(), "no-token error": errb2.String()} {
		if !strings.Contains(s, "hf auth login") || strings.Contains(s, "huggingface-cli") {
			t.Errorf("%s: want `hf auth login` and no huggingface-cli:\n%s", what, s)
		}
	}
}
