package model

import (
	"context"
	"errors"
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/pipeline"
)

// fakeVerdict stands in for the GPU verifier: it judges a candidate by the
// seed the fake model wrote into it, so results are deterministic.
func fakeVerdict(v datasets.Variant) datasets.Verdict {
	vd := datasets.Verdict{VariantID: v.ID, TaskID: v.TaskID, Gate: datasets.Check{OK: true}, Compile: datasets.CompileResult{OK: true}}
	switch {
	case strings.Contains(v.Region, "candidate 8\n"): // sample 1 of round 0
		vd.Status, vd.Speedup = datasets.StatusKept, 1.3
		vd.Correctness = []datasets.RunResult{{Who: "candidate", Pass: true}}
	default:
		vd.Status, vd.RejectedBy = datasets.StatusRejected, "correctness"
		vd.Correctness = []datasets.RunResult{{Size: "default", Who: "candidate", Exit: 1, Detail: "FAIL at 7"}}
	}
	return vd
}

// TestRefinementRound checks what a refinement round asks of the model: a
// round-1 request continues the parent's conversation with its verdict as
// feedback. One call per (task, sample, round) asked; a rerun on the same
// cache makes none and gives the same variants. The rounds policy itself
// (which parent, when to stop) is the build's, tested on the real loop in
// package build.
func TestRefinementRound(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{Digest: "sha256:r"})
	cache, err := pipeline.OpenDirCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tasks := []*datasets.Task{loadTask(t, "task_hip.json"), loadTask(t, "task_ck.json")}
	const samples = 3
	run := func() (asked int, stats *pipeline.Stats, out []datasets.Variant) {
		cfg := testConfig(f)
		g, stats := newGen(t, cfg, cache)
		ctx := context.Background()
		if err := g.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			// Round 0, then round 1 refining the kept sample with its verdict.
			var parent *datasets.Variant
			var verdict *datasets.Verdict
			for round := range 2 {
				for s := range samples {
					asked++
					v, err := g.Generate(ctx, Request{Task: task, Round: round, Parent: parent, Verdict: verdict, Arch: "gfx90a"}, s)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, v)
					if vd := fakeVerdict(v); round == 0 && vd.Kept() {
						parent, verdict = &v, &vd
					}
				}
				if parent == nil {
					t.Fatalf("task %s: no sample of round 0 was kept", task.ID)
				}
			}
		}
		return asked, stats, out
	}
	asked, stats, first := run()
	if got := len(f.calls()); got != asked || stats.Get("llm.calls") != int64(asked) {
		t.Fatalf("first run: %d calls (stats %d) for %d asks", got, stats.Get("llm.calls"), asked)
	}
	if asked != len(tasks)*samples*2 {
		t.Errorf("asked %d, want %d", asked, len(tasks)*samples*2)
	}
	for _, v := range first {
		if v.Round == 1 && len(v.Messages) != 5 {
			t.Fatalf("round 1 variant has %d messages, parent %q rejected %q", len(v.Messages), v.Parent, v.Rejected)
		}
		if v.Round == 1 && (!strings.Contains(v.Messages[3].Content, "status: kept") || !strings.Contains(v.Messages[3].Content, "1.3x")) {
			t.Errorf("round 1 does not refine the kept sample: %.300s", v.Messages[3].Content)
		}
	}
	asked2, stats2, second := run()
	if got := len(f.calls()); got != asked || asked2 != asked || stats2.Get("llm.cache_hits") != int64(asked) {
		t.Fatalf("rerun made %d new calls, %d hits", got-asked, stats2.Get("llm.cache_hits"))
	}
	for i := range first {
		if first[i].ID != second[i].ID || !second[i].Cached {
			t.Errorf("variant %d differs on rerun", i)
		}
	}
}

// failingCache reads nothing and cannot write.
type failingCache struct{}

func (failingCache) Get(context.Context, pipeline.Key) ([]byte, bool, error) { return nil, false, nil }
func (failingCache) Put(context.Context, pipeline.Key, []byte) error {
	return errors.New("disk full")
}

func TestAnswerSurvivesCacheWriteFailure(t *testing.T) {
	f := newFakeServer(t)
	f.addModel(testModel, fakeModel{})
	g, stats := newGen(t, testConfig(f), failingCache{})
	v, err := g.Generate(context.Background(), Request{Task: loadTask(t, "task_hip.json")}, 0)
	if err != nil || v.Region == "" || stats.Get("llm.calls") != 1 {
		t.Fatalf("err=%v region=%q calls=%d", err, v.Region, stats.Get("llm.calls"))
	}
}
