// Command genbuild writes a synthetic build directory (shards of tasks,
// variants and verdicts) with a given number of kept variants, for the
// export memory benchmark in scripts/bench-parquet.sh.
//
//	genbuild -out DIR -rows 1000000 [-per-shard 20000]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kforge/datasets"
	"kforge/pipeline"
	"kforge/shards"
)

func kernel(task, k int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "__global__ void op%d_v%d(const float* __restrict__ a, float* __restrict__ out, int n) {\n", task, k)
	fmt.Fprintf(&b, "  int i = blockIdx.x * blockDim.x * %d + threadIdx.x;\n", k%8+1)
	for j := range k%5 + 3 {
		fmt.Fprintf(&b, "  float v%d = a[min(i + %d * blockDim.x, n - 1)] * %d.0f + %d;\n", j, j*(k+1), task*131+k*17+j, task+k*j)
	}
	b.WriteString("  if (i < n) out[i] = v0;\n}\n")
	return b.String()
}

func main() {
	out := flag.String("out", "", "build directory to create")
	rows := flag.Int("rows", 1_000_000, "kept variants in all")
	perShard := flag.Int("per-shard", 20_000, "kept variants per shard")
	perTask := flag.Int("per-task", 8, "kept variants per task (plus one rejected)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "genbuild: -out is required")
		os.Exit(2)
	}
	nShards := (*rows + *perShard - 1) / *perShard
	ops := []string{"gemm", "softmax", "conv_fwd", "reduce", "layernorm", "vector_add", "transpose"}
	task := 0
	left := *rows
	for s := range nShards {
		var d datasets.ShardData
		for n := 0; n < *perShard && left > 0; task++ {
			op := ops[task%len(ops)]
			ref := kernel(task, 999)
			t := datasets.Task{Kind: datasets.KindHIPProgram, Name: fmt.Sprintf("%s/%d", op, task), Op: op, Dtypes: []string{"fp16"},
				Source: datasets.Source{Repo: "https://github.com/ROCm/rocm-examples", Commit: strings.Repeat("0a", 20),
					Path: fmt.Sprintf("ex/%d.hip", task), License: "MIT"},
				Files:  []datasets.File{{Path: "main.hip", Content: ref + "int main() { return 0; }\n"}},
				Region: datasets.Region{File: "main.hip", End: len(ref), Text: ref, Kind: "hip-kernels"},
				Sizes:  []datasets.Size{{Name: "default", Args: []string{"1048576"}}}, Build: datasets.BuildRecipe{Sources: []string{"main.hip"}},
				Archs: []string{"gfx942"}}
			t.ID = datasets.TaskID(&t)
			d.Tasks = append(d.Tasks, t)
			for k := 0; k <= *perTask && left > 0; k++ {
				code := kernel(task, k)
				v := datasets.Variant{TaskID: t.ID, Sample: k, Provider: "ollama", Model: "qwen3-coder:480b-cloud", PromptVersion: "v3",
					Messages: []datasets.Message{{Role: "system", Content: "You optimise HIP kernels for AMD GPUs."},
						{Role: "user", Content: "Make this kernel faster:\n```cpp\n" + ref + "```"},
						{Role: "assistant", Content: "```cpp\n" + code + "```"}},
					Region: code}
				v.ID = datasets.VariantID(&v)
				vd := datasets.Verdict{VariantID: v.ID, TaskID: t.ID, Backend: "rocm", Status: datasets.StatusKept, Speedup: 1 + float64(k)/10,
					Device:  datasets.Device{Name: "MI300X", Arch: "gfx942", Toolchain: "rocm-6.4"},
					Compile: datasets.CompileResult{OK: true, Kernels: []datasets.KernelResources{{Name: "k", VGPRs: 64, Occupancy: 8}}},
					Timing:  &datasets.Timing{RefMedian: 1.5, CandMedian: 1.5 / (1 + float64(k)/10)}}
				if k == *perTask {
					vd.Status, vd.Speedup, vd.Timing, vd.RejectedBy, vd.Reason = datasets.StatusRejected, 0, nil, "correctness", "wrong result"
				} else {
					left--
					n++
				}
				d.Variants = append(d.Variants, v)
				d.Verdicts = append(d.Verdicts, vd)
			}
		}
		d.Sort()
		dir := filepath.Join(*out, "shards", pipeline.Shard{I: s, N: nShards}.Name())
		for name, write := range map[string]func(*os.File) error{
			shards.TasksFile:    func(f *os.File) error { return datasets.WriteJSONL(f, d.Tasks) },
			shards.VariantsFile: func(f *os.File) error { return datasets.WriteJSONL(f, d.Variants) },
			shards.VerdictsFile: func(f *os.File) error { return datasets.WriteJSONL(f, d.Verdicts) },
		} {
			if err := pipeline.WriteAtomic(filepath.Join(dir, name), 0o644, write); err != nil {
				fmt.Fprintln(os.Stderr, "genbuild:", err)
				os.Exit(1)
			}
		}
		b, _ := json.Marshal(pipeline.Snapshot{Funnel: []pipeline.FunnelStep{{Step: "kept", Count: int64(len(d.Verdicts))}}})
		pipeline.WriteFileAtomic(filepath.Join(dir, shards.StatsFile), b, 0o644)
		pipeline.WriteFileAtomic(filepath.Join(dir, shards.DoneFile), nil, 0o644)
	}
	fmt.Printf("genbuild: %d kept variants, %d tasks, %d shards in %s\n", *rows, task, nShards, *out)
}
