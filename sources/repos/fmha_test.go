package repos

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/filters/compile"
	"kforge/filters/gate"
	"kforge/filters/sandbox"
	"kforge/filters/splice"
	"kforge/filters/verify"
)

// keptKernelRe names a generated fmha kernel instance (not the API, not
// bwd's OGradDotO and ConvertQGrad kernels).
var keptKernelRe = regexp.MustCompile(`^fmha_(fwd|bwd)_d\d`)

// genJob is the build of a task's program up to its generate step, the
// region replaced by region: as the verifier builds it (filters/verify).
func genJob(t *testing.T, cache string, task datasets.Task, region string) compile.Job {
	t.Helper()
	files, err := splice.Splice(&task, region)
	if err != nil {
		t.Fatalf("%s: splice: %v", task.Name, err)
	}
	root, err := Checkout(context.Background(), cache, task.Source)
	if err != nil {
		t.Fatalf("%s: checkout: %v", task.Name, err)
	}
	g, err := compile.GenerateFrom(task.Build.Generate, root)
	if err != nil {
		t.Fatal(err)
	}
	return compile.Job{Files: files, Sources: task.Build.Sources, Flags: task.Build.Flags, Generate: g}
}

// generator is a compiler (any toolchain: only its generate step is used)
// confined as verification confines it.
func generator(t *testing.T) *compile.Compiler {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	c, err := compile.New(context.Background(), compile.Compiler{Kind: compile.Host, WorkDir: t.TempDir(), Timeout: 2 * time.Minute, Sandbox: sandbox.New()})
	if err != nil {
		t.Skip(err)
	}
	return c
}

// TestRealFMHAGenerator mines a Composable Kernel checkout (KFORGE_CK_REPO:
// a clone or bare mirror of ROCm/composable_kernel) and runs each fmha
// task's generate step for real, confined: the repository's generate.py
// writes exactly the kept kernel with the row's tile, and the API dispatch;
// a candidate row's numbers reach the generated instance.
func TestRealFMHAGenerator(t *testing.T) {
	ck := os.Getenv("KFORGE_CK_REPO")
	if ck == "" {
		t.Skip("KFORGE_CK_REPO does not point at a Composable Kernel checkout")
	}
	cache := t.TempDir()
	res := mine(t, Config{Repos: []RepoConfig{{URL: ck, Kind: datasets.KindCKTile, Paths: []string{"example/ck_tile/01_fmha"}}}}, cache)
	c := generator(t)
	var fwd, bwd int
	for _, task := range res.Tasks {
		if task.Build.Generate == nil {
			continue
		}
		if task.Op == "fmha_fwd" {
			fwd++
		} else {
			bwd++
		}
		if fwd > 1 && task.Op == "fmha_fwd" || bwd > 1 && task.Op == "fmha_bwd" {
			continue // one of each is enough to run
		}
		if rej := gate.Check(task.Region, task.Region.Text); rej != nil {
			t.Errorf("%s: the gate rejects the reference row: %v", task.Name, rej)
		}
		out, err := c.Generated(context.Background(), genJob(t, cache, task, task.Region.Text))
		if err != nil || !out.OK {
			t.Fatalf("%s: generate: %v %s", task.Name, err, out.Log)
		}
		api := "kforge_gen/" + strings.TrimPrefix(task.Op, "fmha_") + "/" + task.Op + "_api.cpp"
		if _, ok := out.Contents[api]; !ok {
			t.Errorf("%s: no API dispatch among %v", task.Name, out.Sources)
		}
		kernels := 0
		for _, s := range out.Sources {
			if keptKernelRe.MatchString(filepath.Base(s)) {
				kernels++
			}
		}
		if task.Op == "fmha_bwd" && kernels != 1 || task.Op == "fmha_fwd" && (kernels < 1 || kernels > 2) {
			t.Errorf("%s: %d kept kernels written (%v)", task.Name, kernels, out.Sources)
		}
		// A candidate row: its first number (the block tile along the
		// query) halved reaches the generated instance's name and body.
		toks := strings.SplitN(task.Region.Text, "(", 2)
		num := strings.TrimSpace(strings.SplitN(toks[1], ",", 2)[0])
		half := map[string]string{"128": "64", "32": "16", "16": "32"}[num]
		cand := toks[0] + "(" + strings.Replace(toks[1], num, half, 1)
		if rej := gate.Check(task.Region, cand); rej != nil {
			t.Fatalf("%s: the gate rejects a tuned row: %v", task.Name, rej)
		}
		out2, err := c.Generated(context.Background(), genJob(t, cache, task, cand))
		if err != nil || !out2.OK {
			t.Fatalf("%s: generate the candidate: %v %s", task.Name, err, out2.Log)
		}
		if strings.Join(out2.Sources, " ") == strings.Join(out.Sources, " ") {
			t.Errorf("%s: the candidate's tile did not reach the generated kernel names %v", task.Name, out2.Sources)
		}
		found := false
		for _, s := range out2.Sources {
			found = found || strings.Contains(filepath.Base(s), "_b"+half+"x")
		}
		if !found {
			t.Errorf("%s: no generated kernel named for block tile %s: %v", task.Name, half, out2.Sources)
		}
		t.Logf("%s: %d files generated, e.g. %s", task.Name, len(out.Sources), out.Sources[0])
	}
	if fwd == 0 || bwd == 0 {
		t.Errorf("fmha tasks: fwd %d, bwd %d; skipped %v", fwd, bwd, res.Skipped)
	}
	t.Logf("fmha tasks: fwd %d, bwd %d", fwd, bwd)
}

// TestFixtureFMHAGenerateCompile runs the whole path on a fixture of our own
// in the shape of ck_tile's fmha (testdata/repos/minifmha: a tiny python
// generator writing instance files and an API dispatch from a tile table):
// mining gives one task per table row with the generate step recorded, and
// verification (compile-only) runs the generator confined, from the
// checkout, with the candidate's row spliced in, then compiles with hipcc.
func TestFixtureFMHAGenerateCompile(t *testing.T) {
	if _, err := exec.LookPath("hipcc"); err != nil {
		t.Skip("hipcc not installed")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	cache := t.TempDir()
	repo := makeRepo(t, map[string]string{"": fixture("minifmha")}, nil)
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Kind: datasets.KindCKTile}}}, cache)
	got := byName(res.Tasks)
	if len(res.Tasks) != 2 {
		t.Fatalf("tasks %v, want fmha_fwd/tile-d64-fp16 and -d128-fp16 (skipped %v)", keys(got), res.Skipped)
	}
	tk, ok := got["fmha_fwd/tile-d64-fp16"]
	if !ok {
		t.Fatalf("no task fmha_fwd/tile-d64-fp16 among %v", keys(got))
	}
	g := tk.Build.Generate
	if g == nil || g.Interpreter != "python3" || g.Script != "example/ck_tile/01_fmha/generate.py" || g.Tree != "example/ck_tile/01_fmha" ||
		!strings.Contains(strings.Join(g.Args, " "), "--filter fmha_fwd_d64_fp16_batch_shb_b*_qr_async_vr_ps*ddv") ||
		strings.Join(g.Outputs, " ") != "fmha_fwd_d64_fp16_batch_*.cpp fmha_fwd_api.cpp" {
		t.Fatalf("generate step %+v", g)
	}
	if tk.Build.Needs == nil || strings.Join(tk.Build.Needs.Tools, ",") != "python3" || tk.Build.Needs.MinHIP != "" {
		t.Errorf("needs %+v: python3, and no HIP minimum (the fixture includes no ck_tile header)", tk.Build.Needs)
	}
	if tk.Region.Kind != gate.KindGenRow || tk.Region.File != "example/ck_tile/01_fmha/codegen/ops/fmha_fwd.py" || tk.Region.Text != "'64'  : FmhaFwdTileSize(64, 32, 2, 32)" {
		t.Fatalf("region %q in %s (%s)", tk.Region.Text, tk.Region.File, tk.Region.Kind)
	}
	if len(tk.Sizes) != 3 || tk.Sizes[2].Name != "tail" || tk.Sizes[2].Dims["S_K"]%32 == 0 || !strings.Contains(strings.Join(tk.Sizes[0].Args, " "), "-prec=fp16 -d=64") {
		t.Errorf("sizes %+v", tk.Sizes)
	}

	v, err := verify.New(verify.Config{Backend: verify.BackendCompileOnly, Archs: []string{"gfx90a"}, CompileTimeout: 5 * time.Minute},
		verify.Options{WorkDir: t.TempDir(), Checkout: func(ctx context.Context, src datasets.Source) (string, error) {
			return Checkout(ctx, cache, src)
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cand := func(region string) *datasets.Variant {
		c := &datasets.Variant{TaskID: tk.ID, Model: "fixture", PromptVersion: "test", Region: region}
		c.ID = datasets.VariantID(c)
		return c
	}
	cases := []struct {
		name, region, rejectedBy, log string
	}{
		// A tuned row: generated, compiled (reference first, then this).
		{"tuned", "'64'  : FmhaFwdTileSize(128, 64, 4, 32)", "", ""},
		// Numbers the kernel template refuses: the generator writes them,
		// the compile fails with the template's own message.
		{"warps", "'64'  : FmhaFwdTileSize(64, 32, 3, 32)", "compile", "multiple of warps"},
		// The key, the call and the argument count are fixed by the gate.
		{"key", "'32'  : FmhaFwdTileSize(64, 32, 2, 32)", "gate/" + gate.RuleGenRow, ""},
		{"expr", "'64'  : FmhaFwdTileSize(64, 32, 2, 16 + 16)", "gate/" + gate.RuleGenRow, ""},
		{"code", "'64'  : FmhaFwdTileSize(64, 32, 2, __import__('os').getpid())", "gate/" + gate.RuleGenRow, ""},
	}
	for _, c := range cases {
		vd, err := v.Verify(ctx, &tk, cand(c.region))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.rejectedBy == "" {
			if vd.Status != datasets.StatusUnverified || !vd.Compile.OK {
				t.Errorf("%s: %+v", c.name, vd)
			}
			continue
		}
		if vd.RejectedBy != c.rejectedBy || !strings.Contains(vd.Compile.Log+vd.Reason, c.log) {
			t.Errorf("%s: rejected by %q (%s), want %q with %q in the log", c.name, vd.RejectedBy, vd.Reason, c.rejectedBy, c.log)
		}
	}
}
