package repos

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"kforge/datasets"
	"kforge/filters/gate"
)

// ckExampleRe matches classic CK example sources: example/NN_name/…/*.cpp.
var ckExampleRe = regexp.MustCompile(`^example/\d+_[^/]+/(?:[^/]+/)*[^/]+\.cpp$`)

// ckMinerVersion is part of the cache key of classic CK examples.
const ckMinerVersion = "ck-v16"

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
		res.skipAt("", "ck-example: "+reason(err))
		return res
	}
	if !pr.hasMain() {
		return res // a helper source of a multi-file example, not a program
	}
	needs, defined := ckNeeds(v, p, pr, decls)
	var defs []string
	if needs != nil {
		defs = needs.Defines
	}
	// The build's option macros no file or header defines are off unless
	// the task's needs define them.
	buildMacros := map[string]bool{}
	for m := range ckBuildMacros(v) {
		if !defined[m] {
			buildMacros[m] = true
		}
	}
	// Names resolve through compiled code only: a branch the file's own
	// switch leaves out may define the same alias or constant otherwise.
	all := pr.allWithout(func(f string, code []byte) [][2]int { return ppDeadSpans(code, defs, buildMacros) })
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
	memo, marks := map[string]ckSized{}, map[string]bool{}
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
			if i < len(code) && code[i] == '#' {
				res.skipAt(alias, "ck-example: a preprocessor conditional inside the instance's template arguments")
				continue
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
					res.skipAt(alias, "ck-example: device-op declaration not found")
				}
				continue // a use of a local alias template, mined where it is defined
			}
			v.blob(d.Path)
			gt := matchClose(code, i)
			if gt < 0 {
				res.skipAt(alias, "ck-example: unbalanced template argument list")
				continue
			}
			j := gt + 1
			for j < len(code) && (code[j] == ' ' || code[j] == '\t' || code[j] == '\n' || code[j] == '\r') {
				j++
			}
			if j >= len(code) || code[j] != ';' {
				res.skipAt(alias, "ck-example: instance not a plain alias")
				continue
			}
			end := j + 1
			if inSpans(cond, start) {
				// A branch the file's own #defines or the build's options
				// decide is compiled or not; any other stays unknown.
				compiled, known, why := ppBranch(code, start, defs, buildMacros)
				switch {
				case !known:
					res.skipAt(alias, "ck-example: instance inside #if block")
					continue
				case !compiled:
					res.skipAt(alias, "ck-example: instance in a branch the build leaves out ("+why+")")
					continue
				}
			}
			args := splitTop(string(code[i+1 : gt]))
			if len(args) > len(d.Params) && !d.Variadic {
				res.skipAt(alias, "ck-example: template argument count mismatch")
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
				res.skipAt(alias, "ck-example: instance main never uses")
				continue
			}
			// The device op's own IsSupportedArgument says where it runs; the
			// file name (_xdl, _wmma) only when it has no arch check.
			instArchs, accepted, checked := decls.opArchs(v, d, archs)
			if !checked {
				var backend string
				instArchs, backend = archsFor(p, archs)
				if len(instArchs) == 0 {
					res.skipAt(alias, "ck-example: no configured arch runs "+backend+" kernels")
					continue
				}
			} else if len(instArchs) == 0 {
				res.skipAt(alias, "ck-example: the device op's IsSupportedArgument accepts none of the configured archs (it accepts "+strings.Join(accepted, ",")+")")
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
			var rewrites []datasets.Rewrite
			sizes, notes, why := ckSizes(ckSizeInput{all: all, layouts: t.Layouts, params: resolved, pr: pr, rewrites: &rewrites, memo: memo, marks: marks})
			if why != "" {
				res.skipAt(alias, "ck-example: "+why)
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
			t.Build = ckBuild(v, p, t.Op, pr)
			t.Build.Rewrites = rewrites
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
				res.skipAt(alias, "ck-example: reference rejected by the gate ("+rej.Rule+")")
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
