package measure

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/filters/sandbox"
)

const perf = `(?m)^Perf: (?P<ms>[0-9.eE+-]+) ms$`

func TestPass(t *testing.T) {
	rule := datasets.PassRule{ExitZero: true, Fail: []string{"FAIL"}, Pass: []string{`(?m)^PASS$`}}
	for _, c := range []struct {
		name string
		res  sandbox.Result
		ok   bool
		rule string
	}{
		{"pass", sandbox.Result{Stdout: "PASS\nPerf: 1 ms\n"}, true, ""},
		{"exit", sandbox.Result{Exit: 1, Stdout: "PASS\n"}, false, RuleCorrectness},
		{"fail word", sandbox.Result{Stdout: "PASS\nFAIL: 3 wrong\n"}, false, RuleCorrectness},
		{"no pass line", sandbox.Result{Stdout: "done\n"}, false, RuleCorrectness},
		{"timeout", sandbox.Result{TimedOut: true, Exit: -1, Signal: "killed"}, false, RuleTimeout},
		{"crash", sandbox.Result{Exit: -1, Signal: "segmentation fault", Stdout: "PASS\n"}, false, RuleCrash},
	} {
		ok, why := Pass(rule, c.res)
		if ok != c.ok || (!ok && why == "") {
			t.Errorf("%s: ok=%v why=%q", c.name, ok, why)
		}
		if !ok && FailRule(c.res) != c.rule {
			t.Errorf("%s: rule %s, want %s", c.name, FailRule(c.res), c.rule)
		}
	}
}

func TestParsePerf(t *testing.T) {
	if v, err := ParsePerf(perf, "PASS\nPerf: 1.25 ms\n"); err != nil || v != 1.25 {
		t.Fatalf("%v %v", v, err)
	}
	for name, out := range map[string]string{
		"missing":   "PASS\n",
		"forged":    "Perf: 0.0001 ms\nPASS\nPerf: 1.25 ms\n",
		"zero":      "Perf: 0 ms\n",
		"nan":       "Perf: nan ms\n",
		"negative":  "Perf: -1 ms\n",
		"substring": "xPerf: 1 ms\n",
	} {
		if _, err := ParsePerf(perf, out); !errors.Is(err, ErrTimingLine) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParsePerf(`Perf: (\d+)`, "Perf: 1"); err == nil {
		t.Error("pattern without ms group accepted")
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for q, want := range map[float64]float64{0: 1, 0.25: 2, 0.5: 3, 0.75: 4, 1: 5} {
		if got := Quantile(xs, q); got != want {
			t.Errorf("q%.2f = %v, want %v", q, got, want)
		}
	}
	if got := Quantile([]float64{1, 2}, 0.5); got != 1.5 {
		t.Errorf("median of 2 = %v", got)
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("empty quantile")
	}
	if xs[0] != 5 {
		t.Error("input sorted in place")
	}
}

func TestSelect(t *testing.T) {
	for _, c := range []struct {
		name      string
		ref, cand []float64
		status    string
		rule      string
	}{
		{"kept", []float64{10, 10.2, 9.9, 10.1, 10}, []float64{5, 5.1, 4.9, 5, 5.2}, datasets.StatusKept, ""},
		{"not faster", []float64{10, 10, 10}, []float64{9.9, 9.8, 10}, datasets.StatusRejected, RuleNotFaster},
		{"slower", []float64{10, 10, 10}, []float64{20, 20, 20}, datasets.StatusRejected, RuleNotFaster},
		{"noisy", []float64{6, 8, 10, 12, 14}, []float64{8, 12, 4, 8, 9}, datasets.StatusRejected, RuleNoise},
		{"ceiling", []float64{10, 10, 10}, []float64{0.5, 0.5, 0.5}, datasets.StatusQuarantined, RuleCeiling},
	} {
		tm := &datasets.Timing{Reference: c.ref, Candidate: c.cand}
		s := Select(tm, 1.05, 10)
		if s.Status != c.status || s.Rule != c.rule || s.Reason == "" {
			t.Errorf("%s: %+v", c.name, s)
		}
		if tm.RefMedian == 0 || tm.CandIQR[1] < tm.CandIQR[0] {
			t.Errorf("%s: summary not filled: %+v", c.name, tm)
		}
	}
}

func TestRocprofv3Parse(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "host", "1234")
	os.MkdirAll(sub, 0o755)
	csv := `"Kind","Agent_Id","Kernel_Name","Start_Timestamp","End_Timestamp"
"KERNEL_DISPATCH",1,"poly(float const*, float*, int)",1000000,3000000
"KERNEL_DISPATCH",1,"poly(float const*, float*, int)",5000000,6000000
"KERNEL_DISPATCH",1,"poly(float const*, float*, int)",7000000,8500000
"KERNEL_DISPATCH",1,"__amd_rocclr_fillBufferAligned",0,900000000
`
	os.WriteFile(filepath.Join(sub, "trace_kernel_trace.csv"), []byte(csv), 0o644)
	ms, err := Rocprofv3{}.Parse(sandbox.Result{}, dir, []string{"poly"})
	if err != nil || ms != 1.5 {
		t.Fatalf("%v %v", ms, err)
	}
	if _, err := (Rocprofv3{}).Parse(sandbox.Result{}, dir, []string{"other"}); err == nil {
		t.Fatal("missing kernel accepted")
	}
}

func TestNcuParse(t *testing.T) {
	out := `PASS
Perf: 1.0 ms
==PROF== Disconnected from process 1
"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"
"0","1","poly","h","poly(const float *, float *, int)","1","7","(256, 1, 1)","(64, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","nsecond","2,048"
"1","1","poly","h","poly(const float *, float *, int)","1","7","(256, 1, 1)","(64, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","nsecond","1,024"
"2","1","poly","h","poly(const float *, float *, int)","1","7","(256, 1, 1)","(64, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","usecond","1.024"
`
	ms, err := Ncu{}.Parse(sandbox.Result{Stdout: out}, "", []string{"poly"})
	if err != nil || math.Abs(ms-0.001024) > 1e-12 {
		t.Fatalf("%v %v", ms, err)
	}
	if _, err := (Ncu{}).Parse(sandbox.Result{Stdout: "PASS\n==ERROR== ERR_NVGPUCTRPERM"}, "", nil); err == nil {
		t.Fatal("no metrics accepted")
	}
}

// prog writes a shell script standing in for a task program.
func prog(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func testTask() *datasets.Task {
	return &datasets.Task{
		Sizes: []datasets.Size{{Name: "small", Args: []string{"4"}}, {Name: "tail", Args: []string{"7"}, Hidden: true}},
		Run: datasets.RunRecipe{
			Pass:        datasets.PassRule{ExitZero: true, Fail: []string{"FAIL"}, Pass: []string{`(?m)^PASS$`}},
			PerfPattern: perf,
			Seeds:       []datasets.SeedArgs{{Name: "s1", Args: []string{"1"}}, {Name: "s2", Args: []string{"2"}}, {Name: "s3", Args: []string{"3"}}},
		},
	}
}

func TestCases(t *testing.T) {
	cs := Cases(testTask(), 2)
	if len(cs) != 4 || strings.Join(cs[3].Args(), " ") != "7 2" {
		t.Fatalf("%+v", cs)
	}
	c, ok := TimingCase(testTask())
	if !ok || c.Size.Name != "small" || c.Seed.Name != "s1" {
		t.Fatalf("%+v", c)
	}
}

func runner(t *testing.T) *Runner {
	return &Runner{Sandbox: sandbox.New(), WorkDir: t.TempDir(), Limits: sandbox.Limits{Wall: 5 * time.Second}}
}

func TestCorrectnessAndTiming(t *testing.T) {
	tk := testTask()
	// The reference takes 2 ms per its own line; the candidate 1 ms. The tail
	// size (7) is where the broken candidate fails.
	ref := prog(t, `echo PASS; echo "Perf: 2.0 ms"`)
	good := prog(t, `echo PASS; echo "Perf: 1.0 ms"`)
	tail := prog(t, `if [ "$1" = 7 ]; then echo "FAIL: 1 wrong"; exit 1; fi; echo PASS; echo "Perf: 1.0 ms"`)
	forged := prog(t, `echo "Perf: 0.0001 ms"; echo PASS; echo "Perf: 1.0 ms"`)
	hang := prog(t, `while :; do :; done`)
	r := runner(t)
	ctx := context.Background()
	cases := Cases(tk, 2)

	rs, err := r.Correctness(ctx, tk, Candidate, good, cases)
	if err != nil || len(rs) != 4 || !rs[3].Pass || rs[3].Seed != "s2" || rs[3].Who != Candidate {
		t.Fatalf("%+v %v", rs, err)
	}
	var rej *Rejection
	rs, err = r.Correctness(ctx, tk, Candidate, tail, cases)
	if !errors.As(err, &rej) || rej.Rule != RuleCorrectness || len(rs) != 3 || !strings.Contains(rej.Detail, "size tail") {
		t.Fatalf("tail: %+v %v", rs, err)
	}
	r.Limits.Wall = time.Second
	if _, err = r.Correctness(ctx, tk, Candidate, hang, cases[:1]); !errors.As(err, &rej) || rej.Rule != RuleTimeout {
		t.Fatalf("hang: %v", err)
	}
	r.Limits.Wall = 5 * time.Second
	if _, err = r.Correctness(ctx, tk, Reference, tail, cases); !errors.Is(err, ErrReference) {
		t.Fatalf("reference failure: %v", err)
	}

	c, _ := TimingCase(tk)
	tm, note, err := r.Timing(ctx, tk, ref, good, c, 1, 3)
	if err != nil || note != "" {
		t.Fatal(err, note)
	}
	if len(tm.Reference) != 3 || len(tm.Candidate) != 3 || tm.RefMedian != 2 || tm.CandMedian != 1 || tm.Source != "program" || tm.Size != "small" {
		t.Fatalf("%+v", tm)
	}
	if s := Select(tm, 1.05, 10); s.Status != datasets.StatusKept || s.Speedup != 2 {
		t.Fatalf("%+v", s)
	}
	if _, _, err = r.Timing(ctx, tk, ref, forged, c, 0, 2); !errors.As(err, &rej) || rej.Rule != RuleTimingLine {
		t.Fatalf("forged perf line: %v", err)
	}
}

// fakeProf is a profiler that reads the time from a file the program writes,
// to check the runner's profiler path and its fallback.
type fakeProf struct{ fail bool }

func (fakeProf) Name() string { return "fake" }
func (fakeProf) Command(prog string, args []string, dir string) (string, []string) {
	return prog, append(args, dir)
}
func (f fakeProf) Parse(res sandbox.Result, dir string, names []string) (float64, error) {
	if f.fail {
		return 0, errors.New("no trace")
	}
	b, err := os.ReadFile(filepath.Join(dir, "t"))
	if err != nil {
		return 0, err
	}
	return map[string]float64{"ref": 4, "cand": 2}[strings.TrimSpace(string(b))], nil
}

func TestTimingWithProfiler(t *testing.T) {
	tk := testTask()
	tk.Sizes = tk.Sizes[:1]
	tk.Run.Seeds = nil
	ref := prog(t, `echo ref > "$2/t"; echo PASS; echo "Perf: 2.0 ms"`)
	cand := prog(t, `echo cand > "$2/t"; echo PASS; echo "Perf: 1.5 ms"`)
	r := runner(t)
	r.Profiler = fakeProf{}
	c, _ := TimingCase(tk)
	tm, note, err := r.Timing(context.Background(), tk, ref, cand, c, 0, 2)
	if err != nil || tm.Source != "fake" || tm.RefMedian != 4 || tm.CandMedian != 2 || note != "" {
		t.Fatalf("%+v %q %v", tm, note, err)
	}
	r.Profiler = fakeProf{fail: true}
	tm, note, err = r.Timing(context.Background(), tk, ref, cand, c, 0, 2)
	if err != nil || tm.Source != "program" || tm.CandMedian != 1.5 || !strings.Contains(note, "unusable") {
		t.Fatalf("fallback: %+v %q %v", tm, note, err)
	}
}

// TestOutputCap: a run whose output hits the cap is never judged on what
// was kept of it. The flooding program prints PASS and its timing line,
// then floods stdout so that its FAIL line falls past the cap: the
// candidate is rejected by rule output-cap (correctness and timed runs),
// the reference is a task error.
func TestOutputCap(t *testing.T) {
	tk := testTask()
	flood := prog(t, `echo PASS; echo "Perf: 1.0 ms"; head -c 100000 /dev/zero | tr '\0' x; echo; echo "FAIL: 4 wrong"`)
	good := prog(t, `echo PASS; echo "Perf: 2.0 ms"`)
	r := runner(t)
	r.Limits.OutputBytes = 64 << 10
	ctx := context.Background()
	cases := Cases(tk, 1)
	var rej *Rejection
	rs, err := r.Correctness(ctx, tk, Candidate, flood, cases)
	if !errors.As(err, &rej) || rej.Rule != RuleOutputCap || len(rs) != 1 || rs[0].Pass || !strings.Contains(rs[0].Detail, "cap") {
		t.Fatalf("flooding candidate: %+v %v", rs, err)
	}
	if _, err := r.Correctness(ctx, tk, Reference, flood, cases); !errors.Is(err, ErrReference) || !strings.Contains(err.Error(), "cap") {
		t.Fatalf("flooding reference: %v", err)
	}
	c, _ := TimingCase(tk)
	if _, _, err := r.Timing(ctx, tk, good, flood, c, 0, 1); !errors.As(err, &rej) || rej.Rule != RuleOutputCap {
		t.Fatalf("flooding timed candidate: %v", err)
	}
	if _, _, err := r.Timing(ctx, tk, flood, good, c, 0, 1); !errors.Is(err, ErrReference) {
		t.Fatalf("flooding timed reference: %v", err)
	}
}

// TestTimingCounterbalancesOrder: reference and candidate take turns going
// first in the timed pairs (ABBA…), so a position effect (the second of two
// identical runs finding warm caches, a clock ramping up) cannot make an
// unchanged candidate look faster. Each program reports the moment it ran
// as its time, so a pair's smaller value tells which ran first.
func TestTimingCounterbalancesOrder(t *testing.T) {
	tk := testTask()
	now := prog(t, `echo PASS; echo "Perf: $(date +%s%N) ms"`)
	c, _ := TimingCase(tk)
	tm, _, err := runner(t).Timing(context.Background(), tk, now, now, c, 0, 6)
	if err != nil {
		t.Fatal(err)
	}
	refFirst := 0
	for i := range tm.Reference {
		if tm.Reference[i] < tm.Candidate[i] {
			refFirst++
		}
	}
	if len(tm.Reference) != 6 || refFirst != 3 {
		t.Errorf("the reference ran first in %d of %d timed pairs, want half", refFirst, len(tm.Reference))
	}
}
