package gate

import (
	"regexp"
	"strings"

	"kforge/datasets"
)

var (
	reCKAlias    = regexp.MustCompile(`^\s*using\s+(\w+)\s*=\s*([\w:]+\s*<[\s\S]*>)\s*;\s*$`)
	reCKAllowed  = regexp.MustCompile(`^[\w\s:<>,.+\-*/()]*$`)
	reLambdaLike = regexp.MustCompile(`\[[^\]]*\]\s*(\(|\{|mutable|->)|\[\s*[=&]`)
	reTileDecl   = regexp.MustCompile(`^(static\s+)?(inline\s+)?(constexpr\s+|const\s+)?([\w:<>,\s]+?)\s+\w+\s*(=[^;{}]+)?;$|^using\s+\w+\s*=\s*[^;{}]+;$`)
)

// checkCK enforces a ck-instance region: exactly one type alias whose value is
// a template with an argument list, under the reference's alias name.
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
	if want := reCKAlias.FindStringSubmatch(mustStrip(r.Text)); want != nil && want[1] != m[1] {
		return reject(RuleCKAliasName, "alias %q, the harness uses %q", m[1], want[1])
	}
	if want := reCKAlias.FindStringSubmatch(mustStrip(r.Text)); want != nil {
		if tmpl := templateName(want[2]); tmpl != templateName(m[2]) {
			return reject(RuleCKAlias, "template %q, the task's instance is a %q", templateName(m[2]), tmpl)
		}
	}
	return nil
}

func templateName(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return strings.TrimSpace(s)
}

func mustStrip(s string) string {
	c, err := stripComments(s)
	if err != nil {
		return s
	}
	return c
}
