// Package gate is the static check every candidate region passes before it is
// spliced or compiled. It is cheap and conservative: a region that could
// rewrite the harness, reach the host, the file system, other processes, the
// network or a library that would do the work is rejected, and every
// rejection names the rule it broke.
package gate

import (
	"fmt"
	"regexp"
	"strings"

	"kforge/datasets"
)

// Region kinds the gate knows.
const (
	KindCKInstance = "ck-instance"
	KindTileConfig = "tile-config"
	KindHIPKernels = "hip-kernels"
)

// Rule names. A rejection's Rule is one of these.
const (
	RuleEmpty            = "empty-region"
	RuleTooLarge         = "region-too-large"
	RuleUnknownKind      = "unknown-region-kind"
	RuleUnterminated     = "unterminated-comment-or-literal"
	RuleContinuation     = "line-continuation"
	RuleInclude          = "no-include"
	RulePreprocessor     = "no-preprocessor"
	RuleBraces           = "balanced-braces"
	RuleLibrary          = "no-library"
	RuleHostAPI          = "no-host-api"
	RuleOutput           = "no-output"
	RuleFiles            = "no-files"
	RuleProcess          = "no-process"
	RuleNetwork          = "no-network"
	RuleSyscall          = "no-syscall"
	RuleDeviceGlobal     = "no-device-globals"
	RuleStaticLocal      = "no-static-locals"
	RuleHostCode         = "device-code-only"
	RuleMain             = "no-main"
	RuleSignature        = "signature"
	RuleCKAlias          = "ck-single-alias"
	RuleCKAliasName      = "ck-alias-name"
	RuleLambda           = "no-lambda"
	RuleTileDeclarations = "tile-declarations-only"
	RuleNonASCII         = "ascii-only"
)

// MaxRegionBytes bounds a candidate region: a model answer larger than this is
// not a kernel rewrite.
const MaxRegionBytes = 256 << 10

// Rejection is a failed gate check.
type Rejection struct {
	Rule   string
	Detail string
}

func (r *Rejection) Error() string { return "gate: " + r.Rule + ": " + r.Detail }

func reject(rule, format string, args ...any) *Rejection {
	return &Rejection{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// Check runs the rules for the task region's kind on candidate and returns
// the first rejection, or nil when the candidate passes.
func Check(r datasets.Region, candidate string) *Rejection {
	if strings.TrimSpace(candidate) == "" {
		return reject(RuleEmpty, "the candidate region is empty")
	}
	if len(candidate) > MaxRegionBytes {
		return reject(RuleTooLarge, "%d bytes, the limit is %d", len(candidate), MaxRegionBytes)
	}
	for i, c := range []byte(candidate) {
		// Non-ASCII bytes allow homoglyph and bidi tricks; comments in kernels do not need them.
		if c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
			return reject(RuleNonASCII, "byte 0x%02x at offset %d", c, i)
		}
	}
	if r.Kind == KindGenRow {
		// Python, not C++: its own token allowlist (no directives, no code).
		return checkGenRow(r, candidate)
	}
	// Strings are blanked with the comments below; look inside them first,
	// with line continuations joined as the compiler joins them.
	joined := strings.NewReplacer("\\\r\n", "", "\\\n", "").Replace(candidate)
	if m := reAsmInclude.FindStringSubmatch(joined); m != nil {
		return reject(RuleInclude, "assembler directive .%s: a region may not include files", m[1])
	}
	code, err := stripComments(candidate)
	if err != nil {
		return err
	}
	if rej := commonRules(code); rej != nil {
		return rej
	}
	switch r.Kind {
	case KindHIPKernels:
		return checkHIP(r, code)
	case KindCKInstance:
		return checkCK(r, code)
	case KindTileConfig:
		return checkTile(r, code)
	case KindTileRows:
		return checkTileRows(r, code)
	}
	return reject(RuleUnknownKind, "region kind %q has no gate rules", r.Kind)
}

// stripComments replaces comments with a space and string and character
// literals with empty ones ("" and ”), so that later rules see only code and a
// word inside a literal or comment never trips or hides a rule. An
// unterminated comment or literal would swallow the harness after the region.
func stripComments(s string) (string, *Rejection) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				// A line comment running to the end of the region would
				// comment out the harness text that follows on the same line.
				return "", reject(RuleUnterminated, "line comment at offset %d runs to the end of the region without a newline", i)
			}
			// A backslash before the newline continues the comment onto the next line.
			if strings.HasSuffix(strings.TrimRight(s[i:i+j], "\r"), "\\") {
				return "", reject(RuleContinuation, "line comment at offset %d ends with a backslash", i)
			}
			b.WriteByte(' ')
			i += j
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return "", reject(RuleUnterminated, "block comment at offset %d is not closed", i)
			}
			b.WriteByte(' ')
			i += 2 + j + 2
		case c == 'R' && i+1 < len(s) && s[i+1] == '"' && (i == 0 || !isIdent(s[i-1])):
			return "", reject(RuleOutput, "raw string literal at offset %d", i)
		case c == '"' || c == '\'':
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' {
					j++
				} else if s[j] == '\n' {
					break
				}
			}
			if j >= len(s) || s[j] != c {
				return "", reject(RuleUnterminated, "literal at offset %d is not closed on its line", i)
			}
			b.WriteByte(c)
			b.WriteByte(c)
			i = j + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var (
	reInclude = regexp.MustCompile(`(?m)^[ \t]*(#|%:|\?\?=)[ \t]*(include|import|embed)\b|__has_include`)
	// An assembler directive that reads a file (inline asm), in any case
	// (assemblers accept .INCBIN), anywhere: kernels have no other use for
	// the words. Spellings that hide it (escapes, split literals) meet the
	// confined compiler, which cannot see the home directory.
	reAsmInclude = regexp.MustCompile(`(?i)\.[ \t]*(incbin|include)\b`)
	// Any directive (also spelled with digraphs or trigraphs) or _Pragma, except
	// the loop pragmas of rePragmaOK.
	reDirective = regexp.MustCompile(`(?m)^[ \t]*(#|%:|\?\?=)[ \t]*(\w*)`)
	// #pragma unroll / nounroll and #pragma clang loop hints only steer
	// loop transformations.
	rePragmaOK    = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*pragma[ \t]+(unroll|nounroll|clang[ \t]+loop)\b[ \t\w(),]*$`)
	reStrayHash   = regexp.MustCompile(`#|%:|\?\?=|_Pragma\b|__pragma\b`)
	reContinuator = regexp.MustCompile(`\\[ \t]*\r?\n|\\[ \t]*$`)
)

// commonRules apply to every region kind.
func commonRules(code string) *Rejection {
	if m := reInclude.FindString(code); m != "" {
		return reject(RuleInclude, "%q: a region may not include files", strings.TrimSpace(m))
	}

	for _, m := range reDirective.FindAllStringSubmatchIndex(code, -1) {
		line := lineAt(code, m[0])
		if rePragmaOK.MatchString(line) {
			continue
		}
		return reject(RulePreprocessor, "directive %q: a region may not define macros or use the preprocessor", strings.TrimSpace(line))
	}
	// Directives were handled above; any other '#' is stringising or token
	// pasting inside a macro the region cannot have, or a digraph trick.
	rest := rePragmaOK.ReplaceAllString(code, "")
	if m := reStrayHash.FindString(rest); m != "" {
		return reject(RulePreprocessor, "%q outside a directive", m)
	}
	if reContinuator.MatchString(code) {
		return reject(RuleContinuation, "a backslash at the end of a line would join the region to the harness")
	}
	depth := 0
	for i, c := range []byte(code) {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
			if depth < 0 {
				return reject(RuleBraces, "'}' at offset %d closes a scope the region did not open", i)
			}
		}
	}
	if depth != 0 {
		return reject(RuleBraces, "%d unclosed '{'", depth)
	}
	for _, pair := range [][2]byte{{'(', ')'}, {'[', ']'}} {
		if strings.Count(code, string(pair[0])) != strings.Count(code, string(pair[1])) {
			return reject(RuleBraces, "unbalanced %q and %q", pair[0], pair[1])
		}
	}
	return nil
}

func lineAt(s string, off int) string {
	start := strings.LastIndexByte(s[:off], '\n') + 1
	end := strings.IndexByte(s[off:], '\n')
	if end < 0 {
		return s[start:]
	}
	return s[start : off+end]
}

// wordRule is a family of identifiers that a hip-kernels region may not name.
type wordRule struct {
	rule  string
	re    *regexp.Regexp
	allow *regexp.Regexp // matches that are fine after all
	why   string
}

// hipWordRules are the text pass's rules for hip-kernels regions: names
// that no honest kernel rewrite spells. Calls by plain names (read, open,
// send, exit, malloc, clock_gettime, …) are judged by the AST check, which
// sees what a name resolves to: a helper the region defines may be called
// read, a libc function may not be called at all.
var hipWordRules = []wordRule{
	{rule: RuleLibrary, re: regexp.MustCompile(`\b(rocblas|hipblas|hipblaslt|hipblasLt|miopen|cublas|cublasLt|cudnn|hipdnn|rocsparse|hipsparse|cusparse|rocsolver|hipsolver|cusolver|rocfft|hipfft|cufft|rocrand|hiprand|curand|cblas|openblas|mkl_)\w*`),
		why: "names a BLAS, DNN or math library that would do the work"},
	{rule: RuleLibrary, re: regexp.MustCompile(`\b(ck|ck_tile|thrust|rocprim|hipcub|cub|cutlass|at|torch|c10|Eigen|rocwmma|tensorflow)\s*::`),
		why: "calls into a library that would do the work"},
	{rule: RuleHostAPI, re: regexp.MustCompile(`\b(hip|cuda|cu|hsa|hsa_amd|nvrtc|hiprtc)[A-Z_]\w*`),
		allow: regexp.MustCompile(`^hip(ThreadIdx|BlockIdx|BlockDim|GridDim)_[xyz]$`), why: "calls the host runtime API"},
	{rule: RuleHostAPI, re: regexp.MustCompile(`\b(operator\s+new|new\s+\w|delete\s*(\[\s*\])?\s+\w|std::(chrono|mutex|function|vector|string|map|unordered_map|this_thread))`),
		why: "uses host-only facilities"},
	{rule: RuleOutput, re: regexp.MustCompile(`\b(printf|fprintf|sprintf|snprintf|vprintf|puts|fputs|putchar|fputc|perror|fwrite|std::print|std::println|__builtin_printf|__builtin_puts|__ockl_\w+|__printf_alloc|__assert_fail|assert)\s*\(`),
		why: "writes program output (it could forge the timing or pass lines)"},
	{rule: RuleOutput, re: regexp.MustCompile(`\b(cout|cerr|clog|wcout|stdout|stderr)\b`), why: "names a standard stream"},
	{rule: RuleFiles, re: regexp.MustCompile(`\b(fopen|fdopen|freopen|opendir|memfd_create)\s*\(|\b(std::filesystem|ifstream|ofstream|fstream|FILE)\b`),
		why: "touches files"},
	{rule: RuleProcess, re: regexp.MustCompile(`\b(fork|vfork|execl|execlp|execle|execv|execvp|execvpe|execve|fexecve|system|popen|posix_spawn|posix_spawnp|pthread_\w+)\s*\(|\bstd::(thread|jthread|async)\b`),
		why: "starts processes or threads"},
	{rule: RuleNetwork, re: regexp.MustCompile(`\b(getaddrinfo|gethostbyname|inet_\w+|curl_\w+)\s*\(`),
		why: "uses the network"},
	{rule: RuleSyscall, re: regexp.MustCompile(`\b(syscall|__syscall|ioctl)\s*\(|\b(_rdtsc|__rdtsc|__builtin_ia32_\w+|sysenter)\b`),
		why: "makes system calls"},
	{rule: RuleSyscall, re: regexp.MustCompile(`\b(asm|__asm__|__asm)\b[^;]*\b(syscall|sysenter|int\s+\$?0x80)\b`), why: "makes system calls from inline assembly"},
	{rule: RuleMain, re: regexp.MustCompile(`\bmain\s*\(`), why: "defines or calls main"},
	{rule: RuleHostCode, re: regexp.MustCompile(`\b(__host__|extern|__attribute__\s*\(\s*\(\s*(constructor|destructor|section|weak|alias|used|visibility))`),
		why: "declares host code, external symbols or linker tricks"},
	{rule: RuleDeviceGlobal, re: regexp.MustCompile(`\b__managed__\b`), why: "declares managed memory"},
	{rule: RuleStaticLocal, re: regexp.MustCompile(`\bstatic\s+__shared__\b|\b__shared__\s+static\b`),
		why: "static __shared__: write __shared__ alone (it is already per workgroup; on host builds static would outlive the launch)"},
}

// checkHIP is the text pass over a hip-kernels region: words no kernel
// rewrite needs, and the task's kernel signatures kept. What the region
// declares (only device functions, constants and types; no state) is the AST
// check's to judge (ast.go): it sees what the compiler sees.
func checkHIP(r datasets.Region, code string) *Rejection {
	// Dynamic shared memory is declared extern inside kernels; that use is fine.
	code = reExternShared.ReplaceAllString(code, "__shared__")
	refLibs := deviceLibsOf(r.Text)
	for _, w := range hipWordRules {
		for _, loc := range w.re.FindAllStringIndex(code, -1) {
			m := strings.TrimSpace(code[loc[0]:loc[1]])
			if w.allow != nil && w.allow.MatchString(m) {
				continue
			}
			if w.rule == RuleLibrary && refLibs[libNamespace(m)] {
				continue
			}
			return reject(w.rule, "%q %s", m, w.why)
		}
	}
	for _, sig := range r.Signatures {
		if rej := checkSignature(code, sig); rej != nil {
			return rej
		}
	}
	return nil
}

var (
	reExternShared = regexp.MustCompile(`\bextern\s+__shared__`)
)

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

var reSig = regexp.MustCompile(`(\w+)\s*\(([^()]*)\)\s*$`)

// checkSignature requires a __global__ function named as sig with the same
// parameter list (whitespace-insensitive; parameter names included, since
// the harness relies on their meaning).
func checkSignature(code, sig string) *Rejection {
	s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sig), ";"))
	m := reSig.FindStringSubmatch(s)
	if m == nil {
		return reject(RuleSignature, "task signature %q cannot be parsed", sig)
	}
	name, params := m[1], normParams(m[2])
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\s*\(([^()]*)\)\s*\{`)
	for _, loc := range re.FindAllStringSubmatchIndex(code, -1) {
		if normParams(code[loc[2]:loc[3]]) != params {
			continue
		}
		head := code[strings.LastIndexAny(code[:loc[0]], ";}")+1 : loc[0]]
		if strings.Contains(head, "__global__") {
			return nil
		}
	}
	return reject(RuleSignature, "no __global__ kernel %s(%s) with the task's parameters", name, m[2])
}

func normParams(p string) string {
	p = strings.Join(strings.Fields(p), " ")
	for _, t := range []string{"*", "&", ",", "<", ">"} {
		p = strings.ReplaceAll(p, " "+t, t)
		p = strings.ReplaceAll(p, t+" ", t)
	}
	return strings.ReplaceAll(p, "__restrict__", "__restrict")
}
