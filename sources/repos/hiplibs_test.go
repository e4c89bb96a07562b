package repos

import (
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/filters/gate"
)

// TestMineHIPTestsAndRocWMMAShapes: a hip-tests style sample that includes
// the HIP runtime with quotes is mined (the header is hipcc's own), and a
// rocWMMA style sample is mined with its library include directory, the
// HIP it needs recorded, and a gate that lets the region keep calling
// rocwmma:: fragments while still refusing other libraries.
func TestMineHIPTestsAndRocWMMAShapes(t *testing.T) {
	repo := makeRepo(t, map[string]string{"": fixture("hiplibs")}, nil)
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Kind: datasets.KindHIPProgram}}}, t.TempDir())
	got := byName(res.Tasks)
	if len(res.Tasks) != 2 {
		t.Fatalf("tasks %v, skipped %v", keys(got), res.Skipped)
	}
	var vadd, wmma datasets.Task
	for _, tk := range res.Tasks {
		switch tk.Source.Path {
		case "samples/vadd/vadd.cpp":
			vadd = tk
		case "wmma/wmma_sgemm.cpp":
			wmma = tk
		}
	}
	if vadd.ID == "" || vadd.Build.Needs != nil || strings.Join(vadd.Build.IncludeDirs, ",") != "samples/common" {
		t.Errorf("vadd task %+v", vadd.Build)
	}
	if wmma.ID == "" || strings.Join(wmma.Build.IncludeDirs, ",") != "library/include" {
		t.Fatalf("wmma task build %+v", wmma.Build)
	}
	if n := wmma.Build.Needs; n == nil || n.MinHIP != "6.0" || !strings.Contains(n.Reason, "rocWMMA") {
		t.Errorf("wmma needs %+v", n)
	}
	if !strings.Contains(wmma.Region.Text, "rocwmma::mma_sync") || wmma.Dtypes[0] != "fp32" {
		t.Errorf("wmma region %q dtypes %v", wmma.Region.Text, wmma.Dtypes)
	}
	tuned := strings.Replace(wmma.Region.Text, "rocwmma::fill_fragment(acc, 0.0f);", "rocwmma::fill_fragment(acc, 0.0f); // same", 1)
	if rej := gate.Check(wmma.Region, tuned+"\n"); rej != nil {
		t.Errorf("a rocwmma region rejected: %v", rej)
	}
	for _, bad := range []string{"rocblas_sgemm(0)", "ck::tensor_operation::X x"} {
		cand := strings.Replace(wmma.Region.Text, "rocwmma::fill_fragment(acc, 0.0f);", bad+";", 1)
		if rej := gate.Check(wmma.Region, cand); rej == nil || rej.Rule != gate.RuleLibrary {
			t.Errorf("%q: got %v, want %s", bad, rej, gate.RuleLibrary)
		}
	}
	// Without rocwmma in its reference, a region may not call it.
	if rej := gate.Check(vadd.Region, strings.Replace(vadd.Region.Text, "c[i] = a[i] + b[i];", "rocwmma::fill_fragment(c, 0);", 1)); rej == nil || rej.Rule != gate.RuleLibrary {
		t.Errorf("rocwmma in a region whose reference has none: %v", rej)
	}
}
