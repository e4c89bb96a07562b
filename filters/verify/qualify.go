package verify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"kforge/datasets"
	"kforge/filters/gate"
	"kforge/filters/hiprt/dryrun"
	"kforge/filters/measure"
	"kforge/filters/sandbox"
	"kforge/filters/splice"
	"kforge/pipeline"
)

// MinQualifiedSizes is the fewest usable sizes a qualified task keeps (a
// task recorded with fewer must keep all of them).
const MinQualifiedSizes = 3

// Qualification rules (why a size or a task was dropped).
const (
	QualRuleRefused     = "refused"             // the program's host side refused the size (its own message is the reason)
	QualRuleCrash       = "crash"               // the program died from a signal
	QualRuleTimeout     = "timeout"             // the run hit its wall-clock limit
	QualRuleDeadRegion  = "dead-region"         // main launched kernels, none of them the region's
	QualRuleNoLaunch    = "no-launch"           // the program exited 0 and launched no kernel
	QualRuleUnsupported = "dry-run-unsupported" // the program calls a HIP function the dry-run runtime lacks (size unchecked, kept)
	QualRuleReference   = "reference-fails"     // GPU: the reference fails the task's pass rule
	QualRuleUntimed     = "untimed"             // GPU: the reference's timed runs fail or give no time
	QualRuleCompile     = "compile"             // the reference does not compile
	QualRuleTooFew      = "too-few-sizes"       // fewer than MinQualifiedSizes sizes left
	QualRuleGate        = "gate"                // the unchanged reference region breaks the gate
	QualRuleToolchain   = "toolchain"           // the task's recorded needs exceed this compiler (e.g. HIP >= 5.5)
)

// qualifyVersion changes when the qualification rules change (cache keys).
const qualifyVersion = "qualify-1"

// DryRunNote says what a dry-run qualification judged.
const DryRunNote = "dry run: the reference was built with hipcc and its host side run on kforge's dry-run HIP runtime; kernels never ran, so the program's own result check fails and correctness is not judged: a qualified size is one the host side accepted and on which it launched the region's kernels"

// QualifyStats say how much of a qualification came from the cache.
type QualifyStats struct {
	Sizes, Cached int
}

// Qualify runs t's unchanged reference the way verification runs it, on
// every size and seed: on a GPU backend (and host-test) every case must
// pass and the size be timed; on the dry-run backend the host side must
// accept the size and launch the region's kernels. Sizes are judged
// independently and cached by content (reference binary, hence program and
// toolchain; size and seeds; backend). A task with fewer than
// MinQualifiedSizes sizes left is dropped. Errors are only for what could
// not be judged (a task without its checkout, a broken machine).
func (v *Verifier) Qualify(ctx context.Context, t *datasets.Task) (*datasets.Qualification, QualifyStats, error) {
	var st QualifyStats
	if !v.be.measures && v.be.dryRunLib == "" {
		return nil, st, fmt.Errorf("verify: backend %s runs nothing and cannot qualify tasks (use dry-run, or a GPU backend)", v.be.name)
	}
	if err := splice.CheckTask(t); err != nil {
		return nil, st, fmt.Errorf("%w: task %s: %v", ErrTask, t.ID, err)
	}
	q := &datasets.Qualification{Backend: v.be.name, Toolchain: v.be.device.Toolchain, Arch: v.be.device.Arch}
	if v.be.dryRunLib != "" {
		q.Note = DryRunNote
	}
	drop := func(rule, why string) *datasets.Qualification {
		for _, s := range t.Sizes {
			q.Sizes = append(q.Sizes, datasets.SizeQual{Name: s.Name, Status: datasets.QualDropped, Rule: rule, Reason: why})
		}
		q.Status, q.Rule, q.Reason = datasets.QualDropped, rule, why
		return q
	}
	// The unchanged reference must pass the gate a candidate meets (text
	// and, for hip-kernels, the compiler's view), or no candidate can be judged.
	// A toolchain the task's recorded needs exclude cannot parse it either:
	// that is the toolchain's verdict, not the gate's.
	gateWhy := ""
	if rej := gate.Check(t.Region, t.Region.Text); rej != nil {
		gateWhy = rej.Error()
	} else if skip := v.Unbuildable(t); skip != nil {
		return drop(QualRuleToolchain, skip.Detail), st, nil
	} else if _, err := v.astGate(ctx, t, t.Region.Text); errors.Is(err, ErrTask) {
		gateWhy = err.Error()
	} else if err != nil {
		return nil, st, err
	}
	if gateWhy != "" {
		return drop(QualRuleGate, gateWhy), st, nil
	}
	job, err := v.job(ctx, t)
	if err != nil {
		return nil, st, err
	}
	ref, err := v.compile(ctx, job)
	if err != nil {
		return nil, st, err
	}
	if !ref.Result.OK {
		return drop(QualRuleCompile, "the reference does not compile: "+firstErrors(ref.Result.Log, 3)), st, nil
	}
	var gpu string
	if v.be.measures {
		select {
		case gpu = <-v.slots:
		case <-ctx.Done():
			return nil, st, ctx.Err()
		}
		defer func() { v.slots <- gpu }()
	}
	launched := map[string]bool{}
	for _, s := range t.Sizes {
		one := *t
		one.Sizes, one.Qualification = []datasets.Size{s}, nil
		cases := measure.Cases(&one, v.cfg.Seeds)
		key := pipeline.NewKey("qualify", qualifyVersion, ref.BinaryHash, v.deviceKey(), v.be.name, cases,
			t.Run.Pass, t.Run.PerfPattern, v.judgeKey(), v.profilerName(), dryRunKey(v), regionKernels(t))
		res, hit, err := pipeline.Cached(ctx, v.opt.Cache, key, func(ctx context.Context) (sizeQualified, error) {
			if v.be.dryRunLib != "" {
				return v.qualifyDry(ctx, &one, ref.Binary, cases)
			}
			return v.qualifyGPU(ctx, &one, ref.Binary, cases, gpu)
		})
		if err != nil {
			return nil, st, err
		}
		st.Sizes++
		if hit {
			st.Cached++
		}
		res.Qual.Name = s.Name
		q.Sizes = append(q.Sizes, res.Qual)
		for _, k := range res.Launched {
			launched[k] = true
		}
	}
	for k := range launched {
		q.Launched = append(q.Launched, k)
	}
	sort.Strings(q.Launched)
	decide(q)
	return q, st, nil
}

// decide sets the task's status from its sizes' statuses.
func decide(q *datasets.Qualification) {
	usable, rules := 0, map[string]int{}
	var first string
	for _, s := range q.Sizes {
		if s.Status == datasets.QualQualified || s.Status == datasets.QualUnchecked {
			usable++
			continue
		}
		rules[s.Rule]++
		if first == "" {
			first = fmt.Sprintf("size %s: %s", s.Name, s.Reason)
		}
	}
	need := min(MinQualifiedSizes, len(q.Sizes))
	if usable >= need && usable > 0 {
		q.Status, q.Rule, q.Reason = datasets.QualQualified, "", ""
		return
	}
	q.Status = datasets.QualDropped
	if usable == 0 && len(rules) == 1 {
		for r := range rules {
			q.Rule = r
		}
		q.Reason = first
		return
	}
	q.Rule = QualRuleTooFew
	q.Reason = fmt.Sprintf("%d of %d sizes qualify, fewer than %d", usable, len(q.Sizes), need)
	if first != "" {
		q.Reason += "; " + first
	}
}

// sizeQualified is one size's cached qualification.
type sizeQualified struct {
	Qual     datasets.SizeQual `json:"qual"`
	Launched []string          `json:"launched,omitempty"`
}

func dryRunKey(v *Verifier) string {
	if v.be.dryRunLib == "" {
		return ""
	}
	return dryrun.Hash()
}

// regionKernels are the names of a hip-kernels region's kernels, from its
// signatures; nil for other regions (CK instances, tile configurations),
// whose kernels are named by the library.
func regionKernels(t *datasets.Task) []string {
	var out []string
	for _, s := range t.Region.Signatures {
		if m := reKernelName.FindStringSubmatch(s); m != nil && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// qualifyGPU is one size on a measuring backend: the reference's
// correctness runs on every seed, then one timed pair (reference against
// itself), as Measure would run them.
func (v *Verifier) qualifyGPU(ctx context.Context, t *datasets.Task, bin string, cases []measure.Case, gpu string) (sizeQualified, error) {
	r := v.runner(t, gpu)
	runs, err := r.Correctness(ctx, t, measure.Reference, bin, cases)
	if errors.Is(err, measure.ErrReference) {
		why := err.Error()
		if n := len(runs); n > 0 && runs[n-1].Detail != "" {
			why = fmt.Sprintf("seed %q: %s", runs[n-1].Seed, runs[n-1].Detail)
		}
		return sizeQualified{Qual: datasets.SizeQual{Status: datasets.QualDropped, Rule: QualRuleReference, Reason: why}}, nil
	}
	if err != nil {
		return sizeQualified{}, err
	}
	// A region whose kernels main never launches is dead, whatever the
	// program prints: kforge's runtime says which kernels ran (a report with
	// no launch at all proves nothing: the runtime may not see them).
	if names := regionKernels(t); r.Judge != nil && len(names) > 0 {
		o, err := r.Run(ctx, bin, cases[0], nil)
		if err != nil {
			return sizeQualified{}, err
		}
		if o.Report != nil && len(o.Report.Launches) > 0 {
			var others []string
			region := false
			for k := range o.Report.Launches {
				if slices.Contains(names, dryrun.BaseName(k)) {
					region = true
				} else {
					others = append(others, dryrun.BaseName(k))
				}
			}
			if !region {
				sort.Strings(others)
				return sizeQualified{Qual: datasets.SizeQual{Status: datasets.QualDropped, Rule: QualRuleDeadRegion,
					Reason: fmt.Sprintf("main launched %s but never the region's %s", strings.Join(others, ", "), strings.Join(names, ", "))}, Launched: others}, nil
			}
		}
	}
	tm, _, err := r.Timing(ctx, t, bin, bin, cases[0], 0, 1)
	var rej *measure.Rejection
	if errors.Is(err, measure.ErrReference) || errors.As(err, &rej) {
		return sizeQualified{Qual: datasets.SizeQual{Status: datasets.QualDropped, Rule: QualRuleUntimed, Reason: err.Error()}}, nil
	}
	if err != nil {
		return sizeQualified{}, err
	}
	return sizeQualified{Qual: datasets.SizeQual{Status: datasets.QualQualified, RefMS: tm.RefMedian}}, nil
}

// qualifyDry is one size on the dry-run runtime: every seed's run must be
// accepted by the host side and launch one of the region's kernels (any
// kernel, for regions that do not name theirs).
func (v *Verifier) qualifyDry(ctx context.Context, t *datasets.Task, bin string, cases []measure.Case) (sizeQualified, error) {
	var out sizeQualified
	names := regionKernels(t)
	stop := names
	if len(stop) == 0 {
		stop = []string{"*"}
	}
	wall := v.cfg.RunTimeout
	if s := t.Run.TimeoutSeconds; s > 0 {
		wall = min(wall, time.Duration(s*float64(time.Second)))
	}
	for _, c := range cases {
		d, err := os.MkdirTemp(v.opt.WorkDir, "dryrun-")
		if err != nil {
			return out, fmt.Errorf("dry run: %w", err)
		}
		channel := filepath.Join(d, "channel")
		env := c.Env()
		for k, val := range dryrun.Env(v.be.dryRunLib, v.be.device.Arch, channel, stop) {
			env[k] = val
		}
		limits := v.be.limits(wall)
		if v.cfg.MemoryMB > 0 {
			limits.MemoryMB = v.cfg.MemoryMB
		}
		// The host's limit bounds private memory (RLIMIT_DATA), as on a
		// GPU run: the stand-in's device memory is shared mappings that
		// cost the host nothing and must not count against it (a size
		// whose device buffers fit the target was dropped as out of memory
		// when they did).
		limits.DataMB, limits.AddressMB = limits.MemoryMB, limits.MemoryMB+dryrun.MaxDeviceMB
		res, err := v.sb.Run(ctx, sandbox.Spec{
			Program: bin, Args: c.Args(), Env: env, WorkDir: v.opt.WorkDir, Limits: limits, Network: v.cfg.Network,
			Writable: []string{d}, Readable: []string{bin, v.be.dryRunLib},
		})
		b, _ := os.ReadFile(channel)
		os.RemoveAll(d)
		if err == nil && res.Machine != "" {
			// The machine ended the run (its OOM killer, a full disk), not
			// the program: no verdict on the size, nothing cached.
			err = fmt.Errorf("%w: dry run: %s", pipeline.ErrMachine, res.Machine)
		}
		if err != nil {
			return out, err
		}
		rep := dryrun.Parse(b)
		for _, k := range rep.Launched {
			if !slices.Contains(out.Launched, k.Name) {
				out.Launched = append(out.Launched, k.Name)
			}
		}
		q := judgeDry(rep, res, names)
		if c.Seed.Name != "" && q.Reason != "" {
			q.Reason = fmt.Sprintf("seed %s: %s", c.Seed.Name, q.Reason)
		}
		// The size's status is its worst case's: dropped, else unchecked.
		switch {
		case q.Status == datasets.QualDropped:
			out.Qual = q
			return out, nil
		case q.Status == datasets.QualUnchecked || out.Qual.Status == "":
			if out.Qual.Status != datasets.QualUnchecked {
				out.Qual = q
			}
		}
	}
	return out, nil
}

// judgeDry judges one dry run: accepted and launched the region's kernels
// (any kernel when names is empty), or why not.
func judgeDry(rep dryrun.Report, res sandbox.Result, names []string) datasets.SizeQual {
	region := false
	var others []string
	for _, k := range rep.Launched {
		if len(names) == 0 || slices.Contains(names, k.Base()) {
			region = true
		} else {
			others = append(others, k.Base())
		}
	}
	switch {
	case region:
		return datasets.SizeQual{Status: datasets.QualQualified}
	case dryrun.MissingSymbol(res.Stderr) != "":
		return datasets.SizeQual{Status: datasets.QualUnchecked, Rule: QualRuleUnsupported,
			Reason: "the program calls " + dryrun.MissingSymbol(res.Stderr) + ", which kforge's dry-run HIP runtime lacks"}
	case len(others) > 0:
		return datasets.SizeQual{Status: datasets.QualDropped, Rule: QualRuleDeadRegion,
			Reason: fmt.Sprintf("main launched %s but never the region's %s (%s)", strings.Join(others, ", "), strings.Join(names, ", "), res.Describe())}
	case res.TimedOut:
		return datasets.SizeQual{Status: datasets.QualDropped, Rule: QualRuleTimeout, Reason: res.Describe()}
	case res.Signal != "":
		return datasets.SizeQual{Status: datasets.QualDropped, Rule: QualRuleCrash, Reason: res.Describe() + ": " + programMessage(res.Output())}
	case res.Exit != 0:
		return datasets.SizeQual{Status: datasets.QualDropped, Rule: QualRuleRefused, Reason: fmt.Sprintf("exit %d: %s", res.Exit, programMessage(res.Output()))}
	}
	return datasets.SizeQual{Status: datasets.QualDropped, Rule: QualRuleNoLaunch, Reason: "the program exited 0 without launching any kernel"}
}

// programMessage is what a program said when it gave up: its lines that
// refuse or complain, else its last lines.
func programMessage(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	var said []string
	for _, l := range lines {
		low := strings.ToLower(l)
		for _, w := range []string{"not support", "wrong!", "invalid", "error", "unknown", "usage", "not supported", "fail", "must be", "cannot"} {
			if strings.Contains(low, w) {
				said = append(said, l)
				break
			}
		}
	}
	if len(said) == 0 {
		said = lines
		if len(said) > 3 {
			said = said[len(said)-3:]
		}
	}
	if len(said) > 3 {
		said = said[:3]
	}
	msg := strings.Join(said, " | ")
	if len(msg) > 400 {
		msg = msg[:400] + "…"
	}
	if msg == "" {
		return "(no output)"
	}
	return msg
}
