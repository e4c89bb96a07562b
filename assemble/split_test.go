package assemble

import (
	"fmt"
	"kforge/datasets"
	"maps"
	"testing"
)

func TestSplitTasks(t *testing.T) {
	var ids, ops []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("task%02d", i))
		ops = append(ops, []string{"gemm", "softmax", "conv_fwd", "reduce"}[i%4])
	}
	tests := []struct {
		name             string
		fraction         float64
		heldOut          []string
		minTest, maxTest int
	}{
		{"no held out", 0, nil, 0, 0},
		{"10 percent", 0.1, nil, 1, 9}, // each task with probability 0.1
		{"held-out op only", 0, []string{"Softmax"}, 10, 10},
		{"op and fraction of the rest", 0.1, []string{"softmax"}, 11, 18},
		{"everything", 1.0, nil, 40, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitTasks(ids, ops, 7, tc.fraction, tc.heldOut)
			n := 0
			for i, id := range ids {
				if got[id] == datasets.SplitTest {
					n++
				}
				if len(tc.heldOut) > 0 && ops[i] == "softmax" && got[id] != datasets.SplitTest {
					t.Errorf("%s (softmax) is in %s", id, got[id])
				}
			}
			if n < tc.minTest || n > tc.maxTest || len(got) != len(ids) {
				t.Errorf("%d test tasks of %d, want %d to %d", n, len(got), tc.minTest, tc.maxTest)
			}
		})
	}
	// A larger fraction only adds tasks to test (monotone in the fraction).
	lo, hi := SplitTasks(ids, ops, 7, 0.2, nil), SplitTasks(ids, ops, 7, 0.5, nil)
	for _, id := range ids {
		if lo[id] == datasets.SplitTest && hi[id] != datasets.SplitTest {
			t.Errorf("%s is test at 0.2 but train at 0.5", id)
		}
	}
	// Deterministic from the seed, independent of input order; another seed differs.
	a := SplitTasks(ids, ops, 7, 0.25, nil)
	rids, rops := make([]string, len(ids)), make([]string, len(ops))
	for i := range ids {
		rids[len(ids)-1-i], rops[len(ids)-1-i] = ids[i], ops[i]
	}
	if b := SplitTasks(rids, rops, 7, 0.25, nil); !maps.Equal(a, b) {
		t.Errorf("split depends on input order")
	}
	if c := SplitTasks(ids, ops, 8, 0.25, nil); maps.Equal(a, c) {
		t.Errorf("split does not depend on the seed")
	}
}
