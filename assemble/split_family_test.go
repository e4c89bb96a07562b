package assemble

import (
	"fmt"
	"kforge/datasets"
	"testing"
)

// TestSplitTaskFamilies: a family never straddles train and test, the
// fraction counts families, and a held-out op takes its whole family.
func TestSplitTaskFamilies(t *testing.T) {
	var ids, ops, fams []string
	for f := 0; f < 20; f++ {
		for m := 0; m < 3; m++ { // three dtype twins per family
			ids = append(ids, fmt.Sprintf("t%02d-%d", f, m))
			ops = append(ops, "gemm")
			fams = append(fams, fmt.Sprintf("fam%02d", f))
		}
	}
	ops[len(ops)-1] = "softmax" // one member of the last family is a held-out op
	for seed := 0; seed < 5; seed++ {
		got := SplitTaskFamilies(ids, ops, fams, seed, 0.25, []string{"softmax"})
		byFam := map[string]string{}
		tests := 0
		for i, id := range ids {
			if s, ok := byFam[fams[i]]; ok && s != got[id] {
				t.Fatalf("seed %d: family %s straddles %s and %s", seed, fams[i], s, got[id])
			}
			byFam[fams[i]] = got[id]
		}
		for _, s := range byFam {
			if s == datasets.SplitTest {
				tests++
			}
		}
		// 19 free families: round(0.25*19) = 5 to test, plus the held-out one.
		if tests != 6 || byFam["fam19"] != datasets.SplitTest {
			t.Errorf("seed %d: %d test families (want 6), held-out family %s", seed, tests, byFam["fam19"])
		}
	}
	// Without families it is SplitTasks.
	a := SplitTaskFamilies(ids, ops, nil, 3, 0.25, nil)
	b := SplitTasks(ids, ops, 3, 0.25, nil)
	for _, id := range ids {
		if a[id] != b[id] {
			t.Fatalf("nil families differ from SplitTasks at %s", id)
		}
	}
}
