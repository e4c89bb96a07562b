package repos

import (
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/filters/gate"
)

// TestMineCKTileKinds mines a fixture with one example of each ck_tile
// shape: dispatch rows per size range, a declaration run with padding and
// pipeline choices, sequence<> tile aliases with the conv-parameter
// convention, and sequence<> aliases without padding.
func TestMineCKTileKinds(t *testing.T) {
	repo := makeRepo(t, map[string]string{"": fixture("minitile")}, nil)
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Kind: datasets.KindCKTile}}}, t.TempDir())
	got := byName(res.Tasks)
	want := []string{"norm_fwd/rows-n<=256", "norm_fwd/rows-n<=1024", "norm_fwd/rows-n>1024", "gemm_flat/tile-config", "im2col/tile-config", "reduce/tile-config"}
	if len(res.Tasks) != len(want) {
		t.Errorf("tasks %v, want %v (skipped %v)", keys(got), want, res.Skipped)
	}
	for _, n := range want {
		tk, ok := got[n]
		if !ok {
			t.Errorf("no task %s", n)
			continue
		}
		if tk.Build.Needs == nil || tk.Build.Needs.MinHIP != ckTileMinHIP || !strings.Contains(tk.Build.Needs.Reason, "ck_tile") {
			t.Errorf("%s: needs %+v, want HIP %s recorded", n, tk.Build.Needs, ckTileMinHIP)
		}
		if len(tk.Sizes) < 3 {
			t.Errorf("%s: %d sizes", n, len(tk.Sizes))
		}
		if fileContent(&tk, tk.Region.File)[tk.Region.Start:tk.Region.End] != tk.Region.Text {
			t.Errorf("%s: region text is not the file's span", n)
		}
		if rej := gate.Check(tk.Region, tk.Region.Text); rej != nil {
			t.Errorf("%s: the gate rejects the unchanged region: %v", n, rej)
		}
	}

	// Dispatch rows: one task per live range (the #else branch is not
	// one), sizes inside the range, the template header included.
	mid := got["norm_fwd/rows-n<=1024"]
	if mid.Region.Kind != gate.KindTileRows || !strings.HasPrefix(mid.Region.Text, "if(a.n % 8 == 0)") || !strings.HasSuffix(mid.Region.Text, "(a);") {
		t.Errorf("rows region %q (%s)", mid.Region.Text, mid.Region.Kind)
	}
	for _, s := range mid.Sizes {
		if n := s.Dims["N"]; n <= 256 || n > 1024 {
			t.Errorf("size %s n=%d outside (256, 1024]", s.Name, n)
		}
	}
	if s := mid.Sizes[0]; s.Origin != "example_default" || strings.Join(s.Args, " ") != "-v=1 -m=2000 -n=700" {
		t.Errorf("the range holding the default n has the default first: %+v", s)
	}
	if strings.Join(mid.Build.Sources, ",") != "example/ck_tile/02_norm/norm_fwd.cpp,example/ck_tile/02_norm/instances/norm_fwd_api.cpp" ||
		!strings.Contains(strings.Join(mid.Build.Flags, " "), "-include example/ck_tile/02_norm/instances/norm_fwd_common.hpp") {
		t.Errorf("rows build %+v", mid.Build)
	}
	if fileContent(&mid, "example/ck_tile/02_norm/instances/norm_fwd_common.hpp") == "" {
		t.Error("the template header is not among the task's files")
	}
	if mid.Run.PerfPattern != "" {
		t.Errorf("the program prints us, not ms; pattern %q", mid.Run.PerfPattern)
	}
	// A changed row passes the gate; a changed condition does not.
	tuned := strings.Replace(mid.Region.Text, "1, 128, 8, true", "2, 64, 8, false", 1)
	if rej := gate.Check(mid.Region, tuned); rej != nil {
		t.Errorf("tuned row rejected: %v", rej)
	}
	if rej := gate.Check(mid.Region, strings.Replace(mid.Region.Text, "% 8", "% 16", 1)); rej == nil {
		t.Error("a changed dispatch condition passed the gate")
	}

	// Declaration run: padding flags, tile constants and the pipeline,
	// not the layout declared before nor the call after.
	gm := got["gemm_flat/tile-config"]
	if !strings.HasPrefix(gm.Region.Text, "constexpr bool kPadM = true;") || !strings.HasSuffix(gm.Region.Text, "using Pipeline = GemmPipelineV1<Problem>;") {
		t.Errorf("gemm region %q", gm.Region.Text)
	}
	classes := map[string]string{}
	for _, p := range gm.Region.Params {
		classes[p.Name] = p.Class
	}
	if classes["kPadN"] != "knob" || classes["Pipeline"] != "knob" || classes["Problem"] != "problem" || classes["M_Tile"] != "knob" {
		t.Errorf("gemm params %v", classes)
	}
	if s := gm.Sizes[2]; s.Origin != "generated_tail" || strings.Join(s.Args, " ") != "-v=1 -m=288 -n=144 -k=72" {
		t.Errorf("gemm tail %+v", s)
	}

	// Conv-parameter convention: verify init time NDim G N K C Y X Hi Wi …
	ic := got["im2col/tile-config"]
	if d := ic.Sizes[0]; strings.Join(d.Args, " ") != "1 1 1 2 2 4 8 16 3 3 20 20 1 1 1 1 0 0 0 0" || d.Origin != "example_default" {
		t.Errorf("im2col default %+v", d)
	}
	if !strings.HasPrefix(ic.Region.Text, "constexpr ck_tile::index_t NDimSpatial = 2;") || ic.Dtypes[0] != "fp16" {
		t.Errorf("im2col region %q dtypes %v", ic.Region.Text, ic.Dtypes)
	}
	for _, s := range ic.Sizes[1:3] {
		if s.Dims["GEMM_M"]%64 != 0 || s.Dims["GEMM_K"]%32 != 0 {
			t.Errorf("im2col %s is off the 64x32 block tile: %v", s.Name, s.Dims)
		}
	}

	// No padding flag: no tail, and the task says so.
	rd := got["reduce/tile-config"]
	if !strings.HasSuffix(rd.Region.Text, "kBlockSize = 128;") || len(rd.SizeNotes) == 0 {
		t.Errorf("reduce region %q notes %v", rd.Region.Text, rd.SizeNotes)
	}
	for _, s := range rd.Sizes[1:] {
		if s.Dims["M"]%64 != 0 || s.Dims["N"]%256 != 0 {
			t.Errorf("reduce size %s off the tile: %v", s.Name, s.Dims)
		}
	}
}
