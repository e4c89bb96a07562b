package build

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/filters/verify"
	"kforge/pipeline"
	"kforge/sources/model"
)

// key names one sample of one round of one task.
type key struct {
	task          string
	round, sample int
}

func variantID(k key) string { return fmt.Sprintf("%s-r%d-s%d", k.task, k.round, k.sample) }

// fakeGen stands in for the model: it records every request and answers
// with a variant named by task, round and sample.
type fakeGen struct {
	concurrency int
	// fail makes a sample's call fail (nil: none fails).
	fail func(k key) error
	// before, when set, is called before a sample answers (to order them).
	before func(k key)

	mu   sync.Mutex
	reqs map[key]model.Request
}

func (g *fakeGen) Concurrency() int { return max(g.concurrency, 1) }

func (g *fakeGen) Generate(ctx context.Context, req model.Request, sample int) (datasets.Variant, error) {
	k := key{req.Task.ID, req.Round, sample}
	g.mu.Lock()
	if g.reqs == nil {
		g.reqs = map[key]model.Request{}
	}
	if _, dup := g.reqs[k]; dup {
		g.mu.Unlock()
		return datasets.Variant{}, fmt.Errorf("sample %v asked twice", k)
	}
	g.reqs[k] = req
	g.mu.Unlock()
	if g.before != nil {
		g.before(k)
	}
	if g.fail != nil {
		if err := g.fail(k); err != nil {
			return datasets.Variant{}, err
		}
	}
	v := datasets.Variant{ID: variantID(k), TaskID: req.Task.ID, Round: req.Round, Sample: sample, Region: "candidate"}
	if req.Parent != nil {
		v.Parent = req.Parent.ID
	}
	return v, nil
}

// requests returns the recorded requests of round r of task, by sample.
func (g *fakeGen) requests(task string, r int) map[int]model.Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[int]model.Request{}
	for k, req := range g.reqs {
		if k.task == task && k.round == r {
			out[k.sample] = req
		}
	}
	return out
}

func (g *fakeGen) calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reqs)
}

// fakeVer stands in for the GPU verifier: judge gives each sample's verdict.
type fakeVer struct {
	gpus        int
	judge       func(k key) datasets.Verdict
	qualifyErr  map[string]error
	prepareErr  func(k key) error
	measureErr  func(k key) error
	onPrepare   func(k key)
	mu          sync.Mutex
	prepareSeen []key
}

func keyOf(c *datasets.Variant) key { return key{c.TaskID, c.Round, c.Sample} }

func (f *fakeVer) GPUs() int { return max(f.gpus, 1) }

func (f *fakeVer) Qualify(ctx context.Context, t *datasets.Task) error {
	if err := f.qualifyErr[t.ID]; err != nil {
		return err
	}
	t.Qualification = &datasets.Qualification{Backend: "fake"}
	return nil
}

func (f *fakeVer) Unbuildable(t *datasets.Task) *verify.SkipError { return nil }

func (f *fakeVer) Prepare(ctx context.Context, t *datasets.Task, c *datasets.Variant) (Prepared, error) {
	k := keyOf(c)
	if t.ID != c.TaskID {
		return nil, fmt.Errorf("variant of %s prepared for task %s", c.TaskID, t.ID)
	}
	f.mu.Lock()
	f.prepareSeen = append(f.prepareSeen, k)
	f.mu.Unlock()
	if f.onPrepare != nil {
		f.onPrepare(k)
	}
	if f.prepareErr != nil {
		if err := f.prepareErr(k); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (f *fakeVer) Measure(ctx context.Context, p Prepared) (datasets.Verdict, error) {
	k := p.(key)
	if f.measureErr != nil {
		if err := f.measureErr(k); err != nil {
			return datasets.Verdict{}, err
		}
	}
	v := f.judge(k)
	v.VariantID, v.TaskID = variantID(k), k.task
	return v, nil
}

// kept is a verdict kept with speedup s over a reference of 2 ms.
func kept(s float64) datasets.Verdict {
	return datasets.Verdict{Status: datasets.StatusKept, Speedup: s,
		Gate: datasets.Check{OK: true}, Compile: datasets.CompileResult{OK: true},
		Correctness: []datasets.RunResult{{Who: "candidate", Pass: true}},
		Timing:      &datasets.Timing{RefMedian: 2, CandMedian: 2 / s}}
}

// wrong is a verdict that compiled but failed correctness.
func wrong() datasets.Verdict {
	return datasets.Verdict{Status: datasets.StatusRejected, RejectedBy: "correctness",
		Gate: datasets.Check{OK: true}, Compile: datasets.CompileResult{OK: true},
		Correctness: []datasets.RunResult{{Who: "candidate", Exit: 1, Detail: "FAIL at 7"}}}
}

func newTasks(ids ...string) []*datasets.Task {
	var ts []*datasets.Task
	for _, id := range ids {
		ts = append(ts, &datasets.Task{ID: id, Name: "task " + id})
	}
	return ts
}

// runRounds runs the real loop, failing the test if it does not end.
func runRounds(t *testing.T, r Rounds, tasks []*datasets.Task, gen Generator, ver Verifier) (Outcome, *pipeline.Stats) {
	t.Helper()
	stats := pipeline.NewStats()
	type result struct {
		out Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := r.Run(context.Background(), stats, tasks, gen, ver, nil)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("rounds: %v", res.err)
		}
		return res.out, stats
	case <-time.After(60 * time.Second):
		t.Fatal("the rounds loop did not end: a round never closed")
	}
	return Outcome{}, nil
}

// TestTieBreakIsOrderIndependent: equal verdicts in a round go to the
// lower sample whatever order the samples come back in, so the next round's
// parent (its prompts and cache keys) is the same on every run.
func TestTieBreakIsOrderIndependent(t *testing.T) {
	const samples = 3
	orders := [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}}
	for _, order := range orders {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			// Round 0's samples reach the collector in order: each waits
			// until the one before it in order has been handed to Prepare
			// (one compile worker and one GPU keep that order downstream).
			prepared := map[int]chan struct{}{}
			for s := range samples {
				prepared[s] = make(chan struct{})
			}
			gen := &fakeGen{concurrency: samples, before: func(k key) {
				if k.round != 0 {
					return
				}
				if i := slices.Index(order, k.sample); i > 0 {
					<-prepared[order[i-1]]
				}
			}}
			ver := &fakeVer{
				onPrepare: func(k key) {
					if k.round == 0 {
						close(prepared[k.sample])
					}
				},
				judge: func(k key) datasets.Verdict {
					if k.round == 0 {
						return kept(1.5) // all equal
					}
					return wrong()
				},
			}
			r := Rounds{Samples: samples, Rounds: 3, CompileWorkers: 1}
			out, _ := runRounds(t, r, newTasks("t"), gen, ver)
			var got []int
			for _, k := range ver.prepareSeen {
				if k.round == 0 {
					got = append(got, k.sample)
				}
			}
			if !slices.Equal(got, order) {
				t.Fatalf("samples came back in order %v, want %v", got, order)
			}
			reqs := gen.requests("t", 1)
			if len(reqs) != samples {
				t.Fatalf("round 1 asked %d samples, want %d", len(reqs), samples)
			}
			for s, req := range reqs {
				if req.Parent == nil || req.Parent.Sample != 0 || req.Parent.ID != variantID(key{"t", 0, 0}) {
					t.Errorf("round 1 sample %d refines %+v, want round 0 sample 0", s, req.Parent)
				}
			}
			if n := len(out.Data.Verdicts); n != 2*samples {
				t.Errorf("%d verdicts, want %d", n, 2*samples)
			}
		})
	}
}

// TestRoundsStopAndFeedback: a task goes round again only while the round
// improved on the best so far, at most Rounds rounds, and each round refines
// the best candidate so far with its verdict and reference time.
func TestRoundsStopAndFeedback(t *testing.T) {
	cases := []struct {
		name   string
		rounds int
		judge  func(k key) datasets.Verdict
		want   int // rounds each task runs
	}{
		{"a round that does not improve stops", 4, func(k key) datasets.Verdict {
			if k.round == 0 && k.sample == 1 {
				return kept(1.3)
			}
			return wrong()
		}, 2},
		{"equal speedup is no improvement", 4, func(k key) datasets.Verdict {
			return kept(1.3)
		}, 2},
		{"a gain under 1% is noise", 4, func(k key) datasets.Verdict {
			return kept(1.3 + 0.001*float64(k.round))
		}, 2},
		{"improving every round runs max rounds", 3, func(k key) datasets.Verdict {
			return kept(1.2 + 0.2*float64(k.round) + 0.01*float64(k.sample))
		}, 3},
		{"one round at most", 1, func(k key) datasets.Verdict {
			return kept(1.2 + 0.2*float64(k.round))
		}, 1},
		{"a rejected verdict beats none, once", 4, func(k key) datasets.Verdict {
			return datasets.Verdict{Status: datasets.StatusRejected, RejectedBy: "gate/include"}
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const samples = 2
			tasks := newTasks("a", "b")
			gen := &fakeGen{concurrency: 2}
			ver := &fakeVer{gpus: 2, judge: tc.judge}
			r := Rounds{Samples: samples, Rounds: tc.rounds, CompileWorkers: 2, Arch: "gfx90a"}
			out, stats := runRounds(t, r, tasks, gen, ver)
			if got, want := gen.calls(), len(tasks)*samples*tc.want; got != want {
				t.Errorf("%d model calls, want %d (%d rounds)", got, want, tc.want)
			}
			if got := stats.Get("tasks_done"); got != int64(len(tasks)) {
				t.Errorf("tasks_done = %d, want %d", got, len(tasks))
			}
			if len(out.Data.Tasks) != len(tasks) || len(out.Data.Variants) != gen.calls() || len(out.Data.Verdicts) != gen.calls() || len(out.Failures) != 0 {
				t.Errorf("outcome: %d tasks, %d variants, %d verdicts, %d failures", len(out.Data.Tasks), len(out.Data.Variants), len(out.Data.Verdicts), len(out.Failures))
			}
			if out.Data.Tasks[0].Qualification == nil {
				t.Errorf("tasks are not written with their qualification")
			}
			for _, task := range tasks {
				// Feedback: round r refines the best of rounds < r.
				var best *datasets.Verdict
				var bestID string
				for round := range tc.want {
					for s, req := range gen.requests(task.ID, round) {
						if req.Round != round || req.Arch != "gfx90a" || req.Task.ID != task.ID {
							t.Fatalf("request %s round %d sample %d: %+v", task.ID, round, s, req)
						}
						switch {
						case best == nil && (req.Parent != nil || req.Verdict != nil || req.Baseline != 0):
							t.Errorf("round %d sample %d has feedback %v before any verdict", round, s, req.Parent)
						case best != nil && (req.Parent == nil || req.Parent.ID != bestID || req.Verdict == nil || req.Verdict.Speedup != best.Speedup || req.Verdict.Status != best.Status):
							t.Errorf("round %d sample %d refines %+v / %+v, want %s (%s %.3g)", round, s, req.Parent, req.Verdict, bestID, best.Status, best.Speedup)
						case best != nil && best.Timing != nil && req.Baseline != best.Timing.RefMedian:
							t.Errorf("round %d baseline %v, want the reference time %v", round, req.Baseline, best.Timing.RefMedian)
						}
					}
					// The round's best (ties to the lower sample) if it improved.
					var rb *datasets.Verdict
					var rbID string
					for s := range samples {
						v := tc.judge(key{task.ID, round, s})
						if rb == nil || model.Improved(rb, &v) {
							rb, rbID = &v, variantID(key{task.ID, round, s})
						}
					}
					if model.Improved(best, rb) {
						best, bestID = rb, rbID
					}
				}
			}
		})
	}
}

// TestFailuresCloseTheRound: a sample that fails at any stage still comes
// back to the collector as data, so its round closes and the loop ends; it is
// a failed item with its stage, task, round and sample. A skip is counted,
// not failed; a task that fails qualification gets no candidate.
func TestFailuresCloseTheRound(t *testing.T) {
	errGen, errPrep, errMeas := errors.New("model server: 503"), errors.New("disk full"), errors.New("gpu lost")
	gen := &fakeGen{concurrency: 3, fail: func(k key) error {
		if k.sample == 0 || k.round == 1 {
			return errGen
		}
		return nil
	}}
	ver := &fakeVer{
		gpus:       2,
		qualifyErr: map[string]error{"q": fmt.Errorf("%w: dropped by qualification", verify.ErrTask)},
		prepareErr: func(k key) error {
			switch k.sample {
			case 1:
				return errPrep
			case 4:
				return &verify.SkipError{Task: k.task, Reason: "needs HIP >= 9", Detail: "needs HIP >= 9 (have 5.2)"}
			}
			return nil
		},
		measureErr: func(k key) error {
			if k.sample == 2 {
				return errMeas
			}
			return nil
		},
		judge: func(k key) datasets.Verdict { return kept(1.5) },
	}
	const samples = 5
	r := Rounds{Samples: samples, Rounds: 4, CompileWorkers: 2}
	out, stats := runRounds(t, r, newTasks("t", "q"), gen, ver)

	// Round 0: samples 0, 1, 2 fail, 3 is kept (an improvement), 4 skipped;
	// round 1: every sample fails, so nothing improves and the task stops.
	want := []datasets.Failure{
		{Stage: "generate", TaskID: "t", Round: 0, Sample: 0, Error: errGen.Error()},
		{Stage: "prepare", TaskID: "t", Round: 0, Sample: 1, Error: errPrep.Error()},
		{Stage: "measure", TaskID: "t", Round: 0, Sample: 2, Error: errMeas.Error()},
	}
	for s := range samples {
		want = append(want, datasets.Failure{Stage: "generate", TaskID: "t", Round: 1, Sample: s, Error: errGen.Error()})
	}
	got := slices.Clone(out.Failures)
	datasets.SortFailures(got)
	datasets.SortFailures(want)
	if !slices.Equal(got, want) {
		t.Errorf("failures:\n got %+v\nwant %+v", got, want)
	}
	if n := gen.requests("t", 2); len(n) != 0 {
		t.Errorf("round 2 ran after a round with no verdict")
	}
	if n := len(gen.requests("q", 0)); n != 0 {
		t.Errorf("a task dropped by qualification got %d candidates", n)
	}
	if got := stats.Get("tasks_done"); got != 2 {
		t.Errorf("tasks_done = %d, want 2 (the dropped task counts)", got)
	}
	// 8 sample failures and the qualification failure.
	if got := stats.Failed(); got != int64(len(want))+1 {
		t.Errorf("stats.Failed() = %d, want %d", got, len(want)+1)
	}
	if got := stats.Snapshot().Rejections["skipped"]["needs HIP >= 9"]; got != 1 {
		t.Errorf("skipped samples = %d, want 1", got)
	}
	if len(out.Data.Verdicts) != 1 || out.Data.Verdicts[0].VariantID != variantID(key{"t", 0, 3}) {
		t.Errorf("verdicts: %+v", out.Data.Verdicts)
	}
	// Variants whose call failed have no ID and are not recorded; round 0's
	// samples 1-4 are.
	if len(out.Data.Variants) != 4 {
		t.Errorf("%d variants recorded, want 4", len(out.Data.Variants))
	}
}

// TestRejectedAnswerIsNotVerified: a variant the model source rejected (no
// usable code) is recorded but never prepared, and still closes its round.
func TestRejectedAnswerIsNotVerified(t *testing.T) {
	gen := &rejectingGen{fakeGen{concurrency: 1}}
	ver := &fakeVer{judge: func(k key) datasets.Verdict { return kept(1.5) }}
	out, stats := runRounds(t, Rounds{Samples: 2, Rounds: 2, CompileWorkers: 1}, newTasks("t"), gen, ver)
	if len(ver.prepareSeen) != 2 { // sample 1 of rounds 0 and 1
		t.Errorf("prepared %v, want only sample 1 of each round", ver.prepareSeen)
	}
	if len(out.Data.Variants) != 4 || len(out.Data.Verdicts) != 2 || stats.Failed() != 0 {
		t.Errorf("%d variants, %d verdicts, %d failed", len(out.Data.Variants), len(out.Data.Verdicts), stats.Failed())
	}
}

// rejectingGen answers sample 0 with no usable code.
type rejectingGen struct{ fakeGen }

func (g *rejectingGen) Generate(ctx context.Context, req model.Request, sample int) (datasets.Variant, error) {
	v, err := g.fakeGen.Generate(ctx, req, sample)
	if sample == 0 {
		v.Rejected = "no code block"
	}
	return v, err
}

// TestCanceledRunEnds: canceling the context ends the loop with ctx's error
// and records no failed item for the work it cut short.
func TestCanceledRunEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	gen := &fakeGen{concurrency: 2, before: func(k key) {
		if k.round == 1 {
			cancel()
		}
	}}
	ver := &fakeVer{judge: func(k key) datasets.Verdict { return kept(1.2 + 0.2*float64(k.round)) }}
	stats := pipeline.NewStats()
	out, err := Rounds{Samples: 2, Rounds: 5, CompileWorkers: 1}.Run(ctx, stats, newTasks("t"), gen, ver, nil)
	if !errors.Is(err, context.Canceled) || out.Data != nil {
		t.Fatalf("err = %v, data %v; want context.Canceled", err, out.Data)
	}
}
