package repos

import (
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// This file holds what the classic CK miner reads from the program's own
// rules: which instance main runs, which archs the device op accepts, which
// dimensions its specialization pads, its tiles and vector widths.

var aliasHeadRe = regexp.MustCompile(`\busing\s+(\w+)\s*=`)

// liveNames returns the identifiers the program's code reaches: every
// identifier used outside a using-alias, and, transitively, those that the
// aliases it reaches name. An instance alias outside the set is defined but
// never run.
func liveNames(code string) map[string]bool {
	type span struct {
		name       string
		start, end int
		nameAt     int
	}
	var spans []span
	for _, m := range aliasHeadRe.FindAllStringSubmatchIndex(code, -1) {
		end := strings.IndexByte(code[m[1]:], ';')
		if end < 0 {
			continue
		}
		spans = append(spans, span{name: code[m[2]:m[3]], start: m[0], end: m[1] + end, nameAt: m[2]})
	}
	edges := map[string][]string{}
	live := map[string]bool{}
	var roots []string
	si := 0
	for _, m := range identRe.FindAllStringIndex(code, -1) {
		for si < len(spans) && spans[si].end <= m[0] {
			si++
		}
		id := code[m[0]:m[1]]
		if si < len(spans) && spans[si].start <= m[0] {
			if m[0] != spans[si].nameAt {
				edges[spans[si].name] = append(edges[spans[si].name], id)
			}
			continue
		}
		roots = append(roots, id)
	}
	for len(roots) > 0 {
		id := roots[len(roots)-1]
		roots = roots[:len(roots)-1]
		if live[id] {
			continue
		}
		live[id] = true
		roots = append(roots, edges[id]...)
	}
	return live
}

var (
	supportedFnRe = regexp.MustCompile(`\binline\s+bool\s+(is_\w+_supported)\s*\(\s*\)\s*\{`)
	gfxLitRe      = regexp.MustCompile(`"(gfx[0-9a-z]+)"`)
	isSupportedRe = regexp.MustCompile(`\bIsSupportedArgument\s*\([^;{]*\)\s*(?:const\s*)?(?:override\s*)?\{`)
	archPredRe    = regexp.MustCompile(`\b(is_\w+_supported)\s*\(\s*\)`)
	deviceNameRe  = regexp.MustCompile(`get_device_name\s*\(\s*\)\s*==\s*"(gfx[0-9a-z]+)"`)
)

// isPropHeader says which headers may define arch predicates such as
// ck::is_xdl_supported().
func isPropHeader(p string) bool {
	return strings.HasPrefix(p, "include/") && strings.HasSuffix(p, ".hpp") &&
		(strings.Contains(p, "/host_utility/") || strings.Contains(path.Base(p), "device_prop"))
}

// archPredicates reads `inline bool is_xxx_supported() { return … == "gfxNNN" … }`
// into predicate -> device names.
func archPredicates(raw, code []byte) map[string][]string {
	out := map[string][]string{}
	for _, m := range supportedFnRe.FindAllSubmatchIndex(code, -1) {
		cl := matchClose(code, m[1]-1)
		if cl < 0 {
			continue
		}
		var names []string
		for _, g := range gfxLitRe.FindAllSubmatch(raw[m[1]:cl], -1) {
			names = append(names, string(g[1]))
		}
		out[string(code[m[2]:m[3]])] = names
	}
	return out
}

// opArchChecks reads the arch checks of a device op's IsSupportedArgument
// bodies: the predicates it calls and the device names it compares with.
func opArchChecks(raw, code []byte) (preds, names []string) {
	for _, m := range isSupportedRe.FindAllIndex(code, -1) {
		cl := matchClose(code, m[1]-1)
		if cl < 0 {
			continue
		}
		for _, p := range archPredRe.FindAllSubmatch(code[m[1]:cl], -1) {
			if s := string(p[1]); !contains(preds, s) {
				preds = append(preds, s)
			}
		}
		for _, n := range deviceNameRe.FindAllSubmatch(raw[m[1]:cl], -1) {
			if s := string(n[1]); !contains(names, s) {
				names = append(names, s)
			}
		}
	}
	return preds, names
}

// opArchs keeps the configured archs the device op's own checks accept. It
// returns ok=false when the op has no arch check of its own (the caller
// then falls back to the file name), and the accepted device names.
func (d *declIndex) opArchs(v *view, op decl, archs []string) (out, accepted []string, ok bool) {
	if len(op.ArchPreds) == 0 && len(op.ArchNames) == 0 {
		return nil, nil, false
	}
	accepted = append(accepted, op.ArchNames...)
	for _, p := range op.ArchPreds {
		names, known := d.preds[p]
		if !known {
			continue // a predicate that is not about the device (e.g. a feature test)
		}
		v.blob(d.predPath[p])
		for _, n := range names {
			if !contains(accepted, n) {
				accepted = append(accepted, n)
			}
		}
	}
	if len(accepted) == 0 {
		return nil, nil, false
	}
	for _, a := range archs {
		base, _, _ := strings.Cut(a, ":")
		if contains(accepted, base) {
			out = append(out, a)
		}
	}
	sort.Strings(accepted)
	return out, accepted, true
}

var constexprRe = regexp.MustCompile(`\bconstexpr\s+(?:auto|[\w:]+)\s+(\w+)\s*=\s*([^;{]+);`)

// constants collects `constexpr T X = v;` in a program, for resolving
// template arguments such as GemmSpec.
func constants(code string) map[string]string {
	m := map[string]string{}
	for _, s := range constexprRe.FindAllStringSubmatch(code, -1) {
		m[s[1]] = squash(s[2])
	}
	return m
}

var specPadRe = regexp.MustCompile(`^([MNKO]*)Padding$`)

// padded reads the dimensions a specialization pads from its enumerator:
// Default pads none, MNKPadding pads M, N and K, MNKOPadding O too. ok is
// false when the value is not a GemmSpecialization enumerator kforge knows.
func padded(spec string) (dims string, ok bool) {
	if i := strings.LastIndex(spec, "::"); i >= 0 {
		spec = spec[i+2:]
	}
	spec = strings.TrimSpace(spec)
	if spec == "Default" {
		return "", true
	}
	if m := specPadRe.FindStringSubmatch(spec); m != nil && m[1] != "" {
		return m[1], true
	}
	return "", false
}

// ckRules are the size rules of one instance: a dimension off its block
// tile is refused unless the specialization pads it, and every dimension is
// kept a multiple of the vector widths that walk it.
type ckRules struct {
	Tile   map[string]int64 // block tile per dimension
	Vec    map[string]int64 // lcm of the vector widths along a dimension
	Padded string           // dimensions the specialization pads
	Spec   string           // the specialization enumerator, "" when unknown
}

// violations says why dims break the rules ("" entries none).
func (r ckRules) violations(dims map[string]int64) []string {
	var out []string
	for _, d := range []string{"M", "N", "K", "O"} {
		x, ok := dims[d]
		if !ok {
			continue
		}
		if t := r.Tile[d]; t > 0 && x%t != 0 && !strings.Contains(r.Padded, d) {
			out = append(out, d+"="+strconv.FormatInt(x, 10)+" is off the "+strconv.FormatInt(t, 10)+" tile and "+r.specName()+" does not pad "+d)
		}
		if w := r.Vec[d]; w > 1 && x%w != 0 {
			out = append(out, d+"="+strconv.FormatInt(x, 10)+" is not a multiple of the vector width "+strconv.FormatInt(w, 10))
		}
	}
	return out
}

func (r ckRules) specName() string {
	if r.Spec == "" {
		return "the unknown specialization"
	}
	return r.Spec
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int64) int64 {
	if a <= 0 {
		return b
	}
	if b <= 0 {
		return a
	}
	return a / gcd(a, b) * b
}

var (
	srcVecRe = regexp.MustCompile(`^([AB]\d?)BlockTransferSrcScalarPerVector$`)
	outVecRe = regexp.MustCompile(`^(?:C|CDE|CShuffle|E)\w*ScalarPerVector\w*$`)
)

// ckRulesFor reads an instance's rules from its resolved template arguments
// (name -> value) and layouts ("ALayout=RowMajor", …).
func ckRulesFor(params map[string]string, layouts []string, hasO bool) ckRules {
	r := ckRules{Tile: map[string]int64{}, Vec: map[string]int64{}}
	num := func(names ...string) int64 {
		for _, n := range names {
			if s, ok := params[n]; ok && intRe.MatchString(s) {
				if x, _ := strconv.ParseInt(s, 10, 64); x > 0 {
					return x
				}
			}
		}
		return 0
	}
	r.Tile["M"] = num("MPerBlock", "Gemm0MPerBlock")
	r.Tile["N"] = lcm(num("NPerBlock", "Gemm0NPerBlock", "LPerBlock"), num("Gemm1KPerBlock"))
	if k := num("KPerBlock", "Gemm0KPerBlock"); k > 0 {
		r.Tile["K"] = k
	} else if k0, k1 := num("K0PerBlock"), num("K1", "AK1"); k0 > 0 && k1 > 0 {
		r.Tile["K"] = k0 * k1
	}
	if hasO {
		r.Tile["O"] = num("Gemm1NPerBlock")
	}
	for _, n := range []string{"K1", "AK1", "BK1"} {
		r.Vec["K"] = lcm(r.Vec["K"], num(n))
	}
	rowMajor := func(tensor string) bool {
		for _, want := range []string{tensor + "Layout", tensor[:1] + "Layout", tensor[:1] + "sLayout"} {
			for _, l := range layouts {
				n, v, _ := strings.Cut(l, "=")
				if n == want {
					return !strings.Contains(v, "Col")
				}
			}
		}
		return true
	}
	// The contiguous dimension of each tensor: A is M x K, B (B0) K x N, B1
	// N x O, the output M x N (M x O with a second GEMM).
	contiguous := func(tensor string) string {
		out := "N"
		if hasO {
			out = "O"
		}
		dims := map[string][2]string{"A": {"M", "K"}, "A0": {"M", "K"}, "B": {"K", "N"}, "B0": {"K", "N"}, "B1": {"N", "O"}, "C": {"M", out}}[tensor]
		if dims[0] == "" {
			return ""
		}
		if rowMajor(tensor) {
			return dims[1]
		}
		return dims[0]
	}
	for name := range params {
		tensor := ""
		if m := srcVecRe.FindStringSubmatch(name); m != nil {
			tensor = m[1]
		} else if outVecRe.MatchString(name) {
			tensor = "C"
		}
		if tensor == "" {
			continue
		}
		if d := contiguous(tensor); d != "" {
			r.Vec[d] = lcm(r.Vec[d], num(name))
		}
	}
	for name, v := range params {
		if !strings.Contains(name, "GemmSpec") {
			continue
		}
		if p, ok := padded(v); ok {
			r.Padded = p
			r.Spec = v
			if i := strings.LastIndex(v, "::"); i >= 0 {
				r.Spec = v[i+2:]
			}
		}
	}
	return r
}

// tailDim is the tail size of one dimension: four tiles and a part of a
// tile that keeps the vector widths, when the specialization pads the
// dimension; whole tiles when it does not. broken says whether it is off
// the tile.
func (r ckRules) tailDim(d string) (x int64, broken bool) {
	t, w := r.Tile[d], max(r.Vec[d], 1)
	if !strings.Contains(r.Padded, d) {
		return roundUp(4*t, lcm(t, w)), false
	}
	part := t / 2 / w * w
	if part <= 0 && w < t {
		part = w
	}
	if part <= 0 || part%t == 0 {
		return roundUp(4*t, lcm(t, w)), false
	}
	return 4*t + part, true
}
