package verify

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/filters/splice"
	"kforge/pipeline"
)

var update = flag.Bool("update", false, "rewrite testdata/poly/tasks.jsonl from main.hip")

// polyTaskSpec is the fixture task, built from testdata/poly/main.hip.
func polyTaskSpec(t *testing.T) *datasets.Task { return polyTaskFrom(t, "main.hip") }

// polyTaskFrom is the fixture task built from the harness in testdata/poly/file.
func polyTaskFrom(t *testing.T, file string) *datasets.Task {
	dir := "testdata/poly/"
	mainSrc, err := os.ReadFile(dir + file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(mainSrc)
	begin := "// KFORGE-REGION-BEGIN\n"
	start := strings.Index(s, begin) + len(begin)
	end := strings.Index(s, "// KFORGE-REGION-END")
	tk := &datasets.Task{
		Kind: datasets.KindHIPProgram, Name: "poly/poly", Op: "elementwise_poly", Dtypes: []string{"fp32"},
		Description: "Evaluates the polynomial sum_k x^k/(k+1), k = 0..12, at every element of a float vector.",
		Source: datasets.Source{Repo: "kforge-fixtures", Commit: strings.Repeat("0", 40), Path: "poly/main.hip", Blob: datasets.Hash("blob", s)[:40],
			Lines: [2]int{strings.Count(s[:start], "\n") + 1, strings.Count(s[:end], "\n")}, License: "MIT"},
		Files: []datasets.File{{Path: "main.hip", Content: s}},
		Region: datasets.Region{File: "main.hip", Start: start, End: end, Text: s[start:end], Kind: "hip-kernels",
			Rules:      []string{"Keep the kernel signature.", "Only __global__ and __device__ functions.", "No #include, macros, host API, I/O or libraries."},
			Signatures: []string{"__global__ void poly(const float* x, float* y, int n)"}},
		Sizes: []datasets.Size{
			{Name: "default", Args: []string{"8192", "11"}, Dims: map[string]int64{"N": 8192}, Origin: "example_default"},
			{Name: "small", Args: []string{"4096", "5"}, Dims: map[string]int64{"N": 4096}, Origin: "generated"},
			{Name: "tail", Args: []string{"10007", "5"}, Dims: map[string]int64{"N": 10007}, Hidden: true, Origin: "generated_tail"},
		},
		Build: datasets.BuildRecipe{Sources: []string{"main.hip"}, Flags: []string{"-O3"}},
		Run: datasets.RunRecipe{
			Pass:           datasets.PassRule{ExitZero: true, Fail: []string{"FAIL"}, Pass: []string{`(?m)^PASS$`}},
			PerfPattern:    `(?m)^Perf: (?P<ms>[0-9.eE+-]+) ms$`,
			Seeds:          []datasets.SeedArgs{{Name: "seed1", Args: []string{"1"}}, {Name: "seed977", Args: []string{"977"}}},
			TimeoutSeconds: 60,
			Tolerance:      &datasets.Tolerance{RTol: 1e-4, ATol: 1e-5},
		},
		Archs: []string{"gfx90a"},
	}
	tk.ID = datasets.TaskID(tk)
	return tk
}

// TestFixtureTaskIsConsistent: tasks.jsonl is the task built from main.hip
// (go test -run FixtureTask -update rewrites it), and it has what the
// verifier needs of a task.
func TestFixtureTaskIsConsistent(t *testing.T) {
	want := polyTaskSpec(t)
	if *update {
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/poly/tasks.jsonl", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tk := polyTask(t)
	if err := splice.CheckTask(tk); err != nil {
		t.Fatal(err)
	}
	if id := datasets.TaskID(tk); id != tk.ID {
		t.Fatalf("task id %s, computed %s", tk.ID, id)
	}
	a, _ := json.Marshal(tk)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatal("tasks.jsonl is stale (main.hip changed): go test ./filters/verify -run FixtureTask -update")
	}
	hidden, tail := false, false
	for _, s := range tk.Sizes {
		hidden = hidden || s.Hidden
		tail = tail || s.Dims["N"]%256 != 0
	}
	if len(tk.Sizes) < 3 || !hidden || !tail || len(tk.Run.Seeds) < 2 {
		t.Fatal("the fixture needs ≥3 sizes, a hidden one, one not divisible by the block size, and 2 seeds")
	}
}

func TestNewRejectsUnknownBackend(t *testing.T) {
	if _, err := New(Config{Backend: "tpu"}, Options{WorkDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "unknown backend") {
		t.Fatalf("got %v", err)
	}
	if _, err := New(testConfig(BackendCompileOnly), Options{}); err == nil {
		t.Fatal("missing WorkDir accepted")
	}
}

func needHipcc(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("hipcc"); err != nil {
		t.Skip("hipcc not installed")
	}
}

// TestCompileOnly builds the fixture for gfx90a with the real hipcc: a
// candidate that passes every CPU check is unverified (never kept), with the
// compiler's resource usage; a rerun comes from the cache.
func TestCompileOnly(t *testing.T) {
	needHipcc(t)
	tk := polyTask(t)
	stats := pipeline.NewStats()
	cache, err := pipeline.OpenDirCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(testConfig(BackendCompileOnly), Options{WorkDir: t.TempDir(), Cache: cache, Stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	if v.GPUs() != 1 || v.Device().Name != "compile-only" || v.Device().Arch != "gfx90a" || !strings.Contains(v.Device().Toolchain, "HIP version") {
		t.Fatalf("device %+v", v.Device())
	}
	ctx := context.Background()
	vd, err := v.Verify(ctx, tk, candidate(t, tk, "single"))
	if err != nil {
		t.Fatal(err)
	}
	if vd.Status != datasets.StatusUnverified || vd.Kept() || !vd.Gate.OK || !vd.Splice.OK || !vd.Compile.OK || vd.Compile.Cached {
		t.Fatalf("verdict %+v", vd)
	}
	if len(vd.Compile.Kernels) != 1 {
		t.Fatalf("kernels %+v", vd.Compile.Kernels)
	}
	k := vd.Compile.Kernels[0]
	if k.Name != "_Z4polyPKfPfi" || k.VGPRs <= 0 || k.SGPRs <= 0 || k.Occupancy <= 0 {
		t.Fatalf("resources %+v", k)
	}
	if strings.Contains(vd.Compile.Log, "Traceback") || strings.Contains(vd.Compile.Log, "rocm_agent_enumerator") {
		t.Fatalf("log not filtered: %s", vd.Compile.Log)
	}
	again, err := v.Verify(ctx, tk, candidate(t, tk, "single"))
	if err != nil || !again.Compile.Cached || again.Compile.Kernels[0] != k {
		t.Fatalf("second compile not cached: %+v %v", again.Compile, err)
	}

	// The whole region file with only the region changed is the same candidate.
	whole := tk.Files[0].Content[:tk.Region.Start] + candidate(t, tk, "single").Region + tk.Files[0].Content[tk.Region.End:]
	vd, err = v.Verify(ctx, tk, candidate(t, tk, whole))
	if err != nil || vd.Status != datasets.StatusUnverified || !vd.Compile.Cached {
		t.Fatalf("whole-file candidate: %+v %v", vd, err)
	}

	// A candidate that does not compile.
	broken := candidate(t, tk, strings.Replace(tk.Region.Text, "float up", "flaot up", 1))
	vd, err = v.Verify(ctx, tk, broken)
	if err != nil || vd.Status != datasets.StatusRejected || vd.RejectedBy != "compile" || vd.Compile.OK || !strings.Contains(vd.Compile.Log, "flaot") {
		t.Fatalf("broken: %+v %v", vd, err)
	}
	// Gate and splice rejections are the same on every backend.
	for name, rule := range map[string]string{"fork": "gate/no-process", "macro": "gate/no-preprocessor", "blas": "gate/no-library"} {
		vd, err := v.Verify(ctx, tk, candidate(t, tk, name))
		if err != nil || vd.RejectedBy != rule || vd.Gate.OK || vd.Gate.Rule == "" {
			t.Errorf("%s: %+v %v", name, vd, err)
		}
	}
	if stats.Get("gated") != 4 || stats.Get("compiled") != 3 || stats.Get("kept") != 0 {
		t.Fatalf("funnel %+v", stats.Snapshot().Counters)
	}
}

// TestCompileOnlySkipsUnbuildableTask: a task whose recorded needs exceed
// the installed hipcc is skipped (a SkipError, an ErrTask), never compiled
// and never a candidate failure; without the need it compiles as before.
func TestCompileOnlySkipsUnbuildableTask(t *testing.T) {
	needHipcc(t)
	v, err := New(testConfig(BackendCompileOnly), Options{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	have := HIPVersion(v.Device().Toolchain)
	if have == "" {
		t.Fatalf("no HIP version in %q", v.Device().Toolchain)
	}
	tk := polyTask(t)
	tk.Build.Needs = &datasets.Needs{MinHIP: "99.0", Reason: "its headers call __builtin_amdgcn_future"}
	_, err = v.Verify(context.Background(), tk, candidate(t, tk, "single"))
	if Skipped(err) != "needs HIP >= 99.0" || !errors.Is(err, ErrTask) || !strings.Contains(err.Error(), "(hipcc is "+have+"): its headers call") {
		t.Fatalf("got %v", err)
	}
	tk.Build.Needs.MinHIP = have
	if vd, err := v.Verify(context.Background(), tk, candidate(t, tk, "single")); err != nil || vd.Status != datasets.StatusUnverified {
		t.Fatalf("met need: %+v %v", vd.Status, err)
	}
}
