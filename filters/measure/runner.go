package measure

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"

	"kforge/datasets"
	"kforge/filters/sandbox"
)

// Who ran.
const (
	Reference = "reference"
	Candidate = "candidate"
)

// Case is one problem size with one seed (or init method).
type Case struct {
	Size datasets.Size
	Seed datasets.SeedArgs
}

// Args are the program arguments of the case: the size's, then the seed's.
func (c Case) Args() []string { return append(append([]string{}, c.Size.Args...), c.Seed.Args...) }

// Env is the size's environment overlaid with the seed's.
func (c Case) Env() map[string]string {
	env := maps.Clone(c.Size.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, c.Seed.Env)
	return env
}

// Cases are every size of t with each of its first seeds seeds.
func Cases(t *datasets.Task, seeds int) []Case {
	ss := t.Run.Seeds
	if seeds > 0 && len(ss) > seeds {
		ss = ss[:seeds]
	}
	if len(ss) == 0 {
		ss = []datasets.SeedArgs{{}}
	}
	var cs []Case
	for _, sz := range t.Sizes {
		for _, sd := range ss {
			cs = append(cs, Case{Size: sz, Seed: sd})
		}
	}
	return cs
}

// TimingCase is the case timed: the first size shown in prompts (not
// hidden), with the first seed.
func TimingCase(t *datasets.Task) (Case, bool) {
	cs := Cases(t, 1)
	for _, c := range cs {
		if !c.Size.Hidden {
			return c, true
		}
	}
	if len(cs) > 0 {
		return cs[0], true
	}
	return Case{}, false
}

// Rejection is a candidate failing a run-time rule.
type Rejection struct {
	Rule   string
	Detail string
}

func (r *Rejection) Error() string { return r.Rule + ": " + r.Detail }

// ErrReference marks a failure of the reference program: the task or the
// machine is at fault, not the candidate.
var ErrReference = errors.New("reference program failed")

// Runner runs a task's programs in the sandbox on one device.
type Runner struct {
	Sandbox *sandbox.Sandbox
	WorkDir string
	Limits  sandbox.Limits
	GPU     string
	Network bool
	// Profiler times kernels; nil means the program's own timing line.
	Profiler Profiler
	// Kernels are the names of the region's kernels (for profiler filtering).
	Kernels []string
}

// Run runs bin on c once and returns the result (no judgement).
func (r *Runner) Run(ctx context.Context, bin string, c Case, prof Profiler) (sandbox.Result, string, error) {
	prog, args := bin, c.Args()
	profDir := ""
	if prof != nil {
		d, err := os.MkdirTemp(r.WorkDir, "prof-")
		if err != nil {
			return sandbox.Result{}, "", fmt.Errorf("profiler dir: %w", err)
		}
		profDir = d
		prog, args = prof.Command(bin, args, d)
	}
	var writable []string
	if profDir != "" {
		writable = []string{profDir}
	}
	res, err := r.Sandbox.Run(ctx, sandbox.Spec{
		Program: prog, Args: args, Env: c.Env(), WorkDir: r.WorkDir,
		GPU: r.GPU, Limits: r.Limits, Network: r.Network, Writable: writable, Readable: []string{bin},
	})
	if err != nil && profDir != "" {
		os.RemoveAll(profDir)
	}
	return res, profDir, err
}

func caseName(c Case) (string, string) { return c.Size.Name, c.Seed.Name }

// Correctness runs bin on every case and judges each run with the task's
// pass rule. It stops at the first failure and returns it as a Rejection
// (for the reference, an error wrapping ErrReference).
func (r *Runner) Correctness(ctx context.Context, t *datasets.Task, who, bin string, cases []Case) ([]datasets.RunResult, error) {
	var out []datasets.RunResult
	for _, c := range cases {
		res, _, err := r.Run(ctx, bin, c, nil)
		if err != nil {
			return out, err
		}
		size, seed := caseName(c)
		ok, why := Pass(t.Run.Pass, res)
		rule := FailRule(res)
		if cut, cwhy := capped(res); cut {
			ok, why, rule = false, cwhy, RuleOutputCap
		}
		rr := datasets.RunResult{Size: size, Seed: seed, Who: who, Pass: ok, Exit: res.Exit, Seconds: res.Seconds, Detail: why}
		out = append(out, rr)
		if !ok {
			if who == Reference {
				return out, fmt.Errorf("%w on size %s seed %s: %s", ErrReference, size, seed, why)
			}
			return out, &Rejection{Rule: rule, Detail: fmt.Sprintf("size %s seed %s: %s", size, seed, why)}
		}
	}
	return out, nil
}

// Timing measures reference and candidate interleaved (ABAB…) on c after
// warmup untimed pairs, reps timed pairs. Every timed run must also pass.
// When the profiler fails on the reference, timing falls back to the
// program's own line and note says so.
func (r *Runner) Timing(ctx context.Context, t *datasets.Task, refBin, candBin string, c Case, warmup, reps int) (tm *datasets.Timing, note string, err error) {
	prof := r.Profiler
	if prof != nil {
		if _, err := r.timedRun(ctx, t, Reference, refBin, c, prof); err != nil {
			if !errors.Is(err, errProfiler) {
				return nil, "", err
			}
			note = fmt.Sprintf("profiler %s unusable (%v); timing from the program's own line", prof.Name(), err)
			prof = nil
		}
	}
	tm = &datasets.Timing{Source: "program", Size: c.Size.Name}
	if prof != nil {
		tm.Source = prof.Name()
	}
	for i := 0; i < warmup; i++ {
		if _, err := r.timedRun(ctx, t, Reference, refBin, c, nil); err != nil {
			return nil, note, err
		}
		if _, err := r.timedRun(ctx, t, Candidate, candBin, c, nil); err != nil {
			return nil, note, err
		}
	}
	for i := 0; i < reps; i++ {
		ms, err := r.timedRun(ctx, t, Reference, refBin, c, prof)
		if err != nil {
			return nil, note, err
		}
		tm.Reference = append(tm.Reference, ms)
		ms, err = r.timedRun(ctx, t, Candidate, candBin, c, prof)
		if err != nil {
			return nil, note, err
		}
		tm.Candidate = append(tm.Candidate, ms)
	}
	Summary(tm)
	return tm, note, nil
}

var errProfiler = errors.New("profiler")

func (r *Runner) timedRun(ctx context.Context, t *datasets.Task, who, bin string, c Case, prof Profiler) (float64, error) {
	res, profDir, err := r.Run(ctx, bin, c, prof)
	if err != nil {
		return 0, err
	}
	if profDir != "" {
		defer os.RemoveAll(profDir)
	}
	fail := func(rule, detail string) error {
		if who == Reference {
			return fmt.Errorf("%w in a timed run: %s", ErrReference, detail)
		}
		return &Rejection{Rule: rule, Detail: "timed run: " + detail}
	}
	if cut, why := capped(res); cut {
		return 0, fail(RuleOutputCap, why)
	}
	if ok, why := Pass(t.Run.Pass, res); !ok {
		if prof != nil && who == Reference {
			return 0, fmt.Errorf("%w: %s", errProfiler, why)
		}
		return 0, fail(FailRule(res), why)
	}
	// The program's own line must be there exactly once, even under a
	// profiler: a second one is forged.
	var ms float64
	if t.Run.PerfPattern != "" || prof == nil {
		v, perr := ParsePerf(t.Run.PerfPattern, res.Stdout)
		if perr != nil {
			return 0, fail(RuleTimingLine, perr.Error())
		}
		ms = v
	}
	if prof == nil {
		return ms, nil
	}
	kms, err := prof.Parse(res, profDir, r.Kernels)
	if err != nil {
		if who == Reference {
			return 0, fmt.Errorf("%w: %v", errProfiler, err)
		}
		return 0, fail(RuleTimingLine, fmt.Sprintf("%s: %v", prof.Name(), err))
	}
	return kms, nil
}
