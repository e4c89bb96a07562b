package repos

import (
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"kforge/datasets"
)

// ckBuiltinNeeds are compiler builtins CK headers call outside any arch
// guard that older HIP compilers do not know, with the HIP version that
// first has them. Debian's HIP 5.2 (clang 15) lacks both; AMD's clang 16
// (ROCm 5.5) is the first kforge knows to have them.
var ckBuiltinNeeds = []struct{ builtin, minHIP string }{
	{"__builtin_amdgcn_sched_group_barrier", "5.5"},
	{"__builtin_amdgcn_iglp_opt", "5.5"},
}

var defineRe = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*define[ \t]+(\w+)`)

var anyIncludeRe = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*[<"]([^>"\n]+)[>"]`)

// headerInfo is what the needs scan keeps of one header.
type headerInfo struct {
	includes []string // resolved paths in the tree
	builtins []string // entries of ckBuiltinNeeds it calls
	defines  []string // macros it #defines, under any condition
}

// headerScan memoises headerInfo per tree path; it is shared by the
// programs of one tree.
type headerScan struct {
	mu sync.Mutex
	m  map[string]headerInfo
}

func (d *declIndex) header(t *tree, p string) headerInfo {
	d.scan.mu.Lock()
	defer d.scan.mu.Unlock()
	if d.scan.m == nil {
		d.scan.m = map[string]headerInfo{}
	}
	if h, ok := d.scan.m[p]; ok {
		return h
	}
	var h headerInfo
	if b, _, err := t.read(p); err == nil {
		h = scanHeader(t, p, b)
	}
	d.scan.m[p] = h
	return h
}

func scanHeader(t *tree, p string, b []byte) headerInfo {
	var h headerInfo
	code := blank(b)
	for _, m := range anyIncludeRe.FindAllSubmatchIndex(b, -1) {
		if strings.TrimSpace(string(code[m[0]:m[1]])) == "" {
			continue // inside a comment
		}
		inc := string(b[m[2]:m[3]])
		for _, q := range []string{path.Join(path.Dir(p), inc), path.Join("include", inc), path.Join("library/include", inc)} {
			if _, ok := t.entries[q]; ok {
				h.includes = append(h.includes, q)
				break
			}
		}
	}
	for _, m := range defineRe.FindAllSubmatch(code, -1) {
		h.defines = append(h.defines, string(m[1]))
	}
	// A builtin under #if may be compiled out (CK guards experimental ones
	// by config macros); only unconditional calls count.
	cond := condSpans(code)
	for _, bn := range ckBuiltinNeeds {
		for at, off := 0, 0; ; at += off + len(bn.builtin) {
			off = strings.Index(string(code[at:]), bn.builtin)
			if off < 0 {
				break
			}
			if !inSpans(cond, at+off) {
				h.builtins = append(h.builtins, bn.builtin)
				break
			}
		}
	}
	return h
}

var (
	cmakeIfRe      = regexp.MustCompile(`(?s)\bif\s*\(\s*(\w+)\s*\)(.*?)\bendif\s*\(`)
	cmakeDefsRe    = regexp.MustCompile(`\badd_compile_definitions\s*\(([^)]*)\)`)
	cmakeOptionsRe = regexp.MustCompile(`\badd_compile_options\s*\(([^)]*)\)`)
)

// ckNeeds is what a classic example needs from the toolchain: the defines
// of a CMake option its example CMakeLists.txt builds it under (the root
// CMakeLists.txt says what the option defines), and the HIP version of the
// newest builtin any header it includes calls.
//
// defined lists the macros any file of the program or header of its
// include closure #defines (under any condition): a build option's macro
// among them is not known to be off.
func ckNeeds(v *view, p string, pr *program, decls *declIndex) (needs *datasets.Needs, defined map[string]bool) {
	defined = map[string]bool{}
	n := &datasets.Needs{}
	var reasons []string
	if cm, err := v.read(path.Join(path.Dir(p), "CMakeLists.txt")); err == nil {
		root, _ := v.read("CMakeLists.txt")
		for _, m := range cmakeIfRe.FindAllSubmatch(blankCMake(cm), -1) {
			if !regexp.MustCompile(`(^|[\s/])` + regexp.QuoteMeta(path.Base(p)) + `\b`).Match(m[2]) {
				continue
			}
			opt := string(m[1])
			for _, r := range cmakeIfRe.FindAllSubmatch(blankCMake(root), -1) {
				if string(r[1]) != opt {
					continue
				}
				for _, d := range cmakeDefsRe.FindAllSubmatch(r[2], -1) {
					n.Defines = append(n.Defines, strings.Fields(string(d[1]))...)
				}
				for _, o := range cmakeOptionsRe.FindAllSubmatch(r[2], -1) {
					for _, f := range strings.Fields(string(o[1])) {
						if strings.HasPrefix(f, "-W") || strings.HasPrefix(f, "-f") {
							n.Flags = append(n.Flags, f)
						}
					}
				}
			}
			if len(n.Defines) > 0 {
				reasons = append(reasons, path.Join(path.Dir(p), "CMakeLists.txt")+" builds it only with "+opt+" (which defines "+strings.Join(n.Defines, ", ")+")")
			}
		}
	}
	// The include closure, through the repository's include directories.
	seen := map[string]bool{}
	var queue []string
	for _, f := range pr.order {
		seen[f] = true
		h := scanHeader(v.t, f, pr.raw[f])
		queue = append(queue, h.includes...)
		for _, d := range h.defines {
			defined[d] = true
		}
	}
	found := map[string]bool{}
	for len(queue) > 0 {
		h := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[h] {
			continue
		}
		seen[h] = true
		v.blob(h)
		info := decls.header(v.t, h)
		for _, b := range info.builtins {
			found[b] = true
		}
		for _, d := range info.defines {
			defined[d] = true
		}
		queue = append(queue, info.includes...)
	}
	for _, bn := range ckBuiltinNeeds {
		if found[bn.builtin] {
			if n.MinHIP == "" || datasets.CompareVersions(bn.minHIP, n.MinHIP) > 0 {
				n.MinHIP = bn.minHIP
			}
			reasons = append(reasons, "its headers call "+bn.builtin)
		}
	}
	if n.MinHIP == "" && len(n.Defines) == 0 {
		return nil, defined
	}
	sort.Strings(n.Defines)
	n.Reason = strings.Join(reasons, "; ")
	return n, defined
}

// blankCMake drops CMake comments.
// ckBuildMacros lists the macros the root CMakeLists.txt defines only
// under an option (if(OPT) add_compile_definitions(M) endif()): a build
// that does not ask for the option leaves them undefined, so a #ifdef on
// one of them is known to be off unless the task's needs define it.
func ckBuildMacros(v *view) map[string]bool {
	root, err := v.read("CMakeLists.txt")
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, r := range cmakeIfRe.FindAllSubmatch(blankCMake(root), -1) {
		for _, d := range cmakeDefsRe.FindAllSubmatch(r[2], -1) {
			for _, f := range strings.Fields(string(d[1])) {
				name, _, _ := strings.Cut(f, "=")
				out[name] = true
			}
		}
	}
	return out
}

func blankCMake(b []byte) []byte {
	return regexp.MustCompile(`(?m)#.*$`).ReplaceAll(b, nil)
}
