package repos

import (
	"strings"

	"kforge/datasets"
)

// familyKey is a task's region text with comments, whitespace and data type
// names normalised away, with its kind and op: tasks with the same key are
// one family.
func familyKey(t *datasets.Task) string {
	code := string(blank([]byte(t.Region.Text)))
	code = datasets.WithoutDtypes(code)
	return t.Kind + "\x00" + t.Op + "\x00" + strings.Join(strings.Fields(code), " ")
}

// assignFamilies sets Family on every task: the hash of its family key, so
// the same instance text in several dtype programs (or one sample copied
// into several repositories) is one family, across sources.
func assignFamilies(tasks []datasets.Task) {
	for i := range tasks {
		tasks[i].Family = datasets.Hash("family", familyKey(&tasks[i]))[:16]
	}
}
