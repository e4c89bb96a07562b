package repos

import (
	"regexp"
	"strconv"
	"strings"
)

// The preprocessor's view of a program, as far as kforge can know it: which
// #if branches are compiled, from the file's own #define/#undef lines, the
// build's -D defines and the build's options.
//
// A condition is known only when every macro in it is one the walk knows:
// defined here or by the build (-D), or one of the build's own options
// (buildMacros: macros the root CMakeLists defines only under an option,
// so undefined unless the task's build asks), which defined() reads as
// off. A macro from a header kforge does not read, or the compiler's own
// (__gfx90a__), leaves the answer unknown, and so does a macro that a
// #define or #undef in an unknown branch may have changed. An include
// guard counts as compiled.

type ppFrame struct {
	taken, active, known bool // a branch already taken; this branch compiled; conditions known
	cond                 string
}

type ppWalker struct {
	macros map[string]string
	unsure map[string]bool // changed in a branch whose state is unknown
	off    map[string]bool // #undef'd in a compiled branch: known undefined
	build  map[string]bool
	stack  []ppFrame
}

func newPPWalker(defs []string, buildMacros map[string]bool) *ppWalker {
	w := &ppWalker{macros: map[string]string{}, unsure: map[string]bool{}, off: map[string]bool{}, build: buildMacros,
		stack: []ppFrame{{active: true, known: true}}}
	for _, d := range defs {
		name, val, ok := strings.Cut(d, "=")
		if !ok {
			val = "1"
		}
		w.macros[name] = val
	}
	return w
}

func (w *ppWalker) top() *ppFrame { return &w.stack[len(w.stack)-1] }

// directive applies one directive line (dir without '#', rest its text);
// guard says it opens the file's include guard.
func (w *ppWalker) directive(dir, rest string, guard bool) {
	parent := w.top()
	switch dir {
	case "define", "undef":
		f := strings.Fields(rest)
		if len(f) == 0 {
			return
		}
		name, _, _ := strings.Cut(f[0], "(")
		switch {
		case !parent.known:
			w.unsure[name] = true
		case !parent.active:
		case dir == "undef":
			delete(w.macros, name)
			delete(w.unsure, name)
			w.off[name] = true
		case strings.Contains(f[0], "("):
			w.unsure[name] = true // a function-like macro: not a value
		default:
			w.macros[name] = strings.Join(f[1:], " ")
			delete(w.unsure, name)
			delete(w.off, name)
		}
	case "if", "ifdef", "ifndef":
		v, ok := w.eval(condExpr(dir, rest))
		if guard {
			v, ok = true, true
		}
		w.stack = append(w.stack, ppFrame{known: parent.known && ok, active: parent.active && v, taken: v, cond: "#" + dir + " " + rest})
	case "elif", "elifdef", "elifndef", "else":
		if len(w.stack) == 1 {
			return
		}
		f := w.top()
		outer := w.stack[len(w.stack)-2]
		v, ok := true, true
		if dir != "else" {
			v, ok = w.eval(condExpr(dir, rest))
		}
		f.known = f.known && ok
		f.active = outer.active && !f.taken && v
		f.taken = f.taken || v
		f.cond = strings.TrimSpace("#" + dir + " " + rest)
	case "endif":
		if len(w.stack) > 1 {
			w.stack = w.stack[:len(w.stack)-1]
		}
	}
}

// condExpr is the condition of a conditional directive as an #if
// expression.
func condExpr(dir, rest string) string {
	switch {
	case strings.HasSuffix(dir, "ndef"):
		return "!defined(" + rest + ")"
	case strings.HasSuffix(dir, "def"):
		return "defined(" + rest + ")"
	}
	return rest
}

// ppWalk applies code's directive lines to w in order, calling fn with
// each one's match in ppLine before it applies; fn returning false stops
// the walk.
func ppWalk(code []byte, w *ppWalker, fn func(m []int) bool) {
	ms := ppLine.FindAllSubmatchIndex(code, -1)
	guard := len(ms) >= 2 && string(code[ms[0][2]:ms[0][3]]) == "ifndef" && string(code[ms[1][2]:ms[1][3]]) == "define"
	for k, m := range ms {
		if !fn(m) {
			return
		}
		w.directive(string(code[m[2]:m[3]]), strings.TrimSpace(string(code[m[3]:m[1]])), k == 0 && guard)
	}
}

// ppBranch says whether the code at off is compiled (see the walker), and
// whether that is known, with the condition of its innermost branch.
func ppBranch(code []byte, off int, defs []string, buildMacros map[string]bool) (compiled, known bool, cond string) {
	w := newPPWalker(defs, buildMacros)
	ppWalk(code, w, func(m []int) bool { return m[0] < off })
	t := w.top()
	return t.active, t.known, t.cond
}

// ppDeadSpans are the byte spans of code in branches known not to be
// compiled (the text between a branch's directive line and the next
// directive of its #if), for searches that must see only compiled code.
func ppDeadSpans(code []byte, defs []string, buildMacros map[string]bool) [][2]int {
	w := newPPWalker(defs, buildMacros)
	var spans [][2]int
	dead := func() bool { t := w.top(); return len(w.stack) > 1 && t.known && !t.active }
	prev := -1 // end of the last directive line
	ppWalk(code, w, func(m []int) bool {
		if prev >= 0 && dead() {
			spans = append(spans, [2]int{prev, m[0]})
		}
		prev = m[1]
		return true
	})
	if prev >= 0 && dead() {
		spans = append(spans, [2]int{prev, len(code)})
	}
	return spans
}

var ppToken = regexp.MustCompile(`^\s*(defined\b|[A-Za-z_]\w*|0[xX][0-9a-fA-F]+|\d+[uUlL]*|&&|\|\||==|!=|<=|>=|[()!<>])`)

// eval evaluates a #if expression: integers, macros, defined(), !, &&,
// ||, comparisons and parentheses. ok is false for anything else and for
// a macro whose value the walk cannot know.
func (w *ppWalker) eval(expr string) (v, ok bool) {
	n, ok := (&ppParser{w: w}).eval(expr)
	return n != 0, ok
}

type ppParser struct {
	w     *ppWalker
	toks  []string
	i     int
	depth int
}

func (p *ppParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *ppParser) or() (int64, bool) {
	l, ok := p.and()
	for ok && p.peek() == "||" {
		p.i++
		r, rok := p.and()
		l, ok = b2i(l != 0 || r != 0), rok
	}
	return l, ok
}

func (p *ppParser) and() (int64, bool) {
	l, ok := p.cmp()
	for ok && p.peek() == "&&" {
		p.i++
		r, rok := p.cmp()
		l, ok = b2i(l != 0 && r != 0), rok
	}
	return l, ok
}

func (p *ppParser) cmp() (int64, bool) {
	l, ok := p.unary()
	for ok {
		op := p.peek()
		switch op {
		case "==", "!=", "<", ">", "<=", ">=":
		default:
			return l, ok
		}
		p.i++
		r, rok := p.unary()
		ok = rok
		switch op {
		case "==":
			l = b2i(l == r)
		case "!=":
			l = b2i(l != r)
		case "<":
			l = b2i(l < r)
		case ">":
			l = b2i(l > r)
		case "<=":
			l = b2i(l <= r)
		case ">=":
			l = b2i(l >= r)
		}
	}
	return l, ok
}

func (p *ppParser) unary() (int64, bool) {
	t := p.peek()
	p.i++
	switch {
	case t == "!":
		v, ok := p.unary()
		return b2i(v == 0), ok
	case t == "(":
		v, ok := p.or()
		if p.peek() != ")" {
			return 0, false
		}
		p.i++
		return v, ok
	case t == "defined":
		paren := p.peek() == "("
		if paren {
			p.i++
		}
		name := p.peek()
		p.i++
		if paren {
			if p.peek() != ")" {
				return 0, false
			}
			p.i++
		}
		switch _, def := p.w.macros[name]; {
		case p.w.unsure[name]:
			return 0, false
		case def:
			return 1, true
		}
		// Only a macro #undef'd here and the build's own options are known
		// to be off when nothing defines them.
		return 0, p.w.off[name] || p.w.build[name]
	case t != "" && (t[0] >= '0' && t[0] <= '9'):
		n, err := strconv.ParseInt(strings.TrimRight(t, "uUlL"), 0, 64)
		return n, err == nil
	case t != "" && (t[0] == '_' || t[0] >= 'A' && t[0] <= 'Z' || t[0] >= 'a' && t[0] <= 'z'):
		val, ok := p.w.macros[t]
		if !ok && p.w.off[t] && !p.w.unsure[t] {
			return 0, true // an undefined name is 0
		}
		if !ok || p.w.unsure[t] || p.depth > 8 {
			return 0, false
		}
		return (&ppParser{w: p.w, depth: p.depth + 1}).eval(val)
	}
	return 0, false
}

// eval evaluates text (a condition or a macro's replacement) as an
// expression.
func (p *ppParser) eval(text string) (int64, bool) {
	for rest := strings.TrimSpace(text); rest != ""; rest = strings.TrimSpace(rest) {
		m := ppToken.FindStringSubmatchIndex(rest)
		if m == nil {
			return 0, false
		}
		p.toks = append(p.toks, rest[m[2]:m[3]])
		rest = rest[m[1]:]
	}
	if len(p.toks) == 0 {
		return 0, false // defined empty: not a number
	}
	v, ok := p.or()
	return v, ok && p.i == len(p.toks)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
