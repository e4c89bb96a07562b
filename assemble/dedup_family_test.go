package assemble_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"kforge/assemble"
	"kforge/configs"
	"kforge/datasets"
	"kforge/sinks/release/releasetest"
)

// instance is a CK-style instance alias in data type dt, accumulating in
// acc, with one knob.
func instance(dt, acc string, block int) string {
	return "using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<Row, Col, Row, " +
		dt + ", " + dt + ", " + dt + ", " + acc + ", PassThrough, PassThrough, PassThrough, GemmDefault, " +
		strings.Join([]string{strconv.Itoa(block), "128", "128", "32", "8", "8", "32", "32", "2", "2"}, ", ") + ">;\n"
}

// TestDedupWithinFamily: the same rewrite kept for the fp16 and the bf16
// program of one family is one row (the faster stays); the same text in
// another family, another rewrite in the same family, and a rewrite that
// differs only in a type that is not the task's own (accumulating in F16,
// not F32) stay.
func TestDedupWithinFamily(t *testing.T) {
	dir := t.TempDir()
	_, err := releasetest.WriteShard(dir, []releasetest.TaskSpec{
		{Op: "gemm", Family: "famA", Dtypes: []string{"fp16"}, Variants: []releasetest.Spec{
			{Sample: 0, Parent: -1, Code: instance("F16", "F32", 256), Status: datasets.StatusKept, Speedup: 1.4},
			{Sample: 1, Parent: -1, Code: instance("F16", "F32", 64), Status: datasets.StatusKept, Speedup: 1.2},
			{Sample: 2, Parent: -1, Code: instance("F16", "F16", 256), Status: datasets.StatusKept, Speedup: 1.3},
		}},
		{Op: "gemm", Family: "famA", Dtypes: []string{"bf16"}, Variants: []releasetest.Spec{
			{Sample: 0, Parent: -1, Code: instance("BF16", "F32", 256), Status: datasets.StatusKept, Speedup: 1.6},
		}},
		{Op: "gemm_bias", Family: "famB", Dtypes: []string{"fp16"}, Variants: []releasetest.Spec{
			{Sample: 0, Parent: -1, Code: "// bias\n" + instance("F16", "F32", 256), Status: datasets.StatusKept, Speedup: 1.1},
		}},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ds datasets.Config
	if err := configs.ApplyDefaults(&ds); err != nil {
		t.Fatal(err)
	}
	ds.NearDupThreshold = 2 // exact duplicates only: what the family adds
	p, err := assemble.NewPlan(context.Background(), assemble.Input{Shards: []string{dir}, Dataset: ds})
	if err != nil {
		t.Fatal(err)
	}
	if p.Filtered.ExactDuplicates != 1 || p.Filtered.Selected != 4 {
		t.Fatalf("exact duplicates %d, selected %d; want 1 and 4 (the fp16 twin of the bf16 rewrite dropped)", p.Filtered.ExactDuplicates, p.Filtered.Selected)
	}
	var speeds []float64
	if _, err := p.Rows(context.Background(), func(config, split string, r datasets.Row) error {
		if s, ok := r.(*datasets.SFTRecord); ok && !s.IsReplay {
			speeds = append(speeds, s.Speedup)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(speeds)
	if !slices.Equal(speeds, []float64{1.1, 1.2, 1.3, 1.6}) {
		t.Errorf("sft rows' speedups %v, want 1.1 (the other family), 1.2 (the other rewrite), 1.3 (the F16 accumulator) and 1.6 (the faster twin)", speeds)
	}
}
