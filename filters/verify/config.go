// Package verify judges candidate variants: static gate, splice, compile,
// sandboxed runs, correctness and profiled timing, on a verification backend.
package verify

import "time"

// Config is the verify section of a recipe.
type Config struct {
	Backend        string        `yaml:"backend" default:"compile-only" enum:"rocm|cuda|compile-only|host-test" doc:"Where variants are judged: rocm (AMD GPU), cuda (NVIDIA GPU, portable HIP only), compile-only (no GPU; never keeps a variant) or host-test (CPU-built fixture programs; only in binaries built with -tags hosttest, for end-to-end tests)."`
	Archs          []string      `yaml:"archs" default:"[gfx90a]" doc:"Offload architectures to compile for (rocm, compile-only) or CUDA arch like sm_90 (cuda); empty detects the GPU's."`
	GPUs           []int         `yaml:"gpus" doc:"GPU indices to use, one measuring worker each; empty uses every visible GPU (one for compile-only)."`
	CompileWorkers int           `yaml:"compile_workers" default:"0" min:"0" doc:"Compiles in parallel (0: number of cores)."`
	CompileTimeout time.Duration `yaml:"compile_timeout" default:"10m" min:"1s" doc:"Limit for one compile."`
	RunTimeout     time.Duration `yaml:"run_timeout" default:"2m" min:"1s" doc:"Wall-clock limit for one run of a program; the whole process group is killed past it."`
	Warmup         int           `yaml:"warmup" default:"1" min:"0" doc:"Untimed runs of each program before timing."`
	Repetitions    int           `yaml:"repetitions" default:"5" min:"1" max:"1000" doc:"Timed runs of reference and candidate each, interleaved and counterbalanced (ABBA…)."`
	Seeds          int           `yaml:"seeds" default:"2" min:"1" doc:"Input seeds or init methods per problem size for correctness."`
	MinSpeedup     float64       `yaml:"min_speedup" default:"1.05" min:"1" doc:"Keep a correct candidate only when median(reference)/median(candidate) is at least this."`
	MaxSpeedup     float64       `yaml:"max_speedup" default:"10" min:"1" doc:"Quarantine (never keep) speedups above this ceiling: they are more often a broken measurement than a real win."`
	Profiler       string        `yaml:"profiler" default:"auto" enum:"auto|rocprofv3|ncu|program" doc:"Kernel timing source: the profiler when present (auto), or the program's own timing line."`
	Network        bool          `yaml:"network" default:"false" doc:"Allow candidate programs network access (normally they get a fresh network namespace where the machine allows)."`
	Unconfined     bool          `yaml:"unconfined" default:"false" doc:"Run candidate programs and the compiler without bubblewrap's confinement (an allowlist of the filesystem: the toolchains, their own files and directories, a fresh /dev with only their GPU's nodes; an unprivileged uid). Only for a GPU runtime that fails inside it."`
	MemoryMB       int           `yaml:"memory_mb" default:"0" min:"0" doc:"Memory limit for a run in MiB (0: 4096). A CPU run gets it as an address-space limit; a GPU run, whose runtime reserves much address space, as a cgroup v2 memory.max where kforge may make cgroups (KFORGE_CGROUP, or a container's root cgroup), else as a data-segment limit."`
}
