package verify

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/pipeline"
)

// needHIPCC skips a test without hipcc and the HIP headers, except under
// CI, where it fails.
func needHIPCC(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("hipcc")
	if err == nil {
		_, err = os.Stat("/usr/include/hip/hip_runtime_api.h")
	}
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("hipcc and the HIP headers are required in CI: %v", err)
	}
	t.Skipf("hipcc or the HIP headers missing: %v", err)
}

// dryTask is a hip-kernels task over one of the dry-run fixture programs
// (filters/hiprt/dryrun/testdata), its region the kernel named kernel.
func dryTask(t *testing.T, program, kernel string, sizes ...datasets.Size) *datasets.Task {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "hiprt", "dryrun", "testdata", program+".hip"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	start := strings.Index(src, "__global__ void "+kernel+"(")
	end := strings.Index(src[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatalf("no kernel %s in %s", kernel, program)
	}
	end += start + 2
	sig := src[start : start+strings.Index(src[start:], ")")+1]
	tk := &datasets.Task{
		Kind: datasets.KindHIPProgram, Name: program + "/" + kernel, Op: "fixture", Dtypes: []string{"fp32"},
		Source: datasets.Source{Repo: "kforge-fixtures", Commit: strings.Repeat("0", 40), Path: program + ".hip", License: "MIT"},
		Files:  []datasets.File{{Path: "main.hip", Content: src}},
		Region: datasets.Region{File: "main.hip", Start: start, End: end, Text: src[start:end], Kind: "hip-kernels", Signatures: []string{sig}},
		Sizes:  sizes,
		Build:  datasets.BuildRecipe{Sources: []string{"main.hip"}, Flags: []string{"-O1"}},
		Run:    datasets.RunRecipe{Pass: datasets.PassRule{ExitZero: true, Fail: []string{"FAIL"}, Pass: []string{"(?m)^PASS$"}}},
		Archs:  []string{"gfx90a"},
	}
	tk.ID = datasets.TaskID(tk)
	return tk
}

func size(name string, args ...string) datasets.Size { return datasets.Size{Name: name, Args: args} }

func sizeByName(q *datasets.Qualification, name string) datasets.SizeQual {
	for _, s := range q.Sizes {
		if s.Name == name {
			return s
		}
	}
	return datasets.SizeQual{}
}

// TestQualifyDryRun qualifies tasks over the four fixture programs, built
// with the real hipcc for gfx90a and run on the dry-run HIP runtime: sizes
// the host side refuses are dropped with the program's own message, an arch
// check passes for gfx90a, a region main never launches is dead, and an
// argument the program cannot parse drops its size. A rerun is all cache.
func TestQualifyDryRun(t *testing.T) {
	needHIPCC(t)
	cfg := testConfig(BackendDryRun)
	v, err := New(cfg, Options{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		name, program, kernel string
		sizes                 []datasets.Size
		status, rule          string
		dropped               map[string]string // size → text its reason holds
	}{
		{"refused sizes", "refuse16", "tile16_scale",
			[]datasets.Size{size("m32n48", "32", "48"), size("m64n64", "64", "64"), size("m30n48", "30", "48"), size("m16n16", "16", "16"), size("m48n17", "48", "17")},
			datasets.QualQualified, "", map[string]string{"m30n48": "does not support this problem", "m48n17": "does not support this problem"}},
		{"arch check", "archcheck", "negate",
			[]datasets.Size{size("n100", "100"), size("n1000", "1000"), size("n4096", "4096")}, datasets.QualQualified, "", nil},
		{"launched kernel", "twokernels", "add_one",
			[]datasets.Size{size("n100", "100"), size("n1000", "1000"), size("n4096", "4096")}, datasets.QualQualified, "", nil},
		{"dead region", "twokernels", "add_two",
			[]datasets.Size{size("n100", "100"), size("n1000", "1000"), size("n4096", "4096")}, datasets.QualDropped, QualRuleDeadRegion,
			map[string]string{"n100": "main launched add_one but never the region's add_two"}},
		{"bad argument", "args", "square",
			[]datasets.Size{size("n64", "-n", "64"), size("n128b64", "-n", "128", "-b", "64"), size("bad", "-n", "12x"), size("n4096", "-n", "4096")},
			datasets.QualQualified, "", map[string]string{"bad": "invalid value for -n: '12x'"}},
		// Device buffers (8 GiB) past the host's 4 GiB limit fit, as on a
		// GPU; a host side past it does not.
		{"device memory", "bigdevice", "scale",
			[]datasets.Size{size("h64d8g", "64", "8", "1024"), size("h32d6g", "32", "12", "512"), size("h16d4g", "16", "2", "2048"), size("h8g", "8192", "1")},
			datasets.QualQualified, "", map[string]string{"h8g": ""}},
		{"too few sizes", "refuse16", "tile16_scale",
			[]datasets.Size{size("m32n48", "32", "48"), size("m30n48", "30", "48"), size("m16n16", "16", "16")}, datasets.QualDropped, QualRuleTooFew, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tk := dryTask(t, c.program, c.kernel, c.sizes...)
			q, st, err := v.Qualify(ctx, tk)
			if err != nil {
				t.Fatal(err)
			}
			if q.Status != c.status || q.Rule != c.rule || q.Backend != BackendDryRun || q.Arch != "gfx90a" || q.Toolchain == "" || q.Note != DryRunNote {
				t.Fatalf("qualification %+v", q)
			}
			if st.Sizes != len(c.sizes) {
				t.Fatalf("stats %+v", st)
			}
			for _, s := range c.sizes {
				sq := sizeByName(q, s.Name)
				want, drop := c.dropped[s.Name]
				if drop && (sq.Status != datasets.QualDropped || !strings.Contains(sq.Reason, want)) {
					t.Errorf("size %s: %+v, want dropped with %q", s.Name, sq, want)
				}
				if !drop && c.rule == "" && sq.Status != datasets.QualQualified {
					t.Errorf("size %s: %+v, want qualified", s.Name, sq)
				}
			}
			if c.rule == "" && !strings.Contains(strings.Join(q.Launched, " "), c.kernel+"(") {
				t.Errorf("launched %v, want %s", q.Launched, c.kernel)
			}
			if _, st, err := v.Qualify(ctx, tk); err != nil || st.Cached != st.Sizes {
				t.Fatalf("rerun: %+v %v, want every size from the cache", st, err)
			}
		})
	}
	if got := sizeByName(mustQualify(t, v, dryTask(t, "refuse16", "tile16_scale", size("m30n48", "30", "48"))), "m30n48"); got.Rule != QualRuleRefused ||
		!strings.HasPrefix(got.Reason, "exit 1: wrong! device_op with the specified compilation parameters does not support this problem") {
		t.Errorf("refused size: %+v", got)
	}
	// A run the machine ended (SIGKILL from outside: the OOM killer) is no
	// verdict on its size: an error, and nothing cached, so a rerun runs it
	// again.
	killed := dryTask(t, "selfkill", "touch", size("ok1", "run"), size("killed", "kill"), size("ok2", "run"))
	for range 2 {
		if q, _, err := v.Qualify(ctx, killed); !errors.Is(err, pipeline.ErrMachine) {
			t.Logf("%+v", q)
			t.Fatalf("a size the machine killed: %v, want a machine error (each time: never cached)", err)
		}
	}
	// A task whose recorded toolchain needs exceed this hipcc is dropped as
	// such, not as a reference that does not compile.
	needy := dryTask(t, "archcheck", "negate", size("n100", "100"))
	needy.Build.Needs = &datasets.Needs{MinHIP: "99.0", Reason: "a builtin of a future HIP"}
	if q := mustQualify(t, v, needy); q.Status != datasets.QualDropped || q.Rule != QualRuleToolchain || !strings.Contains(q.Reason, "99.0") {
		t.Errorf("task needing HIP 99.0: %+v", q)
	}
}

func mustQualify(t *testing.T, v *Verifier, tk *datasets.Task) *datasets.Qualification {
	t.Helper()
	q, _, err := v.Qualify(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestDecide(t *testing.T) {
	q := &datasets.Qualification{Sizes: []datasets.SizeQual{
		{Name: "a", Status: datasets.QualQualified}, {Name: "b", Status: datasets.QualUnchecked, Rule: QualRuleUnsupported},
		{Name: "c", Status: datasets.QualQualified}, {Name: "d", Status: datasets.QualDropped, Rule: QualRuleCrash, Reason: "SIGSEGV"},
	}}
	decide(q)
	if q.Status != datasets.QualQualified {
		t.Fatalf("%+v", q)
	}
	q.Sizes = q.Sizes[2:]
	decide(q)
	if q.Status != datasets.QualDropped || q.Rule != QualRuleTooFew || !strings.Contains(q.Reason, "size d: SIGSEGV") {
		t.Fatalf("%+v", q)
	}
}
