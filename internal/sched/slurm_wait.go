package sched

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// JobState is the state of one Slurm job or array task, from scontrol.
type JobState struct {
	ID     string // JobId=, e.g. "12"; array tasks have their own ids
	Array  string // ArrayTaskId=, empty for a plain job
	State  string // JobState=, e.g. COMPLETED, FAILED, PENDING
	Reason string // Reason=, e.g. DependencyNeverSatisfied
	Exit   string // ExitCode=, e.g. "0:0"
}

// terminal states: the job will not run (again) by itself.
var terminal = []string{"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}

// Done reports whether the job has finished, successfully or not.
func (s JobState) Done() bool { return slices.Contains(terminal, s.State) }

// States asks scontrol for the states of a job, or of every task of an array
// job. It works without accounting (sacct), for as long as the controller
// keeps finished jobs (MinJobAge, 300 s by default).
func States(ctx context.Context, run Runner, id string) ([]JobState, error) {
	out, err := run(ctx, "scontrol", "show", "job", "--oneliner", id)
	if err != nil {
		return nil, err
	}
	var states []JobState
	for line := range strings.Lines(string(out)) {
		var s JobState
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			// First match wins: later fields (Command=, StdOut=) hold
			// paths that may contain anything.
			switch k {
			case "JobId":
				s.ID = cmp.Or(s.ID, v)
			case "ArrayTaskId":
				s.Array = cmp.Or(s.Array, v)
			case "JobState":
				s.State = cmp.Or(s.State, v)
			case "Reason":
				s.Reason = cmp.Or(s.Reason, v)
			case "ExitCode":
				s.Exit = cmp.Or(s.Exit, v)
			}
		}
		if s.ID != "" {
			states = append(states, s)
		}
	}
	if len(states) == 0 {
		return nil, fmt.Errorf("scontrol shows no job %s", id)
	}
	return states, nil
}

// Wait polls until every task of the job has finished and returns their
// states. A job stuck pending on a dependency that can never be met is
// reported as an error rather than waited on forever; ctx bounds the wait.
func Wait(ctx context.Context, run Runner, id string, poll time.Duration) ([]JobState, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		states, err := States(ctx, run, id)
		if err != nil {
			return nil, err
		}
		done := true
		for _, s := range states {
			if s.State == "PENDING" && s.Reason == "DependencyNeverSatisfied" {
				return states, fmt.Errorf("job %s can never start: a job it depends on failed", id)
			}
			done = done && s.Done()
		}
		if done {
			return states, nil
		}
		select {
		case <-ctx.Done():
			return states, fmt.Errorf("waiting for job %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}
