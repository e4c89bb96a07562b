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
	out := make(map[string]string, len(taskIDs))
	type ranked struct{ key, id string }
	var rest []ranked
	for i, id := range taskIDs {
		if slices.ContainsFunc(heldOutOps, func(o string) bool { return strings.EqualFold(o, ops[i]) }) {
			out[id] = datasets.SplitTest
			continue
		}
		if _, dup := out[id]; dup {
			continue
		}
		out[id] = datasets.SplitTrain
		rest = append(rest, ranked{datasets.Hash("split", seed, id), id})
	}
	slices.SortFunc(rest, func(a, b ranked) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.id, b.id)) })
	k := int(math.Round(fraction * float64(len(rest))))
	if k >= len(rest) && len(rest) >= 2 && fraction < 1 {
		k = len(rest) - 1
	}
	for _, r := range rest[:max(0, min(k, len(rest)))] {
		out[r.id] = datasets.SplitTest
	}
	return out
}
