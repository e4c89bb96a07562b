package repos

import (
	"path"
	"regexp"
	"strings"

	"kforge/datasets"
)

// The build and run recipe of a classic CK example task.

// ckBuild is the recipe of one classic example: the source, the include
// dirs, a generated ck/config.h and the utility sources it links: every
// example's, and the convolution parameters' where a conv op or one of the
// program's own files includes them (im2col and col2im do, without a conv
// op).
func ckBuild(v *view, p, op string, pr *program) datasets.BuildRecipe {
	b := datasets.BuildRecipe{Sources: []string{p}, Flags: []string{"-O3", "-std=c++17"}, NeedsCheckout: true}
	for _, d := range []string{"include", "library/include"} {
		if v.hasDir(d) {
			b.IncludeDirs = append(b.IncludeDirs, d)
		}
	}
	utils := []string{"library/src/utility/device_memory.cpp", "library/src/utility/host_tensor.cpp"}
	usesConv := strings.Contains(op, "conv")
	for _, f := range pr.files {
		usesConv = usesConv || strings.Contains(f.Content, "ck/library/utility/convolution_parameter.hpp")
	}
	if usesConv {
		utils = append(utils, "library/src/utility/convolution_parameter.cpp")
	}
	for _, u := range utils {
		if v.exists(u) {
			b.RepoSources = append(b.RepoSources, u)
		}
	}
	if in, err := v.read("include/ck/config.h.in"); err == nil {
		b.ConfigHeader = ckConfigHeader(in)
	}
	return b
}

var (
	cmakeDefineRe   = regexp.MustCompile(`(?m)^#cmakedefine\s+(\w+)(?:[ \t]+([^\n]*))?$`)
	cmakeDefine01Re = regexp.MustCompile(`(?m)^#cmakedefine01\s+(\w+)[ \t]*$`)
	cmakeVarRe      = regexp.MustCompile(`@\w+@|\$\{\w+\}`)
)

// ckConfigHeader renders ck/config.h from config.h.in the way a default
// CMake configure for gfx90a would: every data type on, XDL on.
func ckConfigHeader(in []byte) string {
	on := func(name string) bool {
		return strings.HasPrefix(name, "CK_ENABLE_") || name == "CK_USE_XDL" || name == "CK_USE_FNUZ_FP8"
	}
	s := cmakeDefine01Re.ReplaceAllStringFunc(string(in), func(line string) string {
		name := cmakeDefine01Re.FindStringSubmatch(line)[1]
		if on(name) {
			return "#define " + name + " 1"
		}
		return "#define " + name + " 0"
	})
	s = cmakeDefineRe.ReplaceAllStringFunc(s, func(line string) string {
		name := cmakeDefineRe.FindStringSubmatch(line)[1]
		if on(name) {
			return "#define " + name + " ON"
		}
		return "/* #undef " + name + " */"
	})
	return cmakeVarRe.ReplaceAllString(s, "")
}

// ckTolerance is the tolerance the classic examples use for a dtype (informative).
func ckTolerance(dtypes []string) *datasets.Tolerance {
	tol := 1e-3
	for _, d := range dtypes {
		switch d {
		case "bf16":
			tol = max(tol, 5e-2)
		case "int8":
			tol = max(tol, 1e-1)
		case "fp8", "bf8":
			tol = max(tol, 2e-1)
		}
	}
	return &datasets.Tolerance{RTol: tol, ATol: tol}
}

// hasDir reports whether any file lies under dir.
func (t *tree) hasDir(dir string) bool {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	lo, hi := 0, len(t.paths)
	for lo < hi {
		mid := (lo + hi) / 2
		if t.paths[mid] < prefix {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < len(t.paths) && strings.HasPrefix(t.paths[lo], prefix)
}

// archsFor keeps the archs that can run an example's backend, named by its
// file: _xdl (MFMA) needs gfx9 CDNA, _wmma needs gfx11/gfx12; others run anywhere.
func archsFor(p string, archs []string) ([]string, string) {
	base := "_" + strings.TrimSuffix(path.Base(p), ".cpp") + "_"
	var prefixes []string
	backend := ""
	switch {
	case strings.Contains(base, "_xdl_"):
		backend, prefixes = "XDL", []string{"gfx908", "gfx90a", "gfx94", "gfx95"}
	case strings.Contains(base, "_wmma_"):
		backend, prefixes = "WMMA", []string{"gfx11", "gfx12"}
	default:
		return archs, ""
	}
	var out []string
	for _, a := range archs {
		for _, pre := range prefixes {
			if strings.HasPrefix(a, pre) {
				out = append(out, a)
				break
			}
		}
	}
	return out, backend
}
