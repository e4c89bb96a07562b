package gate

import (
	"fmt"
	"regexp"
	"strings"

	"kforge/datasets"
)

var (
	reCKAlias    = regexp.MustCompile(`^\s*using\s+(\w+)\s*=\s*([\w:\s]+<[\s\S]*>)\s*;\s*$`)
	reCKAllowed  = regexp.MustCompile(`^[\w\s:<>,.+\-*/()]*$`)
	reLambdaLike = regexp.MustCompile(`\[[^\]]*\]\s*(\(|\{|mutable|->)|\[\s*[=&]`)
	reTileDecl   = regexp.MustCompile(`^(static\s+)?(inline\s+)?(constexpr\s+|const\s+)?([\w:<>,\s]+?)\s+\w+\s*(=[^;{}]+)?;$|^using\s+\w+\s*=\s*[^;{}]+;$`)
)

// checkCK enforces a ck-instance region. It is an allowlist by construction:
//
//   - exactly one alias `using Name = Template<args>;`, with the reference's
//     alias name and device-op template;
//   - as many template arguments as the reference;
//   - every problem parameter token-for-token the reference's argument;
//   - every knob either the reference's own argument at that position or a
//     value of the small knob grammar (see knobOK).
//
// Which arguments are problem parameters comes from the task's Region.Params
// (names and classes by position, as the miner read them off the device op's
// declaration). Tasks without Params fall back to the reference's shape: an
// argument written as a number, a boolean, literal arithmetic or a template-id
// of such literals (a Sequence) is a knob, everything else (type names,
// enumerators, element-wise ops, layouts) is a problem parameter. The fallback
// is conservative for named knobs (a pipeline enumerator is frozen) but cannot
// protect a problem parameter the reference spells as a bare number (e.g.
// NumDimSpatial = 2); only Params can.
func checkCK(r datasets.Region, code string) *Rejection {
	if reLambdaLike.MatchString(code) {
		return reject(RuleLambda, "a device-op instance may not hold lambdas")
	}
	if strings.ContainsAny(code, "{}") {
		return reject(RuleBraces, "a device-op instance may not hold braces")
	}
	if strings.Count(code, ";") != 1 {
		return reject(RuleCKAlias, "want exactly one 'using Name = Template<...>;', found %d statements", strings.Count(code, ";"))
	}
	m := reCKAlias.FindStringSubmatch(code)
	if m == nil {
		return reject(RuleCKAlias, "want 'using Name = Template<...>;'")
	}
	if !reCKAllowed.MatchString(m[2]) || strings.Contains(m[2], "\"") || strings.Contains(m[2], "'") {
		return reject(RuleCKAlias, "template arguments may hold only names, numbers and nested template argument lists")
	}
	ref, err := parseCKAlias(mustStrip(r.Text))
	if err != "" {
		return reject(RuleCKReference, "the task's reference instance cannot be read (%s); nothing can be compared with it", err)
	}
	cand, err := parseCKAlias(code)
	if err != "" {
		return reject(RuleCKAlias, "%s", err)
	}
	if cand.name != ref.name {
		return reject(RuleCKAliasName, "alias %q, the harness uses %q", cand.name, ref.name)
	}
	if !sameToks(cand.tmpl, ref.tmpl) {
		return reject(RuleCKAlias, "template %q, the task's instance is a %q", joinToks(cand.tmpl), joinToks(ref.tmpl))
	}
	params, rej := ckParams(r.Params, ref)
	if rej != nil {
		return rej
	}
	if len(cand.args) != len(ref.args) {
		return reject(RuleCKArgCount, "%d template arguments, the task's instance has %d", len(cand.args), len(ref.args))
	}
	names := refNames(ref.args)
	for k, a := range cand.args {
		p := params[k]
		if sameToks(a, ref.args[k]) {
			continue
		}
		if p.Class != "knob" {
			// Identical text at the same place in the same file resolves as
			// the reference does (the region can declare nothing, so no name
			// in it can be shadowed): token equality is at least as strict as
			// "the compiler resolves the same type or value". It refuses
			// spellings that would resolve the same (F16 for ck::half_t).
			return reject(RuleCKProblemParam, "argument %d (%s) is %q, the task's problem parameter is %q: problem parameters must stay exactly as given",
				k+1, p.Name, clip(joinToks(a)), clip(joinToks(ref.args[k])))
		}
		if why := knobOK(a, names); why != "" {
			return reject(RuleCKKnobValue, "argument %d (%s) is %q: %s", k+1, p.Name, clip(joinToks(a)), why)
		}
	}
	return nil
}

// ckParams returns one classified parameter per reference argument: the
// task's Params when it has them (checked against the reference), else the
// fallback classification described at checkCK.
func ckParams(ps []datasets.TemplateParam, ref *ckAliasDecl) ([]datasets.TemplateParam, *Rejection) {
	if len(ps) == 0 {
		out := make([]datasets.TemplateParam, len(ref.args))
		for k, a := range ref.args {
			out[k] = datasets.TemplateParam{Name: fmt.Sprintf("argument %d", k+1), Value: joinToks(a), Class: "problem"}
			if isNumericArg(a) {
				out[k].Class = "knob"
			}
		}
		return out, nil
	}
	if len(ps) != len(ref.args) {
		return nil, reject(RuleCKReference, "the task names %d template parameters, its reference instance has %d arguments", len(ps), len(ref.args))
	}
	for k, p := range ps {
		v, err := lexCK(mustStrip(p.Value))
		if err != "" || !sameToks(v, ref.args[k]) {
			return nil, reject(RuleCKReference, "the task's parameter %d (%s) is %q, its reference instance has %q", k+1, p.Name, clip(p.Value), clip(joinToks(ref.args[k])))
		}
		if p.Class != "knob" && p.Class != "problem" {
			return nil, reject(RuleCKReference, "the task's parameter %d (%s) has class %q", k+1, p.Name, p.Class)
		}
	}
	return ps, nil
}

// ckAliasDecl is a parsed `using Name = Template<args>;`.
type ckAliasDecl struct {
	name string
	tmpl []string   // the template's qualified name, as tokens
	args [][]string // the template arguments, as tokens
}

// parseCKAlias reads a comment-free `using Name = Template<args>;` and
// splits the argument list at its top-level commas. It does not judge the
// arguments; it returns a reason when the text is not such an alias.
func parseCKAlias(code string) (*ckAliasDecl, string) {
	toks, err := lexCK(code)
	if err != "" {
		return nil, err
	}
	if len(toks) < 6 || toks[0] != "using" || !isIdentTok(toks[1]) || toks[2] != "=" {
		return nil, "want 'using Name = Template<...>;'"
	}
	d := &ckAliasDecl{name: toks[1]}
	i := 3
	n := qualNameLen(toks[i:])
	if n == 0 {
		return nil, "the aliased type is not a plain qualified template name"
	}
	d.tmpl = toks[i : i+n]
	i += n
	if i >= len(toks) || toks[i] != "<" {
		return nil, "the aliased type has no template argument list"
	}
	args, end, err := splitArgs(toks, i)
	if err != "" {
		return nil, err
	}
	if end+2 != len(toks) || toks[end+1] != ";" {
		return nil, "want ';' right after the template argument list"
	}
	d.args = args
	return d, ""
}

// lexCK splits comment-free code into tokens: identifiers, number-like
// words, "::" and single punctuation characters. '>>' is two '>' tokens, as
// in a template argument list. Anything a template argument list could not
// hold (quotes, braces, brackets, '#', '\\') is an error.
func lexCK(s string) ([]string, string) { return lexTokens(s, "") }

// lexTokens is lexCK that also accepts the characters in extra as tokens.
func lexTokens(s, extra string) ([]string, string) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case isIdent(c):
			// Identifiers and numbers (with suffixes, hex digits, '.') alike.
			j := i
			for j < len(s) && (isIdent(s[j]) || c >= '0' && c <= '9' && s[j] == '.') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case c == ':' && i+1 < len(s) && s[i+1] == ':':
			toks = append(toks, "::")
			i += 2
		case strings.IndexByte(":<>,()+-*/=;.&|!~%^?", c) >= 0 || strings.IndexByte(extra, c) >= 0:
			toks = append(toks, string(c))
			i++
		default:
			return nil, fmt.Sprintf("character %q cannot appear in a template argument list", c)
		}
	}
	return toks, ""
}

// splitArgs splits the template argument list opened by toks[open] == "<"
// at its top-level commas and returns the arguments and the index of the
// closing '>'. As in C++, '<' and '>' inside parentheses do not open or close
// argument lists.
func splitArgs(toks []string, open int) ([][]string, int, string) {
	var args [][]string
	var stack []string
	start := open + 1
	for i := open + 1; i < len(toks); i++ {
		t := toks[i]
		top := ""
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch {
		case t == "(":
			stack = append(stack, t)
		case t == ")":
			if top != "(" {
				return nil, 0, "')' closes nothing"
			}
			stack = stack[:len(stack)-1]
		case t == "<" && top != "(":
			stack = append(stack, t)
		case t == ">" && top == "<":
			stack = stack[:len(stack)-1]
		case t == ">" && top == "":
			args = append(args, toks[start:i])
			for _, a := range args {
				if len(a) == 0 {
					return nil, 0, "an empty template argument"
				}
			}
			return args, i, ""
		case t == "," && top == "":
			args = append(args, toks[start:i])
			start = i + 1
		case t == ";":
			return nil, 0, "';' inside the template argument list"
		}
	}
	return nil, 0, "the template argument list is not closed"
}

func isIdentTok(t string) bool {
	return t != "" && isIdent(t[0]) && (t[0] < '0' || t[0] > '9') && !ckKeywords[t]
}

// ckKeywords are words that may not stand for a name in an argument: they
// would turn the argument into an expression, a cast or a dependent name.
var ckKeywords = map[string]bool{
	"sizeof": true, "alignof": true, "decltype": true, "typename": true, "template": true,
	"static_cast": true, "dynamic_cast": true, "reinterpret_cast": true, "const_cast": true,
	"new": true, "delete": true, "operator": true, "this": true, "noexcept": true, "typeid": true,
	"throw": true, "const": true, "volatile": true, "auto": true, "struct": true, "class": true,
	"union": true, "enum": true, "using": true, "namespace": true, "static_assert": true,
	"requires": true, "asm": true, "__asm__": true, "__asm": true, "true": true, "false": true,
	"nullptr": true, "alignas": true, "co_await": true, "typedef": true, "static": true,
	"extern": true, "__attribute__": true, "__declspec": true, "_Pragma": true, "__pragma": true,
}

// qualNameLen returns how many tokens at the start of toks form a
// qualified name `[::] id (:: id)*`, or 0.
func qualNameLen(toks []string) int {
	i := 0
	if i < len(toks) && toks[i] == "::" {
		i++
	}
	for {
		if i >= len(toks) || !isIdentTok(toks[i]) {
			return 0
		}
		i++
		if i+1 < len(toks) && toks[i] == "::" {
			i++
			continue
		}
		return i
	}
}

var reIntLit = regexp.MustCompile(`^(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)([uU](ll|LL|l|L|z|Z)?|(ll|LL|l|L|z|Z)[uU]?)?$`)

// isIntLit: an integer literal with an optional sign and suffix, or a boolean.
func isIntLit(a []string) bool {
	if len(a) == 1 && (a[0] == "true" || a[0] == "false") {
		return true
	}
	if len(a) == 2 && (a[0] == "-" || a[0] == "+") {
		a = a[1:]
	}
	return len(a) == 1 && reIntLit.MatchString(a[0])
}

// isParenArith: '(' literal arithmetic with + - * / ')'.
func isParenArith(a []string) bool {
	if len(a) < 3 || a[0] != "(" || a[len(a)-1] != ")" {
		return false
	}
	i, ok := arithExpr(a, 1)
	return ok && i == len(a)-1
}

// arithExpr parses term (op term)* from a[i] and returns the index after it.
func arithExpr(a []string, i int) (int, bool) {
	for {
		if i < len(a) && (a[i] == "-" || a[i] == "+") {
			i++
		}
		switch {
		case i < len(a) && reIntLit.MatchString(a[i]):
			i++
		case i < len(a) && a[i] == "(":
			j, ok := arithExpr(a, i+1)
			if !ok || j >= len(a) || a[j] != ")" {
				return i, false
			}
			i = j + 1
		default:
			return i, false
		}
		if i < len(a) && (a[i] == "+" || a[i] == "-" || a[i] == "*" || a[i] == "/") {
			i++
			continue
		}
		return i, true
	}
}

// isLiteralArg: a literal or parenthesised literal arithmetic.
func isLiteralArg(a []string) bool { return isIntLit(a) || isParenArith(a) }

// templateID splits `Name<args>` into the name's tokens and its arguments.
func templateID(a []string) ([]string, [][]string, bool) {
	n := qualNameLen(a)
	if n == 0 || n >= len(a) || a[n] != "<" {
		return nil, nil, false
	}
	args, end, err := splitArgs(a, n)
	if err != "" || end != len(a)-1 {
		return nil, nil, false
	}
	return a[:n], args, true
}

// isSequence: a template-id whose arguments are all literals, like S<4, 64, 1>.
func isSequence(a []string) bool {
	_, args, ok := templateID(a)
	if !ok {
		return false
	}
	for _, x := range args {
		if !isLiteralArg(x) {
			return false
		}
	}
	return true
}

// isNumericArg is the fallback knob shape: a literal, literal arithmetic or a
// sequence of literals.
func isNumericArg(a []string) bool { return isLiteralArg(a) || isSequence(a) }

// ckEnumScopes are CK enumerations whose enumerators a knob may name even
// when the reference does not: pipeline, scheduler and specialisation
// choices. A name in them is an enumerator of a scoped enum, nothing more.
var ckEnumScopes = []string{
	"ck::BlockGemmPipelineScheduler::",
	"ck::BlockGemmPipelineVersion::",
	"ck::LoopScheduler::",
	"ck::PipelineVersion::",
	"ck::tensor_operation::device::GemmSpecialization::",
	"GemmSpecialization::",
	"ck_tile::GemmPipelineScheduler::",
}

// refNameSet holds the names a knob may use because the reference does.
type refNameSet struct {
	idents    map[string]bool // qualified names written as whole arguments
	templates map[string]bool // names written as Name<...>
}

// refNames collects the names used by the reference's arguments: whole
// arguments that are qualified names, and the names of template-ids (and,
// recursively, the names inside their arguments).
func refNames(args [][]string) refNameSet {
	s := refNameSet{idents: map[string]bool{}, templates: map[string]bool{}}
	var walk func(a []string)
	walk = func(a []string) {
		if n := qualNameLen(a); n == len(a) && n > 0 {
			s.idents[joinToks(a)] = true
			return
		}
		if name, inner, ok := templateID(a); ok {
			s.templates[joinToks(name)] = true
			for _, x := range inner {
				walk(x)
			}
		}
	}
	for _, a := range args {
		walk(a)
	}
	return s
}

// knobOK says why a knob's value is not allowed, or "" when it is. A knob is
// a literal, parenthesised literal arithmetic, a template-id the reference
// uses (S, ck::Sequence) over literals, a name the reference's arguments
// use, or an enumerator of a known CK enumeration. Calls, casts, sizeof,
// decltype, strings, braces, lambdas and dependent names are none of these.
func knobOK(a []string, names refNameSet) string {
	if isLiteralArg(a) {
		return ""
	}
	if n := qualNameLen(a); n > 0 && n == len(a) {
		q := joinToks(a)
		if names.idents[q] {
			return ""
		}
		for _, scope := range ckEnumScopes {
			rest, ok := strings.CutPrefix(strings.TrimPrefix(q, "::"), scope)
			if ok && isIdentTok(rest) {
				return ""
			}
		}
		return fmt.Sprintf("%q is not a name the reference instance uses nor an enumerator of a known CK enumeration", q)
	}
	if name, inner, ok := templateID(a); ok {
		if !names.templates[joinToks(name)] {
			return fmt.Sprintf("template %q is not one the reference instance uses", joinToks(name))
		}
		for j, x := range inner {
			if !isLiteralArg(x) {
				return fmt.Sprintf("element %d of the sequence, %q, is not an integer literal", j+1, clip(joinToks(x)))
			}
		}
		return ""
	}
	return "a knob must be an integer literal, parenthesised literal arithmetic, a sequence of literals or a name the reference uses (no calls, casts, sizeof, decltype or other expressions)"
}

func sameToks(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// joinToks writes tokens back with the spacing a reader expects.
func joinToks(t []string) string {
	var b strings.Builder
	for i, s := range t {
		if i > 0 && s != "," && s != "::" && s != ">" && s != ")" && t[i-1] != "::" && t[i-1] != "<" && t[i-1] != "(" &&
			(s != "<" || !isIdent(t[i-1][0])) && (s != "(" || !isIdent(t[i-1][0])) {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

func mustStrip(s string) string {
	c, err := stripComments(s)
	if err != nil {
		return s
	}
	return c
}
