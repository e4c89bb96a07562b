package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kforge/sources/model"
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

// doctor exits 1 with the reason on stderr when no backend here can keep a
// variant: compile-only never does, and this test machine has no GPU.
func TestDoctorFailsWithoutAKeepingBackend(t *testing.T) {
	if _, err := exec.LookPath("rocminfo"); err == nil {
		if out, _ := exec.Command("rocminfo").Output(); strings.Contains(string(out), "gfx") {
			t.Skip("an AMD GPU is here")
		}
	}
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Skip("nvidia-smi is here")
	}
	code, stdout, stderr := runCLI(t, map[string]string{"OLLAMA_HOST": "127.0.0.1:1"}, "doctor")
	if code != exitFailed || !strings.Contains(stderr, "no backend here can keep a variant") || !strings.Contains(stdout, "verification backends:") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// notifyWriter signals once the first write arrives.
type notifyWriter struct {
	bytes.Buffer
	first chan struct{}
	once  sync.Once
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	defer w.once.Do(func() { close(w.first) })
	return w.Buffer.Write(p)
}

// doctor prints each probe's lines as soon as it finishes: the first
// probe's line is on stdout while the second is still running.
func TestDoctorPrintsAsItProbes(t *testing.T) {
	release := make(chan struct{})
	saved := doctorSteps
	defer func() { doctorSteps = saved }()
	doctorSteps = func(model.Config, func(string) string) []doctorStep {
		return []doctorStep{
			{run: func(context.Context, *doctorReport) {}, print: func(w io.Writer, _ *doctorReport) { fmt.Fprintln(w, "fast probe: done") }},
			{run: func(context.Context, *doctorReport) { <-release }, print: func(w io.Writer, _ *doctorReport) { fmt.Fprintln(w, "slow probe: done") }},
		}
	}
	out := &notifyWriter{first: make(chan struct{})}
	var errb bytes.Buffer
	e := &env{stdout: out, stderr: &errb, getenv: func(string) string { return "" }}
	codec := make(chan int, 1)
	go func() { codec <- run(context.Background(), e, []string{"doctor"}) }()
	select {
	case <-out.first:
	case <-time.After(5 * time.Second):
		t.Error("nothing printed while the slow probe runs")
	}
	close(release)
	code := <-codec
	if got := out.String(); got != "fast probe: done\nslow probe: done\n" {
		t.Errorf("stdout %q", got)
	}
	// The fake probes found no machine: doctor says so and fails.
	if code != exitFailed || !strings.Contains(errb.String(), "no backend") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
