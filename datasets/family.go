package datasets

import (
	"regexp"
	"slices"
	"strings"
)

// dtypeWordRe matches data type names in kernel code: C++ and CK/ck_tile
// spellings and the F16/BF16-style aliases classic CK examples declare.
var dtypeWordRe = regexp.MustCompile(`\b(?:ck_tile::|ck::)?(?:half_t|bhalf_t|bf16_t|fp16_t|f8_t|bf8_t|int8_t|int32_t|int4_t|float|double|_Float16|__half|hip_bfloat16|F16|BF16|F32|F64|F8|BF8|I8|I32|I4|float16_t|float32_t|float64_t)\b`)

// WithoutDtypes is code with its data type names replaced by T: a region
// as its family sees it, where the same instance in an fp16 and a bf16
// program reads the same (Task.Family, and deduplication within a family).
func WithoutDtypes(code string) string { return dtypeWordRe.ReplaceAllString(code, "T") }

// dtypeOfWord is the canonical dtype of each name dtypeWordRe matches.
var dtypeOfWord = map[string]string{
	"half_t": "fp16", "fp16_t": "fp16", "_Float16": "fp16", "__half": "fp16", "F16": "fp16", "float16_t": "fp16",
	"bhalf_t": "bf16", "bf16_t": "bf16", "hip_bfloat16": "bf16", "BF16": "bf16",
	"float": "fp32", "F32": "fp32", "float32_t": "fp32",
	"double": "fp64", "F64": "fp64", "float64_t": "fp64",
	"f8_t": "fp8", "F8": "fp8", "bf8_t": "bf8", "BF8": "bf8",
	"int8_t": "int8", "I8": "int8", "int32_t": "int32", "I32": "int32", "int4_t": "int4", "I4": "int4",
}

// WithoutDtypesOf is code with the names of the given dtypes (canonical:
// fp16, bf16, …) replaced by T, and no others: what sets one member of a
// family apart from another goes, while a rewrite that changes, say, an
// accumulation type from F32 to F16 in an fp32-free program stays itself.
func WithoutDtypesOf(code string, dtypes []string) string {
	return dtypeWordRe.ReplaceAllStringFunc(code, func(w string) string {
		base := w[strings.LastIndex(w, ":")+1:]
		if slices.Contains(dtypes, dtypeOfWord[base]) {
			return "T"
		}
		return w
	})
}
