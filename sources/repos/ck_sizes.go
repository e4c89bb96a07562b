package repos

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"kforge/datasets"
)

// The problem sizes of a classic CK example: read from its argument
// conventions and generated within its instance's rules.

var (
	argc4Re    = regexp.MustCompile(`argc\s*==\s*4\b`)
	argcEqRe   = regexp.MustCompile(`argc\s*==\s*(\d+)\s*\)`)
	argvSetRe  = regexp.MustCompile(`([\w.]+)\s*=\s*(?:std::)?(?:sto\w+|ato\w+)\(\s*argv\[(\d+)\]`)
	strideName = regexp.MustCompile(`(?i)^stride_?([a-z])\w*$`)
)

// argSchema finds the widest `argc == N` branch that sets M, N and K from
// argv, and returns the name each position sets (1-based; 1..3 are the
// verify, init and time flags).
func argSchema(all string) map[int]string {
	var best map[int]string
	bestN := 0
	for _, m := range argcEqRe.FindAllStringSubmatchIndex(all, -1) {
		n, _ := strconv.Atoi(all[m[2]:m[3]])
		open := strings.IndexByte(all[m[1]:], '{')
		if open < 0 || n <= bestN {
			continue
		}
		open += m[1]
		cl := matchClose([]byte(all), open)
		if cl < 0 {
			continue
		}
		schema := map[int]string{}
		for _, a := range argvSetRe.FindAllStringSubmatch(all[open:cl], -1) {
			k, _ := strconv.Atoi(a[2])
			name := a[1]
			if i := strings.LastIndexByte(name, '.'); i >= 0 {
				name = name[i+1:]
			}
			schema[k] = name
		}
		has := map[string]bool{}
		for _, v := range schema {
			has[v] = true
		}
		if has["M"] && has["N"] && has["K"] && len(schema) == n-1 {
			best, bestN = schema, n
		}
	}
	return best
}

// defaultOf finds the literal a program initialises name with.
func defaultOf(all, name string) (string, bool) {
	re := cachedRe(`\b` + regexp.QuoteMeta(name) + `\s*(?:=|\{)\s*(-?[0-9]+(?:\.[0-9]*)?)[fF]?\b`)
	if m := re.FindStringSubmatch(all); m != nil {
		return m[1], true
	}
	return "", false
}

// ckSizes derives problem sizes from the example's argument conventions:
// `exe verify init time` for its defaults, and the widest form that also
// takes M N K (and strides, alpha, batch … ) for generated sizes. The
// generated sizes follow the instance's rules (ckRules): a tail breaks only
// the tiles the specialization pads, and every size keeps the vector widths.
// notes say what could not be generated and why.
func mnkSizes(in ckSizeInput) ([]datasets.Size, []string, string) {
	all, layouts, params := in.all, in.layouts, in.params
	schema := argSchema(all)
	if schema == nil {
		return nil, nil, "no M N K argument convention recognised"
	}
	hasO := false
	for _, v := range schema {
		hasO = hasO || v == "O"
	}
	rules := ckRulesFor(params, layouts, hasO)
	// Run-time arguments that multiply a tile: split-K's k_batch splits K
	// into that many slices of whole tiles.
	for _, v := range schema {
		if strings.EqualFold(v, "KBatch") || strings.EqualFold(v, "k_batch") {
			if d, ok := defaultOf(all, v); ok && intRe.MatchString(d) {
				if kb, _ := strconv.ParseInt(d, 10, 64); kb > 1 && rules.Tile["K"] > 0 {
					rules.Tile["K"] *= kb
				}
			}
		}
	}
	row := func(tensor string) bool {
		for _, want := range []string{tensor + "Layout", tensor[:1] + "Layout"} {
			for _, l := range layouts {
				n, v, _ := strings.Cut(l, "=")
				if n == want {
					return !strings.Contains(v, "Col")
				}
			}
		}
		return true
	}
	var fail string
	dims := map[string]int64{}
	mk := func(name, origin string, m, n, k int64, hidden bool) datasets.Size {
		s := datasets.Size{Name: name, Dims: map[string]int64{"M": m, "N": n, "K": k}, Hidden: hidden, Origin: origin}
		for d, x := range dims {
			if _, set := s.Dims[d]; !set {
				s.Dims[d] = x
			}
		}
		o := s.Dims["O"]
		s.Args = []string{"1", "2", "1"}
		for pos := 4; pos <= len(schema); pos++ {
			v := schema[pos]
			var val string
			switch {
			case v == "M":
				val = strconv.FormatInt(m, 10)
			case v == "N":
				val = strconv.FormatInt(n, 10)
			case v == "K":
				val = strconv.FormatInt(k, 10)
			case strideName.MatchString(v):
				// The example's own stride rules: a negative default that
				// the program replaces (`Stride < 0 ? packed : Stride`) is
				// passed on; a zero default is a broadcast tensor.
				if d, ok := defaultOf(all, v); ok && (d == "0" || strings.HasPrefix(d, "-") && cachedRe(`\b`+regexp.QuoteMeta(v)+`\s*<\s*0`).MatchString(all)) {
					val = d
					break
				}
				t := strings.ToUpper(strideName.FindStringSubmatch(v)[1])
				digit := strings.TrimLeft(strings.TrimPrefix(strings.ToUpper(v), "STRIDE"), "_")
				var x int64
				switch {
				case t == "A":
					x = k
					if !row("A") {
						x = m
					}
				case t == "B" && strings.HasPrefix(digit, "B1"): // the second GEMM's N x O
					x = o
					if !row("B1") {
						x = n
					}
				case t == "B":
					x = n
					if !row("B") {
						x = k
					}
				default: // C, D, E: M x N, or M x O after a second GEMM
					x = n
					if o > 0 {
						x = o
					}
					if !row(t) {
						x = m
					}
				}
				val = strconv.FormatInt(x, 10)
			default:
				d, ok := defaultOf(all, v)
				if !ok {
					fail = "no default for argument " + v
				}
				val = d
				if kb, err := strconv.ParseInt(d, 10, 64); err == nil && (strings.EqualFold(v, "KBatch") || strings.EqualFold(v, "k_batch")) {
					s.Dims["KBatch"] = kb
				}
			}
			s.Args = append(s.Args, val)
		}
		return s
	}
	// The example's own default problem, spelt out in the widest form when
	// its M, N and K defaults are literals; else through `verify init time`.
	for _, v := range schema {
		if x, ok := defaultOf(all, v); ok && len(v) == 1 && v >= "A" && v <= "Z" {
			if n, err := strconv.ParseInt(x, 10, 64); err == nil && n > 0 {
				dims[v] = n
			}
		}
	}
	var notes []string
	var def datasets.Size
	switch {
	case dims["M"] > 0 && dims["N"] > 0 && dims["K"] > 0:
		def = mk("default", "example_default", dims["M"], dims["N"], dims["K"], false)
		if why := rules.violations(def.Dims); len(why) > 0 {
			notes = append(notes, "the example's default size breaks the rules kforge read ("+strings.Join(why, "; ")+"); kept as the example's own")
		}
	case argc4Re.MatchString(all):
		def = datasets.Size{Name: "default", Args: []string{"1", "2", "1"}, Origin: "example_default"}
	default:
		return nil, nil, "no default problem size found"
	}
	sizes := []datasets.Size{def}
	fixed := map[string]int64{}
	for d, x := range dims {
		if d != "M" && d != "N" && d != "K" {
			fixed[d] = x
		}
	}
	if why := rules.violations(fixed); len(why) > 0 {
		// A fixed dimension (O, …) the generated sizes keep at its default.
		notes = append(notes, "no generated sizes: the default of a fixed dimension breaks the rules ("+strings.Join(why, "; ")+")")
		return sizes, notes, fail
	}
	for _, d := range []string{"M", "N", "K"} {
		if rules.Tile[d] <= 0 {
			notes = append(notes, "no generated sizes: the block tile of "+d+" was not found among the template arguments")
			return sizes, notes, fail
		}
	}
	step := func(d string) int64 { return lcm(rules.Tile[d], rules.Vec[d]) }
	m2, n2, k2 := roundUp(1024, step("M")), roundUp(1536, step("N")), roundUp(1024, step("K"))
	sizes = append(sizes, mk(fmt.Sprintf("m%dn%dk%d", m2, n2, k2), "generated", m2, n2, k2, true))
	// The tail breaks the tiles of the dimensions the specialization pads,
	// by part of a tile that keeps the vector widths; the others stay whole.
	mt, bm := rules.tailDim("M")
	nt, bn := rules.tailDim("N")
	kt, bk := rules.tailDim("K")
	if bm || bn || bk {
		sizes = append(sizes, mk(fmt.Sprintf("tail_m%dn%dk%d", mt, nt, kt), "generated_tail", mt, nt, kt, false))
	} else {
		notes = append(notes, "no tail size: "+rules.specName()+" pads none of M, N, K (or no part of a tile keeps the vector widths), so the op refuses sizes off its block tile")
	}
	for _, s := range sizes[1:] {
		if why := rules.violations(s.Dims); len(why) > 0 {
			return nil, nil, "generated size " + s.Name + " breaks the rules: " + strings.Join(why, "; ")
		}
	}
	if fail != "" {
		return nil, nil, fail
	}
	return sizes, notes, ""
}

var compiled sync.Map // expression -> *regexp.Regexp

// cachedRe compiles expr once per process (the names it is built from
// repeat across programs).
func cachedRe(expr string) *regexp.Regexp {
	if re, ok := compiled.Load(expr); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(expr)
	compiled.Store(expr, re)
	return re
}
