package repos

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"kforge/datasets"
	"kforge/filters/gate"
)

// hipMinerVersion joins minerVersion in the cache key of hip-program results:
// bump it when this miner's output changes.
const hipMinerVersion = "hip-v5"

// hipSourceExts are the extensions of HIP program sources.
var hipSourceExts = map[string]bool{".hip": true, ".cpp": true, ".cu": true, ".cc": true}

var (
	globalRe     = regexp.MustCompile(`\b__global__\b`)
	deviceFnRe   = regexp.MustCompile(`\b__device__\b`)
	fnNameRe     = regexp.MustCompile(`(\w+)\s*$`)
	angleInclRe  = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*<([^>\n]+\.(?:h|hpp|hh|cuh|inc))>`)
	genericStem  = regexp.MustCompile(`^(?:main|v\d+|example|sample|test)$`)
	timingOutRe  = regexp.MustCompile(`<<\s*"\s*ms\b|"[^"\n]*%[-0-9.]*[fge]\s*ms\b`)
	sigTypeOrder = []string{"__half", "half", "float16_t", "hip_bfloat16", "__hip_bfloat16", "double", "float64_t", "float", "float32_t", "int8_t", "uint8_t", "int", "unsigned int", "uint32_t", "int64_t", "size_t"}
)

var hipRules = []string{
	"Replace only the kernel region: the __global__ kernels and the __device__ helpers they call.",
	"Keep every kernel's signature (name, template parameters, parameter types and order) exactly as given; the host code launches them unchanged.",
	"You may add __device__ helpers and change launch-independent internals; do not change what the kernels compute.",
}

// fn is one function definition in a file.
type fn struct {
	name, sig  string
	start, end int // byte span including any template head
	global     bool
}

// functions finds __global__ and __device__ function definitions in code.
func functions(code []byte) []fn {
	var out []fn
	seen := map[int]bool{}
	for _, re := range []*regexp.Regexp{globalRe, deviceFnRe} {
		for _, m := range re.FindAllIndex(code, -1) {
			// The declaration runs from the start of its line (or a template
			// head on the lines before) to the body's closing brace.
			ls := lineStart(code, m[0])
			if seen[ls] {
				continue
			}
			paren := indexFrom(code, m[1], '(')
			semi := indexFrom(code, m[1], ';')
			brace := indexFrom(code, m[1], '{')
			if paren < 0 || brace < 0 || (semi >= 0 && semi < brace) {
				continue // a declaration, a variable or a lambda
			}
			close := matchClose(code, paren)
			if close < 0 || close > brace {
				continue
			}
			end := matchClose(code, brace)
			if end < 0 {
				continue
			}
			start := ls
			if ps := lineStart(code, max(ls-1, 0)); ls > 0 && strings.HasPrefix(strings.TrimSpace(string(code[ps:ls])), "template") {
				start = ps
			}
			// The parameter list is the last parenthesised list before the
			// body: attributes such as __launch_bounds__(N) come earlier.
			if loc := fnTailRe.FindIndex(code[m[1]:brace]); loc != nil {
				if open := openParen(string(code[m[1]:brace]), loc[0]); open >= 0 {
					paren = m[1] + open
				}
			}
			nm := fnNameRe.FindSubmatch(code[m[1]:paren])
			if nm == nil {
				continue
			}
			seen[ls] = true
			out = append(out, fn{name: string(nm[1]), sig: squash(string(code[start:brace])), start: start, end: end + 1, global: re == globalRe})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

func lineStart(code []byte, i int) int {
	for i > 0 && code[i-1] != '\n' {
		i--
	}
	return i
}

func indexFrom(code []byte, from int, c byte) int {
	for i := from; i < len(code); i++ {
		if code[i] == c {
			return i
		}
	}
	return -1
}

// mineHIPProgram mines one self-contained HIP program: its kernels and the
// device helpers they call, as one region of the file that holds them.
func mineHIPProgram(v *view, p string, archs []string) programResult {
	var res programResult
	dir := path.Dir(p)
	pr, err := loadProgram(v, p, func(q string) bool { return dir == "." || strings.HasPrefix(q, dir+"/") })
	if err != nil {
		res.Skips = append(res.Skips, "hip-program: "+reason(err))
		return res
	}
	if !pr.hasMain() || !globalRe.MatchString(pr.all()) {
		return res
	}
	// Includes found outside the program's directory come from the checkout.
	var incDirs, headerOrder []string
	headers := map[string][]byte{}
	raw := pr.allRaw()
	for _, f := range pr.order {
		incs := quotedIncludes(pr.raw[f])
		for _, m := range angleInclRe.FindAllSubmatch(pr.raw[f], -1) {
			incs = append(incs, string(m[1]))
		}
		for _, inc := range incs {
			if v.exists(path.Clean(path.Join(path.Dir(f), inc))) {
				continue
			}
			if d, ok := findIncludeDir(v, path.Dir(f), inc); ok {
				if !contains(incDirs, d) {
					incDirs = append(incDirs, d)
				}
				hp := path.Join(d, inc)
				if b, err := v.read(hp); err == nil && headers[hp] == nil {
					raw += string(b)
					headers[hp] = b
					headerOrder = append(headerOrder, hp)
				}
			}
		}
	}
	if why := needsOutside(v, pr); why != "" {
		res.Skips = append(res.Skips, "hip-program: "+why)
		return res
	}
	// Only what main reaches counts: the kernels it launches (through the
	// functions it calls) and the device functions those call.
	ix := newProgIndex(pr, headers, headerOrder)
	live := ix.reachable()
	liveName := liveFuncNames(live)
	// Kernels and the helpers they call, per file; they must be in one file.
	file := ""
	var region []fn
	dead := 0
	for _, f := range pr.order {
		fs := functions(pr.code[f])
		var kernels []fn
		for _, x := range fs {
			if x.global && liveName[x.name] {
				kernels = append(kernels, x)
			} else if x.global {
				dead++
			}
		}
		if len(kernels) == 0 {
			continue
		}
		if file != "" {
			res.Skips = append(res.Skips, "hip-program: kernels in several files")
			return res
		}
		file = f
		region = withCallees(pr.code[f], kernels, fs)
	}
	if file == "" && dead > 0 {
		res.Skips = append(res.Skips, "hip-program: main launches none of its kernels")
		return res
	}
	if file == "" {
		res.Skips = append(res.Skips, "hip-program: no kernel definition in the program's files")
		return res
	}
	start, end := region[0].start, region[0].end
	for _, x := range region {
		start, end = min(start, x.start), max(end, x.end)
	}
	code := pr.code[file]
	if mainRe.Match(code[start:end]) {
		res.Skips = append(res.Skips, "hip-program: kernels around main")
		return res
	}
	if inSpans(condSpans(code), start) {
		res.Skips = append(res.Skips, "hip-program: kernels inside #if block")
		return res
	}
	// The pass rule is what the program itself prints on success, on the
	// path main takes; where it prints nothing, its exit status, if it
	// checks its result at all.
	pass := datasets.PassRule{ExitZero: true}
	if line, fails := ix.passLines(live); line != "" {
		pass.Pass, pass.Fail = []string{regexp.QuoteMeta(line)}, fails
	} else if !ix.checksResult(live) {
		res.Skips = append(res.Skips, "hip-program: no result check")
		return res
	}
	t := datasets.Task{Kind: datasets.KindHIPProgram}
	t.Op = hipOp(p)
	t.Name = strings.TrimSuffix(p, path.Ext(p))
	for _, x := range region {
		if x.global {
			t.Region.Signatures = append(t.Region.Signatures, x.sig)
		}
	}
	t.Dtypes = append([]string{}, sigDtypes(t.Region.Signatures)...)
	var sizeNotes []string
	t.Sizes, sizeNotes = ix.hipSizes(live)
	t.Files = pr.files
	t.Region.File = file
	t.Region.Start, t.Region.End = start, end
	t.Region.Text = string(pr.raw[file][start:end])
	t.Region.Kind = "hip-kernels"
	t.Region.Rules = hipRules
	// The unchanged reference must pass the gate every candidate must pass;
	// a region it rejects could never be rewritten.
	if rej := gate.Check(t.Region, t.Region.Text); rej != nil {
		res.Skips = append(res.Skips, "hip-program: reference rejected by the gate ("+rej.Rule+")")
		return res
	}
	t.Description = fmt.Sprintf("HIP program %s: kernels %s; the program validates its result on the host.", p, strings.Join(kernelNames(region), ", "))
	t.Build = datasets.BuildRecipe{Sources: []string{p}, IncludeDirs: incDirs, Flags: []string{"-O3", "-std=" + cxxStandard(v, dir)}, NeedsCheckout: len(incDirs) > 0}
	t.Build.Needs = hipLibraryNeeds(raw)
	t.Run = datasets.RunRecipe{Pass: pass, TimeoutSeconds: 300}
	if timingOutRe.MatchString(raw) {
		t.Run.PerfPattern = `(?P<ms>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*ms\b`
	}
	if len(t.Sizes) == 1 && len(sizeNotes) == 0 {
		sizeNotes = append(sizeNotes, "fixed problem size: the program takes no size arguments, so only its default size is run")
	}
	if len(sizeNotes) > 0 {
		t.Extra = &datasets.TaskContext{Notes: strings.Join(sizeNotes, "; ")}
	}
	finish(v, &t, archs)
	res.Tasks = append(res.Tasks, t)
	return res
}

// withCallees returns the kernels and, transitively, the __device__
// functions of the same file that they call.
func withCallees(code []byte, kernels, all []fn) []fn {
	out := append([]fn(nil), kernels...)
	in := map[string]bool{}
	for _, k := range kernels {
		in[k.name] = true
	}
	for changed := true; changed; {
		changed = false
		for _, d := range all {
			if d.global || in[d.name] {
				continue
			}
			call := regexp.MustCompile(`\b` + regexp.QuoteMeta(d.name) + `\s*[<(]`)
			for _, x := range out {
				body := code[x.start:x.end]
				if call.Match(body) {
					in[d.name] = true
					out = append(out, d)
					changed = true
					break
				}
			}
		}
	}
	return out
}

func kernelNames(fs []fn) []string {
	var out []string
	for _, x := range fs {
		if x.global {
			out = append(out, x.name)
		}
	}
	return out
}

// findIncludeDir looks for inc in dir's ancestors and their Common/ folders,
// the way the rocm-examples CMake files add ../../Common.
func findIncludeDir(v *view, dir, inc string) (string, bool) {
	for d := dir; ; d = path.Dir(d) {
		for _, c := range []string{d, path.Join(d, "Common"), path.Join(d, "common"), path.Join(d, "include"), path.Join(d, "library/include")} {
			if v.exists(path.Clean(path.Join(c, inc))) {
				return path.Clean(c), true
			}
		}
		if d == "." || d == "/" || d == "" {
			return "", false
		}
	}
}

// hipOp names a program by its directory, or by its file when the file is not main.*.
func hipOp(p string) string {
	base := strings.TrimSuffix(path.Base(p), path.Ext(p))
	// A generic file name (main.hip, v3.hip in example/) says nothing: use
	// the nearest directory that is not generic either.
	for d := path.Dir(p); genericStem.MatchString(base) && d != "." && d != "/"; d = path.Dir(d) {
		base = path.Base(d)
	}
	return strings.ToLower(strings.ReplaceAll(leadingNum.ReplaceAllString(base, ""), "-", "_"))
}

// sigDtypes reads element types from kernel signatures.
func sigDtypes(sigs []string) []string {
	var out []string
	all := strings.Join(sigs, " ")
	// Element types are what the pointers point at; scalars such as a
	// length say nothing about the data.
	for _, suffix := range []string{`\s*\*`, `\b`} {
		for _, ty := range sigTypeOrder {
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(ty) + suffix).MatchString(all) {
				if dt := canonicalDtype(ty); dt != "" && !contains(out, dt) {
					out = append(out, dt)
				}
			}
		}
		if len(out) > 0 {
			break
		}
	}
	return out
}

// externalLibs are include roots of libraries a bare hipcc does not have:
// programs that need them cannot be built from the task alone.
var externalLibs = map[string]bool{
	"rocprim": true, "hipcub": true, "rocblas": true, "hipblas": true, "hipblaslt": true, "rocfft": true, "hipfft": true,
	"rocrand": true, "hiprand": true, "rocsolver": true, "hipsolver": true, "rocsparse": true, "hipsparse": true,
	"rocthrust": true, "thrust": true, "miopen": true, "rccl": true, "vulkan": true, "glad": true, "GL": true, "GLFW": true,
	"cuda_runtime.h": true, "cuda.h": true, "cublas_v2.h": true,
}

// toolchainHeader reports whether a quoted include names a header hipcc
// itself provides ("hip/hip_runtime.h", as ROCm/hip-tests writes it).
func toolchainHeader(inc string) bool {
	return strings.HasPrefix(inc, "hip/") || strings.HasPrefix(inc, "hip_runtime")
}

var anyAngleInclRe = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*<([^>\n]+)>`)

// needsOutside says why a program cannot be built from its files, the
// checkout and hipcc alone: a library outside the tree, or a quoted include
// that resolves nowhere (a generated or separately built header).
func needsOutside(v *view, pr *program) string {
	for _, f := range pr.order {
		for _, m := range anyAngleInclRe.FindAllSubmatch(pr.raw[f], -1) {
			first, _, _ := strings.Cut(string(m[1]), "/")
			if externalLibs[first] {
				return "needs external library " + first
			}
		}
		for _, inc := range quotedIncludes(pr.raw[f]) {
			if v.exists(path.Clean(path.Join(path.Dir(f), inc))) || toolchainHeader(inc) {
				continue
			}
			if _, ok := findIncludeDir(v, path.Dir(f), inc); !ok {
				return "unresolved include"
			}
		}
	}
	return ""
}

var cxxStdRe = regexp.MustCompile(`(?:CXX|HIP|CUDA|\$\{GPU_RUNTIME\})_STANDARD\s+"?(\d\d)`)

// cxxStandard is the C++ standard the nearest CMakeLists.txt asks for (at
// least C++17).
func cxxStandard(v *view, dir string) string {
	for d := dir; ; d = path.Dir(d) {
		if b, err := v.read(path.Join(d, "CMakeLists.txt")); err == nil {
			if m := cxxStdRe.FindSubmatch(b); m != nil {
				if n, _ := strconv.Atoi(string(m[1])); n > 17 && n < 90 {
					return "c++" + string(m[1])
				}
				return "c++17"
			}
		}
		if d == "." || d == "/" || d == "" {
			return "c++17"
		}
	}
}
