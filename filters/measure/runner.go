package measure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"kforge/datasets"
	"kforge/filters/hiprt"
	"kforge/filters/sandbox"
	"kforge/pipeline"
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

// Cases are every usable size of t (all, or those its qualification kept)
// with each of its first seeds seeds.
func Cases(t *datasets.Task, seeds int) []Case {
	ss := t.Run.Seeds
	if seeds > 0 && len(ss) > seeds {
		ss = ss[:seeds]
	}
	if len(ss) == 0 {
		ss = []datasets.SeedArgs{{}}
	}
	var cs []Case
	for _, sz := range t.UsableSizes() {
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

// Judge is kforge's runtime in the programs run (filters/hiprt): the host
// stand-in compiled into host-built programs, or the ROCm interposer
// preloaded. It poisons allocations, times every launch and reports on a
// channel that only kforge reads, and in scrub mode poisons outputs before
// every launch and checks that launches are deterministic.
type Judge struct {
	// Name is Timing.Source when kernel times come from the judge.
	Name string
	// Preload is the LD_PRELOAD library ("" when compiled in).
	Preload string
	// Env is added to each run's environment (the interposer's kernel list).
	Env map[string]string
}

// Runner runs a task's programs in the sandbox on one device.
type Runner struct {
	Sandbox *sandbox.Sandbox
	WorkDir string
	Limits  sandbox.Limits
	GPU     string
	Network bool
	// Profiler times kernels; nil means the judge's times, or the
	// program's own timing line.
	Profiler Profiler
	// Kernels are the names of the region's kernels (for profiler filtering).
	Kernels []string
	// Judge, when set, is kforge's runtime in the programs.
	Judge *Judge
	// Scrub runs the programs in the judge's scrub mode.
	Scrub bool
}

// Outcome is one finished run.
type Outcome struct {
	sandbox.Result
	// ProfDir holds the profiler's output (the caller removes it).
	ProfDir string
	// Report is what the judge reported on its channel (nil without a judge).
	Report *hiprt.Report
}

// maxReport bounds the judge's channel read back.
const maxReport = 16 << 20

// Run runs bin on c once and returns the outcome (no judgement).
func (r *Runner) Run(ctx context.Context, bin string, c Case, prof Profiler) (Outcome, error) {
	prog, args := bin, c.Args()
	var out Outcome
	var writable []string
	if prof != nil {
		d, err := os.MkdirTemp(r.WorkDir, "prof-")
		if err != nil {
			return out, fmt.Errorf("profiler dir: %w", err)
		}
		out.ProfDir = d
		writable = append(writable, d)
		prog, args = prof.Command(bin, args, d)
	}
	env := c.Env()
	readable := []string{bin}
	chDir := ""
	if r.Judge != nil {
		// The channel lies in a directory of its own, outside the run's
		// scratch directory (its working, home and temporary directory),
		// and is read only after the run: nothing the program prints is
		// taken for it. kforge's variables override the task's.
		d, err := os.MkdirTemp(r.WorkDir, "judge-")
		if err != nil {
			if out.ProfDir != "" {
				os.RemoveAll(out.ProfDir)
			}
			return out, fmt.Errorf("judge dir: %w", err)
		}
		chDir = d
		defer os.RemoveAll(d)
		writable = append(writable, d)
		maps.Copy(env, r.Judge.Env)
		env[hiprt.EnvChannel] = filepath.Join(d, "channel")
		env[hiprt.EnvScrub] = "0"
		if r.Scrub {
			env[hiprt.EnvScrub] = "1"
		}
		if r.Judge.Preload != "" {
			env["LD_PRELOAD"] = r.Judge.Preload
			readable = append(readable, r.Judge.Preload)
		}
	}
	res, err := r.Sandbox.Run(ctx, sandbox.Spec{
		Program: prog, Args: args, Env: env, WorkDir: r.WorkDir,
		GPU: r.GPU, Limits: r.Limits, Network: r.Network, Writable: writable, Readable: readable,
	})
	out.Result = res
	if err == nil && res.Machine != "" {
		// The machine decided this run, not the program: no verdict on
		// either program, nothing cached, the item is tried again.
		err = fmt.Errorf("%w: %s run: %s", pipeline.ErrMachine, filepath.Base(bin), res.Machine)
	}
	if err != nil {
		if out.ProfDir != "" {
			os.RemoveAll(out.ProfDir)
		}
		return out, err
	}
	if chDir != "" {
		rep := hiprt.Report{Launches: map[string][]float64{}}
		if f, err := os.Open(filepath.Join(chDir, "channel")); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, maxReport))
			f.Close()
			rep = hiprt.ParseReport(b)
		}
		out.Report = &rep
	}
	return out, nil
}

func caseName(c Case) (string, string) { return c.Size.Name, c.Seed.Name }

// judge applies kforge's rules and then the task's pass rule to a finished
// run: the output cap, a failure the judge reported, then the pass rule. It
// returns whether the run passed, and if not the rule and why.
func (r *Runner) judge(t *datasets.Task, o Outcome) (ok bool, rule, why string) {
	if cut, why := capped(o.Result); cut {
		return false, RuleOutputCap, why
	}
	if o.Report != nil {
		if rule, detail, failed := o.Report.Failed(); failed {
			return false, rule, fmt.Sprintf("%s (%s)", detail, o.Result.Describe())
		}
	}
	ok, why = Pass(t.Run.Pass, o.Result)
	if ok {
		return true, "", ""
	}
	rule = FailRule(o.Result)
	if r.Scrub && rule == RuleCorrectness {
		rule = RuleScrub
		why = "with every output poisoned before each launch: " + why
	}
	return false, rule, why
}

// Correctness runs bin on every case and judges each run with kforge's
// rules and the task's pass rule. It stops at the first failure and returns
// it as a Rejection (for the reference, an error wrapping ErrReference).
func (r *Runner) Correctness(ctx context.Context, t *datasets.Task, who, bin string, cases []Case) ([]datasets.RunResult, error) {
	var out []datasets.RunResult
	for _, c := range cases {
		o, err := r.Run(ctx, bin, c, nil)
		if err != nil {
			return out, err
		}
		size, seed := caseName(c)
		ok, rule, why := r.judge(t, o)
		rr := datasets.RunResult{Size: size, Seed: seed, Who: who, Pass: ok, Exit: o.Exit, Seconds: o.Seconds, Detail: why}
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

// source is where a timed run's kernel time comes from.
type source int

const (
	fromProgram  source = iota // the program's own timing line
	fromProfiler               // an external profiler
	fromJudge                  // kforge's runtime in the program
)

// Timing measures reference and candidate interleaved, counterbalanced
// (ABBA…), on c after
// warmup untimed pairs, reps timed pairs. Every timed run must also pass.
// Kernel time comes from the profiler, else from the judge, else from the
// program's own line; when the profiler or the judge gives no time for the
// reference, timing falls back to the next and note says so.
func (r *Runner) Timing(ctx context.Context, t *datasets.Task, refBin, candBin string, c Case, warmup, reps int) (tm *datasets.Timing, note string, err error) {
	src, prof := fromProgram, r.Profiler
	if prof != nil {
		src = fromProfiler
	} else if r.Judge != nil {
		src = fromJudge
	}
	var notes []string
	for src != fromProgram {
		_, err := r.timedRun(ctx, t, Reference, refBin, c, src)
		if err == nil {
			break
		}
		if !errors.Is(err, errSource) {
			return nil, "", err
		}
		if src == fromProfiler {
			notes = append(notes, fmt.Sprintf("profiler %s unusable (%v)", prof.Name(), err))
			src = fromProgram
			if r.Judge != nil {
				src = fromJudge
			}
			continue
		}
		notes = append(notes, fmt.Sprintf("kforge's runtime timed no launch of the region's kernels (%v)", err))
		src = fromProgram
	}
	if len(notes) > 0 {
		note = strings.Join(notes, "; ") + "; timing from " + map[source]string{fromJudge: "kforge's runtime", fromProgram: "the program's own line"}[src]
	}
	tm = &datasets.Timing{Source: "program", Size: c.Size.Name}
	switch src {
	case fromProfiler:
		tm.Source = prof.Name()
	case fromJudge:
		tm.Source = r.Judge.Name
	}
	for i := 0; i < warmup; i++ {
		if _, err := r.timedRun(ctx, t, Reference, refBin, c, fromProgram); err != nil {
			return nil, note, err
		}
		if _, err := r.timedRun(ctx, t, Candidate, candBin, c, fromProgram); err != nil {
			return nil, note, err
		}
	}
	// Counterbalanced (ABBA…): each goes first in half the pairs, so a
	// position effect (the second of two runs finding warm caches, a clock
	// ramping up) favours neither; an unchanged candidate is not faster.
	for i := 0; i < reps; i++ {
		var refMS, candMS float64
		ref := func() (err error) { refMS, err = r.timedRun(ctx, t, Reference, refBin, c, src); return err }
		cand := func() (err error) { candMS, err = r.timedRun(ctx, t, Candidate, candBin, c, src); return err }
		first, second := ref, cand
		if i%2 == 1 {
			first, second = cand, ref
		}
		if err := first(); err != nil {
			return nil, note, err
		}
		if err := second(); err != nil {
			return nil, note, err
		}
		tm.Reference = append(tm.Reference, refMS)
		tm.Candidate = append(tm.Candidate, candMS)
	}
	Summary(tm)
	return tm, note, nil
}

// errSource marks a reference run that the profiler or the judge gave no time for.
var errSource = errors.New("no kernel time")

func (r *Runner) timedRun(ctx context.Context, t *datasets.Task, who, bin string, c Case, src source) (float64, error) {
	var prof Profiler
	if src == fromProfiler {
		prof = r.Profiler
	}
	o, err := r.Run(ctx, bin, c, prof)
	if err != nil {
		return 0, err
	}
	if o.ProfDir != "" {
		defer os.RemoveAll(o.ProfDir)
	}
	fail := func(rule, detail string) error {
		if who == Reference {
			return fmt.Errorf("%w in a timed run: %s", ErrReference, detail)
		}
		return &Rejection{Rule: rule, Detail: "timed run: " + detail}
	}
	if ok, rule, why := r.judge(t, o); !ok {
		if prof != nil && who == Reference && rule != RuleOutputCap {
			return 0, fmt.Errorf("%w: %s", errSource, why)
		}
		return 0, fail(rule, why)
	}
	// The program's own line must be there exactly once, even when the
	// time comes from elsewhere: a second one is forged.
	var ms float64
	if t.Run.PerfPattern != "" || src == fromProgram {
		v, perr := ParsePerf(t.Run.PerfPattern, o.Stdout)
		if perr != nil {
			return 0, fail(RuleTimingLine, perr.Error())
		}
		ms = v
	}
	switch src {
	case fromProfiler:
		kms, err := prof.Parse(o.Result, o.ProfDir, r.Kernels)
		if err != nil {
			if who == Reference {
				return 0, fmt.Errorf("%w: %v", errSource, err)
			}
			return 0, fail(RuleTimingLine, fmt.Sprintf("%s: %v", prof.Name(), err))
		}
		return kms, nil
	case fromJudge:
		kms, err := JudgeTime(o.Report, r.Kernels)
		if err != nil {
			if who == Reference {
				return 0, fmt.Errorf("%w: %v", errSource, err)
			}
			return 0, fail(RuleTimingLine, "kforge's runtime: "+err.Error())
		}
		return kms, nil
	}
	return ms, nil
}

// JudgeTime is a run's kernel time from the judge's report: for each of the
// region's kernels (all kernels when names is empty), the median of its
// launches after the first (the first pays for cold caches and, on a GPU,
// for loading the code), summed.
func JudgeTime(rep *hiprt.Report, names []string) (float64, error) {
	if rep == nil {
		return 0, errors.New("no report")
	}
	durs := map[string][]float64{}
	for k, ls := range rep.Launches {
		if len(ls) > 1 {
			ls = ls[1:]
		}
		durs[k] = ls
	}
	return sumMedians(durs, names)
}
