package repos

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"kforge/datasets"
)

// ckTileMinHIP is the HIP ck_tile's headers need: Debian's HIP 5.2 (clang
// 15) rejects include/ck_tile/core (constexpr functions over math builtins
// such as __builtin_fmaxf), and Composable Kernel builds ck_tile with ROCm
// 6.0 or newer (its docker images, the fmha README).
const ckTileMinHIP = "6.0"

var tileIncludeRe = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*[<"]ck_tile/`)

// ckTileNeeds is what a ck_tile program needs from the toolchain: what the
// classic examples need (CMake options, builtins), and HIP 6.0 for the
// ck_tile headers.
func ckTileNeeds(v *view, p string, pr *program, decls *declIndex) *datasets.Needs {
	var n *datasets.Needs
	if decls != nil {
		n, _ = ckNeeds(v, p, pr, decls)
	}
	if !tileIncludeRe.MatchString(pr.allRaw()) {
		return n
	}
	if n == nil {
		n = &datasets.Needs{}
	}
	if n.MinHIP == "" || datasets.CompareVersions(ckTileMinHIP, n.MinHIP) > 0 {
		n.MinHIP = ckTileMinHIP
	}
	why := "includes ck_tile headers, which need ROCm " + ckTileMinHIP + " or newer (clang 15 rejects their constexpr math builtins)"
	if n.Reason != "" {
		why = n.Reason + "; " + why
	}
	n.Reason = why
	return n
}

// exampleDir is the example's own directory, example/ck_tile/NN_name.
func exampleDir(p string) string {
	parts := strings.SplitN(p, "/", 4)
	if len(parts) < 3 {
		return path.Dir(p)
	}
	return strings.Join(parts[:3], "/")
}

// exampleFiles are the files under the example's directory with one of
// the extensions, each recorded as a dependency.
func exampleFiles(v *view, p string, exts ...string) []string {
	dir := exampleDir(p) + "/"
	var out []string
	lo := sort.SearchStrings(v.t.paths, dir)
	for _, q := range v.t.paths[lo:] {
		if !strings.HasPrefix(q, dir) {
			break
		}
		for _, e := range exts {
			if strings.HasSuffix(q, e) {
				v.note(q)
				out = append(out, q)
			}
		}
	}
	// The cache checks a directory dependency by presence; a file added to
	// the example later is seen when a listed file or the program changes.
	v.hasDir(strings.TrimSuffix(dir, "/"))
	return out
}

// --- size-range dispatch (layernorm2d) ---

// rangeIfRe is one branch of a size-range dispatch: `if(a.n <= 1024) {` or
// `else if(a.n > 4096) {`.
var rangeIfRe = regexp.MustCompile(`\bif\s*\(\s*(\w+)\.(\w+)\s*(<=|>)\s*(\d+)\s*\)\s*\{`)

// tileDispatch is a sibling source whose host API picks a kernel trait row
// by the range of one size (layernorm2d_fwd_api.cpp: n).
type tileDispatch struct {
	file     string
	dim      string   // the size the ranges are of: n
	branches []branch // in source order
	common   string   // the header holding the kernel template's definition
	dtypes   []string
}

type branch struct {
	lo, hi     int64 // the range (lo, hi]; hi 0: unbounded
	start, end int   // the body, trimmed
}

// findTileDispatch finds a source of the example (not the program) that
// dispatches on size ranges of an argument the program takes.
func findTileDispatch(v *view, p string, pr *program) *tileDispatch {
	args := map[string]bool{}
	for _, m := range argInsertRe.FindAllStringSubmatch(pr.allRaw(), -1) {
		args[m[1]] = true
	}
	for _, q := range exampleFiles(v, p, ".cpp") {
		if q == p {
			continue
		}
		b, err := v.read(q)
		if err != nil {
			continue
		}
		code := blank(b)
		if mainRe.Match(code) {
			continue
		}
		ms := rangeIfRe.FindAllSubmatchIndex(code, -1)
		if len(ms) < 2 {
			continue
		}
		d := &tileDispatch{file: q, dim: string(code[ms[0][4]:ms[0][5]])}
		if !args[d.dim] {
			continue
		}
		var prev int64
		for _, m := range ms {
			if string(code[m[4]:m[5]]) != d.dim || !liveIf(b, code, m[0]) {
				continue
			}
			x, _ := strconv.ParseInt(string(code[m[8]:m[9]]), 10, 64)
			open := m[1] - 1
			cl := matchClose(code, open)
			if cl < 0 {
				continue
			}
			br := branch{start: open + 1, end: cl}
			for br.start < br.end && strings.ContainsRune(" \t\r\n", rune(code[br.start])) {
				br.start++
			}
			for br.end > br.start && strings.ContainsRune(" \t\r\n", rune(code[br.end-1])) {
				br.end--
			}
			if string(code[m[6]:m[7]]) == "<=" {
				br.lo, br.hi = prev, x
				prev = x
			} else {
				br.lo = x
			}
			d.branches = append(d.branches, br)
		}
		if len(d.branches) < 2 {
			continue
		}
		// The kernel template is defined in a header of the same directory
		// that the explicit instances include.
		for _, h := range exampleFiles(v, p, ".hpp") {
			if path.Dir(h) != path.Dir(q) {
				continue
			}
			if hb, err := v.read(h); err == nil && strings.Contains(string(hb), "launch_kernel") {
				d.common = h
				break
			}
		}
		for _, m := range regexp.MustCompile(`compare\("(\w+)"\)|==\s*"(\w+)"`).FindAllStringSubmatch(string(b), -1) {
			if dt := canonicalDtype(m[1] + m[2]); dt != "" && !contains(d.dtypes, dt) {
				d.dtypes = append(d.dtypes, dt)
			}
		}
		return d
	}
	return nil
}

var ppIfRe = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b([^\n]*)`)

// liveIf reports whether off is compiled: every conditional block around
// it is `#if 1` before its #else, or the #else of `#if 0`.
func liveIf(raw, code []byte, off int) bool {
	type frame struct{ live, known bool }
	var stack []frame
	for _, m := range ppIfRe.FindAllSubmatchIndex(raw, -1) {
		if m[0] > off {
			break
		}
		cond := strings.TrimSpace(string(raw[m[4]:m[5]]))
		switch string(raw[m[2]:m[3]]) {
		case "if":
			stack = append(stack, frame{live: cond == "1", known: cond == "1" || cond == "0"})
		case "ifdef", "ifndef":
			stack = append(stack, frame{})
		case "elif":
			if len(stack) > 0 {
				stack[len(stack)-1] = frame{}
			}
		case "else":
			if len(stack) > 0 {
				f := &stack[len(stack)-1]
				f.live = !f.live
			}
		case "endif":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	for _, f := range stack {
		if !f.known || !f.live {
			return false
		}
	}
	return true
}

var tileRowsRules = []string{
	"Replace only the trait rows of this size range: keep every statement, condition and call as it is and change only the numbers and true/false inside the trait template arguments (repeat, threads per block, vector size, padding, two-pass); the data type stays the first argument.",
	"Every row must be a valid trait: threads per block a multiple of the warp size, the vector size dividing the sizes its condition admits.",
	"The build instantiates the kernel template for each row you write (its definition is included), so any valid row compiles.",
}

// mineTileDispatch makes one task per size range of the dispatch: the
// range's trait rows are the region; the sizes fall in the range and
// exercise its rows (divisible by 8, by 2, odd).
func mineTileDispatch(v *view, p string, pr *program, d *tileDispatch, needs *datasets.Needs, archs []string) programResult {
	var res programResult
	if d.common == "" {
		res.Skips = append(res.Skips, "ck-tile: dispatch rows without the kernel template's header")
		return res
	}
	raw, _ := v.read(d.file)
	common, _ := v.read(d.common)
	files := append([]datasets.File(nil), pr.files...)
	files = append(files, datasets.File{Path: d.file, Content: string(raw)}, datasets.File{Path: d.common, Content: string(common)})
	argDefaults := map[string]string{}
	all := pr.allRaw()
	for _, m := range argInsertRe.FindAllStringSubmatch(all, -1) {
		argDefaults[m[1]] = m[2]
	}
	defM, _ := strconv.ParseInt(argDefaults["m"], 10, 64)
	if defM <= 0 {
		defM = 1024
	}
	defN, _ := strconv.ParseInt(argDefaults[d.dim], 10, 64)
	for _, br := range d.branches {
		t := datasets.Task{Kind: datasets.KindCKTile, Op: tileOp(p), Dtypes: d.dtypes}
		rng := fmt.Sprintf("%s<=%d", d.dim, br.hi)
		if br.hi == 0 {
			rng = fmt.Sprintf("%s>%d", d.dim, br.lo)
		}
		t.Name = strings.TrimSuffix(path.Base(p), ".cpp") + "/rows-" + rng
		t.Files = files
		t.Region = datasets.Region{File: d.file, Start: br.start, End: br.end, Text: string(raw[br.start:br.end]), Kind: "tile-rows", Rules: tileRowsRules}
		hi := br.hi
		if hi == 0 {
			hi = 2 * br.lo
		}
		top := hi - hi%8
		if top <= br.lo {
			top = hi
		}
		sizes := []struct {
			name, origin string
			m, n         int64
			hidden       bool
		}{
			{"top", "generated", defM, top, false},
			{"even", "generated", 1024, top - 2, true},
			{"odd", "generated_tail", 333, br.lo + 1, false},
		}
		if defN > br.lo && (br.hi == 0 || defN <= br.hi) {
			sizes[0] = struct {
				name, origin string
				m, n         int64
				hidden       bool
			}{"default", "example_default", defM, defN, false}
		}
		for _, s := range sizes {
			if s.n <= br.lo || (br.hi > 0 && s.n > br.hi) || s.n <= 0 {
				continue
			}
			args := []string{fmt.Sprintf("-m=%d", s.m), fmt.Sprintf("-%s=%d", d.dim, s.n)}
			if _, ok := argDefaults["v"]; ok {
				args = append([]string{"-v=1"}, args...)
			}
			t.Sizes = append(t.Sizes, datasets.Size{Name: s.name, Origin: s.origin, Hidden: s.hidden, Args: args,
				Dims: map[string]int64{"M": s.m, strings.ToUpper(d.dim): s.n}})
		}
		if len(t.Sizes) < 3 {
			t.SizeNotes = append(t.SizeNotes, fmt.Sprintf("the range (%d, %d] admits fewer than three distinct sizes of the dispatch's divisibility rows", br.lo, br.hi))
		}
		t.Description = fmt.Sprintf("ck_tile example %s (%s): the host API %s picks a kernel trait row by %s; this task is the rows for %s. The program checks its result.", p, t.Op, d.file, d.dim, rng)
		t.Build = tileBuild(v, []string{p, d.file}, needs)
		// The kernel template's definition is included into the dispatch, so
		// every row a candidate writes is instantiated there (the explicit
		// instance files are not built).
		t.Build.Flags = append(t.Build.Flags, "-include", d.common, "-Wno-undefined-func-template")
		t.Build.IncludeDirs = append(t.Build.IncludeDirs, exampleDir(p))
		t.Run = tileRun(all)
		finish(v, &t, archs)
		res.Tasks = append(res.Tasks, t)
	}
	return res
}

// --- conv-parameter sizes (img2col) ---

var (
	convDefaultRe  = regexp.MustCompile(`#define\s+DefaultConvParams\b((?:[^\n]*\\\n)*[^\n]*)`)
	convNDimArgRe  = regexp.MustCompile(`num_dim_spatial\w*\s*=\s*std::stoi\(\s*argv\[(\w+)\]\s*\)`)
	convParseRe    = regexp.MustCompile(`parse_conv_param\(\s*[\w_]+\s*,\s*([^,]+),\s*argv\s*\)`)
	convConstRe    = regexp.MustCompile(`constexpr\s+int\s+(\w+)\s*=\s*([^;]+);`)
	convArgcRuleRe = regexp.MustCompile(`(\w+)\s*<\s*argc\s*&&\s*\(\s*\(\s*argc\s*-\s*(\w+)\s*\)\s*%\s*(\d+)\s*==\s*0\s*\)`)
	convExecArgsRe = regexp.MustCompile(`config\.\w+\s*=\s*std::stoi\(argv\[(\d+)\]\)`)
)

// convTileSizes makes sizes in the conv-parameter positional convention
// (`verify init time NDim G N K C filter… input… strides… dilations…
// left-pads… right-pads…`), read from the program: the default parameters
// (DefaultConvParams), where NDim is read, where parse_conv_param starts,
// and the argument-count rule. The GEMM view of im2col is M = N·Ho·Wo rows
// by K = Y·X·C columns; aligned sizes divide the block tile, the tail does
// not.
func convTileSizes(raw string, tiles map[string]int64) ([]datasets.Size, []string) {
	m := convDefaultRe.FindStringSubmatch(raw)
	var xs []int64
	for _, f := range regexp.MustCompile(`\d+`).FindAllString(strings.ReplaceAll(m[1], "\\\n", " "), -1) {
		n, _ := strconv.ParseInt(f, 10, 64)
		xs = append(xs, n)
	}
	if len(xs) < 5 {
		return nil, nil
	}
	nd := int(xs[0])
	if nd < 1 || nd > 3 || len(xs) != 5+6*nd {
		return nil, nil
	}
	take := func(i int) []int64 { return append([]int64(nil), xs[5+i*nd:5+(i+1)*nd]...) }
	def := convParam{NDim: xs[0], G: xs[1], N: xs[2], K: xs[3], C: xs[4], Lists: [6][]int64{take(0), take(1), take(2), take(3), take(4), take(5)}}
	env := map[string]int64{}
	for _, c := range convConstRe.FindAllStringSubmatch(raw, -1) {
		if x, ok := evalInt(c[2], env); ok {
			env[c[1]] = x
		}
	}
	seenArg := map[string]bool{}
	for _, a := range convExecArgsRe.FindAllStringSubmatch(raw, -1) {
		seenArg[a[1]] = true
	}
	execArgs := len(seenArg)
	if execArgs == 0 {
		execArgs = 3
	}
	ndimAt, start := int64(execArgs+1), int64(execArgs+1)
	if mm := convNDimArgRe.FindStringSubmatch(raw); mm != nil {
		if x, ok := evalInt(mm[1], env); ok {
			ndimAt = x
		}
	}
	if mm := convParseRe.FindStringSubmatch(raw); mm != nil {
		if x, ok := evalInt(strings.TrimSpace(mm[1]), env); ok {
			start = x
		}
	}
	var notes []string
	// G read from the same argument as NDim: G must equal NDim.
	gIsNDim := start == ndimAt
	if gIsNDim {
		notes = append(notes, fmt.Sprintf("the program reads G from argument %d, the same as NDim, so every size has G = NDim = %d", start, def.NDim))
	}
	args := func(cp convParam) []string {
		out := make([]string, 0, 32)
		for i := 0; i < execArgs; i++ {
			out = append(out, "1") // verify, integer init, time
		}
		for int64(len(out)+1) < start {
			out = append(out, strconv.FormatInt(cp.NDim, 10))
		}
		vals := []int64{cp.G, cp.N, cp.K, cp.C}
		for _, l := range cp.Lists {
			vals = append(vals, l...)
		}
		for _, x := range vals {
			out = append(out, strconv.FormatInt(x, 10))
		}
		if mm := convArgcRuleRe.FindStringSubmatch(raw); mm != nil {
			thr, ok1 := env[mm[1]]
			mod, _ := strconv.ParseInt(mm[3], 10, 64)
			if ok1 && mod > 0 {
				for (int64(len(out)+1)-thr)%mod != 0 {
					out = append(out, "0")
				}
			}
		}
		return out
	}
	tm, tk := tiles["m"], tiles["n"]
	if tm <= 0 {
		tm = 128
	}
	if tk <= 0 {
		tk = 128
	}
	rep := func(x int64) []int64 {
		out := make([]int64, nd)
		for i := range out {
			out[i] = x
		}
		return out
	}
	mk := func(name, origin string, cp convParam, hidden bool) datasets.Size {
		if gIsNDim {
			cp.G = cp.NDim
		}
		dims := map[string]int64{"G": cp.G, "N": cp.N, "K": cp.K, "C": cp.C}
		rows := cp.N
		cols := cp.C
		for i := 0; i < nd; i++ {
			rows *= cp.outLen(i)
			cols *= cp.Lists[0][i]
		}
		dims["GEMM_M"], dims["GEMM_K"] = rows, cols
		return datasets.Size{Name: name, Origin: origin, Hidden: hidden, Args: args(cp), Dims: dims}
	}
	aligned := convParam{NDim: def.NDim, G: def.G, N: 16, K: def.K, C: tk, Lists: [6][]int64{rep(1), rep(32), rep(1), rep(1), rep(0), rep(0)}}
	aligned2 := convParam{NDim: def.NDim, G: def.G, N: 8, K: def.K, C: tk, Lists: [6][]int64{rep(3), rep(32), rep(1), rep(1), rep(1), rep(1)}}
	tail := convParam{NDim: def.NDim, G: def.G, N: 3, K: def.K, C: 40, Lists: [6][]int64{rep(3), rep(37), rep(1), rep(1), rep(0), rep(0)}}
	sizes := []datasets.Size{mk("default", "example_default", def, false), mk("aligned", "generated", aligned, true), mk("aligned2", "generated", aligned2, false), mk("tail", "generated_tail", tail, false)}
	if r := sizes[1].Dims; r["GEMM_M"]%tm != 0 || r["GEMM_K"]%tk != 0 {
		notes = append(notes, "the aligned size does not divide the block tile")
	}
	notes = append(notes, "the tail keeps C a multiple of 8 (the vector size along C) and breaks the block tile in both GEMM dimensions")
	return sizes, notes
}
