package repos

import (
	"regexp"
	"strings"

	"kforge/datasets"
)

// dtypeWordRe matches data type names in region text: C++ and CK/ck_tile
// spellings and the F16/BF16-style aliases classic CK examples declare.
var dtypeWordRe = regexp.MustCompile(`\b(?:ck_tile::|ck::)?(?:half_t|bhalf_t|bf16_t|fp16_t|f8_t|bf8_t|int8_t|int32_t|int4_t|float|double|_Float16|__half|hip_bfloat16|F16|BF16|F32|F64|F8|BF8|I8|I32|I4|float16_t|float32_t|float64_t)\b`)

// familyKey is a task's region text with comments, whitespace and data type
// names normalised away, with its kind and op: tasks with the same key are
// one family.
func familyKey(t *datasets.Task) string {
	code := string(blank([]byte(t.Region.Text)))
	code = dtypeWordRe.ReplaceAllString(code, "T")
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
