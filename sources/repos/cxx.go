package repos

import (
	"bytes"
	"regexp"
	"strings"
)

// blank returns a copy of C++ source with comments and the contents of
// string and character literals replaced by spaces (newlines kept), so byte
// offsets and line numbers are those of the original and a regular
// expression over the result never matches inside a comment or a string.
func blank(src []byte) []byte {
	b := bytes.Clone(src)
	n := len(b)
	for i := 0; i < n; {
		switch {
		case b[i] == '/' && i+1 < n && b[i+1] == '/':
			for i < n && b[i] != '\n' {
				b[i] = ' '
				i++
			}
		case b[i] == '/' && i+1 < n && b[i+1] == '*':
			b[i], b[i+1] = ' ', ' '
			i += 2
			for i < n && !(b[i] == '*' && i+1 < n && b[i+1] == '/') {
				if b[i] != '\n' {
					b[i] = ' '
				}
				i++
			}
			if i < n {
				b[i], b[i+1] = ' ', ' '
				i += 2
			}
		case b[i] == '"' || (b[i] == '\'' && !(i > 0 && isDigit(b[i-1]))): // 1'000 digit separators
			q := b[i]
			i++
			for i < n && b[i] != q && b[i] != '\n' {
				if b[i] == '\\' && i+1 < n {
					b[i] = ' '
					i++
				}
				b[i] = ' '
				i++
			}
			i++
		default:
			i++
		}
	}
	return b
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// matchClose returns the index of the bracket that closes code[open]
// ('<', '(', '{' or '['), or -1 when the list is unbalanced. Angle brackets
// count only directly inside an angle list (so `i < n` in a function body or
// `(a < b)` in a template argument is a comparison); a ';' or '{' directly
// inside an angle list ends it unbalanced.
func matchClose(code []byte, open int) int {
	var stack []byte
	for i := open; i < len(code); i++ {
		c := code[i]
		top := byte(0)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch c {
		case '<':
			if i == open || top == '<' {
				stack = append(stack, c)
			}
		case '(', '[', '{':
			if c == '{' && top == '<' {
				return -1
			}
			stack = append(stack, c)
		case '>':
			if top != '<' {
				continue // a comparison or an arrow
			}
			stack = stack[:len(stack)-1]
		case ')', ']', '}':
			want := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if top != want {
				return -1
			}
			stack = stack[:len(stack)-1]
		case ';':
			if top == '<' {
				return -1
			}
			continue
		default:
			continue
		}
		if len(stack) == 0 {
			return i
		}
	}
	return -1
}

// eachTop calls fn with the index of every byte of s that lies outside any
// bracket pair (brackets themselves excluded) until fn returns false.
func eachTop(s string, fn func(i int) bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<', '(', '[', '{':
			depth++
		case '>', ')', ']', '}':
			depth--
		default:
			if depth == 0 && !fn(i) {
				return
			}
		}
	}
}

// splitTop splits s at commas outside any bracket pair.
func splitTop(s string) []string {
	var parts []string
	start := 0
	eachTop(s, func(i int) bool {
		if s[i] == ',' {
			parts = append(parts, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
		return true
	})
	if last := strings.TrimSpace(s[start:]); last != "" || len(parts) > 0 {
		parts = append(parts, last)
	}
	return parts
}

// lineAt is the 1-based line of byte offset off.
func lineAt(src []byte, off int) int {
	return bytes.Count(src[:off], []byte{'\n'}) + 1
}

var ppLine = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef|else|endif|define|undef)\b[^\n]*`)

// condSpans returns the byte spans that lie inside a conditional
// preprocessor block (#if/#ifdef/#ifndef … #endif). An include guard around
// the whole file does not count.
func condSpans(code []byte) [][2]int {
	ms := ppLine.FindAllSubmatchIndex(code, -1)
	guard := -1 // index in ms of the guard's #ifndef
	if len(ms) >= 2 && string(code[ms[0][2]:ms[0][3]]) == "ifndef" && string(code[ms[1][2]:ms[1][3]]) == "define" {
		guard = 0
	}
	var spans [][2]int
	var stack []int
	for k, m := range ms {
		switch string(code[m[2]:m[3]]) {
		case "if", "ifdef", "ifndef":
			if k == guard {
				stack = append(stack, -1)
				continue
			}
			stack = append(stack, m[0])
		case "endif":
			if len(stack) == 0 {
				continue
			}
			start := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if start >= 0 {
				spans = append(spans, [2]int{start, m[1]})
			}
		}
	}
	for _, s := range stack { // unterminated: to the end of the file
		if s >= 0 {
			spans = append(spans, [2]int{s, len(code)})
		}
	}
	return spans
}

func inSpans(spans [][2]int, off int) bool {
	for _, s := range spans {
		if off >= s[0] && off < s[1] {
			return true
		}
	}
	return false
}

var includeRe = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"`)

// quotedIncludes lists the "..." includes of src in order.
func quotedIncludes(src []byte) []string {
	var out []string
	for _, m := range includeRe.FindAllSubmatch(src, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

var spaceRun = regexp.MustCompile(`\s+`)

// squash collapses whitespace runs to one space.
func squash(s string) string { return strings.TrimSpace(spaceRun.ReplaceAllString(s, " ")) }

// looksBinary reports whether b is not text: a NUL byte in its first 8 KiB.
func looksBinary(b []byte) bool {
	if len(b) > 8192 {
		b = b[:8192]
	}
	return bytes.IndexByte(b, 0) >= 0
}
