package sandbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killFromOutside sends SIGKILL to the program of the run this test
// started (its command line holds marker) once it appears.
func killFromOutside(t *testing.T, marker string) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		killed := false
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			// The program itself (the shell running the script), not
			// bwrap or prlimit around it.
			if err == nil && bytes.HasPrefix(b, []byte("/bin/sh\x00")) && bytes.Contains(b, []byte(marker)) {
				syscall.Kill(pid, syscall.SIGKILL)
				killed = true
			}
		}
		if killed {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("the run never appeared")
}

// A run killed with SIGKILL from outside (as the OOM killer does) failed
// because of the machine; one killed by its own CPU limit or wall-clock
// limit, or failing on its own, did not.
func TestMachineFaultOfARun(t *testing.T) {
	marker := "kforge-test-" + strconv.Itoa(os.Getpid())
	prog := script(t, "sleep 20 # sleep-then")
	for _, confined := range []bool{true, false} {
		sb := New()
		if !confined {
			sb.WithoutConfinement()
		}
		done := make(chan struct{})
		go func() { defer close(done); killFromOutside(t, marker) }()
		res, err := sb.Run(context.Background(), Spec{Program: prog, Args: []string{marker, "sleep-then"}, WorkDir: t.TempDir(), Limits: DefaultLimits(30 * time.Second)})
		<-done
		if err != nil {
			t.Fatal(err)
		}
		if res.Signal != syscall.SIGKILL.String() || !strings.Contains(res.Machine, "from outside") {
			t.Errorf("confined=%v: killed from outside: %+v", res.Confined, res)
		}
	}
	own := []struct {
		name string
		body string
		l    Limits
	}{
		{"cpu limit", "while :; do :; done", Limits{Wall: 20 * time.Second, CPUSeconds: 1}},
		{"wall limit", "sleep 20", Limits{Wall: 300 * time.Millisecond}},
		{"exit 1", "exit 1", DefaultLimits(5 * time.Second)},
		{"own SIGKILL", "kill -KILL $$", DefaultLimits(5 * time.Second)},
	}
	for _, c := range own {
		res := run(t, c.body, c.l)
		if res.Exit == 0 {
			t.Errorf("%s: it passed: %+v", c.name, res)
		}
		if res.Machine != "" && c.name != "own SIGKILL" {
			t.Errorf("%s: taken for the machine's: %+v", c.name, res)
		}
	}
}

// A failed run while the disk holding its scratch directory is full is the
// machine's fault; a run that passed is judged whatever the disk.
func TestScratchDiskFullIsTheMachines(t *testing.T) {
	old := scratchFree
	scratchFree = func(string) (uint64, error) { return 4096, nil }
	defer func() { scratchFree = old }()
	res := run(t, "echo 'write: No space left on device' >&2; exit 1", DefaultLimits(5*time.Second))
	if !strings.Contains(res.Machine, "disk") {
		t.Errorf("disk full: %+v", res)
	}
	if res := run(t, "echo ok", DefaultLimits(5*time.Second)); res.Machine != "" {
		t.Errorf("a passing run: %+v", res)
	}
	scratchFree = old
	// With space left, printing the phrase is the program's own business.
	if res := run(t, "echo 'No space left on device' >&2; exit 1", DefaultLimits(5*time.Second)); res.Machine != "" {
		t.Errorf("a program printing the phrase: %+v", res)
	}
}
