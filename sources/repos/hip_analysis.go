package repos

import (
	"regexp"
	"strings"
)

// A HIP program is analysed the way a reader follows it: from main, through
// the functions main calls (in the program's files and in the headers it
// includes), to the kernels those launch. Only what lies on that path counts:
// the kernels of the region, the line the program prints on success, the
// command-line options and the checks main makes on them.

// cfn is one function definition (host or device) of a program.
type cfn struct {
	file        string
	name        string
	start, body int // header start; index of the body's '{'
	end         int // index after the body's '}'
}

var (
	ppDirectiveLine = regexp.MustCompile(`(?m)^[ \t]*#[^\n]*$`)
	transparentHead = regexp.MustCompile(`(?:\bnamespace\b[\w:\s]*|\bextern\s*"\s*")\s*$`)
	fnTailRe        = regexp.MustCompile(`\)\s*(?:(?:const|noexcept|override|final|mutable)\b\s*|->\s*[\w:<>\s*&,]+?\s*)*$`)
	wordRe          = regexp.MustCompile(`\b[A-Za-z_]\w*\b`)
	controlWords    = map[string]bool{"if": true, "for": true, "while": true, "switch": true, "catch": true, "return": true, "sizeof": true}
)

// defineFunctions finds the function definitions at namespace scope of
// blanked code (class members and lambdas are not indexed).
func defineFunctions(file string, code []byte) []cfn {
	var out []cfn
	from := 0 // start of the current declaration
	for i := 0; i < len(code); i++ {
		switch code[i] {
		case ';', '}':
			from = i + 1
			continue
		case '{':
		default:
			continue
		}
		head := ppDirectiveLine.ReplaceAllStringFunc(string(code[from:i]), func(s string) string { return strings.Repeat(" ", len(s)) })
		if transparentHead.MatchString(head) {
			from = i + 1 // namespace or extern "C" block: its contents are top level
			continue
		}
		end := matchClose(code, i)
		if end < 0 {
			return out
		}
		if loc := fnTailRe.FindStringIndex(head); loc != nil {
			if open := openParen(head, loc[0]); open > 0 {
				if m := fnNameRe.FindString(head[:open]); m != "" && !controlWords[m] {
					out = append(out, cfn{file: file, name: strings.TrimSpace(m), start: from + strings.Index(head, strings.TrimLeft(head, " \t\r\n")), body: i, end: end + 1})
				}
			}
		}
		i = end
		from = end + 1
	}
	return out
}

// openParen returns the index of the '(' that the ')' at close closes.
func openParen(s string, close int) int {
	depth := 0
	for i := close; i >= 0; i-- {
		switch s[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// progIndex holds every function of a program and its headers.
type progIndex struct {
	raw, code map[string][]byte
	fns       map[string][]cfn
	files     []string // the program's own files, then the headers
	own       map[string]bool
}

func newProgIndex(pr *program, headers map[string][]byte, headerOrder []string) *progIndex {
	ix := &progIndex{raw: map[string][]byte{}, code: map[string][]byte{}, fns: map[string][]cfn{}, own: map[string]bool{}}
	add := func(f string, raw, code []byte) {
		if _, ok := ix.raw[f]; ok {
			return
		}
		ix.raw[f], ix.code[f] = raw, code
		ix.files = append(ix.files, f)
		for _, d := range defineFunctions(f, code) {
			ix.fns[d.name] = append(ix.fns[d.name], d)
		}
	}
	for _, f := range pr.order {
		ix.own[f] = true
		add(f, pr.raw[f], pr.code[f])
	}
	for _, f := range headerOrder {
		add(f, headers[f], blank(headers[f]))
	}
	return ix
}

// main returns the definition of main, if any.
func (ix *progIndex) main() (cfn, bool) {
	for _, d := range ix.fns["main"] {
		if ix.own[d.file] {
			return d, true
		}
	}
	return cfn{}, false
}

// bodyText is the blanked text of d's body.
func (ix *progIndex) bodyText(d cfn) string { return string(ix.code[d.file][d.body:d.end]) }

// reachable returns the functions reached from main by name: every
// identifier in a reached body that names a function reaches all its
// definitions (overloads and templates alike), so a kernel is reached when a
// reached function launches it, passes it or names it.
func (ix *progIndex) reachable() []cfn {
	m, ok := ix.main()
	if !ok {
		return nil
	}
	seen := map[string]bool{"main": true}
	out := []cfn{m}
	for k := 0; k < len(out); k++ {
		for _, id := range wordRe.FindAllString(ix.bodyText(out[k]), -1) {
			if seen[id] || len(ix.fns[id]) == 0 {
				continue
			}
			seen[id] = true
			out = append(out, ix.fns[id]...)
		}
	}
	return out
}

// liveFuncNames is the set of names of reachable functions.
func liveFuncNames(fs []cfn) map[string]bool {
	out := map[string]bool{}
	for _, d := range fs {
		out[d.name] = true
	}
	return out
}

// literals returns the string literals of d's body, in order.
func (ix *progIndex) literals(d cfn) []string {
	code, raw := ix.code[d.file], ix.raw[d.file]
	var out []string
	open := -1
	for i := d.body; i < d.end; i++ {
		if code[i] != '"' {
			continue
		}
		if open < 0 {
			open = i
			continue
		}
		out = append(out, string(raw[open+1:i]))
		open = -1
	}
	return out
}

var (
	passWordRe = regexp.MustCompile(`(?i)\b(?:pass|passed|success|succeeded|successful|successfully|correct|verified)\b`)
	failWordRe = regexp.MustCompile(`(?i)\b(?:fail|failed|failure|fails|mismatch|mismatches|incorrect|wrong|error|errors|not|invalid)\b`)
	verdictRe  = regexp.MustCompile(`(?i)\b(?:fail|failed|failure|mismatch|incorrect)\b`)
	printRe    = regexp.MustCompile(`\b(?:cout|cerr|printf|puts|fprintf|fputs)\b`)
)

// literalText cuts a literal at its first escape or format directive and
// trims it: what is left is printed verbatim.
func literalText(s string) string {
	if i := strings.IndexAny(s, `\%`); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(strings.TrimSpace(s), ".!:; ")
}

// passRule finds the success line among the literals that reached functions
// print, and the failure verdicts beside it. ok is false when no reached
// function prints one.
func (ix *progIndex) passLines(live []cfn) (pass string, fails []string) {
	for _, d := range live {
		if !printRe.MatchString(ix.bodyText(d)) {
			continue
		}
		for _, lit := range ix.literals(d) {
			t := literalText(lit)
			if len(t) < 4 {
				continue
			}
			if pass == "" && passWordRe.MatchString(t) && !failWordRe.MatchString(t) {
				pass = t
			}
			if verdictRe.MatchString(t) && !contains(fails, t) {
				fails = append(fails, t)
			}
		}
	}
	return pass, fails
}

var (
	launchRe    = regexp.MustCompile(`<<<|\bhipLaunchKernelGGL\b|\bhipLaunchKernel\b|\bhipLaunchCooperativeKernel\b|\bhipModuleLaunchKernel\b|\bhipExtLaunchKernelGGL\b`)
	failExitRe  = regexp.MustCompile(`\breturn\s+([^;]+);|\b(?:std::)?(?:exit|_Exit|quick_exit)\s*\(([^)]*)\)|\b(?:std::)?abort\s*\(`)
	hipStatusRe = regexp.MustCompile(`\bhip[A-Z]\w*`)
	zeroExitArg = regexp.MustCompile(`^\s*(?:0[uU]?|EXIT_SUCCESS|hipSuccess|true|false)?\s*$`)
)

// failExit reports whether s holds a return or exit with a status other
// than success (an abort counts).
func failExit(s string) bool {
	for _, m := range failExitRe.FindAllStringSubmatch(s, -1) {
		arg := m[1] + m[2]
		if m[1] == "" && m[2] == "" && !strings.Contains(m[0], "exit") {
			return true // abort
		}
		// A status made of HIP calls reports the runtime, not the result.
		if !zeroExitArg.MatchString(arg) && !hipStatusRe.MatchString(arg) {
			return true
		}
	}
	return false
}

// checksResult reports whether main (or a function it calls after the first
// kernel launch) can end with a failing status after a kernel ran: a result
// check that the exit status carries.
func (ix *progIndex) checksResult(live []cfn) bool {
	m, ok := ix.main()
	if !ok {
		return false
	}
	launching := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, d := range live {
			if launching[d.name] || d.name == "main" {
				continue
			}
			body := ix.bodyText(d)
			hit := launchRe.MatchString(body)
			for _, id := range wordRe.FindAllString(body, -1) {
				hit = hit || (launching[id] && id != d.name)
			}
			if hit {
				launching[d.name], changed = true, true
			}
		}
	}
	body := ix.bodyText(m)
	first := -1
	if loc := launchRe.FindStringIndex(body); loc != nil {
		first = loc[0]
	}
	for _, loc := range wordRe.FindAllStringIndex(body, -1) {
		if launching[body[loc[0]:loc[1]]] && (first < 0 || loc[0] < first) {
			first = loc[0]
		}
	}
	if first < 0 {
		return false
	}
	after := body[first:]
	if failExit(after) {
		return true
	}
	// A checking helper called after the launch that exits on failure.
	for _, id := range wordRe.FindAllString(after, -1) {
		for _, d := range ix.fns[id] {
			if ix.own[d.file] && d.name != "main" && regexp.MustCompile(`\b(?:std::)?(?:exit|abort)\s*\(`).MatchString(ix.bodyText(d)) && failExit(ix.bodyText(d)) {
				return true
			}
		}
	}
	return false
}
