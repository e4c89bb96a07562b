//go:build hosttest

package verify

import (
	"context"
	"strings"
	"testing"

	"kforge/datasets"
)

// TestQualifyHostTest is the GPU path of qualification (correctness on
// every seed, then a timed run, on the reference alone) through the
// host-test backend: a size the reference refuses is dropped with its
// message, the others are qualified and timed; a region whose kernel main
// never launches is dead; a rerun is all cache.
func TestQualifyHostTest(t *testing.T) {
	v, _, cache := hostVerifier(t)
	ctx := context.Background()
	tk := polyTask(t)
	tk.Sizes = append(tk.Sizes, datasets.Size{Name: "zero", Args: []string{"0", "5"}})
	q, st, err := v.Qualify(ctx, tk)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != datasets.QualQualified || q.Backend != BackendHostTest || st.Sizes != 4 || st.Cached != 0 {
		t.Fatalf("qualification %+v, stats %+v", q, st)
	}
	for _, s := range q.Sizes {
		switch {
		case s.Name == "zero":
			if s.Status != datasets.QualDropped || s.Rule != QualRuleReference || !strings.Contains(s.Reason, "bad arguments") {
				t.Errorf("size zero: %+v", s)
			}
		case s.Status != datasets.QualQualified || s.RefMS <= 0:
			t.Errorf("size %s: %+v, want qualified and timed", s.Name, s)
		}
	}
	tk.Qualification = q
	if got := len(tk.UsableSizes()); got != 3 {
		t.Fatalf("usable sizes %d, want 3", got)
	}
	before := cache.puts["qualify"]
	if _, st, err := v.Qualify(ctx, tk); err != nil || st.Cached != 4 || cache.puts["qualify"] != before {
		t.Fatalf("rerun: %+v %v", st, err)
	}

	dead := polyTask(t)
	dead.Region.Signatures = []string{"__global__ void other(const float* x, float* y, int n)"}
	q, _, err = v.Qualify(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != datasets.QualDropped || q.Rule != QualRuleDeadRegion || !strings.Contains(q.Reason, "main launched poly but never the region's other") {
		t.Fatalf("dead region: %+v", q)
	}
}
