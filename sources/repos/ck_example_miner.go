package repos

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"kforge/datasets"
	"kforge/filters/gate"
)

// ckExampleRe matches classic CK example sources: example/NN_name/…/*.cpp.
var ckExampleRe = regexp.MustCompile(`^example/\d+_[^/]+/(?:[^/]+/)*[^/]+\.cpp$`)

// ckMinerVersion is part of the cache key of classic CK examples.
const ckMinerVersion = "ck-v3"

// decl is a device-op template declaration from a header.
type decl struct {
	Name     string
	Params   []string
	Variadic bool
	Text     string // the template head and the struct name, for prompts
	Path     string // header it came from
	// ArchPreds and ArchNames are the arch checks of its IsSupportedArgument:
	// predicates such as is_xdl_supported and device names it compares with.
	ArchPreds, ArchNames []string
}

// declIndex maps device-op names to their declarations.
type declIndex struct {
	once     sync.Once
	decls    map[string]decl
	preds    map[string][]string // arch predicate -> device names it accepts
	predPath map[string]string   // arch predicate -> header defining it
	scan     headerScan
}

var (
	templateRe   = regexp.MustCompile(`\btemplate\s*<`)
	structHeadRe = regexp.MustCompile(`^\s*(?:struct|class)\s+(Device\w*)\s*(?:final\s*)?([:{;])`)
	identRe      = regexp.MustCompile(`[A-Za-z_]\w*`)
)

// isDeclHeader says which headers may declare device ops.
func isDeclHeader(p string) bool {
	return (strings.HasPrefix(p, "include/") || strings.HasPrefix(p, "library/include/")) &&
		strings.Contains(p, "/device/") && strings.HasSuffix(p, ".hpp")
}

// load parses every device-op header once; the definition with the most
// parameters wins over forward declarations.
func (d *declIndex) load(t *tree) {
	d.once.Do(func() {
		d.decls = map[string]decl{}
		d.preds, d.predPath = map[string][]string{}, map[string]string{}
		for _, p := range t.paths {
			if isPropHeader(p) {
				if b, _, err := t.read(p); err == nil {
					for name, names := range archPredicates(b, blank(b)) {
						d.preds[name], d.predPath[name] = names, p
					}
				}
			}
			if !isDeclHeader(p) {
				continue
			}
			b, _, err := t.read(p)
			if err != nil {
				continue
			}
			code := blank(b)
			preds, names := opArchChecks(b, code)
			for _, m := range templateRe.FindAllIndex(code, -1) {
				lt := m[1] - 1
				gt := matchClose(code, lt)
				if gt < 0 {
					continue
				}
				sm := structHeadRe.FindSubmatchIndex(code[gt+1:])
				if sm == nil {
					continue
				}
				name := string(code[gt+1+sm[2] : gt+1+sm[3]])
				var params []string
				variadic := false
				for _, a := range splitTop(string(code[lt+1 : gt])) {
					if strings.Contains(a, "...") {
						variadic = true
					}
					if n := paramName(a); n != "" {
						params = append(params, n)
					}
				}
				if old, ok := d.decls[name]; ok && len(old.Params) >= len(params) {
					continue
				}
				text := squash(string(code[m[0] : gt+1+sm[3]]))
				d.decls[name] = decl{Name: name, Params: params, Variadic: variadic, Text: text, Path: p, ArchPreds: preds, ArchNames: names}
			}
		}
	})
}

// paramName is the name of one template parameter declaration.
func paramName(a string) string {
	if i := topLevelEq(a); i >= 0 {
		a = a[:i]
	}
	ids := identRe.FindAllString(a, -1)
	if len(ids) < 2 { // a type and a name at least
		return ""
	}
	return ids[len(ids)-1]
}

func topLevelEq(s string) int {
	at := -1
	eachTop(s, func(i int) bool {
		if s[i] == '=' {
			at = i
			return false
		}
		return true
	})
	return at
}

var problemParamRe = regexp.MustCompile(`Layout|DataType|ElementwiseOp|ElementOp|Specialization|GemmSpec|ComputeType|NumDim|^NDim|ReduceOp|^Rank$|^NumReduceDim$|InElementwise|AccElementwise|OutElementwise|Elementwise`)

// classify says whether a template parameter defines the problem or is a tuning knob.
func classify(name string) string {
	if problemParamRe.MatchString(name) {
		return "problem"
	}
	return "knob"
}

var (
	usingRe = regexp.MustCompile(`\busing\s+(\w+)\s*=\s*`)
	qualRe  = regexp.MustCompile(`^(?:::)?\s*(?:\w+\s*::\s*)*(\w+)`)
	aliasRe = regexp.MustCompile(`\busing\s+(\w+)\s*=\s*([^;{]+);`)
	intRe   = regexp.MustCompile(`^-?\d+$`)
)

// aliases collects `using A = B;` in a program, for resolving local names.
func aliases(code string) map[string]string {
	m := map[string]string{}
	for _, s := range aliasRe.FindAllStringSubmatch(code, -1) {
		m[s[1]] = squash(s[2])
	}
	return m
}

func resolveAlias(al map[string]string, v string) string {
	for range 6 {
		n, ok := al[strings.TrimSpace(v)]
		if !ok {
			break
		}
		v = n
	}
	return v
}

// ckExampleRules are shown to the model and enforced by the gate.
var ckExampleRules = []string{
	"Replace only the instance alias; keep its name and end it with ';'.",
	"Keep every problem parameter (layouts, data types, element-wise operations, GemmSpec) exactly as given.",
	"Change only tuning knobs; they must satisfy the device op's constraints (e.g. BlockSize = waves*64, cluster lengths multiply to BlockSize, vector widths divide the contiguous dimension).",
}

// ckPassRule is the pass rule of classic CK examples: they return success
// even when the instance refuses the problem, so that line fails a run too.
var ckPassRule = datasets.PassRule{ExitZero: true, Fail: []string{"Incorrect results", "does not support this problem"}}

const ckPerfPattern = `Perf:\s*(?P<ms>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*ms`

// mineCKExample mines one classic CK example program: one task per device-op instance.
func mineCKExample(v *view, p string, sh *shared, archs []string) programResult {
	var res programResult
	decls := sh.decls
	pr, err := loadProgram(v, p, func(q string) bool { return strings.HasPrefix(q, "example/") })
	if err != nil {
		res.Skips = append(res.Skips, "ck-example: "+reason(err))
		return res
	}
	if !pr.hasMain() {
		return res // a helper source of a multi-file example, not a program
	}
	all := pr.all()
	al := aliases(all)
	consts := constants(all)
	resolve := func(v string) string {
		for range 8 {
			n := resolveAlias(al, v)
			if c, ok := consts[strings.TrimSpace(n)]; ok {
				n = c
			}
			if n == v {
				break
			}
			v = n
		}
		return v
	}
	// Only the instances main reaches are tasks: follow the names from the
	// code outside aliases through alias chains.
	live := liveNames(all)
	needs := ckNeeds(v, p, pr, decls)
	localTemplates := map[string]bool{}
	for _, m := range usingRe.FindAllStringSubmatchIndex(all, -1) {
		if templatedAlias([]byte(all), m[0]) {
			localTemplates[all[m[2]:m[3]]] = true
		}
	}
	for _, f := range pr.order {
		code := pr.code[f]
		cond := condSpans(code)
		for _, m := range usingRe.FindAllSubmatchIndex(code, -1) {
			start, alias := m[0], string(code[m[2]:m[3]])
			qm := qualRe.FindSubmatchIndex(code[m[1]:])
			if qm == nil {
				continue
			}
			name := string(code[m[1]+qm[2] : m[1]+qm[3]])
			if !strings.HasPrefix(name, "Device") {
				continue
			}
			i := m[1] + qm[1]
			for i < len(code) && (code[i] == ' ' || code[i] == '\t' || code[i] == '\n' || code[i] == '\r') {
				i++
			}
			if i >= len(code) || code[i] != '<' {
				continue // an alias of an alias, or a non-template device op
			}
			// An alias template's using-declaration is the region too: its
			// template head stays, its knobs may change.
			templated := templatedAlias(code, start)
			decls.load(v.t)
			d, ok := decls.decls[name]
			if !ok {
				if _, local := al[name]; !local && !localTemplates[name] {
					res.Skips = append(res.Skips, "ck-example: device-op declaration not found")
				}
				continue // a use of a local alias template, mined where it is defined
			}
			v.blob(d.Path)
			gt := matchClose(code, i)
			if gt < 0 {
				res.Skips = append(res.Skips, "ck-example: unbalanced template argument list")
				continue
			}
			j := gt + 1
			for j < len(code) && (code[j] == ' ' || code[j] == '\t' || code[j] == '\n' || code[j] == '\r') {
				j++
			}
			if j >= len(code) || code[j] != ';' {
				res.Skips = append(res.Skips, "ck-example: instance not a plain alias")
				continue
			}
			end := j + 1
			if inSpans(cond, start) {
				res.Skips = append(res.Skips, "ck-example: instance inside #if block")
				continue
			}
			args := splitTop(string(code[i+1 : gt]))
			if len(args) > len(d.Params) && !d.Variadic {
				res.Skips = append(res.Skips, "ck-example: template argument count mismatch")
				continue
			}
			nknobs := 0
			for k := range min(len(args), len(d.Params)) {
				if classify(d.Params[k]) == "knob" {
					nknobs++
				}
			}
			if nknobs == 0 {
				continue // an interface type such as DeviceGemm<…>, not an instance
			}
			if !live[alias] {
				res.Skips = append(res.Skips, "ck-example: instance main never uses")
				continue
			}
			// The device op's own IsSupportedArgument says where it runs; the
			// file name (_xdl, _wmma) only when it has no arch check.
			instArchs, accepted, checked := decls.opArchs(v, d, archs)
			if !checked {
				var backend string
				instArchs, backend = archsFor(p, archs)
				if len(instArchs) == 0 {
					res.Skips = append(res.Skips, "ck-example: no configured arch runs "+backend+" kernels")
					continue
				}
			} else if len(instArchs) == 0 {
				res.Skips = append(res.Skips, "ck-example: the device op's IsSupportedArgument accepts none of the configured archs (it accepts "+strings.Join(accepted, ",")+")")
				continue
			}
			t := datasets.Task{Kind: datasets.KindCKExample}
			t.Name = strings.TrimSuffix(path.Base(p), ".cpp") + "/" + alias
			t.Op = opFromDir(strings.SplitN(p, "/", 3)[1])
			resolved := map[string]string{}
			for k, a := range args {
				n := fmt.Sprintf("Arg%d", k)
				if k < len(d.Params) {
					n = d.Params[k]
				}
				val := squash(a)
				cl := classify(n)
				t.Region.Params = append(t.Region.Params, datasets.TemplateParam{Name: n, Value: val, Class: cl})
				switch {
				case strings.Contains(n, "DataType") && !strings.Contains(n, "Acc") && !strings.Contains(n, "Shuffle") && !strings.Contains(n, "Compute"):
					if dt := canonicalDtype(resolveAlias(al, val)); dt != "" && !contains(t.Dtypes, dt) {
						t.Dtypes = append(t.Dtypes, dt)
					}
				case strings.HasSuffix(n, "Layout"):
					l := resolveAlias(al, val)
					if k := strings.LastIndex(l, "::"); k >= 0 {
						l = l[k+2:]
					}
					t.Layouts = append(t.Layouts, n+"="+l)
				}
				resolved[n] = resolve(val)
			}
			if len(t.Dtypes) == 0 {
				t.Dtypes = dtypesFromName(p)
			}
			sizes, notes, why := ckSizes(all, t.Layouts, resolved)
			if why != "" {
				res.Skips = append(res.Skips, "ck-example: "+why)
				continue
			}
			t.Sizes = sizes
			t.SizeNotes = notes
			t.Files = pr.files
			t.Region.File = f
			t.Region.Start, t.Region.End = start, end
			t.Region.Text = string(pr.raw[f][start:end])
			t.Region.Kind = "ck-instance"
			t.Region.Rules = ckExampleRules
			t.Description = fmt.Sprintf("Classic Composable Kernel example %s: a %s device op (%s) instantiated as %s; the program verifies the result against a host reference and prints its own timing.", p, t.Op, name, alias)
			t.Extra = &datasets.TaskContext{Declaration: d.Text + " (from " + d.Path + ")"}
			if templated {
				t.Extra.Notes = "The instance is an alias template; its template head stays as it is."
			}
			t.Build = ckBuild(v, p, t.Op)
			if needs != nil {
				n := *needs
				t.Build.Needs = &n
				for _, def := range n.Defines {
					t.Build.Flags = append(t.Build.Flags, "-D"+def)
				}
				t.Build.Flags = append(t.Build.Flags, n.Flags...)
			}
			t.Run = datasets.RunRecipe{Pass: ckPassRule, PerfPattern: ckPerfPattern, TimeoutSeconds: 600, Tolerance: ckTolerance(t.Dtypes)}
			finish(v, &t, instArchs)
			// The unchanged reference must pass the gate every candidate
			// must pass; a region it rejects could never be rewritten.
			if rej := gate.Check(t.Region, t.Region.Text); rej != nil {
				res.Skips = append(res.Skips, "ck-example: reference rejected by the gate ("+rej.Rule+")")
				continue
			}
			res.Tasks = append(res.Tasks, t)
		}
	}
	return res
}

// templatedAlias reports whether the using-declaration at i is an alias
// template: the code before it ends with a '>' that is not on a
// preprocessor line such as #include <vector>.
func templatedAlias(code []byte, i int) bool {
	for i--; i >= 0; i-- {
		if c := code[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			if c != '>' {
				return false
			}
			line := strings.TrimSpace(string(code[lineStart(code, i) : i+1]))
			return !strings.HasPrefix(line, "#")
		}
	}
	return false
}

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
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\s*(?:=|\{)\s*(-?[0-9]+(?:\.[0-9]*)?)[fF]?\b`)
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
func ckSizes(all string, layouts []string, params map[string]string) ([]datasets.Size, []string, string) {
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
				if d, ok := defaultOf(all, v); ok && (d == "0" || strings.HasPrefix(d, "-") && regexp.MustCompile(`\b`+regexp.QuoteMeta(v)+`\s*<\s*0`).MatchString(all)) {
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

// ckBuild is the recipe of one classic example: the source, the include
// dirs, a generated ck/config.h and the utility sources every example links.
func ckBuild(v *view, p, op string) datasets.BuildRecipe {
	b := datasets.BuildRecipe{Sources: []string{p}, Flags: []string{"-O3", "-std=c++17"}, NeedsCheckout: true}
	for _, d := range []string{"include", "library/include"} {
		if v.hasDir(d) {
			b.IncludeDirs = append(b.IncludeDirs, d)
		}
	}
	utils := []string{"library/src/utility/device_memory.cpp", "library/src/utility/host_tensor.cpp"}
	if strings.Contains(op, "conv") {
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
