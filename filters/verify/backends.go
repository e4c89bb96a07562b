package verify

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kforge/datasets"
	"kforge/filters/compile"
	"kforge/filters/hiprt"
	"kforge/filters/hiprt/dryrun"
	"kforge/filters/measure"
	"kforge/filters/sandbox"
)

func compiler(ctx context.Context, kind string, archs []string, cfg Config, opt Options) (*compile.Compiler, error) {
	c, err := compile.New(ctx, compile.Compiler{
		Kind: kind, Archs: archs, Timeout: cfg.CompileTimeout, Cache: opt.Cache,
		WorkDir: filepath.Join(opt.WorkDir, "compile"), HIPInclude: os.Getenv("KFORGE_HIP_INCLUDE"),
	})
	if err != nil {
		return nil, fmt.Errorf("verify: backend %s: %w", cfg.Backend, err)
	}
	return c, nil
}

func gpuLimits(wall time.Duration) sandbox.Limits {
	l := sandbox.DefaultLimits(wall)
	// GPU runtimes open many device files and map large address ranges.
	l.OpenFiles = 4096
	return l
}

func gfxArchs(archs []string) []string {
	var out []string
	for _, a := range archs {
		if strings.HasPrefix(a, "gfx") {
			out = append(out, a)
		}
	}
	return out
}

func compileOnlyBackend(ctx context.Context, cfg Config, opt Options) (*backend, error) {
	archs := gfxArchs(cfg.Archs)
	if len(archs) == 0 {
		archs = []string{"gfx90a"}
	}
	c, err := compiler(ctx, compile.HIPCC, archs, cfg, opt)
	if err != nil {
		return nil, err
	}
	return &backend{
		name:     BackendCompileOnly,
		device:   datasets.Device{Name: "compile-only", Arch: strings.Join(archs, ","), Toolchain: c.Version()},
		compiler: c, gpus: []string{""}, limits: sandbox.DefaultLimits,
	}, nil
}

// dryRunBackend compiles with hipcc for the target arch, as compile-only
// and rocm do, and runs programs on kforge's dry-run HIP runtime: their host
// side only (filters/hiprt/dryrun). It qualifies tasks; it judges no
// candidate.
func dryRunBackend(ctx context.Context, cfg Config, opt Options) (*backend, error) {
	archs := gfxArchs(cfg.Archs)
	if len(archs) == 0 {
		archs = []string{"gfx90a"}
	}
	c, err := compiler(ctx, compile.HIPCC, archs, cfg, opt)
	if err != nil {
		return nil, err
	}
	lib, err := dryrun.Build(ctx, "", hipInclude(), filepath.Join(opt.WorkDir, "dryrun"))
	if err != nil {
		return nil, fmt.Errorf("verify: backend dry-run: %w", err)
	}
	return &backend{
		name:     BackendDryRun,
		device:   datasets.Device{Name: "dry-run", Arch: archs[0], Toolchain: c.Version()},
		compiler: c, gpus: []string{""}, limits: sandbox.DefaultLimits, dryRunLib: lib,
		note: "dry run: only the host side ran (kernels were never run)",
	}, nil
}

func run(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	return compile.FilterLog(string(out))
}

var reGfx = regexp.MustCompile(`\bgfx[0-9a-f]+\b`)

func rocmBackend(ctx context.Context, cfg Config, opt Options) (*backend, error) {
	detected, names := parseRocminfo(run(ctx, "rocminfo"))
	if len(detected) == 0 {
		return nil, fmt.Errorf("verify: backend rocm: no AMD GPU found (rocminfo lists no gfx agent); use compile-only on this machine")
	}
	archs := gfxArchs(cfg.Archs)
	if len(archs) == 0 || !contains(archs, detected[0]) {
		archs = []string{detected[0]}
	}
	c, err := compiler(ctx, compile.HIPCC, archs, cfg, opt)
	if err != nil {
		return nil, err
	}
	gpus := indices(cfg.GPUs, len(detected))
	dev := datasets.Device{Name: first(names, detected[0]), Arch: detected[0], Toolchain: c.Version()}
	if b, err := os.ReadFile("/sys/module/amdgpu/version"); err == nil {
		dev.Driver = "amdgpu " + strings.TrimSpace(string(b))
	}
	if dev.Driver == "" {
		dev.Driver = strings.TrimSpace(lastLine(run(ctx, "rocm-smi", "--showdriverversion")))
	}
	dev.Clocks = clockSummary(run(ctx, "rocm-smi", "--showclocks"))
	be := &backend{name: BackendROCm, device: dev, compiler: c, gpus: gpus, measures: true, limits: gpuLimits}
	be.profiler, be.note, err = pickProfiler(cfg.Profiler, "rocprofv3", func(p string) measure.Profiler { return measure.Rocprofv3{Path: p} })
	if err != nil {
		return nil, err
	}
	be.judge, err = rocmJudge(ctx, opt)
	if err != nil {
		// Runs go on without it, as before: say so on every verdict.
		be.note = strings.TrimSpace(be.note + "\n" + err.Error() + ": allocations are not poisoned, outputs not scrubbed, and kforge does not time launches itself")
	}
	return be, nil
}

// rocmJudge builds kforge's ROCm interposer (filters/hiprt), preloaded into
// every run: poisoned allocations, scrub mode for the region's kernels, and
// launch times from HIP events when no profiler times them.
//
// UNTESTED ON A GPU: the interposer is only built and link-checked by
// kforge's tests (no AMD GPU where they run).
func rocmJudge(ctx context.Context, opt Options) (*measure.Judge, error) {
	cxx := ""
	for _, n := range []string{"g++", "c++", "clang++", "hipcc"} {
		if p, err := exec.LookPath(n); err == nil {
			cxx = p
			break
		}
	}
	if cxx == "" {
		return nil, fmt.Errorf("no C++ compiler to build kforge's ROCm interposer")
	}
	inc := hipInclude()
	for _, d := range []string{filepath.Join(os.Getenv("ROCM_PATH"), "include"), "/opt/rocm/include"} {
		if _, err := os.Stat(filepath.Join(inc, "hip", "hip_runtime_api.h")); err == nil {
			break
		}
		inc = d
	}
	lib, err := hiprt.BuildInterposer(ctx, cxx, inc, filepath.Join(opt.WorkDir, "hiprt-"+hiprt.Hash()))
	if err != nil {
		return nil, err
	}
	return &measure.Judge{Name: "kforge-interposer", Preload: lib}, nil
}

func cudaBackend(ctx context.Context, cfg Config, opt Options) (*backend, error) {
	q := run(ctx, "nvidia-smi", "--query-gpu=name,driver_version,compute_cap,clocks.sm,clocks.mem,clocks.max.sm", "--format=csv,noheader")
	lines := nonEmpty(strings.Split(strings.TrimSpace(q), "\n")...)
	if len(lines) == 0 {
		return nil, fmt.Errorf("verify: backend cuda: no NVIDIA GPU found (nvidia-smi lists none)")
	}
	f := strings.Split(lines[0], ",")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	for len(f) < 6 {
		f = append(f, "")
	}
	sm := "sm_" + strings.ReplaceAll(f[2], ".", "")
	archs := []string{sm}
	for _, a := range cfg.Archs {
		if strings.HasPrefix(a, "sm_") {
			archs = []string{a}
		}
	}
	c, err := compiler(ctx, compile.NVCC, archs, cfg, opt)
	if err != nil {
		return nil, err
	}
	// The CUDA runtime creates /dev/nvidia-uvm on first use through the
	// setuid nvidia-modprobe, which cannot run inside the confined sandbox;
	// create it here (a no-op when it exists).
	if _, err := os.Stat("/dev/nvidia-uvm"); err != nil {
		run(ctx, "nvidia-modprobe", "-u", "-c=0")
	}
	if _, err := os.Stat(filepath.Join(hipInclude(), "hip", "hip_runtime.h")); err != nil {
		return nil, fmt.Errorf("verify: backend cuda: HIP headers not found under %s (install libamdhip64-dev or set KFORGE_HIP_INCLUDE): %w", hipInclude(), err)
	}
	dev := datasets.Device{Name: f[0], Arch: archs[0], Driver: "nvidia " + f[1], Toolchain: c.Version(),
		Clocks: fmt.Sprintf("sm %s, mem %s, max sm %s", f[3], f[4], f[5])}
	be := &backend{name: BackendCUDA, device: dev, compiler: c, gpus: indices(cfg.GPUs, len(lines)), measures: true, limits: gpuLimits}
	be.profiler, be.note, err = pickProfiler(cfg.Profiler, "ncu", func(p string) measure.Profiler { return measure.Ncu{Path: p} })
	return be, err
}

func hipInclude() string {
	if d := os.Getenv("KFORGE_HIP_INCLUDE"); d != "" {
		return d
	}
	return "/usr/include"
}

// pickProfiler returns the profiler for setting (auto, program or a name).
func pickProfiler(setting, name string, mk func(string) measure.Profiler) (measure.Profiler, string, error) {
	switch setting {
	case "program":
		return nil, "", nil
	case "", "auto":
		if p, err := exec.LookPath(name); err == nil {
			return mk(p), "", nil
		}
		return nil, name + " not found: kernel times come from the program's own timing line", nil
	case name:
		p, err := exec.LookPath(name)
		if err != nil {
			return nil, "", fmt.Errorf("verify: profiler %s is not installed", name)
		}
		return mk(p), "", nil
	}
	return nil, "", fmt.Errorf("verify: profiler %s does not fit this backend (want %s, auto or program)", setting, name)
}

func indices(cfg []int, n int) []string {
	var out []string
	if len(cfg) > 0 {
		for _, g := range cfg {
			out = append(out, strconv.Itoa(g))
		}
		return out
	}
	for i := 0; i < n; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func first(xs []string, def string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return def
}

func lastLine(s string) string {
	ls := nonEmpty(strings.Split(s, "\n")...)
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}

func clockSummary(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "Mhz") && len(keep) < 4 {
			keep = append(keep, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(keep, "; ")
}

// parseRocminfo returns the gfx targets of rocminfo's GPU agents and their
// marketing names.
func parseRocminfo(info string) (archs, names []string) {
	sc := bufio.NewScanner(strings.NewReader(info))
	gpu := false
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(l, "Name:"); ok {
			// Agent names are bare gfx targets; ISA lines (amdgcn-amd-amdhsa--gfx…) are not agents.
			v = strings.TrimSpace(v)
			gpu = strings.HasPrefix(v, "gfx") && reGfx.MatchString(v)
			if gpu {
				archs = append(archs, reGfx.FindString(v))
			}
		}
		if v, ok := strings.CutPrefix(l, "Marketing Name:"); ok && gpu {
			names = append(names, strings.TrimSpace(v))
		}
	}
	return archs, names
}
