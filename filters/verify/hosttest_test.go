//go:build hosttest

package verify

import (
	"context"
	"strings"
	"sync"
	"testing"

	"kforge/datasets"
	"kforge/pipeline"
)

// countingCache counts Puts per kind, to see what was measured anew.
type countingCache struct {
	pipeline.Cache
	mu   sync.Mutex
	puts map[string]int
}

func (c *countingCache) Put(ctx context.Context, k pipeline.Key, v []byte) error {
	c.mu.Lock()
	c.puts[k.Kind]++
	c.mu.Unlock()
	return c.Cache.Put(ctx, k, v)
}

func hostVerifier(t *testing.T) (*Verifier, *pipeline.Stats, *countingCache) {
	t.Helper()
	stats := pipeline.NewStats()
	cache := &countingCache{Cache: pipeline.NewMemCache(), puts: map[string]int{}}
	v, err := New(testConfig(BackendHostTest), Options{WorkDir: t.TempDir(), Cache: cache, Stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	return v, stats, cache
}

// TestAdversarialSuite: every hostile candidate is rejected, each by the
// rule that should catch it.
func TestAdversarialSuite(t *testing.T) {
	tk := polyTask(t)
	v, stats, _ := hostVerifier(t)
	ctx := context.Background()
	main := tk.Files[0].Content
	outside := main[:tk.Region.Start] + readCand(t, "single") + strings.Replace(main[tk.Region.End:], `std::printf("PASS\n");`, `std::printf("PASS\n"); std::printf("Perf: 0.0001 ms\n"); return 0;`, 1)
	cases := []struct {
		name, cand, rule string
		stage            string // where it must be caught: gate, splice, run
	}{
		{"skip work", "skip_work", "correctness", "run"},
		{"tail of a non-multiple size skipped", "tail_skip", "correctness", "run"},
		{"uninitialised results", "uninit", "correctness", "run"},
		{"stale results carried between launches", "stale", "gate/no-device-globals", "gate"},
		{"write outside its buffer", "oob", "correctness", "run"},
		{"infinite loop", "loop", "timeout", "run"},
		{"fork", "fork", "gate/no-process", "gate"},
		{"open files", "openfile", "gate/no-files", "gate"},
		{"call a BLAS library", "blas", "gate/no-library", "gate"},
		{"include a BLAS library", "blas_include", "gate/no-include", "gate"},
		{"change code outside the region", outside, "splice/outside-region", "splice"},
		{"macro that rewrites the harness", "macro", "gate/no-preprocessor", "gate"},
		{"fake Perf line", "fakeperf", "gate/no-output", "gate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vd, err := v.Verify(ctx, tk, candidate(t, tk, c.cand))
			if err != nil {
				t.Fatal(err)
			}
			if vd.Status != datasets.StatusRejected || vd.RejectedBy != c.rule || vd.Reason == "" {
				t.Fatalf("status %s rejected_by %q (%s), want %s", vd.Status, vd.RejectedBy, vd.Reason, c.rule)
			}
			if vd.Kept() || vd.Timing != nil {
				t.Fatal("a rejected candidate was timed or kept")
			}
			switch c.stage {
			case "gate":
				if vd.Gate.OK || vd.Compile.OK || len(vd.Correctness) != 0 {
					t.Fatalf("gate rejection went further: %+v", vd)
				}
			case "splice":
				if vd.Splice.OK || vd.Splice.Rule == "" || vd.Compile.OK {
					t.Fatalf("splice rejection went further: %+v", vd)
				}
			case "run":
				if !vd.Gate.OK || !vd.Splice.OK || !vd.Compile.OK || len(vd.Correctness) == 0 {
					t.Fatalf("run-time rejection without the earlier checks: %+v", vd)
				}
				last := vd.Correctness[len(vd.Correctness)-1]
				if last.Pass || last.Who != "candidate" || last.Detail == "" {
					t.Fatalf("last run %+v", last)
				}
			}
		})
	}
	if n := stats.Snapshot().Rejections["verify"]; n["correctness"] != 4 || n["timeout"] != 1 {
		t.Fatalf("rejections %+v", n)
	}
	if stats.Get("kept") != 0 || stats.Get("correct") != 0 {
		t.Fatalf("funnel %+v", stats.Snapshot().Counters)
	}
}

func readCand(t *testing.T, name string) string {
	return candidate(t, polyTask(t), name).Region
}

// TestHostTestSelection: a candidate that does half the work is kept, the
// reference itself is not faster, and a 20x rewrite is quarantined.
func TestHostTestSelection(t *testing.T) {
	tk := polyTask(t)
	v, stats, cache := hostVerifier(t)
	ctx := context.Background()
	if v.Device().Name != "host-test" {
		t.Fatalf("device %+v", v.Device())
	}

	vd, err := v.Verify(ctx, tk, candidate(t, tk, "single"))
	if err != nil {
		t.Fatal(err)
	}
	if vd.Status != datasets.StatusKept || !vd.Kept() || vd.RejectedBy != "" {
		t.Fatalf("half-work candidate: %s %s %s (timing %+v)", vd.Status, vd.RejectedBy, vd.Reason, vd.Timing)
	}
	tm := vd.Timing
	// Kernel times come from kforge's runtime stand-in, not the program's
	// Perf line; the fixture's reference passes in scrub mode, so scrub
	// mode is on.
	if tm == nil || tm.Source != "kforge" || tm.Size != "default" || len(tm.Reference) != 5 || len(tm.Candidate) != 5 {
		t.Fatalf("timing %+v", tm)
	}
	if !strings.Contains(vd.Logs, "scrub mode: outputs poisoned") {
		t.Fatalf("logs %q", vd.Logs)
	}
	if vd.Speedup != tm.RefMedian/tm.CandMedian || vd.Speedup < 1.05 || !(tm.CandIQR[1] < tm.RefIQR[0]) {
		t.Fatalf("speedup %v timing %+v", vd.Speedup, tm)
	}
	// 3 sizes × 2 seeds: candidate, reference, candidate.
	if len(vd.Correctness) != 18 {
		t.Fatalf("%d correctness runs", len(vd.Correctness))
	}
	who := map[string]int{}
	for _, r := range vd.Correctness {
		if !r.Pass {
			t.Fatalf("failed run in a kept verdict: %+v", r)
		}
		who[r.Who]++
	}
	if who["candidate"] != 12 || who["reference"] != 6 || vd.Correctness[0].Who != "candidate" || vd.Correctness[17].Who != "candidate" {
		t.Fatalf("run order %+v", who)
	}
	if vd.Device.Name != "host-test" || vd.Backend != "host-test" || vd.TaskID != tk.ID || len(vd.Sizes) != 3 || vd.Seconds <= 0 {
		t.Fatalf("verdict fields %+v", vd)
	}

	measures := cache.puts["measure"]
	again, err := v.Verify(ctx, tk, candidate(t, tk, "single"))
	if err != nil || again.Status != vd.Status || again.Speedup != vd.Speedup || cache.puts["measure"] != measures {
		t.Fatalf("rerun not served from the measurement cache: %v, %d -> %d puts", err, measures, cache.puts["measure"])
	}

	same, err := v.Verify(ctx, tk, candidate(t, tk, "reference"))
	if err != nil || same.Status != datasets.StatusRejected || (same.RejectedBy != "not-faster" && same.RejectedBy != "noise") {
		t.Fatalf("reference as candidate: %+v %v", same, err)
	}
	// The reference's correctness runs were cached once for the task.
	if cache.puts["measure"] != measures+1 {
		t.Fatalf("reference correctness measured again: %d puts", cache.puts["measure"]-measures)
	}

	fast, err := v.Verify(ctx, tk, candidate(t, tk, "horner"))
	if err != nil || fast.Status != datasets.StatusQuarantined || fast.RejectedBy != "speedup-ceiling" || fast.Kept() || fast.Speedup <= 10 {
		t.Fatalf("horner: %s %s %v %s", fast.Status, fast.RejectedBy, fast.Speedup, fast.Reason)
	}
	c := stats.Snapshot().Counters
	if c["gated"] != 4 || c["compiled"] != 4 || c["correct"] != 4 || c["faster"] != 3 || c["kept"] != 2 {
		t.Fatalf("funnel %+v", c)
	}
}

// TestJudgeAttacks: attacks that the candidate's own program cannot see,
// and that were kept before the judge decided pass and time.
func TestJudgeAttacks(t *testing.T) {
	tk := polyTask(t)
	v, stats, _ := hostVerifier(t)
	ctx := context.Background()

	// Reads its own output to skip work in later launches: scrub mode
	// poisons the output before every launch, so the timed launches do all
	// the work and the candidate is no faster than the reference.
	vd, err := v.Verify(ctx, tk, candidate(t, tk, "reuse_output"))
	if err != nil {
		t.Fatal(err)
	}
	// Doing the reference's work, it is timed at about 1x: on a busy host
	// that can come out a few percent either way (the attack alone gave
	// 3.5x), so what is asserted is the speedup, not the noise rule.
	if vd.Status == datasets.StatusQuarantined || vd.Timing == nil || vd.Timing.Source != "kforge" || vd.Speedup > 1.5 {
		t.Fatalf("reuse_output: %s %s %s speedup %v timing %+v", vd.Status, vd.RejectedBy, vd.Reason, vd.Speedup, vd.Timing)
	}
	if !strings.Contains(vd.Logs, "scrub mode: outputs poisoned") {
		t.Fatalf("reuse_output logs %q", vd.Logs)
	}

	// Trusts the output's earlier contents (zero when fresh, the answer
	// when left by an earlier launch or process): every allocation starts
	// poisoned, so its very first run fails.
	vd, err = v.Verify(ctx, tk, candidate(t, tk, "stale_memory"))
	if err != nil {
		t.Fatal(err)
	}
	if vd.Status != datasets.StatusRejected || vd.RejectedBy != "correctness" || len(vd.Correctness) != 1 || vd.Correctness[0].Pass || vd.Timing != nil {
		t.Fatalf("stale_memory: %s %s %s %+v", vd.Status, vd.RejectedBy, vd.Reason, vd.Correctness)
	}

	// Floods stdout through a harness that reports every mismatch, so that
	// its FAIL line falls past the output cap.
	verbose := polyTaskFrom(t, "verbose_main.hip")
	verbose.Sizes = []datasets.Size{
		{Name: "default", Args: []string{"16384", "5"}, Dims: map[string]int64{"N": 16384}, Origin: "example_default"},
		{Name: "small", Args: []string{"8192", "3"}, Dims: map[string]int64{"N": 8192}, Origin: "generated"},
		{Name: "tail", Args: []string{"10007", "3"}, Dims: map[string]int64{"N": 10007}, Hidden: true, Origin: "generated_tail"},
	}
	verbose.Run.Pass = datasets.PassRule{Fail: []string{"FAIL"}}
	verbose.ID = datasets.TaskID(verbose)
	vd, err = v.Verify(ctx, verbose, candidate(t, verbose, "flood"))
	if err != nil {
		t.Fatal(err)
	}
	if vd.Status != datasets.StatusRejected || vd.RejectedBy != "output-cap" || vd.Timing != nil || !strings.Contains(vd.Reason, "cap") {
		t.Fatalf("flood: %s %s %s", vd.Status, vd.RejectedBy, vd.Reason)
	}
	// The verbose harness is honest with an honest candidate.
	if vd, err = v.Verify(ctx, verbose, candidate(t, verbose, "single")); err != nil || vd.Status != datasets.StatusKept {
		t.Fatalf("single on the verbose harness: %v %s %s %s", err, vd.Status, vd.RejectedBy, vd.Reason)
	}
	n := stats.Snapshot().Rejections["verify"]
	// single on the verbose harness is kept; reuse_output (about 1x) at most
	// by the noise of a busy host.
	if n["output-cap"] != 1 || n["correctness"] != 1 || stats.Get("kept") < 1 || stats.Get("kept") > 2 {
		t.Fatalf("rejections %+v, funnel %+v", n, stats.Snapshot().Counters)
	}
}
