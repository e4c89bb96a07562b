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
		// 19 free families, each to test with probability 0.25, plus the
		// held-out one: about 6, and never none or all of them.
		if tests < 2 || tests > 12 || byFam["fam19"] != datasets.SplitTest {
			t.Errorf("seed %d: %d test families (want about 6), held-out family %s", seed, tests, byFam["fam19"])
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

// TestSplitIsStableAcrossSubsets: a task's split depends on the task (its
// family, op and the seed) alone, never on which other tasks are in the
// set. kforge serve splits the tasks it serves, a release the tasks it
// holds, the next release a few more: a test family in one must never be
// served or released as train in another.
func TestSplitIsStableAcrossSubsets(t *testing.T) {
	var ids, ops, fams []string
	for f := range 200 {
		for m := range 2 {
			ids = append(ids, fmt.Sprintf("t%03d-%d", f, m))
			ops = append(ops, []string{"gemm", "softmax", "conv"}[f%3])
			fams = append(fams, fmt.Sprintf("fam%03d", f))
		}
	}
	full := SplitTaskFamilies(ids, ops, fams, 7, 0.2, []string{"softmax"})
	test := 0
	for _, s := range full {
		if s == datasets.SplitTest {
			test++
		}
	}
	// Every third family is a held-out op (about 133 of 400 tasks); about
	// a fifth of the rest goes to test by its hash.
	if test < 170 || test > 230 {
		t.Errorf("%d of %d tasks in test, want about 186", test, len(ids))
	}
	for _, keep := range []func(i int) bool{
		func(i int) bool { return i%2 == 0 },         // one twin of each family
		func(i int) bool { return i < 50 },           // the first few families
		func(i int) bool { return (i/2)%7 == 3 },     // scattered families
		func(i int) bool { return i >= len(ids)-10 }, // a handful
	} {
		var sids, sops, sfams []string
		for i := range ids {
			if keep(i) {
				sids, sops, sfams = append(sids, ids[i]), append(sops, ops[i]), append(sfams, fams[i])
			}
		}
		sub := SplitTaskFamilies(sids, sops, sfams, 7, 0.2, []string{"softmax"})
		for _, id := range sids {
			if sub[id] != full[id] {
				t.Errorf("%s is %s in a subset of %d tasks, %s in the whole set", id, sub[id], len(sids), full[id])
			}
		}
	}
}
