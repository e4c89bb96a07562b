package verify

import (
	"slices"
	"testing"
)

func TestParseRocminfo(t *testing.T) {
	info := `*******
Agent 1
*******
  Name:                    AMD EPYC 7763 64-Core Processor
  Marketing Name:          AMD EPYC 7763 64-Core Processor
  Device Type:             CPU
*******
Agent 2
*******
  Name:                    gfx90a
  Marketing Name:          AMD Instinct MI250X
  Device Type:             GPU
  ISA Info:
    ISA 1
      Name:                    amdgcn-amd-amdhsa--gfx90a:sramecc+:xnack-
*******
Agent 3
*******
  Name:                    gfx90a
  Marketing Name:          AMD Instinct MI250X
`
	archs, names := parseRocminfo(info)
	if !slices.Equal(archs, []string{"gfx90a", "gfx90a"}) || !slices.Equal(names, []string{"AMD Instinct MI250X", "AMD Instinct MI250X"}) {
		t.Fatalf("%v %v", archs, names)
	}
	if a, _ := parseRocminfo("ROCk module is NOT loaded"); len(a) != 0 {
		t.Fatal(a)
	}
}

func TestIndicesAndProfiler(t *testing.T) {
	if got := indices([]int{2, 5}, 8); !slices.Equal(got, []string{"2", "5"}) {
		t.Fatal(got)
	}
	if got := indices(nil, 3); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatal(got)
	}
	if p, _, err := pickProfiler("program", "ncu", nil); p != nil || err != nil {
		t.Fatal(p, err)
	}
	if _, _, err := pickProfiler("rocprofv3", "ncu", nil); err == nil {
		t.Fatal("a profiler of the other vendor accepted")
	}
}
