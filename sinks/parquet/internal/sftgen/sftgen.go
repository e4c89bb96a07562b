// Package sftgen makes the synthetic sft rows that the Parquet sink's
// benchmarks write: kernel-sized code in the user and assistant turns
// (about 1.9 KB a row), a few distinct values in the low-cardinality columns,
// the same rows for a given index every time.
package sftgen

import (
	"fmt"
	"strings"

	"kforge/datasets"
)

var ops = []string{"gemm", "softmax", "conv_fwd", "reduce", "layernorm", "vector_add"}

// Row returns row i.
func Row(i int) *datasets.SFTRecord {
	op := ops[i%len(ops)]
	var code strings.Builder
	fmt.Fprintf(&code, "__global__ void %s_%d(const float* __restrict__ a, float* __restrict__ out, int n) {\n", op, i)
	fmt.Fprintf(&code, "  int i = blockIdx.x * blockDim.x * %d + threadIdx.x;\n", i%8+1)
	for j := range i%6 + 3 {
		fmt.Fprintf(&code, "  float v%d = a[min(i + %d * blockDim.x, n - 1)] * %d.0f;\n", j, j, (i*7+j)%97)
	}
	code.WriteString("  if (i < n) out[i] = v0;\n}\n")
	return &datasets.SFTRecord{
		ID: fmt.Sprintf("%024x", i*2654435761), TaskID: fmt.Sprintf("%024x", i/8*40503),
		Messages: []datasets.ChatMessage{
			{Role: "system", Content: "You optimise HIP kernels for AMD GPUs. Answer with the whole region in one cpp block."},
			{Role: "user", Content: fmt.Sprintf("Task %d: make this %s kernel faster on gfx942 without changing its signature.\n```cpp\n%s```", i/8, op, code.String())},
			{Role: "assistant", Content: "```cpp\n" + code.String() + "```"},
		},
		Reasoning:  "unrolled and vectorised the loads",
		SourceRepo: "https://github.com/ROCm/rocm-examples", SourceCommit: "0123456789abcdef0123456789abcdef01234567",
		SourcePath: fmt.Sprintf("examples/%s/main.hip", op), License: "MIT", Kind: datasets.KindHIPProgram, Op: op,
		Dtype: "fp32", Arch: "gfx942", Device: "MI300X", Toolchain: "rocm-6.4", BaselineMS: 1.25, CandidateMS: 1.25 / (1 + float64(i%30)/10),
		Speedup: 1 + float64(i%30)/10, VGPRs: int32(32 + i%64), SGPRs: 24, LDSBytes: int32(i % 4096), Occupancy: 8,
		Model: "qwen3-coder:480b-cloud", PromptVersion: "v3", NumTurns: 1,
	}
}
