package measure

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/filters/sandbox"
	"kforge/pipeline"
)

// A run killed from outside (as by the machine's OOM killer) judges neither
// program: Correctness returns an ErrMachine error, not a rejection (for a
// candidate) nor ErrReference (for a reference), so nothing is cached.
func TestRunKilledByTheMachineIsNoVerdict(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "prog.sh")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\nsleep 20\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	marker := "kforge-measure-" + strconv.Itoa(os.Getpid())
	tk := &datasets.Task{Sizes: []datasets.Size{{Name: "s", Args: []string{marker}}}, Run: datasets.RunRecipe{Pass: datasets.PassRule{ExitZero: true}}}
	r := &Runner{Sandbox: sandbox.New(), WorkDir: t.TempDir(), Limits: sandbox.DefaultLimits(30 * time.Second)}
	for _, who := range []string{Candidate, Reference} {
		go func() {
			for range 500 {
				ents, _ := os.ReadDir("/proc")
				for _, e := range ents {
					b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
					if pid, err := strconv.Atoi(e.Name()); err == nil && bytes.HasPrefix(b, []byte("/bin/sh\x00")) && bytes.Contains(b, []byte(marker)) {
						syscall.Kill(pid, syscall.SIGKILL)
						return
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		_, err := r.Correctness(context.Background(), tk, who, prog, Cases(tk, 1))
		var rej *Rejection
		if !errors.Is(err, pipeline.ErrMachine) || errors.As(err, &rej) || errors.Is(err, ErrReference) {
			t.Errorf("%s killed from outside: %v", who, err)
		}
	}
}
