package assemble

import (
	"kforge/datasets"
	"slices"
	"strconv"
	"strings"
)

// SplitTasks assigns every task to datasets.SplitTrain or datasets.SplitTest. Splits are by task,
// never by variant, so no task is in two splits. Tasks of a held-out op family
// all go to test; each of the others goes to test when a seeded hash of its
// id, read as a number in [0, 1), is below fraction. A task's split so
// depends on the task and the seed alone, never on which other tasks are in
// the set: kforge serve (its served subset), a release and the next release
// (a few more tasks) agree on every task they share, so a test task is never
// served or released as train. The test share is fraction on average, not
// exactly (the card reports the realised counts).
func SplitTasks(taskIDs, ops []string, seed int, fraction float64, heldOutOps []string) map[string]string {
	return SplitTaskFamilies(taskIDs, ops, nil, seed, fraction, heldOutOps)
}

// SplitTaskFamilies is SplitTasks over task families (Task.Family; a task
// with none, or families nil, is its own family): every task of a family
// gets the same split, so near-identical tasks (one instance in several
// dtype programs) never straddle train and test. The hash is the family's.
// A family with a task of a held-out op goes to test whole.
func SplitTaskFamilies(taskIDs, ops, families []string, seed int, fraction float64, heldOutOps []string) map[string]string {
	out := make(map[string]string, len(taskIDs))
	famOf := func(i int) string {
		if i < len(families) && families[i] != "" {
			return "family:" + families[i]
		}
		return taskIDs[i]
	}
	held := map[string]bool{}
	for i := range taskIDs {
		if slices.ContainsFunc(heldOutOps, func(o string) bool { return strings.EqualFold(o, ops[i]) }) {
			held[famOf(i)] = true
		}
	}
	for i, id := range taskIDs {
		f := famOf(i)
		if held[f] || unitHash(datasets.Hash("split", seed, f)) < fraction {
			out[id] = datasets.SplitTest
		} else {
			out[id] = datasets.SplitTrain
		}
	}
	return out
}

// unitHash reads the first 64 bits of a hex digest as a number in [0, 1).
func unitHash(hexDigest string) float64 {
	u, err := strconv.ParseUint(hexDigest[:16], 16, 64)
	if err != nil {
		panic("split: not a hex digest: " + hexDigest)
	}
	return float64(u>>11) / (1 << 53)
}
