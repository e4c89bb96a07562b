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

	// A region whose recorded kernel is one main never launches.
	dead := polyTask(t)
	other := dead.Region.Text + "__global__ void other(const float* x, float* y, int n) { if (n > 0) y[0] = x[0]; }\n"
	f := dead.Files[0]
	f.Content = f.Content[:dead.Region.Start] + other + f.Content[dead.Region.End:]
	dead.Files = append([]datasets.File{f}, dead.Files[1:]...)
	dead.Region.End, dead.Region.Text = dead.Region.Start+len(other), other
	dead.Region.Signatures = []string{"__global__ void other(const float* x, float* y, int n)"}
	q, _, err = v.Qualify(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != datasets.QualDropped || q.Rule != QualRuleDeadRegion || !strings.Contains(q.Reason, "main launched poly but never the region's other") {
		t.Fatalf("dead region: %+v", q)
	}
}

// TestQualifyDropsAReferenceTheGateRejects: a task whose own reference
// region breaks the gate (here a harness device global, as in rocm-examples'
// device_globals) is dropped by qualify with rule gate, before any run.
func TestQualifyDropsAReferenceTheGateRejects(t *testing.T) {
	tk := polyTask(t)
	bad := strings.Replace(tk.Region.Text, "const float v = x[i];", "static int calls; calls++;\n    const float v = x[i];", 1)
	f := tk.Files[0]
	f.Content = f.Content[:tk.Region.Start] + bad + f.Content[tk.Region.End:]
	tk.Files = append([]datasets.File{f}, tk.Files[1:]...)
	tk.Region.End, tk.Region.Text = tk.Region.Start+len(bad), bad
	v, _, _ := hostVerifier(t)
	q, st, err := v.Qualify(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != datasets.QualDropped || q.Rule != QualRuleGate || !strings.Contains(q.Reason, "no-static-locals") || st.Sizes != 0 {
		t.Fatalf("qualification %+v, stats %+v", q, st)
	}
}
