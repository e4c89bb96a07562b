package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"kforge/datasets"
	"kforge/filters/compile"
	"kforge/filters/gate"
	"kforge/filters/hiprt"
	"kforge/filters/measure"
	"kforge/filters/sandbox"
	"kforge/filters/splice"
	"kforge/pipeline"
)

// Backends.
const (
	BackendROCm        = "rocm"
	BackendCUDA        = "cuda"
	BackendCompileOnly = "compile-only"
	BackendHostTest    = "host-test"
	// BackendDryRun builds programs with hipcc and runs their host side on
	// kforge's dry-run HIP runtime (filters/hiprt/dryrun): for qualifying
	// tasks only; it judges no candidate (verdicts are unverified).
	BackendDryRun = "dry-run"
)

// ErrTask marks a task that cannot be judged (inconsistent region, reference
// that does not build or pass): no candidate is at fault.
var ErrTask = errors.New("task cannot be verified")

// Options are what verification needs beyond the recipe.
type Options struct {
	Cache pipeline.Cache
	Log   *slog.Logger
	// WorkDir holds scratch directories for compiles and runs.
	WorkDir string
	// Checkout returns the repository checkout for tasks whose build needs it.
	Checkout func(ctx context.Context, src datasets.Source) (string, error)
	// Stats, when set, receives the funnel counters gated, compiled, correct,
	// faster and kept, and rejections per rule under stage "verify".
	Stats *pipeline.Stats
}

// Prepared is a candidate that went through the CPU steps (gate, splice,
// compile). When Verdict.Status is already set, it was rejected there and
// Measure returns it as is.
type Prepared struct {
	Task    *datasets.Task
	Variant *datasets.Variant
	Verdict datasets.Verdict
	// Binary is the candidate's compiled program, if any.
	Binary string
	// Reference is the reference program built the same way.
	Reference string
	// BinaryHash and ReferenceHash are their SHA-256 (measurement cache keys).
	BinaryHash, ReferenceHash string
	start                     time.Time
}

// backend is what differs between verification targets.
type backend struct {
	name     string
	device   datasets.Device
	compiler *compile.Compiler
	gpus     []string // device indices, one measuring worker each; "" is no GPU
	profiler measure.Profiler
	// judge is kforge's runtime in the programs (filters/hiprt), if the
	// backend has one: poisoned allocations, scrub mode, kforge's timing.
	judge    *measure.Judge
	measures bool // false: compile-only, never keeps
	limits   func(wall time.Duration) sandbox.Limits
	note     string
	// dryRunLib is the directory of the dry-run HIP runtime (BackendDryRun).
	dryRunLib string
}

// Verifier judges candidates on one backend.
type Verifier struct {
	cfg   Config
	opt   Options
	be    *backend
	sb    *sandbox.Sandbox
	slots chan string   // free GPUs
	csem  chan struct{} // compile slots
	// front parses hip-kernels regions for the AST gate (hipcc's clang);
	// frontErr says why there is none.
	front    *compile.Compiler
	frontErr error
}

// New returns a verifier for cfg's backend, or an error naming what this
// machine lacks for it (no hipcc, no GPU).
func New(cfg Config, opt Options) (*Verifier, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Cache == nil {
		opt.Cache = pipeline.NewMemCache()
	}
	if opt.WorkDir == "" {
		return nil, errors.New("verify: Options.WorkDir is required")
	}
	if cfg.Repetitions < 1 {
		cfg.Repetitions = 1
	}
	if cfg.MinSpeedup <= 0 {
		cfg.MinSpeedup = 1.05
	}
	if cfg.MaxSpeedup <= 0 {
		cfg.MaxSpeedup = 10
	}
	if cfg.RunTimeout <= 0 {
		cfg.RunTimeout = 2 * time.Minute
	}
	if cfg.CompileTimeout <= 0 {
		cfg.CompileTimeout = 10 * time.Minute
	}
	ctx := context.Background()
	var be *backend
	var err error
	switch cfg.Backend {
	case BackendROCm:
		be, err = rocmBackend(ctx, cfg, opt)
	case BackendCUDA:
		be, err = cudaBackend(ctx, cfg, opt)
	case BackendCompileOnly, "":
		cfg.Backend = BackendCompileOnly
		be, err = compileOnlyBackend(ctx, cfg, opt)
	case BackendHostTest:
		be, err = hostTestBackend(ctx, cfg, opt)
	case BackendDryRun:
		be, err = dryRunBackend(ctx, cfg, opt)
	default:
		err = fmt.Errorf("verify: unknown backend %q (want rocm, cuda or compile-only)", cfg.Backend)
	}
	if err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, opt: opt, be: be, sb: sandbox.New()}
	if cfg.Unconfined {
		v.sb.WithoutConfinement()
	}
	be.compiler.Sandbox = v.sb
	v.front, v.frontErr = frontEnd(ctx, cfg, opt, be)
	if v.front != nil {
		v.front.Sandbox = v.sb
	}
	v.slots = make(chan string, len(be.gpus))
	for _, g := range be.gpus {
		v.slots <- g
	}
	n := cfg.CompileWorkers
	if n <= 0 {
		n = runtime.NumCPU()
	}
	v.csem = make(chan struct{}, n)
	return v, nil
}

// Device describes the device verdicts are reached on.
func (v *Verifier) Device() datasets.Device { return v.be.device }

// Backend is the backend's name (rocm, cuda, compile-only, host-test, dry-run).
func (v *Verifier) Backend() string { return v.be.name }

// Measures reports whether the backend runs and times programs (a GPU
// backend, or host-test).
func (v *Verifier) Measures() bool { return v.be.measures }

// GPUs is the number of measuring workers (one per GPU).
func (v *Verifier) GPUs() int { return len(v.be.gpus) }

func (v *Verifier) newVerdict(t *datasets.Task, c *datasets.Variant) datasets.Verdict {
	vd := datasets.Verdict{VariantID: c.ID, TaskID: t.ID, Backend: v.be.name, Device: v.be.device}
	for _, s := range t.UsableSizes() {
		vd.Sizes = append(vd.Sizes, s.Name)
	}
	return vd
}

// reject sets a rejection on vd and counts it.
func (v *Verifier) reject(vd *datasets.Verdict, rule, reason string) {
	vd.Status = datasets.StatusRejected
	vd.RejectedBy = rule
	vd.Reason = reason
	v.opt.Log.Debug("rejected", "task", vd.TaskID, "variant", vd.VariantID, "rule", rule, "reason", reason)
	if v.opt.Stats != nil {
		v.opt.Stats.Reject("verify", rule)
	}
}

func (v *Verifier) count(name string) {
	if v.opt.Stats != nil {
		v.opt.Stats.Add(name, 1)
	}
}

// Prepare runs the gate, the splice and the compile (CPU work, cached).
func (v *Verifier) Prepare(ctx context.Context, t *datasets.Task, c *datasets.Variant) (*Prepared, error) {
	p := &Prepared{Task: t, Variant: c, Verdict: v.newVerdict(t, c), start: time.Now()}
	vd := &p.Verdict
	defer func() { vd.Seconds = time.Since(p.start).Seconds() }()
	if err := splice.CheckTask(t); err != nil {
		return nil, fmt.Errorf("%w: task %s: %v", ErrTask, t.ID, err)
	}
	if skip := v.Unbuildable(t); skip != nil {
		return nil, skip
	}
	if c.Rejected != "" {
		v.reject(vd, "extract", "no candidate was extracted from the answer: "+c.Rejected)
		return p, nil
	}
	region, err := splice.Extract(t, c.Region)
	var srej *splice.Rejection
	if errors.As(err, &srej) {
		vd.Splice = datasets.Check{Rule: srej.Rule, Detail: srej.Detail}
		v.reject(vd, "splice/"+srej.Rule, srej.Detail)
		return p, nil
	} else if err != nil {
		return nil, err
	}
	// The region fits the harness; the gate decides whether it may be built.
	vd.Splice = datasets.Check{OK: true}
	if rej := gate.Check(t.Region, region); rej != nil {
		vd.Gate = datasets.Check{Rule: rej.Rule, Detail: rej.Detail}
		v.reject(vd, "gate/"+rej.Rule, rej.Detail)
		return p, nil
	}
	if rej, err := v.astGate(ctx, t, region); err != nil {
		return nil, err
	} else if rej != nil && rej.Rule == gate.RuleParse {
		// It does not compile: the compiler's messages are the verdict.
		vd.Gate = datasets.Check{OK: true}
		v.count("gated")
		vd.Compile = datasets.CompileResult{Log: rej.Detail}
		v.reject(vd, "compile", "the candidate does not compile: "+firstErrors(rej.Detail, 3))
		vd.Logs = rej.Detail
		return p, nil
	} else if rej != nil {
		vd.Gate = datasets.Check{Rule: rej.Rule, Detail: rej.Detail}
		v.reject(vd, "gate/"+rej.Rule, rej.Detail)
		return p, nil
	}
	vd.Gate = datasets.Check{OK: true}
	v.count("gated")
	files, err := splice.Splice(t, region)
	if errors.As(err, &srej) {
		vd.Splice = datasets.Check{Rule: srej.Rule, Detail: srej.Detail}
		v.reject(vd, "splice/"+srej.Rule, srej.Detail)
		return p, nil
	} else if err != nil {
		return nil, err
	}

	job, err := v.job(ctx, t)
	if err != nil {
		return nil, err
	}
	ref, err := v.compile(ctx, job)
	if err != nil {
		return nil, err
	}
	if !ref.Result.OK {
		return nil, fmt.Errorf("%w: task %s: the reference does not compile on %s: %s", ErrTask, t.ID, v.be.name, firstLines(ref.Result.Log, 6))
	}
	job.Files = splice.Rewritten(t, files)
	out, err := v.compile(ctx, job)
	if err != nil {
		return nil, err
	}
	vd.Compile = out.Result
	if !out.Result.OK {
		v.reject(vd, "compile", "the candidate does not compile: "+firstErrors(out.Result.Log, 3))
		vd.Logs = out.Result.Log
		return p, nil
	}
	v.count("compiled")
	p.Binary, p.BinaryHash = out.Binary, out.BinaryHash
	p.Reference, p.ReferenceHash = ref.Binary, ref.BinaryHash
	if region == t.Region.Text {
		vd.Logs = "the candidate is the reference region"
	}
	return p, nil
}

func (v *Verifier) compile(ctx context.Context, job compile.Job) (compile.Output, error) {
	release, err := v.compileSlot(ctx)
	if err != nil {
		return compile.Output{}, err
	}
	defer release()
	return v.be.compiler.Compile(ctx, job)
}

// compileSlot waits for one of the compile slots (compiles and front-end
// parses share them) and returns its release.
func (v *Verifier) compileSlot(ctx context.Context) (func(), error) {
	select {
	case v.csem <- struct{}{}:
		return func() { <-v.csem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// job is the build of t's reference program.
func (v *Verifier) job(ctx context.Context, t *datasets.Task) (compile.Job, error) {
	if err := splice.CheckTask(t); err != nil {
		return compile.Job{}, fmt.Errorf("%w: task %s: %v", ErrTask, t.ID, err)
	}
	job := compile.Job{
		Files: splice.Rewritten(t, t.Files), Sources: t.Build.Sources, Flags: t.Build.Flags,
		ConfigHeader: t.Build.ConfigHeader, Salt: t.Source.Repo + "@" + t.Source.Commit,
	}
	if t.Build.NeedsCheckout || len(t.Build.IncludeDirs) > 0 || len(t.Build.RepoSources) > 0 || t.Build.Generate != nil {
		if v.opt.Checkout == nil {
			return job, fmt.Errorf("%w: task %s needs a checkout of %s and none is available", ErrTask, t.ID, t.Source.Repo)
		}
		root, err := v.opt.Checkout(ctx, t.Source)
		if err != nil {
			return job, fmt.Errorf("checkout for task %s: %w", t.ID, err)
		}
		if t.Source.Subdir != "" {
			root = root + "/" + t.Source.Subdir
		}
		for _, d := range t.Build.IncludeDirs {
			if !filepath.IsLocal(d) {
				return job, fmt.Errorf("task %s: include directory %q leaves the checkout", t.ID, d)
			}
			job.IncludeDirs = append(job.IncludeDirs, root+"/"+d)
		}
		for _, s := range t.Build.RepoSources {
			if !filepath.IsLocal(s) {
				return job, fmt.Errorf("task %s: source %q leaves the checkout", t.ID, s)
			}
			job.RepoSources = append(job.RepoSources, root+"/"+s)
		}
		if g := t.Build.Generate; g != nil {
			// The repository's generator, run on the task's files (the
			// region spliced into its input) for reference and candidate.
			gen, err := compile.GenerateFrom(g, root)
			if err != nil {
				return job, fmt.Errorf("%w: task %s: %v", ErrTask, t.ID, err)
			}
			job.Generate = gen
		}
	}
	return job, nil
}

// firstErrors is the first n error lines of a compiler log (the include
// chain and warnings before them say little), else its first lines.
func firstErrors(s string, n int) string {
	var errs []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "error:") || strings.Contains(l, "error ") && strings.Contains(l, ": error") {
			errs = append(errs, strings.TrimSpace(l))
		}
	}
	if len(errs) == 0 {
		return firstLines(s, n)
	}
	if len(errs) > n {
		errs = errs[:n]
	}
	return strings.Join(errs, " | ")
}

func firstLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[:n]
	}
	return strings.Join(ls, " | ")
}

// measured is what one candidate's runs established (cached per binary pair,
// device and timing configuration).
type measured struct {
	Correctness []datasets.RunResult `json:"correctness"`
	Correct     bool                 `json:"correct"`
	Timing      *datasets.Timing     `json:"timing,omitempty"`
	Speedup     float64              `json:"speedup,omitempty"`
	Status      string               `json:"status"`
	RejectedBy  string               `json:"rejected_by,omitempty"`
	Reason      string               `json:"reason,omitempty"`
	Logs        string               `json:"logs,omitempty"`
}

// Measure runs correctness and timing on the GPU (cached) and returns the verdict.
func (v *Verifier) Measure(ctx context.Context, p *Prepared) (datasets.Verdict, error) {
	vd := p.Verdict
	start := time.Now()
	if vd.Status != "" {
		return vd, nil
	}
	if !v.be.measures {
		vd.Status = datasets.StatusUnverified
		vd.Reason = fmt.Sprintf("gate, splice and compile passed; backend %s runs nothing, so the variant is never kept", v.be.name)
		vd.Seconds += time.Since(start).Seconds()
		return vd, nil
	}
	var gpu string
	select {
	case gpu = <-v.slots:
	case <-ctx.Done():
		return vd, ctx.Err()
	}
	defer func() { v.slots <- gpu }()

	t := p.Task
	cases := measure.Cases(t, v.cfg.Seeds)
	args := make([][]string, len(cases))
	for i, c := range cases {
		args[i] = append(c.Args(), fmt.Sprint(c.Env()))
	}
	// timingProtocol names how pairs are ordered: verdicts timed another
	// way are not reused.
	const timingProtocol = "abba"
	timingCfg := []any{timingProtocol, v.cfg.Warmup, v.cfg.Repetitions, v.cfg.MinSpeedup, v.cfg.MaxSpeedup, v.profilerName(), t.Run.Pass, t.Run.PerfPattern, v.judgeKey()}
	key := pipeline.NewKey("measure", p.ReferenceHash, p.BinaryHash, v.deviceKey(), args, timingCfg)
	m, _, err := pipeline.Cached(ctx, v.opt.Cache, key, func(ctx context.Context) (measured, error) {
		return v.measure(ctx, p, gpu, cases)
	})
	err = v.keepUnstored(err, key)
	if err != nil {
		return vd, err
	}
	vd.Correctness, vd.Timing, vd.Speedup = m.Correctness, m.Timing, m.Speedup
	vd.Status, vd.Reason = m.Status, m.Reason
	vd.Logs = strings.TrimSpace(strings.Join(nonEmpty(vd.Logs, m.Logs, v.be.note), "\n"))
	if m.Correct {
		v.count("correct")
	}
	if m.Status == datasets.StatusKept || m.Status == datasets.StatusQuarantined {
		v.count("faster")
	}
	switch m.Status {
	case datasets.StatusKept:
		v.count("kept")
	case datasets.StatusRejected:
		v.reject(&vd, m.RejectedBy, m.Reason)
	case datasets.StatusQuarantined:
		vd.RejectedBy = m.RejectedBy
		if v.opt.Stats != nil {
			v.opt.Stats.Add("quarantined", 1)
		}
	}
	vd.Seconds += time.Since(start).Seconds()
	v.opt.Log.Debug("verdict", "task", vd.TaskID, "variant", vd.VariantID, "status", vd.Status, "rejected_by", vd.RejectedBy, "speedup", vd.Speedup)
	return vd, nil
}

func nonEmpty(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if strings.TrimSpace(x) != "" {
			out = append(out, x)
		}
	}
	return out
}

// keepUnstored drops a cache Put's failure (a full disk under the cache):
// the measurement is right, only not kept, and is used; the next run pays
// for it again.
func (v *Verifier) keepUnstored(err error, key pipeline.Key) error {
	if errors.Is(err, pipeline.ErrNotStored) {
		v.opt.Log.Warn("measurement not cached", "key", key.String(), "err", err)
		return nil
	}
	return err
}

// deviceKey identifies the device in measurement cache keys: its current
// clocks vary from reading to reading and are left out.
func (v *Verifier) deviceKey() datasets.Device {
	d := v.be.device
	d.Clocks = ""
	return d
}

// judgeKey identifies the backend's judge in measurement cache keys.
func (v *Verifier) judgeKey() string {
	if v.be.judge == nil {
		return ""
	}
	return v.be.judge.Name + " " + hiprt.Hash()
}

func (v *Verifier) profilerName() string {
	if v.be.profiler == nil {
		return "program"
	}
	return v.be.profiler.Name()
}

var reKernelName = regexp.MustCompile(`(\w+)\s*\(`)

func (v *Verifier) runner(t *datasets.Task, gpu string) *measure.Runner {
	wall := v.cfg.RunTimeout
	if s := t.Run.TimeoutSeconds; s > 0 && time.Duration(s*float64(time.Second)) < wall {
		wall = time.Duration(s * float64(time.Second))
	}
	r := &measure.Runner{Sandbox: v.sb, WorkDir: v.opt.WorkDir, Limits: v.be.limits(wall), GPU: gpu, Network: v.cfg.Network, Profiler: v.be.profiler}
	if v.cfg.MemoryMB > 0 {
		r.Limits.MemoryMB = v.cfg.MemoryMB
	}
	if j := v.be.judge; j != nil {
		jj := *j
		if j.Preload != "" {
			// The interposer scrubs the region's kernels' non-const pointer
			// arguments, which it learns from the task's signatures.
			jj.Env = map[string]string{hiprt.EnvKernels: hiprt.ScrubKernels(t.Region.Signatures)}
		}
		r.Judge = &jj
	}
	for _, s := range t.Region.Signatures {
		if m := reKernelName.FindStringSubmatch(s); m != nil {
			r.Kernels = append(r.Kernels, m[1])
		}
	}
	return r
}

// measure is the uncached measurement: candidate on every case, the
// reference (once per task and device), the candidate again, then
// interleaved timing and the selection rule.
func (v *Verifier) measure(ctx context.Context, p *Prepared, gpu string, cases []measure.Case) (measured, error) {
	t := p.Task
	r := v.runner(t, gpu)
	var m measured
	var notes []string
	if ok, note := v.sb.Isolation(); !ok && !v.cfg.Network {
		notes = append(notes, note)
	}
	if ok, note := v.sb.Confinement(); !ok {
		notes = append(notes, note)
	}
	rejected := func(err error) (measured, error) {
		var rej *measure.Rejection
		if !errors.As(err, &rej) {
			return m, err
		}
		m.Status, m.RejectedBy, m.Reason = datasets.StatusRejected, rej.Rule, rej.Detail
		m.Logs = strings.Join(notes, "\n")
		return m, nil
	}
	before, err := r.Correctness(ctx, t, measure.Candidate, p.Binary, cases)
	m.Correctness = append(m.Correctness, before...)
	if err != nil {
		return rejected(err)
	}
	refKey := pipeline.NewKey("measure", "reference-correctness", p.ReferenceHash, v.deviceKey(), cases)
	refRuns, _, err := pipeline.Cached(ctx, v.opt.Cache, refKey, func(ctx context.Context) ([]datasets.RunResult, error) {
		return r.Correctness(ctx, t, measure.Reference, p.Reference, cases)
	})
	err = v.keepUnstored(err, refKey)
	if err != nil {
		if errors.Is(err, measure.ErrReference) {
			return m, fmt.Errorf("%w: task %s: %v", ErrTask, t.ID, err)
		}
		return m, err
	}
	m.Correctness = append(m.Correctness, refRuns...)
	if r.Judge != nil {
		scrub, note, err := v.scrubProbe(ctx, p, r, cases)
		if err != nil {
			return m, err
		}
		r.Scrub = scrub
		notes = append(notes, note)
	}
	after, err := r.Correctness(ctx, t, measure.Candidate, p.Binary, cases)
	m.Correctness = append(m.Correctness, after...)
	if err != nil {
		return rejected(err)
	}
	m.Correct = true
	tc, ok := measure.TimingCase(t)
	if !ok {
		return m, fmt.Errorf("%w: task %s has no sizes", ErrTask, t.ID)
	}
	tm, note, err := r.Timing(ctx, t, p.Reference, p.Binary, tc, v.cfg.Warmup, v.cfg.Repetitions)
	if note != "" {
		notes = append(notes, note)
	}
	if err != nil {
		if errors.Is(err, measure.ErrReference) {
			return m, fmt.Errorf("%w: task %s: %v", ErrTask, t.ID, err)
		}
		var rej *measure.Rejection
		if errors.As(err, &rej) && rej.Rule != measure.RuleTimingLine {
			m.Correct = false
		}
		return rejected(err)
	}
	m.Timing = tm
	sel := measure.Select(tm, v.cfg.MinSpeedup, v.cfg.MaxSpeedup)
	m.Speedup, m.Status, m.RejectedBy, m.Reason = sel.Speedup, sel.Status, sel.Rule, sel.Reason
	m.Logs = strings.Join(notes, "\n")
	return m, nil
}

// scrubProbed is whether a task's reference passes in scrub mode.
type scrubProbed struct {
	OK  bool   `json:"ok"`
	Why string `json:"why,omitempty"`
}

// scrubProbe runs the reference in the judge's scrub mode on every case
// (once per task and device): outputs poisoned before each launch, launches
// checked for determinism. If it passes, the candidate's runs after the
// reference and all timed runs are in scrub mode; if not (an in/out buffer
// such as C += A·B legitimately needs its earlier contents), scrub mode is
// skipped for the task, and note says so.
func (v *Verifier) scrubProbe(ctx context.Context, p *Prepared, r *measure.Runner, cases []measure.Case) (bool, string, error) {
	key := pipeline.NewKey("measure", "reference-scrub", p.ReferenceHash, v.deviceKey(), cases, v.judgeKey())
	res, _, err := pipeline.Cached(ctx, v.opt.Cache, key, func(ctx context.Context) (scrubProbed, error) {
		rs := *r
		rs.Scrub = true
		_, err := rs.Correctness(ctx, p.Task, measure.Reference, p.Reference, cases)
		if errors.Is(err, measure.ErrReference) {
			return scrubProbed{Why: err.Error()}, nil
		}
		if err != nil {
			return scrubProbed{}, err
		}
		return scrubProbed{OK: true}, nil
	})
	err = v.keepUnstored(err, key)
	if err != nil {
		return false, "", err
	}
	if !res.OK {
		return false, "scrub mode skipped for this task: the reference itself fails with its outputs poisoned before every launch (" + res.Why + "); a candidate that reuses earlier results is not caught", nil
	}
	return true, "scrub mode: outputs poisoned before every launch and launches checked for determinism in the runs after the reference and in every timed run", nil
}

// Verify is Prepare then Measure: the path `kforge verify` and RL reward
// functions use, identical to the build's.
func (v *Verifier) Verify(ctx context.Context, t *datasets.Task, c *datasets.Variant) (datasets.Verdict, error) {
	p, err := v.Prepare(ctx, t, c)
	if err != nil {
		return datasets.Verdict{}, err
	}
	return v.Measure(ctx, p)
}
