// Package compile builds a task's program with a backend's toolchain: hipcc
// for AMD GPUs (and compile-only), nvcc through HIP's NVIDIA headers for
// NVIDIA GPUs, or the host C++ compiler for host-built test programs. Builds
// have a time limit, run in their own directory, are cached by content hash,
// and report each kernel's register and memory use.
package compile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"kforge/datasets"
	"kforge/filters/hiprt"
	"kforge/filters/sandbox"
	"kforge/pipeline"
)

// Toolchain kinds.
const (
	HIPCC = "hipcc" // AMD: hipcc --offload-arch
	NVCC  = "nvcc"  // NVIDIA: nvcc with -D__HIP_PLATFORM_NVIDIA__
	Host  = "host"  // the host C++ compiler, for programs built for the CPU
)

// Compiler compiles programs with one toolchain for a set of targets.
type Compiler struct {
	// Kind is HIPCC, NVCC or Host.
	Kind string
	// Path is the compiler executable (default: looked up by kind).
	Path string
	// Archs are --offload-arch targets (hipcc) or sm_XX (nvcc).
	Archs []string
	// Timeout bounds one compile (default 10 minutes).
	Timeout time.Duration
	// Cache holds results and binaries by content hash (optional).
	Cache pipeline.Cache
	// WorkDir holds build directories and binaries.
	WorkDir string
	// HIPInclude is the directory holding hip/ headers for nvcc (default /usr/include).
	HIPInclude string
	// Sandbox, when set, confines the compiler as it confines runs, and
	// always without network (see sandbox.Confine): a source can make the
	// assembler read any file it can see (.incbin), and compiler messages
	// reach verdict logs.
	Sandbox *sandbox.Sandbox
	// MemoryMB is a confined compile's address-space limit (RLIMIT_AS) in
	// MiB (default DefaultMemoryMB; compilers reserve little beyond what
	// they use).
	MemoryMB int

	version string
	// nvInclude holds HIP's headers patched for the installed CUDA (nvcc).
	nvInclude string
	// hostInclude holds kforge's HIP runtime stand-in (Host): first on the
	// include path, so <hip/hip_runtime.h> is kforge's (see filters/hiprt).
	hostInclude string
}

// DefaultMemoryMB is a compile's memory limit by default (8 GiB).
const DefaultMemoryMB = 8192

// Job is one program to build.
type Job struct {
	Files        []datasets.File
	Sources      []string // files of Files to compile
	IncludeDirs  []string // absolute include directories (from a checkout)
	RepoSources  []string // absolute extra sources (from a checkout)
	Flags        []string
	ConfigHeader string // content of ck/config.h, if any
	// Salt names what the include directories hold (e.g. the checkout's
	// commit), so that cached results follow their content.
	Salt string
	// Generate, when set, runs a code generator before the compile; its
	// outputs are compiled with Sources (see Generate).
	Generate *Generate
}

// Output is a finished build.
type Output struct {
	Result datasets.CompileResult
	// Binary is the program's path when Result.OK; BinaryHash its SHA-256.
	Binary     string
	BinaryHash string
}

// New checks the toolchain and returns a compiler for it.
func New(ctx context.Context, c Compiler) (*Compiler, error) {
	if c.Path == "" {
		names := map[string][]string{HIPCC: {"hipcc"}, NVCC: {"nvcc"}, Host: {"c++", "g++", "clang++"}}[c.Kind]
		if names == nil {
			return nil, fmt.Errorf("compile: unknown toolchain %q", c.Kind)
		}
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				c.Path = p
				break
			}
		}
		if c.Path == "" {
			return nil, fmt.Errorf("compile: %s not found on PATH", names[0])
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Minute
	}
	if c.MemoryMB <= 0 {
		c.MemoryMB = DefaultMemoryMB
	}
	if c.HIPInclude == "" {
		c.HIPInclude = "/usr/include"
	}
	if c.WorkDir == "" {
		c.WorkDir = os.TempDir()
	}
	if c.Kind == HIPCC && len(c.Archs) == 0 {
		return nil, errors.New("compile: hipcc needs an --offload-arch (verify.archs, or a GPU to detect)")
	}
	ver := exec.CommandContext(ctx, c.Path, "--version")
	ver.Env = sandbox.CompilerEnv(os.TempDir())
	out, err := ver.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("compile: %s --version: %w: %s", c.Path, err, FilterLog(string(out)))
	}
	c.version = versionLine(FilterLog(string(out)))
	if c.Kind == NVCC {
		c.nvInclude = filepath.Join(c.WorkDir, "hip-nvidia-include")
		if err := os.RemoveAll(c.nvInclude); err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
		if err := PrepareNvidiaHeaders(c.HIPInclude, c.nvInclude); err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
	}
	if c.Kind == Host {
		c.hostInclude = filepath.Join(c.WorkDir, "hiprt-include")
		if err := hiprt.WriteHeaders(c.hostInclude); err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
	}
	cc := c
	return &cc, nil
}

func versionLine(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if strings.Contains(strings.ToLower(l), "version") || strings.HasPrefix(l, "Cuda compilation tools") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		keep = append(keep, strings.TrimSpace(strings.SplitN(s, "\n", 2)[0]))
	}
	return strings.Join(keep, "; ")
}

// Version is the toolchain's version line, recorded on verdicts.
func (c *Compiler) Version() string { return c.Kind + ": " + c.version }

// args are the compiler arguments for job with sources in dir, output bin.
func (c *Compiler) args(job Job, dir, bin string) []string {
	var a []string
	switch c.Kind {
	case HIPCC:
		for _, arch := range c.Archs {
			a = append(a, "--offload-arch="+arch)
		}
		a = append(a, "-Rpass-analysis=kernel-resource-usage")
	case NVCC:
		a = append(a, "-x", "cu", "-D__HIP_PLATFORM_NVIDIA__", "-I"+c.nvInclude, "-Xptxas", "-v")
		for _, arch := range c.Archs {
			sm := strings.TrimPrefix(arch, "sm_")
			a = append(a, "-gencode", fmt.Sprintf("arch=compute_%s,code=sm_%s", sm, sm))
		}
	case Host:
		a = append(a, "-x", "c++", "-DKFORGE_HOST=1", "-std=c++17", "-pthread", "-I"+c.hostInclude)
	}
	a = append(a, "-I"+dir)
	for _, d := range job.IncludeDirs {
		a = append(a, "-I"+d)
	}
	flags := job.Flags
	if c.Kind == NVCC {
		// Clang/hipcc-only flags mean nothing to nvcc.
		flags = slices.DeleteFunc(slices.Clone(flags), func(f string) bool {
			return strings.HasPrefix(f, "--offload-arch") || strings.HasPrefix(f, "-Rpass") || f == "-ffast-math" || strings.HasPrefix(f, "-mllvm")
		})
	}
	if c.Kind == Host {
		flags = slices.DeleteFunc(slices.Clone(flags), func(f string) bool {
			return strings.HasPrefix(f, "--offload-arch") || strings.HasPrefix(f, "-Rpass") || strings.HasPrefix(f, "--gpu")
		})
	}
	a = append(a, flags...)
	for _, s := range job.Sources {
		a = append(a, filepath.Join(dir, s))
	}
	a = append(a, job.RepoSources...)
	if c.Kind == Host {
		// Link flags go after the sources.
		a = append(a, "-lm")
	}
	return append(a, "-o", bin)
}

// cached is what the cache holds for one build.
type cached struct {
	Result datasets.CompileResult `json:"result"`
	Binary []byte                 `json:"binary,omitempty"`
}

// maxCachedBinary bounds binaries kept in the cache.
const maxCachedBinary = 256 << 20

// Key is the cache key of job on this compiler.
func (c *Compiler) Key(job Job) pipeline.Key {
	// How the compiler was confined is part of the key: an unconfined
	// result (or one from before the allowlist) could have embedded any
	// file the compiler could read.
	confined := "unconfined"
	if c.Sandbox != nil {
		if ok, _ := c.Sandbox.Confinement(); ok {
			confined = "allowlist"
		}
	}
	runtime := ""
	if c.Kind == Host {
		// Host programs are built with kforge's HIP runtime stand-in.
		runtime = hiprt.Hash()
	}
	return pipeline.NewKey("compile", job.Files, job.Sources, job.RepoSources, job.ConfigHeader, job.Salt, c.version, c.Kind, job.Flags, c.Archs, confined, runtime, c.genKey(job.Generate))
}

// Compile builds job. A program that does not compile is an Output with
// Result.OK false and the log; an error means the build could not be attempted.
func (c *Compiler) Compile(ctx context.Context, job Job) (Output, error) {
	key := c.Key(job)
	v, hit, err := pipeline.Cached(ctx, c.Cache, key, func(ctx context.Context) (cached, error) {
		return c.build(ctx, job)
	})
	if errors.Is(err, pipeline.ErrNotStored) {
		// A right result the cache could not keep (a full disk): use it.
		err = nil
	}
	if err != nil {
		return Output{}, err
	}
	out := Output{Result: v.Result}
	out.Result.Cached = hit
	if !v.Result.OK {
		return out, nil
	}
	if len(v.Binary) == 0 {
		// The binary was too large to cache: build again.
		v, err = c.build(ctx, job)
		if err != nil {
			return Output{}, err
		}
	}
	sum := sha256.Sum256(v.Binary)
	out.BinaryHash = hex.EncodeToString(sum[:])
	out.Binary = filepath.Join(c.WorkDir, "bin", out.BinaryHash[:2], out.BinaryHash)
	if _, err := os.Stat(out.Binary); err != nil {
		if err := pipeline.WriteFileAtomic(out.Binary, v.Binary, 0o755); err != nil {
			return Output{}, fmt.Errorf("compile: store binary: %w", err)
		}
	}
	return out, nil
}

func (c *Compiler) build(ctx context.Context, job Job) (cached, error) {
	dir, err := c.buildDir(job)
	if err != nil {
		return cached{}, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "prog")
	if job.Generate != nil {
		srcs, failed, err := c.generate(ctx, job, dir)
		if err != nil {
			return cached{}, err
		}
		if failed != nil {
			return cached{Result: failed.result}, nil
		}
		job.Sources = append(slices.Clone(job.Sources), srcs...)
	}
	r, err := c.run(ctx, job, dir, c.args(job, dir, bin), nil)
	if err != nil {
		return cached{}, err
	}
	res := r.result
	switch c.Kind {
	case HIPCC:
		res.Kernels = ParseAMDResources(r.text, len(c.Archs) > 1)
	case NVCC:
		res.Kernels = ParseNVCCResources(r.text)
	}
	if r.failed {
		return cached{Result: res}, nil
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		res.Log = Trim(res.Log+"\nno binary produced: "+err.Error(), 8000)
		return cached{Result: res}, nil
	}
	res.OK = true
	v := cached{Result: res, Binary: b}
	if len(b) > maxCachedBinary {
		v.Binary = nil
	}
	return v, nil
}

// buildDir writes job's files into a fresh build directory.
func (c *Compiler) buildDir(job Job) (string, error) {
	if err := os.MkdirAll(c.WorkDir, 0o755); err != nil {
		return "", fmt.Errorf("compile: work dir: %w", err)
	}
	dir, err := os.MkdirTemp(c.WorkDir, "build-")
	if err != nil {
		return "", fmt.Errorf("compile: build dir: %w", err)
	}
	fail := func(err error) (string, error) {
		os.RemoveAll(dir)
		return "", err
	}
	if job.Generate != nil {
		// The generator's own files first; the job's (the spliced region
		// among them) are written over them.
		if err := copyTree(job.Generate, dir); err != nil {
			return fail(err)
		}
	}
	for _, f := range job.Files {
		p, err := safeJoin(dir, f.Path)
		if err != nil {
			return fail(err)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(fmt.Errorf("compile: %w", err))
		}
		if err := os.WriteFile(p, []byte(f.Content), 0o644); err != nil {
			return fail(fmt.Errorf("compile: %w", err))
		}
	}
	if job.ConfigHeader != "" {
		p := filepath.Join(dir, "ck", "config.h")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(fmt.Errorf("compile: %w", err))
		}
		if err := os.WriteFile(p, []byte(job.ConfigHeader), 0o644); err != nil {
			return fail(fmt.Errorf("compile: %w", err))
		}
	}
	for _, s := range job.Sources {
		if _, err := safeJoin(dir, s); err != nil {
			return fail(err)
		}
	}
	return dir, nil
}

// ran is one finished compiler process.
type ran struct {
	result datasets.CompileResult // Seconds and Log filled
	text   string                 // the whole filtered log
	failed bool                   // the compiler exited non-zero
}

// run runs the compiler with args in dir, confined when a sandbox is set.
// stdout, when not nil, receives the compiler's standard output apart from
// its log. An error means the compiler could not be run or its outcome was
// the machine's (see machineFault; not the source's fault, never to be
// cached): it wraps pipeline.ErrMachine.
func (c *Compiler) run(ctx context.Context, job Job, dir string, args []string, stdout io.Writer) (ran, error) {
	// The toolchain's whole tree (bin/.. holds its libraries and headers;
	// not bound when that is / or the home), the include directories and
	// the extra sources. No network, ever.
	readable := append([]string{filepath.Dir(filepath.Dir(c.Path)), c.HIPInclude, c.nvInclude, c.hostInclude}, job.IncludeDirs...)
	r, err := c.execConfined(ctx, job, dir, c.Path, args, append(readable, job.RepoSources...), stdout, "", FilterLog)
	if err != nil {
		return r, err
	}
	r.result.Log = Trim(dropRemarks(r.text), 8000)
	return r, nil
}

// execConfined runs prog with args in dir, confined when a sandbox is set
// (only readable and dir visible, no network), with a minimal environment
// (toolchain variables, HOME and TMPDIR in dir: a source's #pragma or
// .incbin, a compiler plugin or a message must have no token to reveal).
// stdout, when not nil, receives the program's standard output apart from
// its log; filter cleans the log. An error means prog could not be run or
// its outcome was the machine's (a timeout, a sandbox that did not start,
// see machineFault): not the input's fault, never to be cached; it wraps
// pipeline.ErrMachine. what names the step in messages ("" for the compiler).
func (c *Compiler) execConfined(ctx context.Context, job Job, dir, prog string, args, readable []string, stdout io.Writer, what string, filter func(string) string) (ran, error) {
	cctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, prog, args...)
	cmd.Dir = dir
	cmd.Env = sandbox.CompilerEnv(dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var status *sandbox.Status
	if c.Sandbox != nil {
		status = c.Sandbox.Confine(cmd, dir, readable, nil, c.MemoryMB)
	}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if stdout != nil {
		cmd.Stdout = stdout
	}
	prefix, label := "", "" // "generate timed out …", "generate: out of memory"
	if what != "" {
		prefix, label = what+" ", what+": "
	}
	start := time.Now()
	runErr := cmd.Run()
	started := status == nil || status.Ran()
	r := ran{result: datasets.CompileResult{Seconds: time.Since(start).Seconds()}}
	r.text = strings.ReplaceAll(filter(log.String()), dir+"/", "")
	if ctx.Err() != nil {
		return r, fmt.Errorf("compile: %w", ctx.Err())
	}
	if cctx.Err() != nil {
		// How long a compile takes depends on the machine (its load, its
		// memory): a timeout is not the source's result.
		return r, fmt.Errorf("compile: %w: %stimed out after %s: %s", pipeline.ErrMachine, prefix, c.Timeout, firstLinesOf(r.text, 3))
	}
	var ee *exec.ExitError
	if runErr != nil && !errors.As(runErr, &ee) {
		return r, fmt.Errorf("compile: %w: run %s: %v", pipeline.ErrMachine, prog, runErr)
	}
	if !started {
		// Not the source's fault, and not to be cached as its result.
		return r, fmt.Errorf("compile: %w: confining %s failed: %s", pipeline.ErrMachine, prog, strings.TrimSpace(log.String()))
	}
	if ee != nil {
		if why := machineFault(ee, r.text, job); why != "" {
			return r, fmt.Errorf("compile: %w: %s%s", pipeline.ErrMachine, label, why)
		}
	}
	r.failed = runErr != nil
	return r, nil
}

// safeJoin joins a task-relative path to dir, refusing paths that leave it.
func safeJoin(dir, rel string) (string, error) {
	if rel == "" || filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("compile: file path %q leaves the build directory", rel)
	}
	return filepath.Join(dir, rel), nil
}

// dropRemarks removes the resource-usage remarks (already parsed), the
// source excerpt and caret clang prints under a remark, and ptxas info lines.
func dropRemarks(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.Contains(l, "[-Rpass-analysis=kernel-resource-usage]") {
			if i+2 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+2]), "^") && !strings.Contains(lines[i+1], ": remark:") {
				i += 2
			}
			continue
		}
		if strings.HasPrefix(l, "ptxas info") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// FilterLog removes the Python traceback that hipcc prints on machines
// without an AMD GPU (rocm_agent_enumerator cannot read /sys/class/kfd).
func FilterLog(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "Traceback (most recent call last):") {
			j := i + 1
			for j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")) {
				j++
			}
			block := strings.Join(lines[i:min(j+1, len(lines))], "\n")
			if strings.Contains(block, "rocm_agent_enumerator") {
				i = j // skip through the exception line
				continue
			}
		}
		out = append(out, lines[i])
	}
	return strings.Join(out, "\n")
}

// Trim keeps the head and tail of a long log.
func Trim(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	h := max * 2 / 3
	return s[:h] + "\n[... " + fmt.Sprint(len(s)-max) + " bytes cut ...]\n" + s[len(s)-(max-h):]
}

// machineSigns are compiler-log phrases of outcomes that depend on the
// machine, not on the source: a full disk or quota, memory exhausted (the
// machine's, or the address-space limit the sandbox sets), a child of the
// driver killed (the OOM killer).
var machineSigns = []string{
	"no space left on device",
	"disk quota exceeded",
	"cannot allocate memory",
	"out of memory",
	"virtual memory exhausted",
	"std::bad_alloc",
	"killed signal terminated program",  // gcc: cc1plus got SIGKILL
	"unable to execute command: killed", // clang
}

// machineFault says why a failed compile's outcome was the machine's, or
// "" when it was the source's: the driver itself killed by a signal (the
// OOM killer, an operator; directly, or as 128+signal through bwrap or a
// wrapper script), a tool not found or not executable (126, 127), or a
// machine sign in the log. A phrase that the job's own files contain does
// not count: a candidate could print it through a diagnostic
// (static_assert) to make its failure look like the machine's.
func machineFault(ee *exec.ExitError, log string, job Job) string {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("the compiler was killed by %s", ws.Signal())
	}
	switch code := ee.ExitCode(); code {
	case 128 + int(syscall.SIGKILL), 128 + int(syscall.SIGSEGV), 128 + int(syscall.SIGBUS), 128 + int(syscall.SIGTERM):
		return fmt.Sprintf("the compiler was killed by %s (exit %d)", syscall.Signal(code-128), code)
	case 126, 127:
		return fmt.Sprintf("a tool of the compiler could not be run (exit %d): %s", code, firstLinesOf(log, 3))
	}
	low := strings.ToLower(log)
	var own strings.Builder
	for _, f := range job.Files {
		own.WriteString(strings.ToLower(f.Content))
		own.WriteByte(0)
	}
	own.WriteString(strings.ToLower(job.ConfigHeader))
	for _, sign := range machineSigns {
		if strings.Contains(low, sign) && !strings.Contains(own.String(), sign) {
			return fmt.Sprintf("the compiler log says %q: %s", sign, lineContaining(log, sign))
		}
	}
	return ""
}

func lineContaining(s, lowSub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(l), lowSub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func firstLinesOf(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[:n]
	}
	return strings.Join(ls, " | ")
}
