package assemble

import (
	"cmp"
	"kforge/datasets"
	"math"
	"slices"
	"strings"
)

// SplitTasks assigns every task to datasets.SplitTrain or datasets.SplitTest. Splits are by task,
// never by variant, so no task is in two splits. Tasks of a held-out op family
// all go to test; of the others, round(fraction × count) go to test, chosen by
// ranking a seeded hash of their ids, so the choice is deterministic from the
// seed and independent of input order. At least one task stays in train when
// there are two or more to choose from.
func SplitTasks(taskIDs, ops []string, seed int, fraction float64, heldOutOps []string) map[string]string {
	return SplitTaskFamilies(taskIDs, ops, nil, seed, fraction, heldOutOps)
}

// SplitTaskFamilies is SplitTasks over task families (Task.Family; a task
// with none, or families nil, is its own family): every task of a family
// gets the same split, so near-identical tasks (one instance in several
// dtype programs) never straddle train and test. The fraction counts
// families. A family with a task of a held-out op goes to test whole.
func SplitTaskFamilies(taskIDs, ops, families []string, seed int, fraction float64, heldOutOps []string) map[string]string {
	out := make(map[string]string, len(taskIDs))
	famOf := func(i int) string {
		if i < len(families) && families[i] != "" {
			return "family:" + families[i]
		}
		return taskIDs[i]
	}
	members := map[string][]string{}
	held := map[string]bool{}
	var order []string
	for i, id := range taskIDs {
		f := famOf(i)
		if _, ok := members[f]; !ok {
			order = append(order, f)
		}
		if !slices.Contains(members[f], id) {
			members[f] = append(members[f], id)
		}
		if slices.ContainsFunc(heldOutOps, func(o string) bool { return strings.EqualFold(o, ops[i]) }) {
			held[f] = true
		}
	}
	type ranked struct{ key, fam string }
	var rest []ranked
	for _, f := range order {
		split := datasets.SplitTrain
		if held[f] {
			split = datasets.SplitTest
		} else {
			rest = append(rest, ranked{datasets.Hash("split", seed, f), f})
		}
		for _, id := range members[f] {
			out[id] = split
		}
	}
	slices.SortFunc(rest, func(a, b ranked) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.fam, b.fam)) })
	k := int(math.Round(fraction * float64(len(rest))))
	if k >= len(rest) && len(rest) >= 2 && fraction < 1 {
		k = len(rest) - 1
	}
	for _, r := range rest[:max(0, min(k, len(rest)))] {
		for _, id := range members[r.fam] {
			out[id] = datasets.SplitTest
		}
	}
	return out
}
