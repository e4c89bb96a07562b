// Package releasetest writes small, hand-made build directories (shards of
// tasks, variants and verdicts) for tests of the release writer and export.
package releasetest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kforge/datasets"
	"kforge/pipeline"
	"kforge/shards"
)

// Kernel returns a small HIP kernel whose body varies with op and k, so that
// different (op, k) give code far apart for deduplication.
func Kernel(op string, k int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "__global__ void %s_kernel_%d(const float* __restrict__ a, float* __restrict__ out, int n) {\n", op, k)
	fmt.Fprintf(&b, "  int i = blockIdx.x * blockDim.x * %d + threadIdx.x;\n", k+1)
	for j := 0; j <= k%5+2; j++ {
		fmt.Fprintf(&b, "  float v%d_%s = a[min(i + %d * blockDim.x, n - 1)] * %d.0f + %d;\n", j, op, j, j+k+1, k*j+3)
	}
	fmt.Fprintf(&b, "  if (i < n) { out[i] = v0_%s; }\n}\n", op)
	return b.String()
}

// Spec describes one variant of a fixture task.
type Spec struct {
	Sample  int
	Round   int
	Parent  int // sample of the parent variant, -1 for none
	Code    string
	Status  string
	Speedup float64
	Reason  string
}

// TaskSpec describes one fixture task and its variants.
type TaskSpec struct {
	Op       string
	Family   string   // Task.Family, when set
	Dtypes   []string // Task.Dtypes, when set (else fp32)
	Variants []Spec
}

// MakeTask returns a task for op with a reference region.
func MakeTask(op string, n int) datasets.Task {
	ref := Kernel(op, 100+n)
	t := datasets.Task{
		Kind: datasets.KindHIPProgram, Name: fmt.Sprintf("%s/example%d", op, n), Op: op, Dtypes: []string{"fp32"},
		Description: "computes " + op,
		Source: datasets.Source{Repo: "https://example.org/kernels.git", Commit: strings.Repeat("ab", 20),
			Path: fmt.Sprintf("examples/%s_%d.hip", op, n), Blob: strings.Repeat("cd", 20), Lines: [2]int{1, 9}, License: "MIT"},
		Files:  []datasets.File{{Path: "main.hip", Content: ref + "int main() { return 0; }\n"}},
		Region: datasets.Region{File: "main.hip", Start: 0, End: len(ref), Text: ref, Kind: "hip-kernels", Rules: []string{"keep the kernel signature"}},
		Sizes:  []datasets.Size{{Name: "default", Args: []string{"-n", "1048576"}}},
		Build:  datasets.BuildRecipe{Sources: []string{"main.hip"}, Flags: []string{"-O3"}},
		Run:    datasets.RunRecipe{Pass: datasets.PassRule{ExitZero: true}, Tolerance: &datasets.Tolerance{RTol: 1e-3, ATol: 1e-5}},
		Archs:  []string{"gfx90a"},
	}
	t.ID = datasets.TaskID(&t)
	return t
}

// WriteShard writes one complete shard directory (with DONE) of the given tasks.
func WriteShard(dir string, specs []TaskSpec, firstTask int) (*datasets.ShardData, error) {
	var d datasets.ShardData
	for ti, ts := range specs {
		t := MakeTask(ts.Op, firstTask+ti)
		t.Family = ts.Family
		if ts.Dtypes != nil {
			t.Dtypes = ts.Dtypes
		}
		d.Tasks = append(d.Tasks, t)
		ids := map[int]string{}
		for _, s := range ts.Variants {
			prompt := []datasets.Message{
				{Role: "system", Content: "You optimise HIP kernels for AMD GPUs."},
				{Role: "user", Content: "Make this kernel faster:\n```cpp\n" + t.Region.Text + "```"},
			}
			ms := append([]datasets.Message(nil), prompt...)
			if s.Round > 0 {
				ms = append(ms, datasets.Message{Role: "assistant", Content: "```cpp\n" + Kernel(ts.Op, 50+s.Sample) + "```"},
					datasets.Message{Role: "user", Content: "That was correct but only 1.1x faster. Try again."})
			}
			ms = append(ms, datasets.Message{Role: "assistant", Content: "Here is a faster version:\n```cpp\n" + s.Code + "```"})
			v := datasets.Variant{TaskID: t.ID, Round: s.Round, Sample: s.Sample, Provider: "ollama", Model: "test-coder:7b",
				ModelDigest: "sha256:0123", PromptVersion: "v1", Messages: ms, Region: s.Code, Reasoning: "unrolled the loop",
				Sampling: datasets.Sampling{Temperature: 0.7, TopP: 0.95, Seed: s.Sample}, PromptTokens: 100, CompletionTokens: 50}
			if s.Parent >= 0 {
				v.Parent = ids[s.Parent]
			}
			v.ID = datasets.VariantID(&v)
			ids[s.Sample] = v.ID
			d.Variants = append(d.Variants, v)
			vd := datasets.Verdict{VariantID: v.ID, TaskID: t.ID, Backend: "rocm", Status: s.Status, Speedup: s.Speedup,
				Device: datasets.Device{Name: "MI210", Arch: "gfx90a", Toolchain: "rocm-6.2"},
				Gate:   datasets.Check{OK: true}, Splice: datasets.Check{OK: true},
				Compile: datasets.CompileResult{OK: true, Kernels: []datasets.KernelResources{{Name: "k", VGPRs: 32 + s.Sample, SGPRs: 16, LDS: 1024, Occupancy: 8}}}}
			switch s.Status {
			case datasets.StatusKept:
				vd.Timing = &datasets.Timing{Source: "rocprofv3", Size: "default", RefMedian: 2.0, CandMedian: 2.0 / s.Speedup}
			case datasets.StatusRejected:
				vd.RejectedBy, vd.Reason = "correctness", s.Reason
				if s.Speedup > 0 {
					vd.Timing = &datasets.Timing{Source: "rocprofv3", Size: "default", RefMedian: 2.2, CandMedian: 2.2 / s.Speedup}
				}
			case datasets.StatusQuarantined:
				vd.RejectedBy, vd.Reason = "sandbox", s.Reason
			}
			d.Verdicts = append(d.Verdicts, vd)
		}
	}
	d.Sort()
	for name, write := range map[string]func(*os.File) error{
		shards.TasksFile:    func(f *os.File) error { return datasets.WriteJSONL(f, d.Tasks) },
		shards.VariantsFile: func(f *os.File) error { return datasets.WriteJSONL(f, d.Variants) },
		shards.VerdictsFile: func(f *os.File) error { return datasets.WriteJSONL(f, d.Verdicts) },
	} {
		if err := pipeline.WriteAtomic(filepath.Join(dir, name), 0o644, write); err != nil {
			return nil, err
		}
	}
	st := pipeline.NewStats()
	st.Add("mined", int64(len(d.Tasks)))
	st.Add("generated", int64(len(d.Variants)))
	kept := 0
	for _, v := range d.Verdicts {
		if v.Kept() {
			kept++
		}
	}
	st.Add("kept", int64(kept))
	snap := st.Snapshot()
	snap.Seconds = 0 // stats carry wall time; fixtures must be stable
	b, _ := json.Marshal(snap)
	if err := pipeline.WriteFileAtomic(filepath.Join(dir, shards.StatsFile), b, 0o644); err != nil {
		return nil, err
	}
	return &d, pipeline.WriteFileAtomic(filepath.Join(dir, shards.DoneFile), nil, 0o644)
}

// Contaminated is the kernel the fixture's evaluation set holds.
var Contaminated = `template <int TILE>
__global__ void leak_transpose(double* dst, const double* src, long rows, long cols) {
  __shared__ double tile[TILE][TILE + 1];
  long x = blockIdx.x * TILE + threadIdx.x, y = blockIdx.y * TILE + threadIdx.y;
  if (x < cols && y < rows) tile[threadIdx.y][threadIdx.x] = src[y * cols + x];
  __syncthreads();
  x = blockIdx.y * TILE + threadIdx.x; y = blockIdx.x * TILE + threadIdx.y;
  if (x < rows && y < cols) dst[y * rows + x] = tile[threadIdx.x][threadIdx.y];
}
`

// Build writes a build directory with two complete shards and one
// incomplete one, covering every verdict status, exact and near
// duplicates, a leaking candidate and a refinement chain. It returns the
// build directory.
func Build(root string) (string, error) {
	k := Kernel
	shard0 := []TaskSpec{
		{Op: "gemm", Variants: []Spec{
			{Sample: 0, Parent: -1, Code: k("gemm", 1), Status: datasets.StatusKept, Speedup: 1.5},
			// the same code reformatted: an exact duplicate, slower, dropped
			{Sample: 1, Parent: -1, Code: "  " + strings.ReplaceAll(k("gemm", 1), "\n", "\n\n") + "// tuned\n", Status: datasets.StatusKept, Speedup: 1.2},
			{Sample: 2, Parent: -1, Code: k("gemm", 2), Status: datasets.StatusRejected, Speedup: 0, Reason: "max error 3.1e-2 > 1e-3"},
			{Sample: 3, Parent: -1, Code: k("gemm", 3), Status: datasets.StatusUnverified},
			{Sample: 4, Parent: -1, Code: k("gemm", 4), Status: datasets.StatusQuarantined, Reason: "wrote outside its buffer"},
			{Sample: 5, Parent: -1, Code: k("gemm", 5), Status: datasets.StatusKept, Speedup: 2.5},
			// a refinement of sample 0
			{Sample: 6, Round: 1, Parent: 0, Code: k("gemm", 6), Status: datasets.StatusKept, Speedup: 3.0},
		}},
		{Op: "softmax", Variants: []Spec{
			{Sample: 0, Parent: -1, Code: k("softmax", 1), Status: datasets.StatusKept, Speedup: 1.3},
			{Sample: 1, Parent: -1, Code: k("softmax", 2), Status: datasets.StatusRejected, Speedup: 0.8, Reason: "slower than the reference"},
		}},
	}
	// near duplicate: one extra statement in a long kernel
	long := k("vector_add", 3) + strings.Repeat("__device__ float helper(float x) { return x * 2.0f + 1.0f; }\n", 1)
	for i := 0; i < 40; i++ {
		long += fmt.Sprintf("__device__ float h%d(float x) { return x * %d.0f - %d; }\n", i, i+2, i)
	}
	shard1 := []TaskSpec{
		{Op: "vector_add", Variants: []Spec{
			{Sample: 0, Parent: -1, Code: long, Status: datasets.StatusKept, Speedup: 1.8},
			{Sample: 1, Parent: -1, Code: long + "__device__ float extra(float x) { return x; }\n", Status: datasets.StatusKept, Speedup: 2.2},
			{Sample: 2, Parent: -1, Code: Contaminated, Status: datasets.StatusKept, Speedup: 4.0},
		}},
		{Op: "conv_fwd", Variants: []Spec{
			{Sample: 0, Parent: -1, Code: k("conv_fwd", 1), Status: datasets.StatusKept, Speedup: 1.1},
			{Sample: 1, Parent: -1, Code: k("conv_fwd", 2), Status: datasets.StatusKept, Speedup: 1.4},
		}},
		{Op: "reduce", Variants: []Spec{
			{Sample: 0, Parent: -1, Code: k("reduce", 1), Status: datasets.StatusKept, Speedup: 1.25},
			{Sample: 1, Parent: -1, Code: k("reduce", 2), Status: datasets.StatusUnverified},
		}},
		{Op: "transpose", Variants: []Spec{
			{Sample: 0, Parent: -1, Code: k("transpose", 1), Status: datasets.StatusUnverified},
		}},
	}
	build := filepath.Join(root, "build")
	if _, err := WriteShard(filepath.Join(build, "shards", "00000-of-00003"), shard0, 0); err != nil {
		return "", err
	}
	if _, err := WriteShard(filepath.Join(build, "shards", "00001-of-00003"), shard1, 10); err != nil {
		return "", err
	}
	// a shard that never finished: files but no DONE
	inc := filepath.Join(build, "shards", "00002-of-00003")
	if err := os.MkdirAll(inc, 0o755); err != nil {
		return "", err
	}
	return build, os.WriteFile(filepath.Join(inc, shards.TasksFile), []byte("{\"id\":\"partial\"}\n"), 0o644)
}
