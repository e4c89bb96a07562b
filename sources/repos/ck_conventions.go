package repos

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"kforge/datasets"
)

// The argument conventions of classic CK examples, as data: each row says
// how to recognise a program that takes its problem size one way, and how
// to spell sizes in it. The first row whose marker the program's code
// carries is used; a row without a marker is tried on every program.

// ckSizeInput is what a convention reads.
type ckSizeInput struct {
	all     string            // the program's blanked code, every file joined
	layouts []string          // "ALayout=RowMajor", … of the instance
	params  map[string]string // the instance's resolved template arguments
	pr      *program
	// rewrites receives the build rewrites a convention needs (sizes in code).
	rewrites *[]datasets.Rewrite
	// memo keeps the outcome of conventions that do not read the instance,
	// per program (nil: no memo).
	memo  map[string]ckSized
	marks map[string]bool // convention -> whether the program uses it
}

// ckSized is a convention's outcome.
type ckSized struct {
	sizes    []datasets.Size
	notes    []string
	why      string
	rewrites []datasets.Rewrite
}

// ckConvention is one way a classic example takes its problem size.
type ckConvention struct {
	Name   string
	Marker *regexp.Regexp // the program uses the convention when its code matches
	// PerProgram: the sizes do not depend on the instance's rules.
	PerProgram bool
	Sizes      func(in ckSizeInput) (sizes []datasets.Size, notes []string, why string)
}

var ckConventions = []ckConvention{
	{"conv-param", regexp.MustCompile(`\bparse_conv_param\s*\(`), true, convSizes},
	{"mnk-argv", regexp.MustCompile(`\bargc\s*==\s*\d+\s*\)`), false, mnkSizes},
	{"sizes-in-code", nil, true, codeSizes},
}

// ckSizes derives problem sizes from the first convention the program uses.
func ckSizes(in ckSizeInput) ([]datasets.Size, []string, string) {
	why := "no argument convention recognised"
	for _, c := range ckConventions {
		if c.Marker != nil {
			uses, ok := in.marks[c.Name]
			if !ok {
				uses = c.Marker.MatchString(in.all)
				if in.marks != nil {
					in.marks[c.Name] = uses
				}
			}
			if !uses {
				continue
			}
		}
		var sizes []datasets.Size
		var notes []string
		var w string
		if m, ok := in.memo[c.Name]; ok && c.PerProgram {
			sizes, notes, w = m.sizes, m.notes, m.why
			if in.rewrites != nil {
				*in.rewrites = m.rewrites
			}
		} else {
			sizes, notes, w = c.Sizes(in)
			if c.PerProgram && in.memo != nil {
				var rw []datasets.Rewrite
				if in.rewrites != nil {
					rw = *in.rewrites
				}
				in.memo[c.Name] = ckSized{sizes, notes, w, rw}
			}
		}
		if w == "" {
			return sizes, notes, ""
		}
		why = c.Name + ": " + w
	}
	return nil, nil, why
}

// convParamRe matches a literal ConvParam initializer: ndim, G, N, K, C and
// six lists of ndim numbers (filter, input, strides, dilations, left and
// right pads), in the order parse_conv_param reads them from argv.
var convParamRe = func() *regexp.Regexp {
	// Blanks include a macro's line continuations.
	n := `[\s\\]*(\d+)[\s\\]*,`
	l := `[\s\\]*\{([\d\s,\\]+)\}[\s\\]*`
	// NDim may be a name (NDimSpatial): the lists say how many axes.
	return regexp.MustCompile(`\{[\s\\]*(\d+|[A-Za-z_]\w*)[\s\\]*,` + n + n + n + n + l + `,` + l + `,` + l + `,` + l + `,` + l + `,` + l + `\}`)
}()

var convCallRe = regexp.MustCompile(`\bparse_conv_param\s*\(\s*\w+\s*,\s*([^,()]+),`)

// evalSum evaluates a sum of integer literals and named constants.
func evalSum(expr string, consts map[string]string) (int64, bool) {
	var total int64
	for _, term := range strings.Split(expr, "+") {
		term = strings.TrimSpace(term)
		for range 8 {
			v, ok := consts[term]
			if !ok {
				break
			}
			if x, ok := evalSum(v, map[string]string{}); ok {
				term = strconv.FormatInt(x, 10)
				break
			}
			if x, ok := evalSum(v, consts); ok && !strings.Contains(v, term) {
				term = strconv.FormatInt(x, 10)
				break
			}
			term = v
		}
		x, err := strconv.ParseInt(term, 10, 64)
		if err != nil {
			return 0, false
		}
		total += x
	}
	return total, true
}

// convParam is a convolution problem in parse_conv_param's argv order (the
// classic examples' convention and ck_tile's img2col alike).
type convParam struct {
	NDim, G, N, K, C int64
	Lists            [6][]int64 // filter, input, strides, dilations, left pads, right pads
}

// outLen is the output length along spatial axis i.
func (c convParam) outLen(i int) int64 {
	in, lp, rp, dil, f, st := c.Lists[1][i], c.Lists[4][i], c.Lists[5][i], c.Lists[3][i], c.Lists[0][i], c.Lists[2][i]
	return (in+lp+rp-dil*(f-1)-1)/st + 1
}

func (c convParam) args() []string {
	out := []string{"1", "2", "1"}
	for _, x := range []int64{c.NDim, c.G, c.N, c.K, c.C} {
		out = append(out, strconv.FormatInt(x, 10))
	}
	for _, l := range c.Lists {
		for _, x := range l {
			out = append(out, strconv.FormatInt(x, 10))
		}
	}
	return out
}

func (c convParam) dims() map[string]int64 {
	d := map[string]int64{"NDim": c.NDim, "G": c.G, "N": c.N, "K": c.K, "C": c.C}
	axes := "XYZ"
	for i, x := range c.Lists[1] {
		if i < len(axes) {
			d["In"+axes[len(c.Lists[1])-1-i:len(c.Lists[1])-i]] = x
		}
	}
	for i, x := range c.Lists[0] {
		if i < len(axes) {
			d["Filter"+axes[len(c.Lists[0])-1-i:len(c.Lists[0])-i]] = x
		}
	}
	return d
}

func (c convParam) clone() convParam {
	out := c
	for i := range c.Lists {
		out.Lists[i] = append([]int64(nil), c.Lists[i]...)
	}
	return out
}

// parseConvParam reads the program's default ConvParam initializer.
func parseConvParam(all string) (convParam, bool) {
	code := strings.ReplaceAll(all, "\\\n", " ") // a default spelt in a macro
	m := convParamRe.FindStringSubmatch(code)
	if m == nil {
		return convParam{}, false
	}
	var c convParam
	for i, p := range []*int64{&c.NDim, &c.G, &c.N, &c.K, &c.C} {
		*p, _ = strconv.ParseInt(m[1+i], 10, 64)
	}
	if !intRe.MatchString(m[1]) {
		c.NDim = int64(len(strings.Split(m[6], ",")))
	}
	for i := range 6 {
		for _, f := range strings.Split(m[6+i], ",") {
			x, err := strconv.ParseInt(strings.Trim(f, " \t\r\n\\"), 10, 64)
			if err != nil {
				return convParam{}, false
			}
			c.Lists[i] = append(c.Lists[i], x)
		}
		if int64(len(c.Lists[i])) != c.NDim {
			return convParam{}, false
		}
	}
	return c, c.NDim >= 1 && c.NDim <= 3
}

// convSizes: `exe verify init time NDim G N K C <filter> <input> <strides>
// <dilations> <left pads> <right pads>`, parsed by ck::utils::conv::
// parse_conv_param. The example's default is spelt out in full; the
// generated sizes double the batch N and the group count G (every GEMM
// dimension the instance tiles stays a multiple of what it was) and
// shrink the input by two pixels per spatial axis (a tail of the output).
func convSizes(in ckSizeInput) ([]datasets.Size, []string, string) {
	// parse_conv_param(ndim, FIRST, argv) reads G from argv[FIRST]; this
	// convention spells NDim at argv[4] and G at argv[5]. Some examples
	// pass 4, so G would be read from NDim's place: sizes through argv
	// cannot be spelt for them, and the next convention takes over.
	if m := convCallRe.FindStringSubmatch(in.all); m != nil {
		if at, ok := evalSum(m[1], constants(in.all)); !ok || at != 5 {
			return nil, nil, "parse_conv_param reads G from argv[" + strings.TrimSpace(m[1]) + "], not argv[5] after NDim"
		}
	}
	def, ok := parseConvParam(in.all)
	if !ok {
		return nil, nil, "no literal default ConvParam {NDim, G, N, K, C, {filter}, {input}, {strides}, {dilations}, {pads}, {pads}} found"
	}
	mk := func(name, origin string, c convParam, hidden bool) datasets.Size {
		return datasets.Size{Name: name, Args: c.args(), Dims: c.dims(), Origin: origin, Hidden: hidden}
	}
	sizes := []datasets.Size{mk("default", "example_default", def, false)}
	n2 := def.clone()
	n2.N *= 2
	sizes = append(sizes, mk(fmt.Sprintf("n%d", n2.N), "generated", n2, true))
	g2 := def.clone()
	g2.G *= 2
	sizes = append(sizes, mk(fmt.Sprintf("g%d", g2.G), "generated", g2, false))
	tail := def.clone()
	shrunk := true
	for i, x := range tail.Lists[1] {
		f := tail.Lists[0][i]
		if x-2 < f {
			shrunk = false
		}
		tail.Lists[1][i] = x - 2
	}
	var notes []string
	if shrunk {
		sizes = append(sizes, mk("tail_input-2", "generated_tail", tail, false))
	} else {
		notes = append(notes, "no tail size: the input is too small to shrink below the filter")
	}
	return sizes, notes, ""
}

var (
	// countDeclRe is a count of independent problems given a literal:
	// doubling it never breaks a tile.
	countDeclRe = regexp.MustCompile(`(?i)\b(batch_?count|group_?count|num_?groups?|num_?batch(?:es)?|batch|G)\s*=\s*(\d+)\s*;`)
	// leadDeclRe is the leading GEMM dimension of a program that spells M in code.
	leadDeclRe = regexp.MustCompile(`\b(M|M0|M_raw)\s*=\s*(\d+)\s*;`)
	// batchDeclRe is a batch N, the leading dimension of a program without M.
	batchDeclRe = regexp.MustCompile(`\b(N|N_raw)\s*=\s*(\d+)\s*;`)
	// sizeListRe is a literal list of lengths: std::vector<…> name = {a, b, …}.
	sizeListRe   = regexp.MustCompile(`std::(?:vector|array)<[^<>;]*?>\s+(\w+)\s*(?:=\s*)?\{\s*(\d+)\s*,[\d\s,]*\}`)
	notLengthsRe = regexp.MustCompile(`(?i)dim|perm|order|axis|axes|stride|pad|window|scale`)
	// sizeArgRe is a literal list of three or more lengths passed as an
	// argument (a default problem in main's call); its first length must be
	// at least 8, which keeps permutations and reduced-dimension lists out.
	sizeArgRe    = regexp.MustCompile(`[(,]\s*\{\s*(\d{2,}|[89])\s*(?:,\s*\d+\s*){2,}\}`)
	verifyArgsRe = regexp.MustCompile(`\bargc\s*(?:==\s*4|>=\s*4|>\s*3)\b`)
)

var (
	// looseListRe is a literal list of three or more lengths, declared
	// (std::vector<…> name = {…}) or passed as an argument.
	looseListRe = regexp.MustCompile(`(?:std::(?:vector|array)<[^<>;]*?>\s+(\w+)\s*(?:=\s*)?|[(,]\s*)\{\s*(\d+)((?:\s*,\s*\d+){2,})\s*\}`)
	// constexprSizeRe is a function-local integer constant.
	constexprSizeRe = regexp.MustCompile(`(?m)^[ \t]+(constexpr)\s+(auto|int|long|unsigned|(?:std::)?size_t|(?:ck::)?index_t|(?:ck::)?long_index_t|(?:std::)?u?int(?:32|64)_t)\s+(\w+)\s*=\s*(\d+)\s*;`)
	// caseLabelRe ends a line before a use that is a case label.
	caseLabelRe = regexp.MustCompile(`\bcase\s*$`)
	// sizeNameRe is what a constant that sizes a problem is called (the
	// constexpr fallback takes only these: a seed or a repeat count is
	// not a size).
	sizeNameRe = regexp.MustCompile(`(?i)len|rows?\b|rows_|cols?\b|^num_|_num\b|count|size|batch|elems|tokens|^[mnkbhsd]$`)
)

// flagValues are the values kforge passes for the run flags a
// sizes-in-code program reads from argv: verify, an integer init, time,
// and a split-K batch of 1.
var flagValues = []struct {
	name *regexp.Regexp
	val  string
}{
	{regexp.MustCompile(`(?i)verif`), "1"},
	{regexp.MustCompile(`(?i)init`), "2"},
	{regexp.MustCompile(`(?i)time`), "1"},
	{regexp.MustCompile(`(?i)^k_?batch$`), "1"},
}

// flagArgs is the argument list of a program whose sizes live in its code:
// the widest argc == N branch that reads only run flags from argv (a
// grouped GEMM that also takes k_batch prints its usage and exits 0
// without one), else verify init time where the program takes them.
func flagArgs(all string) []string {
	var best []string
	for _, m := range argcEqRe.FindAllStringSubmatchIndex(all, -1) {
		n, _ := strconv.Atoi(all[m[2]:m[3]])
		open := strings.IndexByte(all[m[1]:], '{')
		if n < 4 || n-1 <= len(best) || open < 0 {
			continue
		}
		open += m[1]
		cl := matchClose([]byte(all), open)
		if cl < 0 {
			continue
		}
		args := make([]string, n-1)
		for _, a := range argvSetRe.FindAllStringSubmatch(all[open:cl], -1) {
			k, _ := strconv.Atoi(a[2])
			name := a[1][strings.LastIndexByte(a[1], '.')+1:]
			for _, f := range flagValues {
				if k >= 1 && k < n && f.name.MatchString(name) {
					args[k-1] = f.val
					break
				}
			}
		}
		if !slices.Contains(args, "") {
			best = args
		}
	}
	if best == nil && verifyArgsRe.MatchString(all) {
		best = []string{"1", "2", "1"}
	}
	return best
}

var (
	// reduceDimsRe is a reduction's literal list of reduced dimensions.
	reduceDimsRe = regexp.MustCompile(`\breduceDims\s*=\s*\{([\d\s,]+)\}`)
	// pairedDimsRe is the list of dimensions passed right after a list of
	// lengths: f(…, {16, 64, 960}, {0, 1}, …).
	pairedDimsRe = regexp.MustCompile(`^\s*,\s*\{([\d\s,]+)\}`)
)

// keptDim is the dimension a list of lengths that ends at end moves at: a
// reduction grows along a dimension it keeps (the reduced extent is what
// its instance was chosen for; a threadwise reduction refuses a long
// one), so the first dimension its own reduced-dimension list leaves out,
// the list passed right after it or the reduceDims declared next to it;
// else the first.
func keptDim(code string, end int) int {
	m := pairedDimsRe.FindStringSubmatch(code[end:])
	if m == nil {
		if d := reduceDimsRe.FindStringSubmatch(code[end:min(len(code), end+240)]); d != nil {
			m = d
		}
	}
	if m == nil {
		return 0
	}
	reduced := map[int]bool{}
	for _, f := range strings.Split(m[1], ",") {
		if d, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			reduced[d] = true
		}
	}
	kept := 0
	for reduced[kept] {
		kept++
	}
	return kept
}

// listElem finds element j of the literal list whose first element starts
// at first: its span and value.
func listElem(code string, first, j int) (start, end int, v int64, ok bool) {
	i := first
	for k := 0; ; k++ {
		e := i
		for e < len(code) && code[e] >= '0' && code[e] <= '9' {
			e++
		}
		if e == i {
			return 0, 0, 0, false
		}
		if k == j {
			v, err := strconv.ParseInt(code[i:e], 10, 64)
			return i, e, v, err == nil && v > 0
		}
		i = e
		for i < len(code) && (code[i] == ' ' || code[i] == '\t' || code[i] == '\n' || code[i] == '\r') {
			i++
		}
		if i >= len(code) || code[i] != ',' {
			return 0, 0, 0, false
		}
		i++
		for i < len(code) && (code[i] == ' ' || code[i] == '\t' || code[i] == '\n' || code[i] == '\r') {
			i++
		}
	}
}

// lengthList reports whether a literal list is tensor lengths (not an
// axis order: not a permutation of 0..n-1, and some length at least 8),
// and gives its first length.
func lengthList(list string) (int64, bool) {
	var xs []int64
	for _, f := range strings.Split(list, ",") {
		x, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return 0, false
		}
		xs = append(xs, x)
	}
	seen, perm, big := map[int64]bool{}, true, false
	for _, x := range xs {
		perm = perm && x < int64(len(xs)) && !seen[x]
		seen[x] = true
		big = big || x >= 8
	}
	if perm || !big || xs[0] < 1 {
		return 0, false
	}
	return xs[0], true
}

// runtimeOnly reports whether the constant name, declared at decl in file,
// is read only by run-time code: no use of it sits inside a template
// argument list or an array bound, or on a line that declares another
// constant, a static_assert or a template.
func runtimeOnly(pr *program, name, file string, decl int) bool {
	re := cachedRe(`\b` + regexp.QuoteMeta(name) + `\b`)
	uses := 0
	for _, f := range pr.order {
		code := pr.code[f]
		for _, m := range re.FindAllIndex(code, -1) {
			if f == file && lineStart(code, m[0]) == lineStart(code, decl) {
				continue // the declaration's own line
			}
			uses++
			line := string(code[lineStart(code, m[0]):m[0]])
			if strings.Contains(line, "constexpr") || strings.Contains(line, "static_assert") || strings.Contains(line, "template") ||
				caseLabelRe.MatchString(line) {
				return false
			}
			// Walk back to the enclosing bracket: a '<' or '[' means a
			// template argument or an array bound.
			depth := 0
		back:
			for i := m[0] - 1; i >= 0; i-- {
				if (code[i] == '<' || code[i] == '>') && i > 0 && (code[i-1] == ' ' || code[i-1] == '-' || i+1 < len(code) && code[i+1] == '=') {
					continue // a comparison or ->, not a bracket (formatted code spaces its operators)
				}
				switch code[i] {
				case ')', ']', '>', '}':
					depth++
				case '{':
					if depth > 0 {
						depth--
						continue
					}
					// A braced list (a constant narrows silently in one, a
					// variable does not compile), or a captureless lambda's
					// body (it cannot read a local), or a block.
					j := i - 1
					for j >= 0 && (code[j] == ' ' || code[j] == '\t' || code[j] == '\n' || code[j] == '\r') {
						j--
					}
					if j >= 0 && code[j] != ')' && code[j] != ';' && code[j] != '{' && code[j] != '}' && !bytes.HasSuffix(code[:j+1], []byte("else")) && !bytes.HasSuffix(code[:j+1], []byte("do")) {
						return false
					}
					if j >= 0 && code[j] == ')' {
						if o := openParen(string(code), j); o > 0 {
							k := o - 1
							for k >= 0 && (code[k] == ' ' || code[k] == '\t') {
								k--
							}
							if k >= 1 && code[k] == ']' && code[k-1] == '[' {
								return false
							}
						}
					}
					break back
				case '(':
					if depth == 0 {
						break back
					}
					depth--
				case '[', '<':
					if depth == 0 {
						return false
					}
					depth--
				case ';':
					if depth == 0 {
						break back
					}
				}
			}
		}
	}
	return uses > 0
}

// kforgeSizeHelper is inserted at the top of a file whose size constants
// are rewritten: a value that reads its environment variable, else keeps
// the example's literal, converting to whatever the constant's type is.
const kforgeSizeHelper = "#ifndef KFORGE_SIZE_HELPER\n#define KFORGE_SIZE_HELPER\n#include <cstdlib>\n" +
	"struct kforge_size_t { const char* name; long long def; template <class T> operator T() const { const char* s = std::getenv(name); return static_cast<T>(s != nullptr ? std::atoll(s) : def); } };\n" +
	"#endif\n"

// codeSizes: a program whose sizes live in its code (main() with
// constants, batched and grouped programs whose counts are fixed). kforge
// makes other sizes by rewriting one kind of constant outside the region
// into a read of an environment variable, recorded as build rewrites: a
// count of independent problems (batch_count, group_count, G …) when the
// program has one, else the leading dimension (M, or the first length of
// every literal length list). The generated sizes multiply it by 2 and 3,
// which keeps every tile multiple the example's own size has.
func codeSizes(in ckSizeInput) ([]datasets.Size, []string, string) {
	if in.pr == nil {
		return nil, nil, "no program"
	}
	type hit struct {
		file       string
		start, end int
		lit        int64
		env        string
		// A constexpr declaration is rewritten from its keyword (at from)
		// into a const one (prefix) reading the environment.
		from   int
		prefix string
	}
	find := func(names *regexp.Regexp, lists bool) []hit {
		var hits []hit
		for _, f := range in.pr.order {
			code := string(in.pr.code[f])
			for _, m := range names.FindAllStringSubmatchIndex(code, -1) {
				name := code[m[2]:m[3]]
				if pre := code[lineStart([]byte(code), m[2]):m[2]]; strings.Contains(pre, "constexpr") || strings.Contains(pre, "auto") || strings.Contains(pre, "#") {
					continue
				}
				x, _ := strconv.ParseInt(code[m[4]:m[5]], 10, 64)
				if x <= 0 {
					continue
				}
				hits = append(hits, hit{file: f, start: m[4], end: m[5], lit: x, env: "KFORGE_SIZE_" + strings.ToUpper(name)})
			}
			if !lists {
				continue
			}
			// A ConvParam literal's batch N (its third field).
			for _, m := range convParamRe.FindAllStringSubmatchIndex(code, -1) {
				x, _ := strconv.ParseInt(code[m[6]:m[7]], 10, 64)
				if x > 0 {
					hits = append(hits, hit{file: f, start: m[6], end: m[7], lit: x, env: "KFORGE_SIZE_CONV_N"})
				}
			}
			listed := map[int]bool{}
			for _, m := range sizeListRe.FindAllStringSubmatchIndex(code, -1) {
				if strings.Contains(code[lineStart([]byte(code), m[0]):m[0]], "constexpr") {
					continue
				}
				// Lengths, not dimension indices, permutations or strides.
				x, _ := strconv.ParseInt(code[m[4]:m[5]], 10, 64)
				if x >= 8 && !notLengthsRe.MatchString(code[m[2]:m[3]]) {
					if s, e, v, ok := listElem(code, m[4], keptDim(code, m[1])); ok {
						listed[m[4]] = true
						hits = append(hits, hit{file: f, start: s, end: e, lit: v, env: "KFORGE_SIZE_LEAD"})
					}
				}
			}
			for _, m := range sizeArgRe.FindAllStringSubmatchIndex(code, -1) {
				if x, _ := strconv.ParseInt(code[m[2]:m[3]], 10, 64); x > 0 && !listed[m[2]] {
					if s, e, v, ok := listElem(code, m[2], keptDim(code, m[1])); ok {
						hits = append(hits, hit{file: f, start: s, end: e, lit: v, env: "KFORGE_SIZE_LEAD"})
					}
				}
			}
		}
		return hits
	}
	hits := find(countDeclRe, false)
	what := "count"
	if len(hits) == 0 {
		hits, what = find(leadDeclRe, true), "leading dimension"
		// Length lists move together only where they share the first
		// list's leading length (a, d and e of a contraction share M0; b's
		// N0 stays): other lists keep their sizes.
		first := int64(-1)
		kept := hits[:0]
		for _, h := range hits {
			if h.env == "KFORGE_SIZE_LEAD" {
				if first < 0 {
					first = h.lit
				}
				if h.lit != first {
					continue
				}
			}
			kept = append(kept, h)
		}
		hits = kept
	}
	if len(hits) == 0 {
		hits, what = find(batchDeclRe, false), "batch"
	}
	if len(hits) == 0 {
		// Lists whose first length is small (a batch of 1 or 4 before the
		// lengths that matter): any list of lengths, not an axis order.
		for _, f := range in.pr.order {
			code := string(in.pr.code[f])
			for _, m := range looseListRe.FindAllStringSubmatchIndex(code, -1) {
				if m[2] >= 0 && notLengthsRe.MatchString(code[m[2]:m[3]]) || strings.Contains(code[lineStart([]byte(code), m[0]):m[0]], "constexpr") {
					continue
				}
				if x, ok := lengthList(code[m[4]:m[5]] + code[m[6]:m[7]]); ok {
					hits = append(hits, hit{file: f, start: m[4], end: m[5], lit: x, env: "KFORGE_SIZE_LEAD"})
				}
			}
		}
		what = "leading dimension"
	}
	if len(hits) == 0 {
		// Sizes spelled as constexpr locals that only run-time code reads
		// (never a template argument, an array bound or another constant):
		// the declaration becomes a const that reads the environment.
		for _, f := range in.pr.order {
			code := string(in.pr.code[f])
			for _, m := range constexprSizeRe.FindAllStringSubmatchIndex(code, -1) {
				name := code[m[6]:m[7]]
				x, _ := strconv.ParseInt(code[m[8]:m[9]], 10, 64)
				if x < 8 || notLengthsRe.MatchString(name) || !sizeNameRe.MatchString(name) || !runtimeOnly(in.pr, name, f, m[0]) {
					continue
				}
				typ := code[m[4]:m[5]]
				if typ == "auto" {
					typ = "decltype(" + code[m[8]:m[9]] + ")"
				}
				hits = append(hits, hit{file: f, start: m[8], end: m[9], lit: x, env: "KFORGE_SIZE_" + strings.ToUpper(name),
					from: m[2], prefix: "const " + typ + " " + name + " = "})
			}
		}
		what = "compile-time constants"
	}
	if len(hits) == 0 {
		return nil, nil, "no size constant found in the code (no count such as batch_count or group_count, no M or N, no literal length list or ConvParam)"
	}
	// One variable per name and literal: sites that spell the same size
	// the same way move together (nchw and nhwc's batch), others apart.
	defs := map[string]int64{}
	envOf := map[string]string{}
	var envs []string
	for i, h := range hits {
		key := h.env + "=" + strconv.FormatInt(h.lit, 10)
		e, ok := envOf[key]
		if !ok {
			e = h.env
			if _, used := defs[e]; used {
				e += "_" + strconv.Itoa(len(envs)+1)
			}
			envOf[key], defs[e] = e, h.lit
			envs = append(envs, e)
		}
		hits[i].env = e
	}
	var rw []datasets.Rewrite
	helped := map[string]bool{}
	for _, h := range hits {
		if !helped[h.file] {
			helped[h.file] = true
			rw = append(rw, datasets.Rewrite{File: h.file, Start: 0, End: 0, With: kforgeSizeHelper})
		}
		lit := string(in.pr.raw[h.file][h.start:h.end])
		from := h.start
		if h.prefix != "" {
			from = h.from
		}
		rw = append(rw, datasets.Rewrite{File: h.file, Start: from, End: h.end, Text: string(in.pr.raw[h.file][from:h.end]),
			With: fmt.Sprintf("%skforge_size_t{%q, %s}", h.prefix, h.env, lit)})
	}
	sortRewrites(rw)
	*in.rewrites = rw
	args := flagArgs(in.all)
	mk := func(name, origin string, f int64, hidden bool) datasets.Size {
		s := datasets.Size{Name: name, Args: args, Origin: origin, Hidden: hidden, Dims: map[string]int64{}}
		for _, e := range envs {
			x := defs[e] * f
			s.Dims[strings.TrimPrefix(e, "KFORGE_SIZE_")] = x
			if f != 1 {
				if s.Env == nil {
					s.Env = map[string]string{}
				}
				s.Env[e] = strconv.FormatInt(x, 10)
			}
		}
		return s
	}
	// A count or a batch halves as safely as it doubles (fewer problems of
	// the same shapes; counts whose problems grow with their index stay
	// small, a tripled batch may not fit); a dimension only grows by whole
	// multiples, which keep its tiles.
	half := what == "count" || what == "batch"
	for _, e := range envs {
		half = half && defs[e] >= 2 && defs[e]%2 == 0
	}
	// A large leading length of a length list (a reduction's or a
	// permutation's outermost, tens of millions of elements already) shrinks
	// instead: halved and quartered.
	shrink := what == "leading dimension" || what == "compile-time constants"
	for _, e := range envs {
		shrink = shrink && (e == "KFORGE_SIZE_LEAD" || what != "leading dimension") && defs[e] >= 32 && defs[e]%4 == 0
	}
	part := func(name string, div int64, hidden bool) datasets.Size {
		s := mk(name, "generated", 1, hidden)
		s.Env = map[string]string{}
		for _, e := range envs {
			x := defs[e] / div
			s.Dims[strings.TrimPrefix(e, "KFORGE_SIZE_")] = x
			s.Env[e] = strconv.FormatInt(x, 10)
		}
		return s
	}
	if shrink {
		sizes := []datasets.Size{mk("default", "example_default", 1, false), part("half", 2, true), part("quarter", 4, false)}
		notes := []string{"the sizes live in the program's code: kforge rewrites its leading length (" + strings.Join(envs, ", ") + ") outside the region to read the environment; the generated sizes halve and quarter it"}
		return sizes, notes, ""
	}
	sizes := []datasets.Size{mk("default", "example_default", 1, false), mk("x2", "generated", 2, true)}
	how := "2 and 3"
	if half {
		sizes = append(sizes, part("half", 2, false))
		how = "2 and halves it"
	} else {
		sizes = append(sizes, mk("x3", "generated", 3, false))
	}
	notes := []string{"the sizes live in the program's code: kforge rewrites its " + what + " (" + strings.Join(envs, ", ") + ") outside the region to read the environment; the generated sizes multiply it by " + how}
	return sizes, notes, ""
}

// sortRewrites orders rewrites by file, then offset, inserts first.
func sortRewrites(rw []datasets.Rewrite) {
	sort.SliceStable(rw, func(i, j int) bool {
		if rw[i].File != rw[j].File {
			return rw[i].File < rw[j].File
		}
		return rw[i].Start < rw[j].Start
	})
}
