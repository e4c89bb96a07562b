// Package dryrun is kforge's dry-run HIP runtime: a stand-in for the HIP
// runtime library (libamdhip64.so.5) that lets a program built by the real
// hipcc run its host side on a machine with no GPU.
//
// Device memory is host memory (hipMalloc is an aligned malloc, hipMemcpy a
// memmove), kernels are never run (a launch is recorded and succeeds),
// device properties are the target architecture's, and events and streams
// do nothing. A program run with LD_LIBRARY_PATH naming the directory Build
// returns loads the stand-in instead of the real library (hipcc links
// libamdhip64.so.5 by soname, with no run path), so every check its host
// side makes (problem sizes it refuses, the device's architecture, its
// arguments) shows, and so does which kernels main launches. Its own result
// check fails, since no kernel ran: a dry run judges only "accepted by the
// host side and launched the region's kernels", never correctness.
package dryrun

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed src/runtime.cpp
var source []byte

//go:embed src/libamdhip64.map
var versionScript []byte

// Environment of a dry run.
const (
	// EnvChannel names the file the stand-in appends its records to.
	EnvChannel = "KFORGE_DRYRUN_CHANNEL"
	// EnvArch is the target the stand-in's device claims to be (gfx90a).
	EnvArch = "KFORGE_DRYRUN_ARCH"
	// EnvStop lists kernels (comma-separated names, "*" for any) whose
	// first launch ends the run with exit 0.
	EnvStop = "KFORGE_DRYRUN_STOP"
	// LibName is the file name (and soname) of the stand-in.
	LibName = "libamdhip64.so.5"
	// MaxDeviceMB is the most device memory any of the stand-in's targets
	// claims (gfx941/gfx942: 192 GiB). Device memory is mappings nothing
	// touches, so it costs no host memory, but it takes address space: a
	// dry run's address-space limit leaves this much room above the host's.
	MaxDeviceMB = 192 << 10
)

// Hash identifies the stand-in's source (for cache keys).
func Hash() string {
	h := sha256.New()
	h.Write(source)
	h.Write(versionScript)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Build compiles the stand-in with the C++ compiler cxx (g++; "" looks one
// up) against the HIP headers under hipInclude (the directory holding hip/)
// into dir/<Hash>/, and returns that directory: the LD_LIBRARY_PATH of a
// dry run. A build already there is reused.
func Build(ctx context.Context, cxx, hipInclude, dir string) (string, error) {
	out := filepath.Join(dir, Hash())
	lib := filepath.Join(out, LibName)
	if _, err := os.Stat(lib); err == nil {
		return out, nil
	}
	if cxx == "" {
		for _, n := range []string{"g++", "c++", "clang++"} {
			if p, err := exec.LookPath(n); err == nil {
				cxx = p
				break
			}
		}
		if cxx == "" {
			return "", fmt.Errorf("dryrun: no C++ compiler (g++) to build the dry-run HIP runtime")
		}
	}
	if _, err := os.Stat(filepath.Join(hipInclude, "hip", "hip_runtime_api.h")); err != nil {
		return "", fmt.Errorf("dryrun: HIP headers not found under %s (install libamdhip64-dev or set KFORGE_HIP_INCLUDE)", hipInclude)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("dryrun: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("dryrun: %w", err)
	}
	defer os.RemoveAll(tmp)
	src, vs := filepath.Join(tmp, "runtime.cpp"), filepath.Join(tmp, "libamdhip64.map")
	if err := os.WriteFile(src, source, 0o644); err != nil {
		return "", fmt.Errorf("dryrun: %w", err)
	}
	if err := os.WriteFile(vs, versionScript, 0o644); err != nil {
		return "", fmt.Errorf("dryrun: %w", err)
	}
	args := []string{"-std=c++17", "-O1", "-shared", "-fPIC", "-D__HIP_PLATFORM_AMD__=1", "-I" + hipInclude, src,
		"-Wl,--version-script=" + vs, "-Wl,-soname," + LibName, "-o", filepath.Join(tmp, LibName)}
	if b, err := exec.CommandContext(ctx, cxx, args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("dryrun: building the dry-run HIP runtime with %s: %v: %s", cxx, err, strings.TrimSpace(string(b)))
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("dryrun: %w", err)
	}
	// Another process may have finished the same build first: either is fine.
	if err := os.Rename(tmp, out); err != nil {
		if _, serr := os.Stat(lib); serr != nil {
			return "", fmt.Errorf("dryrun: %w", err)
		}
	}
	return out, nil
}

// Env is the environment of a dry run of a program: the stand-in first on
// the library path, the target arch, the channel file, and the kernels whose
// first launch ends the run (none: the run goes to its end).
func Env(libDir, arch, channel string, stop []string) map[string]string {
	env := map[string]string{"LD_LIBRARY_PATH": libDir, EnvChannel: channel, EnvArch: arch}
	if len(stop) > 0 {
		env[EnvStop] = strings.Join(stop, ",")
	}
	return env
}

// Kernel is a kernel as the program registered or launched it.
type Kernel struct {
	Mangled string `json:"mangled"`
	Name    string `json:"name"` // demangled
}

// Base is the kernel's own name: the demangled name without its return
// type, scope, template arguments and parameters ("saxpy_kernel").
func (k Kernel) Base() string { return BaseName(k.Name) }

// Report is what a dry run recorded.
type Report struct {
	Registered []Kernel
	// Launched are the kernels launched, each once, in order of first launch.
	Launched []Kernel
	// Launches counts every launch.
	Launches int
	// Stopped is the kernel whose launch ended the run (EnvStop), if any.
	Stopped string
	// Unsupported are the APIs the stand-in only pretended to serve.
	Unsupported []string
}

// Parse reads a channel file's text.
func Parse(b []byte) Report {
	var r Report
	seen := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		kind, rest, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		mangled, name, _ := strings.Cut(rest, "\t")
		if name == "" {
			name = mangled
		}
		switch kind {
		case "register":
			r.Registered = append(r.Registered, Kernel{mangled, name})
		case "launch":
			r.Launches++
			if !seen[mangled] {
				seen[mangled] = true
				r.Launched = append(r.Launched, Kernel{mangled, name})
			}
		case "stop":
			r.Stopped = mangled
		case "unsupported":
			r.Unsupported = append(r.Unsupported, mangled)
		}
	}
	return r
}

// BaseName is a demangled function name's own name:
// "void ns::k<float>(float*, int)" gives "k".
func BaseName(demangled string) string {
	s := demangled
	// Cut the parameter list: the first '(' outside template brackets.
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			depth++
		case '>':
			depth--
		case '(':
			if depth == 0 {
				s = s[:i]
				i = len(s)
			}
		}
	}
	s = strings.TrimSpace(s)
	// Drop trailing template arguments.
	for strings.HasSuffix(s, ">") {
		depth, cut := 0, -1
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] == '>' {
				depth++
			} else if s[i] == '<' {
				depth--
				if depth == 0 {
					cut = i
					break
				}
			}
		}
		if cut < 0 {
			break
		}
		s = strings.TrimSpace(s[:cut])
	}
	if i := strings.LastIndexAny(s, " :*&"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// MissingSymbol returns the HIP function a program called that the stand-in
// lacks, from the loader's message on stderr ("symbol lookup error: …:
// undefined symbol: hipFoo"), if any.
func MissingSymbol(stderr string) string {
	const marker = "undefined symbol: "
	i := strings.Index(stderr, marker)
	if i < 0 || !strings.Contains(stderr, "symbol lookup error") {
		return ""
	}
	s := stderr[i+len(marker):]
	if j := strings.IndexAny(s, " \n,"); j >= 0 {
		s = s[:j]
	}
	return s
}
