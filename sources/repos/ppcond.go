package repos

import (
	"regexp"
	"strconv"
	"strings"
)

// ppBranch says whether the code at off is compiled: it walks the
// conditional preprocessor lines of code (comments blanked) before off,
// evaluating each condition with the macros defined so far. defs holds the
// macros the build defines (-D, as name or name=value); #define lines in
// code itself are added as the walk meets them in a compiled branch.
//
// A condition is known only when every identifier in it is a macro the
// walk knows (defined here or in defs) or sits under defined() and is one
// of the build's own options (buildMacros, off unless defs has it): a
// macro from a header kforge does not read, or the compiler's own
// (__gfx90a__), leaves the answer unknown. known is false then, and
// compiled says nothing. An include guard counts as compiled.
func ppBranch(code []byte, off int, defs []string, buildMacros map[string]bool) (compiled, known bool, cond string) {
	macros := map[string]string{}
	for _, d := range defs {
		name, val, ok := strings.Cut(d, "=")
		if !ok {
			val = "1"
		}
		macros[name] = val
	}
	type frame struct {
		taken, active, known bool // a branch already taken; this branch compiled; conditions known
		cond                 string
	}
	stack := []frame{{active: true, known: true}}
	top := func() *frame { return &stack[len(stack)-1] }
	ms := ppLine.FindAllSubmatchIndex(code, -1)
	guard := len(ms) >= 2 && string(code[ms[0][2]:ms[0][3]]) == "ifndef" && string(code[ms[1][2]:ms[1][3]]) == "define"
	for k, m := range ms {
		if m[0] >= off {
			break
		}
		dir := string(code[m[2]:m[3]])
		rest := strings.TrimSpace(string(code[m[3]:m[1]]))
		parent := top()
		switch dir {
		case "define":
			if parent.active && parent.known {
				f := strings.Fields(rest)
				if len(f) > 0 && !strings.Contains(f[0], "(") {
					macros[f[0]] = strings.Join(f[1:], " ")
				}
			}
		case "if", "ifdef", "ifndef":
			expr := rest
			switch dir {
			case "ifdef":
				expr = "defined(" + rest + ")"
			case "ifndef":
				expr = "!defined(" + rest + ")"
			}
			v, ok := ppEval(expr, macros, buildMacros)
			if k == 0 && guard {
				v, ok = true, true
			}
			f := frame{known: parent.known && ok, cond: "#" + dir + " " + rest}
			f.active = parent.active && v
			f.taken = v
			stack = append(stack, f)
		case "elif", "else":
			if len(stack) == 1 {
				continue
			}
			f := top()
			outer := stack[len(stack)-2]
			v, ok := true, true
			if dir == "elif" {
				v, ok = ppEval(rest, macros, buildMacros)
			}
			f.known = f.known && ok
			f.active = outer.active && !f.taken && v
			f.taken = f.taken || v
			f.cond = "#" + dir + " " + rest
		case "endif":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	t := top()
	return t.active, t.known, strings.TrimSpace(t.cond)
}

var ppToken = regexp.MustCompile(`\s*(defined|[A-Za-z_]\w*|0[xX][0-9a-fA-F]+|\d+[uUlL]*|&&|\|\||==|!=|<=|>=|[()!<>])`)

// ppEval evaluates a #if expression: integers, macros, defined(),
// !, &&, ||, comparisons and parentheses. ok is false for anything else
// and for a macro whose value it cannot know.
func ppEval(expr string, macros map[string]string, buildMacros map[string]bool) (v, ok bool) {
	n, ok := (&ppParser{macros: macros, build: buildMacros}).eval(expr)
	return n != 0, ok
}

type ppParser struct {
	toks   []string
	i      int
	macros map[string]string
	build  map[string]bool
	depth  int
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
		if _, ok := p.macros[name]; ok {
			return 1, true
		}
		// Only the build's own options are known to be off when
		// nothing defines them.
		return 0, p.build[name]
	case t != "" && (t[0] >= '0' && t[0] <= '9'):
		n, err := strconv.ParseInt(strings.TrimRight(t, "uUlL"), 0, 64)
		return n, err == nil
	case t != "" && (t[0] == '_' || t[0] >= 'A' && t[0] <= 'Z' || t[0] >= 'a' && t[0] <= 'z'):
		val, ok := p.macros[t]
		if !ok || p.depth > 8 {
			return 0, false
		}
		v, good := (&ppParser{macros: p.macros, build: p.build, depth: p.depth + 1}).eval(val)
		return v, good
	}
	return 0, false
}

// eval evaluates a macro's replacement text as an expression.
func (p *ppParser) eval(text string) (int64, bool) {
	if strings.TrimSpace(text) == "" {
		return 0, false // defined empty: not a number
	}
	var toks []string
	for rest := strings.TrimSpace(text); rest != ""; rest = strings.TrimSpace(rest) {
		m := ppToken.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return 0, false
		}
		toks = append(toks, rest[m[2]:m[3]])
		rest = rest[m[1]:]
	}
	p.toks = toks
	v, ok := p.or()
	return v, ok && p.i == len(p.toks)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
