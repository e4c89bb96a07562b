package repos

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"kforge/datasets"
)

// maxSizeBytes bounds the buffers one generated problem size may allocate.
const maxSizeBytes = 1 << 30

// hipOption is one numeric command-line option of a program, as main reads it.
type hipOption struct {
	name     string // the flag, without its dash
	vars     []string
	def      int64
	exponent bool  // the program uses 2^value elements
	mult     int64 // the program refuses values that are not a multiple
	min, max int64 // the program refuses values outside [min, max] (max 0: none)
}

var (
	optionCallRe = regexp.MustCompile(`\bset_optional\s*<([^>]+)>\s*\(\s*"(\w+)"\s*,\s*"([^"]*)"\s*,\s*([^,]+?)\s*,\s*"([^"]*)"`)
	declStmtRe   = regexp.MustCompile(`^\s*(?:(?:static|constexpr|const|inline|unsigned|signed|long|short)\s+)*[A-Za-z_][\w:]*(?:\s*<[^;{}]*>)?(?:\s+(?:int|long))*\s*[*&]?\s+([A-Za-z_]\w*)\s*(?:=\s*([^{}]+?)|\{\s*([^{}]*?)\s*\}|\(\s*([^()]*?)\s*\))\s*$`)
	vectorDeclRe = regexp.MustCompile(`\bstd::vector\s*<\s*([\w:\s]+?)\s*>\s+(\w+)\s*[({]\s*([^;{}]*?)\s*[)}]\s*;`)
	mallocRe     = regexp.MustCompile(`\bhip(?:Malloc|MallocManaged|HostMalloc|MallocHost)\s*\(`)
	notSizeRe    = regexp.MustCompile(`(?i)iter|repeat|warmup|runs\b|trials|seed|device|verbose|print`)
	sizeofRe     = regexp.MustCompile(`\bsizeof\s*\(\s*([^()]+?)\s*\)`)
	castRe       = regexp.MustCompile(`\bstatic_cast\s*<[^<>]*>|\b(?:std::)?(?:size_t|uint32_t|uint64_t|int64_t|unsigned|int|long)\s*(?:\(|\{)`)
)

var typeBytes = map[string]int64{
	"char": 1, "int8_t": 1, "uint8_t": 1, "bool": 1, "short": 2, "half": 2, "__half": 2, "_Float16": 2, "hip_bfloat16": 2, "__hip_bfloat16": 2,
	"int": 4, "unsigned": 4, "unsigned int": 4, "uint32_t": 4, "int32_t": 4, "float": 4,
	"double": 8, "long": 8, "size_t": 8, "std::size_t": 8, "int64_t": 8, "uint64_t": 8, "long long": 8, "unsigned long": 8,
	"float2": 8, "float4": 16, "double2": 16, "int2": 8, "int4": 16, "uint2": 8, "uint4": 16,
}

// evalInt evaluates a C++ integer expression over known names; ok is false
// when it uses anything else.
func evalInt(expr string, env map[string]int64) (int64, bool) {
	expr = sizeofRe.ReplaceAllStringFunc(expr, func(s string) string {
		t := strings.TrimSpace(sizeofRe.FindStringSubmatch(s)[1])
		if n, ok := typeBytes[t]; ok {
			return strconv.FormatInt(n, 10)
		}
		return s
	})
	expr = castRe.ReplaceAllStringFunc(expr, func(s string) string {
		if strings.HasSuffix(s, "{") || strings.HasSuffix(s, "(") {
			return "("
		}
		return ""
	})
	p := &exprParser{s: expr, env: env}
	v := p.bin(0)
	p.space()
	if p.err || p.i != len(p.s) {
		return 0, false
	}
	return v, true
}

type exprParser struct {
	s   string
	i   int
	env map[string]int64
	err bool
}

func (p *exprParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

var binOps = []struct {
	op   string
	prec int
}{{"<<", 3}, {">>", 3}, {"*", 5}, {"/", 5}, {"%", 5}, {"+", 4}, {"-", 4}, {"|", 1}, {"&", 2}}

func (p *exprParser) bin(minPrec int) int64 {
	l := p.unary()
	for !p.err {
		p.space()
		found := false
		for _, o := range binOps {
			if o.prec < minPrec || !strings.HasPrefix(p.s[p.i:], o.op) || strings.HasPrefix(p.s[p.i:], "||") || strings.HasPrefix(p.s[p.i:], "&&") {
				continue
			}
			p.i += len(o.op)
			r := p.bin(o.prec + 1)
			switch o.op {
			case "<<":
				if r < 0 || r > 62 {
					p.err = true
				} else {
					l <<= r
				}
			case ">>":
				if r < 0 || r > 62 {
					p.err = true
				} else {
					l >>= r
				}
			case "*":
				l *= r
			case "/", "%":
				if r == 0 {
					p.err = true
				} else if o.op == "/" {
					l /= r
				} else {
					l %= r
				}
			case "+":
				l += r
			case "-":
				l -= r
			case "|":
				l |= r
			case "&":
				l &= r
			}
			found = true
			break
		}
		if !found {
			break
		}
	}
	return l
}

func (p *exprParser) unary() int64 {
	p.space()
	if p.i >= len(p.s) {
		p.err = true
		return 0
	}
	switch c := p.s[p.i]; {
	case c == '(':
		p.i++
		v := p.bin(0)
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			p.err = true
		}
		p.i++
		return v
	case c == '-':
		p.i++
		return -p.unary()
	case c >= '0' && c <= '9':
		j := p.i
		for p.i < len(p.s) && (isDigit(p.s[p.i]) || p.s[p.i] == '\'') {
			p.i++
		}
		v, err := strconv.ParseInt(strings.ReplaceAll(p.s[j:p.i], "'", ""), 10, 64)
		for p.i < len(p.s) && strings.IndexByte("uUlL", p.s[p.i]) >= 0 {
			p.i++
		}
		if err != nil || (p.i < len(p.s) && (p.s[p.i] == '.' || p.s[p.i] == 'x' || p.s[p.i] == 'e')) {
			p.err = true
		}
		return v
	case c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z'):
		j := p.i
		for p.i < len(p.s) && (p.s[p.i] == '_' || p.s[p.i] == ':' || p.s[p.i] == '.' || isDigit(p.s[p.i]) || (p.s[p.i]|0x20 >= 'a' && p.s[p.i]|0x20 <= 'z')) {
			p.i++
		}
		name := p.s[j:p.i]
		if strings.HasPrefix(p.s[p.i:], "()") { // v.size()
			name += "()"
			p.i += 2
		}
		v, ok := p.env[name]
		if !ok {
			p.err = true
		}
		return v
	}
	p.err = true
	return 0
}

// statements yields the top-level statements of blanked code with their end offsets.
func statements(code string) []struct {
	text string
	end  int
} {
	var out []struct {
		text string
		end  int
	}
	from := 0
	for i := 0; i < len(code); i++ {
		switch code[i] {
		case '{', '}':
			// A brace in an initialiser belongs to its statement.
			if j := strings.LastIndexAny(code[from:i], "=)"); code[i] == '{' && j >= 0 && strings.TrimSpace(code[from+j+1:i]) == "" && code[from+j] == '=' {
				if e := matchClose([]byte(code), i); e > 0 {
					i = e
				}
				continue
			}
			from = i + 1
		case ';':
			out = append(out, struct {
				text string
				end  int
			}{code[from:i], i})
			from = i + 1
		}
	}
	return out
}

// declare evaluates the integer declarations of code up to limit into env,
// with the variables bound to options set from opt.
func declare(code string, limit int, env map[string]int64, bound map[string]int64) {
	for _, st := range statements(code) {
		if st.end > limit {
			return
		}
		m := declStmtRe.FindStringSubmatch(strings.TrimSpace(ppDirectiveLine.ReplaceAllString(st.text, "")))
		if m == nil {
			continue
		}
		if v, ok := bound[m[1]]; ok && getCallRe.MatchString(st.text) {
			env[m[1]] = v
			continue
		}
		expr := m[2] + m[3] + m[4]
		if v, ok := evalInt(expr, env); ok {
			env[m[1]] = v
		} else {
			delete(env, m[1]) // shadowed by something unknown
		}
	}
	for _, m := range vectorDeclRe.FindAllStringSubmatchIndex(code[:min(limit, len(code))], -1) {
		if v, ok := evalInt(code[m[6]:m[7]], env); ok {
			env[code[m[4]:m[5]]+".size()"] = v
		}
	}
}

var getCallRe = regexp.MustCompile(`\.\s*get\s*<[^>]*>\s*\(`)

// topLevelEnv evaluates the constants declared outside every function of a file.
func (ix *progIndex) topLevelEnv(file string) map[string]int64 {
	code := []byte(string(ix.code[file]))
	for _, ds := range ix.fns {
		for _, d := range ds {
			if d.file == file {
				for i := d.body; i < d.end; i++ {
					if code[i] != '\n' {
						code[i] = ' '
					}
				}
			}
		}
	}
	env := map[string]int64{}
	declare(string(code), len(code), env, nil)
	return env
}

// hipOptions finds the numeric options that reached functions declare, the
// variables main binds them to, and the checks the program makes on them.
func (ix *progIndex) hipOptions(live []cfn) ([]*hipOption, []string) {
	var opts []*hipOption
	var notes []string
	byName := map[string]*hipOption{}
	for _, d := range live {
		raw, code := string(ix.raw[d.file][d.body:d.end]), string(ix.code[d.file][d.body:d.end])
		for _, m := range optionCallRe.FindAllStringSubmatchIndex(raw, -1) {
			if code[m[0]] != raw[m[0]] { // in a comment
				continue
			}
			ty, name, long, defExpr, help := raw[m[2]:m[3]], raw[m[4]:m[5]], raw[m[6]:m[7]], raw[m[8]:m[9]], raw[m[10]:m[11]]
			if strings.Contains(ty, "string") || strings.Contains(ty, "bool") || strings.Contains(ty, "float") || strings.Contains(ty, "double") {
				continue
			}
			if notSizeRe.MatchString(name + " " + long) {
				continue
			}
			// The default is read in the scope of the call: the function's
			// own declarations before it, then the file's constants.
			env := ix.topLevelEnv(d.file)
			declare(code, m[0], env, nil)
			def, ok := evalInt(defExpr, env)
			if !ok || def <= 0 {
				notes = append(notes, fmt.Sprintf("option -%s is not varied: its default %q is not a known number", name, defExpr))
				continue
			}
			o := &hipOption{name: name, def: def, min: 1}
			if strings.Contains(help, "2**") || strings.Contains(help, "2^") || strings.Contains(strings.ToLower(long+help), "log2") {
				o.exponent = true
			}
			opts = append(opts, o)
			byName[name] = o
		}
	}
	if len(opts) == 0 {
		return nil, notes
	}
	// Bindings: the variables that receive each option.
	for _, d := range live {
		raw, code := string(ix.raw[d.file][d.body:d.end]), string(ix.code[d.file][d.body:d.end])
		for _, m := range regexp.MustCompile(`\b(\w+)\s*(?:=|\{|\()\s*\w+\s*(?:\.|->)\s*get\s*<[^>]*>\s*\(\s*"(\w+)"`).FindAllStringSubmatchIndex(raw, -1) {
			if code[m[0]] != raw[m[0]] {
				continue
			}
			if o := byName[raw[m[4]:m[5]]]; o != nil && !contains(o.vars, raw[m[2]:m[3]]) {
				o.vars = append(o.vars, raw[m[2]:m[3]])
			}
		}
	}
	for _, o := range opts {
		for _, v := range o.vars {
			q := regexp.QuoteMeta(v)
			if regexp.MustCompile(`\b\d+[uUlL]*\s*<<\s*\(?\s*` + q + `\b|\b(?:std::)?(?:pow|exp2|ldexp)\s*\(\s*(?:2[.0f]*\s*,\s*)?` + q + `\b`).MatchString(ix.liveText(live)) {
				o.exponent = true
			}
		}
	}
	ix.applyChecks(live, opts)
	return opts, notes
}

func (ix *progIndex) liveText(live []cfn) string {
	var sb strings.Builder
	for _, d := range live {
		sb.WriteString(ix.bodyText(d))
		sb.WriteByte('\n')
	}
	return sb.String()
}

var ifRe = regexp.MustCompile(`\bif\s*\(`)

// applyChecks reads the program's own checks on its options: an if whose
// branch fails the program constrains the values it tests.
func (ix *progIndex) applyChecks(live []cfn, opts []*hipOption) {
	byVar := map[string]*hipOption{}
	for _, o := range opts {
		for _, v := range o.vars {
			byVar[v] = o
		}
	}
	for _, d := range live {
		if !ix.own[d.file] {
			continue
		}
		code := []byte(ix.bodyText(d))
		env := ix.topLevelEnv(d.file)
		for _, loc := range ifRe.FindAllIndex(code, -1) {
			open := loc[1] - 1
			close := matchClose(code, open)
			if close < 0 {
				continue
			}
			j := close + 1
			for j < len(code) && (code[j] == ' ' || code[j] == '\n' || code[j] == '\t' || code[j] == '\r') {
				j++
			}
			var branch string
			if j < len(code) && code[j] == '{' {
				if e := matchClose(code, j); e > 0 {
					branch = string(code[j:e])
				}
			} else if k := strings.IndexByte(string(code[j:]), ';'); k >= 0 {
				branch = string(code[j : j+k+1])
			}
			if !failExit(branch) && !strings.Contains(branch, "exit(") {
				continue
			}
			declare(string(code), open, env, nil)
			for _, atom := range strings.Split(string(code[open+1:close]), "||") {
				constrain(strings.TrimSpace(atom), byVar, env)
			}
		}
	}
}

var (
	modAtomRe = regexp.MustCompile(`^\(*\s*(\w+)\s*%\s*([\w:]+)\s*\)*\s*(?:!=\s*0[uU]?|>\s*0[uU]?)?\s*\)*$`)
	cmpAtomRe = regexp.MustCompile(`^\(*\s*(\w+)\s*(<=|>=|<|>|==)\s*([\w:]+)\s*\)*$`)
	notAtomRe = regexp.MustCompile(`^!\s*(\w+)$`)
)

func constrain(atom string, byVar map[string]*hipOption, env map[string]int64) {
	if m := modAtomRe.FindStringSubmatch(atom); m != nil {
		if o := byVar[m[1]]; o != nil {
			if k, ok := evalInt(m[2], env); ok && k > 1 {
				o.mult = k
			}
		}
		return
	}
	if m := notAtomRe.FindStringSubmatch(atom); m != nil {
		if o := byVar[m[1]]; o != nil {
			o.min = max(o.min, 1)
		}
		return
	}
	m := cmpAtomRe.FindStringSubmatch(atom)
	if m == nil {
		return
	}
	o := byVar[m[1]]
	k, ok := evalInt(m[3], env)
	if o == nil || !ok {
		return
	}
	// The branch fails when the comparison holds: valid values are the others.
	switch m[2] {
	case "<":
		o.min = max(o.min, k)
	case "<=":
		o.min = max(o.min, k+1)
	case "==":
		if k == 0 {
			o.min = max(o.min, 1)
		}
	case ">":
		if o.max == 0 || k < o.max {
			o.max = k
		}
	case ">=":
		if o.max == 0 || k-1 < o.max {
			o.max = k - 1
		}
	}
}

// bufferBytes estimates the bytes main allocates with the options set to
// vals: its hipMalloc calls and host vectors, evaluated through its
// declarations; ok is false when no allocation could be evaluated.
func (ix *progIndex) bufferBytes(opts []*hipOption, vals []int64) (int64, bool) {
	m, ok := ix.main()
	if !ok {
		return 0, false
	}
	bound := map[string]int64{}
	for i, o := range opts {
		for _, v := range o.vars {
			bound[v] = vals[i]
		}
	}
	code := ix.bodyText(m)
	env := ix.topLevelEnv(m.file)
	declare(code, len(code), env, bound)
	var total int64
	n := 0
	for _, loc := range mallocRe.FindAllStringIndex(code, -1) {
		close := matchClose([]byte(code), loc[1]-1)
		if close < 0 {
			continue
		}
		args := splitTop(code[loc[1]:close])
		if len(args) < 2 {
			continue
		}
		if b, ok := evalInt(args[1], env); ok {
			total += b
			n++
		}
	}
	for _, vm := range vectorDeclRe.FindAllStringSubmatch(code, -1) {
		size, ok1 := evalInt(vm[3], env)
		elem, ok2 := typeBytes[strings.TrimSpace(vm[1])]
		if ok1 && ok2 {
			total += size * elem
			n++
		}
	}
	return total, n > 0
}

// hipSizes: the program's default, its numeric options doubled (hidden) and
// made a tail no block size divides, each kept within the program's own
// checks and the memory bound; a size that cannot be made valid is left
// out and the notes say why.
func (ix *progIndex) hipSizes(live []cfn) ([]datasets.Size, []string) {
	sizes := []datasets.Size{{Name: "default", Origin: "example_default"}}
	opts, notes := ix.hipOptions(live)
	if len(opts) == 0 {
		return sizes, notes
	}
	defs := make([]int64, len(opts))
	for i, o := range opts {
		defs[i] = o.def
	}
	_, known := ix.bufferBytes(opts, defs)
	gen := []struct {
		name, origin string
		hidden       bool
		f            func(o *hipOption) (int64, string)
	}{
		{"double", "generated", true, func(o *hipOption) (int64, string) {
			if o.exponent {
				return o.def + 1, ""
			}
			return roundUp(2*o.def, o.mult), ""
		}},
		{"tail", "generated_tail", false, func(o *hipOption) (int64, string) {
			if o.exponent {
				return 0, fmt.Sprintf("-%s is an exponent (2^%s elements): every size is a power of two, so there is no tail", o.name, o.name)
			}
			if o.mult > 1 { // not odd, but off the default and the double
				x := roundUp(o.def+o.def/8+1, o.mult)
				if x == 2*o.def {
					x += o.mult
				}
				return x, ""
			}
			return (o.def + o.def/8 + 1) | 1, ""
		}},
	}
	for _, g := range gen {
		s := datasets.Size{Name: g.name, Origin: g.origin, Hidden: g.hidden, Dims: map[string]int64{}}
		vals := make([]int64, len(opts))
		why := ""
		for i, o := range opts {
			x, w := g.f(o)
			switch {
			case w != "":
				why = w
			case o.mult > 1 && x%o.mult != 0, x < o.min, o.max > 0 && x > o.max:
				why = fmt.Sprintf("-%s %d breaks the program's own check (multiple of %d, in [%d, %d])", o.name, x, max(o.mult, 1), o.min, o.max)
			}
			vals[i] = x
			s.Dims[o.name] = x
			s.Args = append(s.Args, "-"+o.name, strconv.FormatInt(x, 10))
		}
		if why == "" {
			if b, ok := ix.bufferBytes(opts, vals); ok && b > maxSizeBytes {
				why = fmt.Sprintf("%s needs %d MiB of buffers, over the %d MiB bound", strings.Join(s.Args, " "), b>>20, maxSizeBytes>>20)
			} else if !ok && !known {
				// Nothing evaluates: bound the element count instead.
				elems := int64(4)
				for i, o := range opts {
					if o.exponent {
						elems <<= min(vals[i], 40)
					} else {
						elems *= vals[i]
					}
				}
				if elems*3 > maxSizeBytes || elems < 0 {
					why = fmt.Sprintf("%s: about %d MiB of buffers (estimated), over the %d MiB bound", strings.Join(s.Args, " "), elems*3>>20, maxSizeBytes>>20)
				}
			}
		}
		if why != "" {
			notes = append(notes, g.name+" size left out: "+why)
			continue
		}
		sizes = append(sizes, s)
	}
	return sizes, notes
}
