package datasets

import "regexp"

// dtypeWordRe matches data type names in kernel code: C++ and CK/ck_tile
// spellings and the F16/BF16-style aliases classic CK examples declare.
var dtypeWordRe = regexp.MustCompile(`\b(?:ck_tile::|ck::)?(?:half_t|bhalf_t|bf16_t|fp16_t|f8_t|bf8_t|int8_t|int32_t|int4_t|float|double|_Float16|__half|hip_bfloat16|F16|BF16|F32|F64|F8|BF8|I8|I32|I4|float16_t|float32_t|float64_t)\b`)

// WithoutDtypes is code with its data type names replaced by T: a region
// as its family sees it, where the same instance in an fp16 and a bf16
// program reads the same (Task.Family, and deduplication within a family).
func WithoutDtypes(code string) string { return dtypeWordRe.ReplaceAllString(code, "T") }
