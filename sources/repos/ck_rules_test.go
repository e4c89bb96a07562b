package repos

import (
	"kforge/filters/gate"
	"strings"
	"testing"

	"kforge/datasets"
)

// TestMineCKRules mines testdata/repos/ckrules, one example per failure
// class of issue 14, for gfx90a and for gfx1030.
func TestMineCKRules(t *testing.T) {
	repo := makeRepo(t, map[string]string{"": fixture("ckrules")}, nil)
	cfg := Config{Repos: []RepoConfig{{URL: repo, Kind: datasets.KindCKExample}}, Licenses: []string{"MIT"}}
	res := mine(t, cfg, t.TempDir())
	got := byName(res.Tasks)
	want := []string{"gemm_k0k1_xdl_fp16/DeviceGemmInstance1", "gemm_add_xdl_fp16/DeviceOpInstance", "gemm_xdl_int4/DeviceOpInstance"}
	if len(got) != len(want) {
		t.Fatalf("tasks %v, want %v (skipped %v)", keys(got), want, res.Skipped)
	}
	for _, n := range want {
		if _, ok := got[n]; !ok {
			t.Fatalf("missing %s (have %v)", n, keys(got))
		}
		task := got[n]
		checkTask(t, repo, task)
		if strings.Join(task.Archs, ",") != "gfx90a" {
			t.Errorf("%s: archs %v", n, task.Archs)
		}
	}
	// The unused instance is not mined; the DL op is not mined for gfx90a.
	if res.Skipped["ck-example: instance main never uses"] != 1 {
		t.Errorf("dead instance skips: %v", res.Skipped)
	}
	if res.Skipped["ck-example: the device op's IsSupportedArgument accepts none of the configured archs (it accepts gfx1030,gfx906)"] != 1 {
		t.Errorf("DL skips: %v", res.Skipped)
	}

	// K0PerBlock x K1 = 32 is the K tile; MNPadding pads M and N only, so the
	// tail breaks the 256 x 128 tile and keeps K whole; N stays a multiple of
	// the output vector width 4.
	k0k1 := got["gemm_k0k1_xdl_fp16/DeviceGemmInstance1"]
	if len(k0k1.Sizes) != 3 {
		t.Fatalf("k0k1 sizes %+v", k0k1.Sizes)
	}
	if s := k0k1.Sizes[2]; s.Origin != "generated_tail" || strings.Join(s.Args, " ") != "1 2 1 1152 576 128 -1 -1 -1" {
		t.Errorf("k0k1 tail %+v", s)
	}
	if s := k0k1.Sizes[1]; !s.Hidden || s.Dims["K"]%32 != 0 || s.Dims["M"]%256 != 0 || s.Dims["N"]%128 != 0 {
		t.Errorf("k0k1 hidden size %+v", s)
	}
	// Its device op includes a header that calls sched_group_barrier outside
	// any #if; the iglp_opt call under #if does not count.
	if n := k0k1.Build.Needs; n == nil || n.MinHIP != "5.5" || !strings.Contains(n.Reason, "__builtin_amdgcn_sched_group_barrier") || strings.Contains(n.Reason, "iglp") {
		t.Errorf("k0k1 needs %+v", n)
	}
	if why := k0k1.Build.Needs.UnmetBy("5.2.21153-0"); !strings.HasPrefix(why, "needs HIP >= 5.5 (hipcc is 5.2.21153-0)") {
		t.Errorf("UnmetBy(5.2) = %q", why)
	}
	if why := k0k1.Build.Needs.UnmetBy("6.2.41133"); why != "" {
		t.Errorf("UnmetBy(6.2) = %q", why)
	}

	// Default pads nothing: no tail, and the task says why. The broadcast
	// bias D0 keeps stride 0; D1 and E are packed row-major (N).
	add := got["gemm_add_xdl_fp16/DeviceOpInstance"]
	if len(add.Sizes) != 2 || !strings.Contains(strings.Join(add.SizeNotes, " "), "no tail size: Default pads none") {
		t.Errorf("gemm_add sizes %+v notes %q", add.Sizes, add.SizeNotes)
	}
	if s := add.Sizes[0]; strings.Join(s.Args, " ") != "1 2 1 2048 1024 512 512 512 0 1024 1024" {
		t.Errorf("gemm_add default %v", s.Args)
	}
	if s := add.Sizes[1]; strings.Join(s.Args[3:], " ") != "1024 1536 1024 1024 1024 0 1536 1536" {
		t.Errorf("gemm_add generated %v", s.Args)
	}
	if add.Build.Needs != nil {
		t.Errorf("gemm_add needs %+v", add.Build.Needs)
	}

	// The int4 example is built by CMake only under USE_BITINT_EXTENSION_INT4,
	// which defines CK_EXPERIMENTAL_BIT_INT_EXTENSION_INT4.
	i4 := got["gemm_xdl_int4/DeviceOpInstance"]
	if n := i4.Build.Needs; n == nil || strings.Join(n.Defines, ",") != "CK_EXPERIMENTAL_BIT_INT_EXTENSION_INT4" || strings.Join(n.Flags, ",") != "-Wno-bit-int-extension" || n.MinHIP != "" {
		t.Errorf("int4 needs %+v", n)
	}
	if f := strings.Join(i4.Build.Flags, " "); !strings.Contains(f, "-DCK_EXPERIMENTAL_BIT_INT_EXTENSION_INT4") || !strings.Contains(f, "-Wno-bit-int-extension") {
		t.Errorf("int4 flags %q", f)
	}

	// For gfx1030 only the DL op runs.
	cfg.Repos[0].Archs = []string{"gfx1030"}
	res = mine(t, cfg, t.TempDir())
	// Its alias is split by CK's table comment between the namespace and
	// the op's name, as the real DL examples write it: the unchanged
	// reference passes the gate, so the task is mined.
	if got := byName(res.Tasks); len(got) != 1 || strings.Join(got["gemm_dl_fp16/DeviceGemmInstance"].Archs, ",") != "gfx1030" {
		t.Errorf("gfx1030 tasks %v (skipped %v)", keys(got), res.Skipped)
	}
	for _, task := range res.Tasks {
		if rej := gate.Check(task.Region, task.Region.Text); rej != nil {
			t.Errorf("%s: the unchanged reference is rejected: %v", task.Name, rej)
		}
	}
}

func TestCKRulesPadded(t *testing.T) {
	for spec, want := range map[string]string{"Default": "", "ck::tensor_operation::device::GemmSpecialization::MNKPadding": "MNK", "KPadding": "K", "MNKOPadding": "MNKO"} {
		if got, ok := padded(spec); !ok || got != want {
			t.Errorf("padded(%q) = %q, %v; want %q", spec, got, ok, want)
		}
	}
	if _, ok := padded("Filter1x1Stride1Pad0"); ok {
		t.Error("a conv specialization read as a GEMM one")
	}
}
