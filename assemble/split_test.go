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
		name     string
		fraction float64
		heldOut  []string
		wantTest int
	}{
		{"no held out", 0, nil, 0},
		{"10 percent", 0.1, nil, 4},
		{"held-out op only", 0, []string{"Softmax"}, 10},
		{"op and fraction of the rest", 0.1, []string{"softmax"}, 13},
		{"everything but one stays in train", 1.0, nil, 40},
		{"0.99 keeps one task in train", 0.99, nil, 39},
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
			if n != tc.wantTest || len(got) != len(ids) {
				t.Errorf("%d test tasks of %d, want %d", n, len(got), tc.wantTest)
			}
		})
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
