package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every command answers -h and --help the same way: usage on stdout, exit 0,
// nothing on stderr. A bad flag is still a usage error (2) on stderr.
func TestHelpExitsZeroForEveryCommand(t *testing.T) {
	cases := [][]string{{"-h"}, {"--help"}, {"help"}}
	for _, c := range commands() {
		cases = append(cases, []string{c.name, "-h"}, []string{c.name, "--help"})
	}
	cases = append(cases, []string{"slurm", "submit", "-h"}, []string{"config", "check", "-h"}, []string{"config", "explain", "-h"})
	for _, args := range cases {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != exitOK || !strings.Contains(stdout, "usage") || stderr != "" {
			t.Errorf("kforge %s: exit %d\nstdout %q\nstderr %q", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	for _, c := range commands() {
		if c.name == "version" {
			continue
		}
		args := []string{c.name, "--no-such-flag"}
		if c.name == "slurm" {
			args = []string{"slurm", "submit", "--no-such-flag"}
		}
		if c.name == "config" {
			args = []string{"config", "check", "--no-such-flag"}
		}
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != exitUsage || stdout != "" || stderr == "" {
			t.Errorf("kforge %s: exit %d\nstdout %q\nstderr %q", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}

// An interrupt while the build checks the model server (preflight) is
// reported as an interruption, not as an unreachable server: the server
// was fine, the user pressed Ctrl-C.
func TestPreflightInterruptIsReportedAsInterrupted(t *testing.T) {
	if _, err := exec.LookPath("hipcc"); err != nil {
		t.Skip("no hipcc: the compile-only backend is checked first")
	}
	// A server that answers nothing until the client gives up.
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	dir := t.TempDir()
	recipe := filepath.Join(dir, "r.yaml")
	os.WriteFile(recipe, []byte("name: x\nsources: {repos: [{url: /nonexistent}]}\nmodel: {model: m, host: '"+srv.URL+"', retries: 0}\nverify: {backend: compile-only}\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := run(ctx, e, []string{"build", "-c", recipe, "--out", filepath.Join(dir, "out")})
	stderr := errb.String()
	if code != exitFailed || !strings.Contains(stderr, "interrupted") || strings.Contains(stderr, "unreachable") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
