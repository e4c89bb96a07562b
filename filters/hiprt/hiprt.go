// Package hiprt is kforge's part of the HIP runtime in the programs it
// judges: the judge, not the candidate, decides what memory a kernel starts
// from and how long its launches took.
//
//   - For host-built programs (the host-test backend) it is a stand-in for
//     <hip/hip_runtime.h> (include/hip/hip_runtime.h), written by
//     WriteHeaders to a directory that the Host compile puts first on the
//     include path.
//   - For ROCm programs it is an LD_PRELOAD interposer (rocm/interposer.cpp),
//     built by BuildInterposer, that wraps libamdhip64's hipMalloc,
//     __hipRegisterFunction and hipLaunchKernel.
//
// Both poison every hipMalloc allocation (0xFF bytes, NaN as floats), time
// each launch and report it on kforge's channel, and, in scrub mode
// (EnvScrub=1), poison again before each launch the allocations that the
// kernel's non-const pointer arguments point into. The host stand-in also
// checks that launches are deterministic in scrub mode. A region holds only
// device code (filters/gate), so it reaches none of this; the program's own
// output never reaches the channel.
package hiprt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Environment variables and exit code shared with the C++ side.
const (
	// EnvChannel names the file the runtime appends its report to.
	EnvChannel = "KFORGE_CHANNEL"
	// EnvScrub=1 turns scrub mode on.
	EnvScrub = "KFORGE_SCRUB"
	// EnvKernels lists, for the interposer, the region's kernels and the
	// indices of their non-const pointer arguments: "k1=1,2;k2=0".
	EnvKernels = "KFORGE_KERNELS"
	// ExitNondeterministic is the exit code of a run stopped because two
	// launches with the same inputs left different results.
	ExitNondeterministic = 86
)

//go:embed include
var headers embed.FS

//go:embed rocm/interposer.cpp
var interposer []byte

// Hash identifies the stand-in headers and the interposer source (for
// cache keys: a binary built with them depends on them).
func Hash() string {
	h := sha256.New()
	_ = fs.WalkDir(headers, "include", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := headers.ReadFile(p)
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	h.Write(interposer)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// WriteHeaders writes the stand-in's include tree under dir (dir/hip/…),
// replacing what was there.
func WriteHeaders(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("hiprt: %w", err)
	}
	return fs.WalkDir(headers, "include", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("include", p)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := headers.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// Report is what a run's runtime wrote on the channel.
type Report struct {
	// Launches are each kernel's launch times in milliseconds, in order.
	Launches map[string][]float64
	// Failures are the runtime's failure lines ("nondeterministic …"), rule first.
	Failures []string
}

// Failed returns the rule and detail of the first failure, if any.
func (r Report) Failed() (rule, detail string, ok bool) {
	if len(r.Failures) == 0 {
		return "", "", false
	}
	rule, detail, _ = strings.Cut(r.Failures[0], " ")
	return rule, detail, true
}

// ParseReport reads a channel's text: "<kernel> <ms>" per launch and
// "!<rule> <detail>" per failure; anything else is ignored.
func ParseReport(b []byte) Report {
	r := Report{Launches: map[string][]float64{}}
	for _, l := range bytes.Split(b, []byte("\n")) {
		s := strings.TrimSpace(string(l))
		if f, ok := strings.CutPrefix(s, "!"); ok {
			r.Failures = append(r.Failures, f)
			continue
		}
		name, v, ok := strings.Cut(s, " ")
		if !ok {
			continue
		}
		ms, err := strconv.ParseFloat(v, 64)
		if err != nil || ms < 0 {
			continue
		}
		r.Launches[name] = append(r.Launches[name], ms)
	}
	return r
}

// ScrubKernels is EnvKernels's value for the kernels of signatures (as in
// a task's Region.Signatures): each kernel's name and the indices of its
// pointer parameters whose pointee is not const.
func ScrubKernels(signatures []string) string {
	var parts []string
	for _, s := range signatures {
		name, outs, ok := OutputParams(s)
		if !ok {
			continue
		}
		idx := make([]string, len(outs))
		for i, o := range outs {
			idx[i] = strconv.Itoa(o)
		}
		parts = append(parts, name+"="+strings.Join(idx, ","))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// OutputParams parses a kernel signature ("__global__ void k(const float* x,
// float* y, int n)") into its name and the indices of its pointer
// parameters whose pointee is not const.
func OutputParams(sig string) (name string, outs []int, ok bool) {
	// The parameter list is the last parenthesised group (a
	// __launch_bounds__(…) may come before the name).
	close := strings.LastIndex(sig, ")")
	open, depth := -1, 0
	for i := close; i >= 0; i-- {
		switch sig[i] {
		case ')':
			depth++
		case '(':
			depth--
		}
		if depth == 0 {
			open = i
			break
		}
	}
	if close < 0 || open < 0 {
		return "", nil, false
	}
	head := strings.Fields(strings.NewReplacer("*", " ", "&", " ").Replace(sig[:open]))
	if len(head) == 0 {
		return "", nil, false
	}
	name = head[len(head)-1]
	if i := strings.LastIndex(name, "::"); i >= 0 {
		name = name[i+2:]
	}
	params := splitTop(sig[open+1 : close])
	for i, p := range params {
		star := strings.LastIndex(p, "*")
		if star < 0 {
			continue
		}
		// The pointee is const when "const" qualifies it: anywhere before
		// the last '*' (const float*, float const*), not after it (float* const).
		if !hasWord(p[:star], "const") {
			outs = append(outs, i)
		}
	}
	return name, outs, true
}

func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<', '(', '[':
			depth++
		case '>', ')', ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if t := strings.TrimSpace(s[start:]); t != "" && t != "void" {
		out = append(out, t)
	}
	return out
}

func hasWord(s, w string) bool {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		if f == w {
			return true
		}
	}
	return false
}

// InterposerName is the file name of the built interposer.
const InterposerName = "libkforge_hiprt.so"

// BuildInterposer builds the ROCm interposer (rocm/interposer.cpp) with the
// C++ compiler cxx (g++, clang++ or hipcc) against the HIP headers under
// hipInclude (the directory holding hip/), into dir, and returns the
// library's path. It is linked with libamdhip64 where the linker finds it,
// else its HIP symbols are resolved in the program it is preloaded into.
//
// The interposer is untested on a GPU: see rocm/interposer.cpp.
func BuildInterposer(ctx context.Context, cxx, hipInclude, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("hiprt: %w", err)
	}
	src := filepath.Join(dir, "interposer.cpp")
	if err := os.WriteFile(src, interposer, 0o644); err != nil {
		return "", fmt.Errorf("hiprt: %w", err)
	}
	lib := filepath.Join(dir, InterposerName)
	base := []string{"-std=c++17", "-O2", "-shared", "-fPIC", "-D__HIP_PLATFORM_AMD__=1", "-I" + hipInclude, src, "-o", lib, "-ldl"}
	var errs []string
	for _, extra := range [][]string{{"-lamdhip64"}, nil} {
		out, err := exec.CommandContext(ctx, cxx, append(base, extra...)...).CombinedOutput()
		if err == nil {
			return lib, nil
		}
		errs = append(errs, fmt.Sprintf("%v: %s", err, strings.TrimSpace(string(out))))
	}
	return "", fmt.Errorf("hiprt: building the interposer with %s: %s", cxx, strings.Join(errs, "; "))
}
