package gate

import (
	"fmt"
	"strings"

	"kforge/datasets"
)

// checkTile enforces a tile-config region. With the task's reference it is
// an allowlist by construction:
//
//   - the same wrapper (`struct Name [: bases] { ... };` token-for-token, or
//     none) and the same declarations in the same order: same names, same
//     declared kind (everything before the name, e.g. `static constexpr
//     ck_tile::index_t`, or `using`); nothing added, nothing removed;
//   - a problem member (by the task's Params; without Params, any member the
//     reference does not set to literal integer arithmetic or a sequence of
//     it, so padding flags, types and layouts) keeps the reference's value
//     token-for-token;
//   - a knob keeps the reference's value or is integer arithmetic (+ - * /,
//     parentheses) over literals and the names the reference's values use or
//     declares, a template-id the reference uses over such arithmetic, or an
//     enumerator of a known CK enumeration: no calls, no braces, no lambdas.
//
// A task without reference text (none is mined so) gets only the structural
// rules: constant and alias declarations, no braces, lambdas or statements.
func checkTile(r datasets.Region, code string) *Rejection {
	if reLambdaLike.MatchString(code) {
		return reject(RuleLambda, "a tile configuration may not hold lambdas")
	}
	if strings.TrimSpace(r.Text) == "" {
		return checkTileShape(code)
	}
	ref, err := parseTile(mustStrip(r.Text))
	if err != "" {
		return reject(RuleCKReference, "the task's reference tile configuration cannot be read (%s); nothing can be compared with it", err)
	}
	if ref.head == nil && strings.ContainsAny(code, "{}") {
		return reject(RuleBraces, "a tile configuration may not hold braces")
	}
	cand, err := parseTile(code)
	if err != "" {
		return reject(RuleTileDeclarations, "%s", err)
	}
	if !sameToks(cand.head, ref.head) {
		return reject(RuleTileNames, "the configuration is %q, the task's is %q: keep its struct head as it is",
			clip(joinToks(cand.head)), clip(joinToks(ref.head)))
	}
	for k := 0; k < len(cand.decls) || k < len(ref.decls); k++ {
		switch {
		case k >= len(ref.decls):
			return reject(RuleTileNames, "declaration %d (%s) is not in the task's configuration: declare no new names", k+1, cand.decls[k].name)
		case k >= len(cand.decls):
			return reject(RuleTileNames, "declaration %d (%s) of the task's configuration is missing", k+1, ref.decls[k].name)
		case cand.decls[k].name != ref.decls[k].name:
			return reject(RuleTileNames, "declaration %d is %s, the task's is %s: keep the names and their order", k+1, cand.decls[k].name, ref.decls[k].name)
		case !sameToks(cand.decls[k].kind, ref.decls[k].kind):
			return reject(RuleTileNames, "%s is declared %q, the task declares it %q", ref.decls[k].name, clip(joinToks(cand.decls[k].kind)), clip(joinToks(ref.decls[k].kind)))
		}
	}
	classes := map[string]string{}
	for _, p := range r.Params {
		classes[p.Name] = p.Class
	}
	names := tileNames(ref)
	for k, d := range cand.decls {
		want := ref.decls[k]
		if sameToks(d.value, want.value) {
			continue
		}
		knob := classes[d.name] == "knob"
		if len(r.Params) == 0 {
			knob = want.value != nil && (isTileArith(want.value) || isSequence(want.value))
		}
		if !knob || d.value == nil || want.value == nil {
			// Identical text in the same place resolves as the reference does;
			// see checkCK.
			return reject(RuleTileProblemParam, "%s is %q, the task's problem parameter is %q: problem parameters must stay exactly as given",
				d.name, clip(joinToks(d.value)), clip(joinToks(want.value)))
		}
		if why := tileValueOK(d.value, names); why != "" {
			return reject(RuleTileValue, "%s = %q: %s", d.name, clip(joinToks(d.value)), why)
		}
	}
	return nil
}

// checkTileShape is the structural check used without a reference: only
// aliases and constant declarations, no braces or statements.
func checkTileShape(code string) *Rejection {
	if strings.ContainsAny(code, "{}") {
		return reject(RuleBraces, "a tile configuration may not hold braces")
	}
	for _, st := range strings.SplitAfter(code, ";") {
		st = strings.Join(strings.Fields(st), " ")
		if st == "" {
			continue
		}
		if !reTileDecl.MatchString(st) || strings.Contains(st, "(") && !strings.HasPrefix(st, "using") {
			return reject(RuleTileDeclarations, "%q is not a constant or alias declaration", clip(st))
		}
	}
	return nil
}

// tileConfig is a parsed tile configuration.
type tileConfig struct {
	head  []string // `struct Name [: bases]`, or nil for bare declarations
	decls []tileDecl
}

// tileDecl is one declaration `kind name [= value];` or `using name = value;`.
type tileDecl struct {
	kind  []string // tokens before the name; ["using"] for an alias
	name  string
	value []string // tokens after '=', nil when there is no initialiser
}

// parseTile reads comment-free tile configuration text: an optional
// `struct Name [: bases] { ... };` around declarations that end in ';'. It
// returns a reason when the text is not of that shape.
func parseTile(code string) (*tileConfig, string) {
	toks, err := lexTokens(code, "{}")
	if err != "" {
		return nil, err
	}
	tc := &tileConfig{}
	body := toks
	if len(toks) > 0 && toks[0] == "struct" {
		open := -1
		for i, t := range toks {
			if t == "{" {
				open = i
				break
			}
		}
		if open < 2 || len(toks) < open+3 || toks[len(toks)-2] != "}" || toks[len(toks)-1] != ";" {
			return nil, "want 'struct Name { declarations };'"
		}
		tc.head = toks[:open]
		body = toks[open+1 : len(toks)-2]
	}
	start := 0
	for i, t := range body {
		switch t {
		case "{", "}":
			return nil, "a tile configuration holds declarations only: no braces, bodies or nested types"
		case ";":
			d, err := parseTileDecl(body[start:i])
			if err != "" {
				return nil, err
			}
			tc.decls = append(tc.decls, d)
			start = i + 1
		}
	}
	if start != len(body) {
		return nil, fmt.Sprintf("%q is not a complete declaration", clip(joinToks(body[start:])))
	}
	return tc, ""
}

func parseTileDecl(st []string) (tileDecl, string) {
	eq := -1
	for i, t := range st {
		if t == "=" {
			eq = i
			break
		}
	}
	lhs := st
	var d tileDecl
	if eq >= 0 {
		lhs, d.value = st[:eq], st[eq+1:]
		if len(d.value) == 0 {
			return d, fmt.Sprintf("%q has no value", clip(joinToks(st)))
		}
	}
	bad := fmt.Sprintf("%q is not a constant or alias declaration", clip(joinToks(st)))
	if len(lhs) < 2 || !isIdentTok(lhs[len(lhs)-1]) {
		return d, bad
	}
	d.kind, d.name = lhs[:len(lhs)-1], lhs[len(lhs)-1]
	if d.kind[0] == "using" && (len(d.kind) != 1 || d.value == nil) {
		return d, bad
	}
	for _, t := range d.kind {
		// The declared kind is words, '::' and template argument lists of them.
		if !isIdent(t[0]) && t != "::" && t != "<" && t != ">" && t != "," {
			return d, bad
		}
	}
	return d, ""
}

// tileNameSet holds the names a tile knob may use.
type tileNameSet = refNameSet

// tileNames collects the names the reference declares and the names its
// values use: as names (not followed by '(' — a call's name is no value) and
// as template names (followed by '<').
func tileNames(ref *tileConfig) tileNameSet {
	s := tileNameSet{idents: map[string]bool{}, templates: map[string]bool{}}
	for _, d := range ref.decls {
		s.idents[d.name] = true
		v := d.value
		for i := 0; i < len(v); {
			n := qualNameLen(v[i:])
			if n == 0 {
				i++
				continue
			}
			q := joinToks(v[i : i+n])
			switch {
			case i+n < len(v) && v[i+n] == "<":
				s.templates[q] = true
			case i+n < len(v) && v[i+n] == "(":
			default:
				s.idents[q] = true
			}
			i += n
		}
	}
	return s
}

// isTileArith: integer arithmetic over literals only (the fallback's knob shape).
func isTileArith(v []string) bool {
	for _, t := range v {
		if t == "true" || t == "false" {
			return false
		}
	}
	p := tileExpr{toks: v, names: tileNameSet{}}
	return p.expr() && p.i == len(v)
}

// tileValueOK says why a knob's value is not allowed, or "" when it is.
func tileValueOK(v []string, names tileNameSet) string {
	p := tileExpr{toks: v, names: names}
	if p.expr() && p.i == len(v) {
		return ""
	}
	if p.why == "" {
		p.why = "only integer arithmetic (+ - * /) over literals and the configuration's names is allowed"
	}
	return p.why
}

// tileExpr is a recursive-descent reader of knob values:
//
//	expr    := unary (('+'|'-'|'*'|'/') unary)*
//	unary   := ['+'|'-'] primary
//	primary := integer literal | true | false | '(' expr ')' | name | name '<' expr {',' expr} '>'
//
// where a name is one the reference uses or declares, or an enumerator of a
// known CK enumeration, and a template name is one the reference uses.
type tileExpr struct {
	toks  []string
	i     int
	names tileNameSet
	why   string
}

func (p *tileExpr) fail(format string, args ...any) bool {
	if p.why == "" {
		p.why = fmt.Sprintf(format, args...)
	}
	return false
}

func (p *tileExpr) expr() bool {
	for {
		if !p.unary() {
			return false
		}
		if p.i < len(p.toks) && strings.Contains("+-*/", p.toks[p.i]) && len(p.toks[p.i]) == 1 {
			p.i++
			continue
		}
		return true
	}
}

func (p *tileExpr) unary() bool {
	if p.i < len(p.toks) && (p.toks[p.i] == "-" || p.toks[p.i] == "+") {
		p.i++
	}
	if p.i >= len(p.toks) {
		return p.fail("the value ends early")
	}
	t := p.toks[p.i]
	switch {
	case reIntLit.MatchString(t) || t == "true" || t == "false":
		p.i++
		return true
	case t == "(":
		p.i++
		if !p.expr() {
			return false
		}
		if p.i >= len(p.toks) || p.toks[p.i] != ")" {
			return p.fail("unclosed '('")
		}
		p.i++
		return true
	}
	n := qualNameLen(p.toks[p.i:])
	if n == 0 {
		return p.fail("%q cannot appear in a tile value", t)
	}
	q := joinToks(p.toks[p.i : p.i+n])
	p.i += n
	if p.i < len(p.toks) && p.toks[p.i] == "(" {
		return p.fail("%s(...) is a call: tile values may not call functions", q)
	}
	if p.i < len(p.toks) && p.toks[p.i] == "<" {
		if !p.names.templates[q] {
			return p.fail("template %q is not one the reference configuration uses", q)
		}
		p.i++
		for {
			if !p.expr() {
				return false
			}
			if p.i < len(p.toks) && p.toks[p.i] == "," {
				p.i++
				continue
			}
			if p.i < len(p.toks) && p.toks[p.i] == ">" {
				p.i++
				return true
			}
			return p.fail("the argument list of %s is not closed", q)
		}
	}
	if p.names.idents[q] {
		return true
	}
	for _, scope := range ckEnumScopes {
		if rest, ok := strings.CutPrefix(strings.TrimPrefix(q, "::"), scope); ok && isIdentTok(rest) {
			return true
		}
	}
	return p.fail("%q is not a name the reference configuration uses or declares", q)
}
