package verify

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/filters/splice"
	"kforge/pipeline"
)

func TestFixtureTaskIsConsistent(t *testing.T) {
	tk := polyTask(t)
	if err := splice.CheckTask(tk); err != nil {
		t.Fatal(err)
	}
	if id := datasets.TaskID(tk); id != tk.ID {
		t.Fatalf("task id %s, computed %s", tk.ID, id)
	}
	src, _ := os.ReadFile("testdata/poly/main.hip")
	if tk.Files[0].Content != string(src) {
		t.Fatal("tasks.jsonl is stale: main.hip changed; regenerate it")
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
	if stats.Get("gated") != 3 || stats.Get("compiled") != 2 || stats.Get("kept") != 0 {
		t.Fatalf("funnel %+v", stats.Snapshot().Counters)
	}
}
