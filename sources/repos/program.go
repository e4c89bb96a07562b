package repos

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	"kforge/datasets"
)

// programResult is what mining one program yields: its tasks and the
// reasons anything in it was skipped. It is cached per program.
type programResult struct {
	Tasks []datasets.Task `json:"tasks"`
	Skips []string        `json:"skips,omitempty"`
	// SkipWhere[i], when present, names what Skips[i] skipped inside the
	// program (an instance alias); miners that do not say leave it short.
	SkipWhere []string          `json:"skip_where,omitempty"`
	Deps      map[string]string `json:"deps"` // path -> blob ("" absent) of everything read
}

// skipAt records a skip of what (an alias, "" for the whole program).
func (r *programResult) skipAt(what, reason string) {
	for len(r.SkipWhere) < len(r.Skips) {
		r.SkipWhere = append(r.SkipWhere, "")
	}
	r.Skips = append(r.Skips, reason)
	r.SkipWhere = append(r.SkipWhere, what)
}

// program is a main source file and the local files it includes.
type program struct {
	main  string
	files []datasets.File
	raw   map[string][]byte // path -> content
	code  map[string][]byte // path -> blanked content
	order []string
}

// loadProgram reads path and, transitively, the quoted includes that resolve
// to files of the tree for which local(p) is true. Includes that resolve
// elsewhere are left to the include path.
func loadProgram(v *view, main string, local func(string) bool) (*program, error) {
	pr := &program{main: main, raw: map[string][]byte{}, code: map[string][]byte{}}
	queue := []string{main}
	for len(queue) > 0 && len(pr.order) < 32 {
		p := queue[0]
		queue = queue[1:]
		if _, seen := pr.raw[p]; seen {
			continue
		}
		b, err := v.read(p)
		if err != nil {
			if p == main {
				return nil, err
			}
			return nil, fmt.Errorf("include %s: %w", p, err)
		}
		pr.raw[p] = b
		pr.code[p] = blank(b)
		pr.order = append(pr.order, p)
		pr.files = append(pr.files, datasets.File{Path: p, Content: string(b)})
		for _, inc := range quotedIncludes(b) {
			q := path.Clean(path.Join(path.Dir(p), inc))
			if strings.HasPrefix(q, "../") || !local(q) {
				continue
			}
			if v.exists(q) {
				queue = append(queue, q)
			}
		}
	}
	return pr, nil
}

// all returns every file's blanked code joined, for whole-program searches.
func (pr *program) all() string {
	var sb strings.Builder
	for _, p := range pr.order {
		sb.Write(pr.code[p])
		sb.WriteByte('\n')
	}
	return sb.String()
}

// allWithout is all with the spans dead(file, code) returns blanked
// (newlines kept), e.g. preprocessor branches that are not compiled.
func (pr *program) allWithout(dead func(f string, code []byte) [][2]int) string {
	var sb strings.Builder
	for _, p := range pr.order {
		code := pr.code[p]
		if spans := dead(p, code); len(spans) > 0 {
			code = bytes.Clone(code)
			for _, s := range spans {
				for i := s[0]; i < s[1]; i++ {
					if code[i] != '\n' {
						code[i] = ' '
					}
				}
			}
		}
		sb.Write(code)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// allRaw returns every file's raw text joined.
func (pr *program) allRaw() string {
	var sb strings.Builder
	for _, p := range pr.order {
		sb.Write(pr.raw[p])
		sb.WriteByte('\n')
	}
	return sb.String()
}

var mainRe = regexp.MustCompile(`\bint\s+main\s*\(`)

// hasMain reports whether any file of the program defines main.
func (pr *program) hasMain() bool { return mainRe.MatchString(pr.all()) }

// finish fills the provenance and the id of a task whose region is set.
func finish(v *view, t *datasets.Task, archs []string) {
	src := []byte(fileContent(t, t.Region.File))
	t.Source.Repo = v.t.repo
	t.Source.Commit = v.t.commit
	t.Source.Subdir = v.t.subdir
	t.Source.Path = t.Region.File
	t.Source.Blob = v.blob(t.Region.File)
	end := t.Region.End
	if end > t.Region.Start {
		end--
	}
	t.Source.Lines = [2]int{lineAt(src, t.Region.Start), lineAt(src, end)}
	t.Source.License, t.Source.Copyright = v.licenseFor(t.Region.File, src)
	t.Archs = append([]string(nil), archs...)
	t.ID = datasets.TaskID(t)
}

func fileContent(t *datasets.Task, p string) string {
	for _, f := range t.Files {
		if f.Path == p {
			return f.Content
		}
	}
	return ""
}

// canonicalDtype maps C++ and CK type names to canonical dtype names.
func canonicalDtype(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "::"); i >= 0 {
		s = s[i+2:]
	}
	switch strings.ToLower(s) {
	case "half_t", "half", "__half", "f16", "_float16", "fp16", "float16", "float16_t":
		return "fp16"
	case "bhalf_t", "bf16", "__hip_bfloat16", "hip_bfloat16", "bfloat16", "bhalf":
		return "bf16"
	case "float", "f32", "fp32", "float32", "float32_t":
		return "fp32"
	case "double", "f64", "fp64", "float64_t":
		return "fp64"
	case "int8_t", "i8", "int8", "char", "signed char":
		return "int8"
	case "uint8_t", "u8":
		return "uint8"
	case "int32_t", "i32", "int", "int32":
		return "int32"
	case "uint32_t", "unsigned", "unsigned int", "u32":
		return "uint32"
	case "int64_t", "i64", "long", "long long", "size_t":
		return "int64"
	case "f8_t", "f8", "fp8", "f8_fnuz_t", "f8_ocp_t":
		return "fp8"
	case "bf8_t", "bf8", "bf8_fnuz_t", "bf8_ocp_t":
		return "bf8"
	case "int4_t", "i4", "pk_i4_t", "int4":
		return "int4"
	}
	return ""
}

var suffixDtypes = []struct{ suffix, dtype string }{
	{"_fp16", "fp16"}, {"_f16", "fp16"}, {"_bf16", "bf16"}, {"_fp32", "fp32"}, {"_f32", "fp32"},
	{"_fp64", "fp64"}, {"_f64", "fp64"}, {"_int8", "int8"}, {"_i8", "int8"}, {"_fp8", "fp8"},
	{"_f8", "fp8"}, {"_bf8", "bf8"}, {"_int4", "int4"}, {"_i4", "int4"},
}

// dtypesFromName reads dtypes from a file name such as gemm_xdl_fp16.cpp.
func dtypesFromName(p string) []string {
	base := strings.TrimSuffix(path.Base(p), path.Ext(p)) + "_"
	var out []string
	for _, s := range suffixDtypes {
		if strings.Contains(base, s.suffix+"_") && !contains(out, s.dtype) {
			out = append(out, s.dtype)
		}
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

var leadingNum = regexp.MustCompile(`^\d+_`)

// opFromDir names the op from a directory such as example/01_gemm.
func opFromDir(dir string) string {
	op := strings.ToLower(leadingNum.ReplaceAllString(path.Base(dir), ""))
	return strings.ReplaceAll(op, "-", "_")
}

func roundUp(x, m int64) int64 {
	if m <= 0 {
		return x
	}
	return (x + m - 1) / m * m
}
