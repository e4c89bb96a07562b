package build

import (
	"context"
	"runtime"

	"kforge/datasets"
	"kforge/filters/verify"
	"kforge/pipeline"
	"kforge/sources/model"
)

// Generator writes candidates (sources/model's Generator is one).
type Generator interface {
	// Generate asks for sample number sample of req. On an error the variant
	// may still be returned (with its ID), and is recorded.
	Generate(ctx context.Context, req model.Request, sample int) (datasets.Variant, error)
	// Concurrency is how many calls may be in flight at once.
	Concurrency() int
}

// Prepared is what a Verifier's Prepare hands to its Measure; the build
// passes it on untouched.
type Prepared any

// Verifier judges candidates in two steps: Prepare (gate, splice, compile:
// CPU work) and Measure (correctness and timing: one GPU each).
type Verifier interface {
	// Qualify readies a task before any of its candidates (on a GPU backend,
	// the reference runs on every size) and says, with an error wrapping
	// verify.ErrTask, when the build may not use it. It may set the task's
	// Qualification.
	Qualify(ctx context.Context, t *datasets.Task) error
	// Unbuildable says why this verifier's compiler cannot build t (nil: it can).
	Unbuildable(t *datasets.Task) *verify.SkipError
	// Prepare gates, splices and compiles a candidate. A nil error means a
	// Prepared for Measure, whatever the candidate's fate (a rejection is
	// in its verdict); an error is a failed item, or a skip (verify.Skipped).
	Prepare(ctx context.Context, t *datasets.Task, c *datasets.Variant) (Prepared, error)
	// Measure returns the verdict of a prepared candidate.
	Measure(ctx context.Context, p Prepared) (datasets.Verdict, error)
	// GPUs is how many measurements may run at once.
	GPUs() int
}

// Rounds is the refinement loop of one shard: every task's samples go down
// generate → prepare → measure, the collector closes a round when all its
// samples are back (failures travel as data, so a round always closes) and
// sends the task round again while the round improved on the best so far.
type Rounds struct {
	Samples int // candidates per task and round (model.samples)
	Rounds  int // at most this many rounds per task (model.rounds)
	// CompileWorkers is the prepare stage's workers; 0 means one per CPU.
	CompileWorkers int
	Arch           string // the arch named in prompts
}

// Outcome is what a rounds run produced: the shard's data (tasks with their
// qualification, every variant and verdict) and the failed items.
type Outcome struct {
	Data     *datasets.ShardData
	Failures []datasets.Failure
}

// taskState is one task's progress through its refinement rounds. It is
// touched by one stage at a time: the expand stage before a round's samples
// are sent, the collector after they come back.
type taskState struct {
	task        *datasets.Task
	round       int
	pending     int
	roundBest   *datasets.Verdict
	roundBestV  *datasets.Variant
	best        *datasets.Verdict
	bestVariant *datasets.Variant
}

// unit is one sample of one round of one task as it moves down the chain. A
// failure travels as data (err, stage) so the collector can close the round.
type unit struct {
	st       *taskState
	sample   int
	variant  datasets.Variant
	prepared Prepared
	verdict  *datasets.Verdict
	err      error
	stage    string
}

// better reports whether v (of sample) should replace the round's best so
// far. Equal verdicts go to the lower sample, so the parent of the next
// round (and so its prompts and cache keys) does not depend on the order in
// which samples finished.
func (st *taskState) better(v *datasets.Verdict, sample int) bool {
	return st.roundBest == nil || model.Improved(st.roundBest, v) ||
		(!model.Improved(v, st.roundBest) && sample < st.roundBestV.Sample)
}

// Run runs every task through its rounds:
//
//	tasks ─▶ qualify (GPUs) ─▶ rounds loop ─▶ expand (Samples) ─▶ generate (Concurrency)
//	      ─▶ prepare: gate, splice, compile (CompileWorkers) ─▶ measure (GPUs)
//	      ─▶ collect (1): record, decide the next round ─┐
//	         ▲───────────────────────────────────────────┘
//
// Counters go to stats ("tasks_done" once per task finished or dropped);
// progress, when not nil, runs while the loop does and is stopped by
// canceling its context. The error is the run's (a *pipeline.Fatal or
// ctx's); failed items are in the outcome.
func (r Rounds) Run(ctx context.Context, stats *pipeline.Stats, tasks []*datasets.Task, gen Generator, ver Verifier, progress func(context.Context)) (Outcome, error) {
	states := make([]*taskState, len(tasks))
	for i, t := range tasks {
		states[i] = &taskState{task: t}
	}
	var failures []datasets.Failure
	g := pipeline.NewGroup(ctx, stats)
	// Qualification comes first: each task is readied before any candidate,
	// and only usable tasks go on.
	qualified := pipeline.Run(g, pipeline.Stage[*taskState, *taskState]{Name: "qualify", Workers: ver.GPUs(),
		Fn: func(ctx context.Context, st *taskState, emit func(*taskState)) error {
			if err := ver.Qualify(ctx, st.task); err != nil {
				stats.Add("tasks_done", 1)
				return err
			}
			emit(st)
			return nil
		}}, pipeline.From(g, states))
	loop := pipeline.NewLoop(g, qualified)

	expand := pipeline.Run(g, pipeline.Stage[*taskState, unit]{Name: "expand", Workers: 1,
		Fn: func(ctx context.Context, st *taskState, emit func(unit)) error {
			st.pending = r.Samples
			st.roundBest, st.roundBestV = nil, nil
			for i := range r.Samples {
				emit(unit{st: st, sample: i})
			}
			return nil
		}}, loop.Out())

	generated := pipeline.Map(g, "generate", gen.Concurrency(), expand, func(ctx context.Context, u unit) (unit, error) {
		req := model.Request{Task: u.st.task, Round: u.st.round, Parent: u.st.bestVariant, Verdict: u.st.best, Arch: r.Arch}
		if u.st.best != nil && u.st.best.Timing != nil {
			req.Baseline = u.st.best.Timing.RefMedian
		}
		v, err := gen.Generate(ctx, req, u.sample)
		if err != nil {
			u.err, u.stage = err, "generate"
		}
		u.variant = v
		return u, nil
	})

	compileWorkers := r.CompileWorkers
	if compileWorkers <= 0 {
		compileWorkers = runtime.NumCPU()
	}
	prepared := pipeline.Map(g, "prepare", compileWorkers, generated, func(ctx context.Context, u unit) (unit, error) {
		if u.err != nil || u.variant.Rejected != "" {
			return u, nil
		}
		p, err := ver.Prepare(ctx, u.st.task, &u.variant)
		if err != nil {
			u.err, u.stage = err, "prepare"
		}
		u.prepared = p
		return u, nil
	})

	measured := pipeline.Map(g, "measure", ver.GPUs(), prepared, func(ctx context.Context, u unit) (unit, error) {
		if u.err != nil || u.prepared == nil {
			return u, nil
		}
		v, err := ver.Measure(ctx, u.prepared)
		if err != nil {
			u.err, u.stage = err, "measure"
			return u, nil
		}
		u.verdict = &v
		return u, nil
	})

	data := &datasets.ShardData{}
	pipeline.Drain(g, measured, func(u unit) error {
		st := u.st
		if u.err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: the run is being torn down
			}
			if why := verify.Skipped(u.err); why != "" {
				// The task's recorded toolchain needs exceed this compiler:
				// counted as skipped, not as a failed item.
				stats.Reject("skipped", why)
			} else {
				stats.Fail(u.stage, u.err)
				failures = append(failures, datasets.Failure{Stage: u.stage, TaskID: st.task.ID, Round: st.round, Sample: u.sample, Error: u.err.Error()})
			}
		}
		if u.variant.ID != "" { // the model source counts generated and extract rejections
			data.Variants = append(data.Variants, u.variant)
		}
		if v := u.verdict; v != nil {
			data.Verdicts = append(data.Verdicts, *v) // the verifier counts the funnel
			if st.better(v, u.variant.Sample) {
				st.roundBest, st.roundBestV = v, &u.variant
			}
		}
		st.pending--
		if st.pending > 0 {
			return nil
		}
		// The round is complete: go on only while it improves on the best.
		improved := st.roundBest != nil && model.Improved(st.best, st.roundBest)
		if improved {
			st.best, st.bestVariant = st.roundBest, st.roundBestV
		}
		if improved && st.round+1 < r.Rounds {
			st.round++
			loop.Again(st)
			return nil
		}
		stats.Add("tasks_done", 1)
		loop.Done()
		return nil
	})

	pctx, stopProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if progress != nil {
			progress(pctx)
		}
	}()
	err := g.Wait()
	stopProgress()
	<-progressDone
	if err != nil {
		return Outcome{}, err
	}
	// Tasks are written with their qualification.
	for _, t := range tasks {
		data.Tasks = append(data.Tasks, *t)
	}
	return Outcome{Data: data, Failures: failures}, nil
}
