package verify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"kforge/filters/compile"
	"kforge/filters/sandbox"
)

// Tool is one external program a backend may need.
type Tool struct {
	Name    string `json:"name"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	Found   bool   `json:"found"`
	Note    string `json:"note,omitempty"`
}

// GPU is one GPU seen on this machine.
type GPU struct {
	Vendor string `json:"vendor"` // amd or nvidia
	Name   string `json:"name"`
	Arch   string `json:"arch,omitempty"`
	Driver string `json:"driver,omitempty"`
}

// Backend says whether a verification backend can run here, and why not.
type Backend struct {
	Name   string `json:"name"`
	Usable bool   `json:"usable"`
	Why    string `json:"why"`
}

// Probe is what this machine offers for verification.
type Probe struct {
	Tools       []Tool    `json:"tools"`
	HipccArchs  []string  `json:"hipcc_archs"`  // --offload-arch targets hipcc compiled for
	HipccRefuse []string  `json:"hipcc_refuse"` // targets it refused or could not build
	GPUs        []GPU     `json:"gpus"`
	Backends    []Backend `json:"backends"`
	Sandbox     Sandbox   `json:"sandbox"`
	Judge       Judge     `json:"judge"`
}

// Judge is what decides a candidate's verdict on this machine, beyond the
// sandbox: the compiler's view of the region and the runtime kforge owns.
type Judge struct {
	// ASTGate: hip-kernels regions can be parsed by clang (hipcc) for the
	// AST allowlist; without it such tasks cannot be verified here.
	ASTGate bool   `json:"ast_gate"`
	AST     string `json:"ast"`
	// Runtime says, per backend, whose HIP runtime candidate runs use and so
	// whether memory is poisoned, scrub mode runs and kforge times launches.
	Runtime map[string]string `json:"runtime"`
}

// Sandbox is how candidate runs and compiles are isolated on this machine.
type Sandbox struct {
	Isolated bool `json:"isolated"` // own network and PID namespaces
	// Confined: runs and compiles see only the allowlisted filesystem and
	// a fresh /dev (bwrap).
	Confined bool `json:"confined"`
	// UID is a run's uid inside its namespace (non-zero: unprivileged).
	UID int `json:"uid"`
	// CompileNetwork: compiles can reach the network.
	CompileNetwork bool `json:"compile_network"`
	// The memory limit CPU runs, GPU runs and compiles get by default.
	RunMemory     string `json:"run_memory"`
	GPUMemory     string `json:"gpu_memory"`
	CompileMemory string `json:"compile_memory"`
	Note          string `json:"note,omitempty"`
}

// ProbeArchs are the AMD targets doctor tries.
var probeArchs = []string{"gfx908", "gfx90a", "gfx940", "gfx942", "gfx950", "gfx1100"}

// ProbeMachine looks for the toolchains, profilers and GPUs the backends need.
// It only runs version queries and tiny compiles; it never fails.
func ProbeMachine(ctx context.Context) *Probe {
	p := &Probe{}
	versions := []struct{ name, flag, pattern string }{
		{"hipcc", "--version", `HIP version: (\S+)`},
		{"nvcc", "--version", `release (\S+),`},
		{"rocprofv3", "--version", `(\d+\.\d+\.\d+)`},
		{"ncu", "--version", `Version (\S+)`},
		{"rocminfo", "--help", ``},
		{"amdgpu-arch", "--help", ``},
		{"rocm-smi", "--version", `(\d+\.\d+\.\d+)`},
		{"nvidia-smi", "--version", `DRIVER version\s*:\s*(\S+)`},
		{"git", "--version", `git version (\S+)`},
		{"bwrap", "--version", `bubblewrap (\S+)`},
		{"c++", "--version", `(\d+\.\d+\.\d+)`},
	}
	for _, v := range versions {
		p.Tools = append(p.Tools, probeTool(ctx, v.name, v.flag, v.pattern))
	}
	if p.tool("hipcc").Found {
		p.HipccArchs, p.HipccRefuse = probeHipccArchs(ctx)
	}
	p.GPUs = append(p.GPUs, probeAMD(ctx)...)
	p.GPUs = append(p.GPUs, probeNVIDIA(ctx)...)
	p.Backends = p.backends()
	r := sandbox.New().Report(compile.DefaultMemoryMB)
	p.Sandbox = Sandbox{Isolated: r.Isolated, Confined: r.Allowlist, UID: r.UID, CompileNetwork: r.CompileNetwork,
		RunMemory: r.RunMemory, GPUMemory: r.GPUMemory, CompileMemory: r.CompileMemory, Note: r.Missing}
	p.Judge = Judge{ASTGate: p.tool("hipcc").Found, Runtime: map[string]string{
		BackendHostTest: "kforge's HIP stand-in: poisoned allocations, scrub mode, determinism check, kforge's launch timing",
		BackendROCm:     "kforge's LD_PRELOAD interposer: poisoned hipMalloc, scrub mode, HIP-event launch timing (untested on a GPU)",
		BackendCUDA:     "the CUDA runtime as linked (static): no poisoning, scrub or kforge timing; the profiler (ncu) or the program's line times",
	}}
	if p.Judge.ASTGate {
		p.Judge.AST = "hip-kernels regions are parsed by hipcc's clang and checked against the allowlists"
	} else {
		p.Judge.AST = "no hipcc: hip-kernels tasks cannot be verified here (the AST gate needs clang's HIP front end; Debian 12: apt-get install hipcc libamdhip64-dev)"
	}
	return p
}

func (p *Probe) tool(name string) Tool {
	for _, t := range p.Tools {
		if t.Name == name {
			return t
		}
	}
	return Tool{Name: name}
}

func (p *Probe) gpus(vendor string) int {
	n := 0
	for _, g := range p.GPUs {
		if g.Vendor == vendor {
			n++
		}
	}
	return n
}

func (p *Probe) backends() []Backend {
	var bs []Backend
	hip := p.tool("hipcc").Found
	switch {
	case !hip:
		bs = append(bs, Backend{"compile-only", false, "no hipcc: on Debian 12, apt-get install hipcc libamdhip64-dev"})
	case len(p.HipccArchs) == 0:
		bs = append(bs, Backend{"compile-only", false, "hipcc compiled for none of " + strings.Join(probeArchs, ", ")})
	default:
		bs = append(bs, Backend{"compile-only", true, "hipcc compiles for " + strings.Join(p.HipccArchs, ", ")})
	}
	switch {
	case p.gpus("amd") == 0:
		bs = append(bs, Backend{"rocm", false, "no AMD GPU found (rocminfo/amdgpu-arch/rocm-smi)"})
	case !hip:
		bs = append(bs, Backend{"rocm", false, "AMD GPU found but no hipcc: install ROCm"})
	default:
		why := "AMD GPU and hipcc found"
		if !p.tool("rocprofv3").Found {
			why += "; no rocprofv3, so timings come from the programs' own timing lines"
		}
		bs = append(bs, Backend{"rocm", true, why})
	}
	_, hdrErr := os.Stat("/usr/include/hip/nvidia_detail")
	switch {
	case p.gpus("nvidia") == 0:
		bs = append(bs, Backend{"cuda", false, "no NVIDIA GPU found (nvidia-smi)"})
	case !p.tool("nvcc").Found:
		bs = append(bs, Backend{"cuda", false, "NVIDIA GPU found but no nvcc: install the CUDA toolkit"})
	case hdrErr != nil:
		bs = append(bs, Backend{"cuda", false, "no HIP NVIDIA headers (hip/nvidia_detail): apt-get install libamdhip64-dev"})
	default:
		why := "NVIDIA GPU, nvcc and HIP's NVIDIA headers found (portable HIP programs only)"
		if !p.tool("ncu").Found {
			why += "; no ncu, so timings come from the programs' own timing lines"
		}
		bs = append(bs, Backend{"cuda", true, why})
	}
	return bs
}

func probeTool(ctx context.Context, name, flag, pattern string) Tool {
	t := Tool{Name: name}
	path, err := exec.LookPath(name)
	if err != nil {
		return t
	}
	t.Path, t.Found = path, true
	out, _ := runQuiet(ctx, 20*time.Second, path, flag)
	if pattern != "" {
		if m := regexp.MustCompile(pattern).FindStringSubmatch(out); m != nil {
			t.Version = m[1]
		}
	}
	return t
}

func runQuiet(ctx context.Context, limit time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// probeHipccArchs compiles an empty kernel for each target, in parallel.
func probeHipccArchs(ctx context.Context) (ok, refused []string) {
	dir, err := os.MkdirTemp("", "kforge-doctor-")
	if err != nil {
		return nil, probeArchs
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "k.hip")
	if err := os.WriteFile(src, []byte("#include <hip/hip_runtime.h>\n__global__ void k(float* x) { x[threadIdx.x] = 1.0f; }\n"), 0o644); err != nil {
		return nil, probeArchs
	}
	res := make([]bool, len(probeArchs))
	var wg sync.WaitGroup
	for i, a := range probeArchs {
		wg.Go(func() {
			_, err := runQuiet(ctx, 2*time.Minute, "hipcc", "--offload-arch="+a, "-O0", "-c", src, "-o", filepath.Join(dir, a+".o"))
			res[i] = err == nil
		})
	}
	wg.Wait()
	for i, a := range probeArchs {
		if res[i] {
			ok = append(ok, a)
		} else {
			refused = append(refused, a)
		}
	}
	return ok, refused
}

func probeAMD(ctx context.Context) []GPU {
	var gpus []GPU
	if _, err := exec.LookPath("amdgpu-arch"); err == nil {
		out, err := runQuiet(ctx, 20*time.Second, "amdgpu-arch")
		if err == nil {
			for _, l := range strings.Fields(out) {
				if strings.HasPrefix(l, "gfx") {
					gpus = append(gpus, GPU{Vendor: "amd", Name: l, Arch: l})
				}
			}
		}
	}
	if len(gpus) == 0 {
		if _, err := exec.LookPath("rocminfo"); err == nil {
			out, _ := runQuiet(ctx, 20*time.Second, "rocminfo")
			for _, m := range regexp.MustCompile(`(?m)^\s*Name:\s*(gfx[0-9a-f]+)\s*$`).FindAllStringSubmatch(out, -1) {
				gpus = append(gpus, GPU{Vendor: "amd", Name: m[1], Arch: m[1]})
			}
		}
	}
	return gpus
}

func probeNVIDIA(ctx context.Context) []GPU {
	if _, err := exec.LookPath("nvidia-smi"); err != nil {
		return nil
	}
	out, err := runQuiet(ctx, 20*time.Second, "nvidia-smi", "--query-gpu=name,compute_cap,driver_version", "--format=csv,noheader")
	if err != nil {
		return nil
	}
	var gpus []GPU
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(l, ",")
		if len(f) < 3 {
			continue
		}
		cc := strings.ReplaceAll(strings.TrimSpace(f[1]), ".", "")
		gpus = append(gpus, GPU{Vendor: "nvidia", Name: strings.TrimSpace(f[0]), Arch: "sm_" + cc, Driver: strings.TrimSpace(f[2])})
	}
	return gpus
}
