package repos

import (
	"regexp"
	"strings"
	"sync"
)

// The declaration index of the classic CK miner: every device-op template
// declared in the checkout's headers, read once per tree.

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
