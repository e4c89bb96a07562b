package gate

import (
	"strings"

	"kforge/datasets"
)

// KindGenRow is a row of a code generator's tile table (ck_tile fmha's
// codegen: `'128' : FmhaFwdTileSize(128, 128, 32, …),`), Python source the
// build's generate step reads.
const KindGenRow = "generator-row"

// RuleGenRow names a generator-row rejection.
const RuleGenRow = "generator-row-skeleton"

// maxGenRowDigits bounds a number of a generator row: tile sizes are small.
const maxGenRowDigits = 6

// checkGenRow enforces a generator-row region as an allowlist by
// construction: after `#` comments, the candidate is the reference token for
// token, except the integer literals inside the row's call parentheses,
// each of which may become another integer literal (a leading minus
// allowed: -1 is "let the pipeline decide"). The key, the call's name, the
// punctuation and any string stay as they are, so the generator runs its
// own code on different numbers only.
func checkGenRow(r datasets.Region, candidate string) *Rejection {
	ref, err := pyTokens(r.Text)
	if err != "" || len(ref) == 0 {
		return reject(RuleCKReference, "the task's reference row cannot be read (%s)", err)
	}
	cand, err := pyTokens(candidate)
	if err != "" {
		return reject(RuleGenRow, "%s", err)
	}
	if len(cand) != len(ref) {
		return reject(RuleGenRow, "the row has %d tokens, the task's has %d: keep the key, the call and every argument, change only the numbers", len(cand), len(ref))
	}
	depth := 0
	for i := range ref {
		switch ref[i] {
		case "(":
			depth++
		case ")":
			depth--
		}
		if cand[i] == ref[i] {
			continue
		}
		if depth == 0 || !isPyInt(ref[i]) {
			return reject(RuleGenRow, "token %d is %q, the task's is %q: only the numbers inside the call may change", i+1, clip(cand[i]), clip(ref[i]))
		}
		if !isPyInt(cand[i]) {
			return reject(RuleGenRow, "argument %q replaces %q: a number stays a decimal integer of at most %d digits", clip(cand[i]), clip(ref[i]), maxGenRowDigits)
		}
	}
	return nil
}

// pyTokens splits Python source into tokens: names and numbers, string
// literals whole, a minus directly before a number after '(' or ',' joined
// to it, and single punctuation characters; `#` comments are dropped.
func pyTokens(s string) ([]string, string) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\\':
			return nil, "a line continuation"
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(s) && s[j] != c && s[j] != '\n' && s[j] != '\\' {
				j++
			}
			if j >= len(s) || s[j] != c {
				return nil, "an unterminated or escaped string literal"
			}
			out = append(out, s[i:j+1])
			i = j + 1
		case isIdent(c):
			j := i
			for j < len(s) && (isIdent(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, s[i:j])
			i = j
		case c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' && len(out) > 0 && (out[len(out)-1] == "(" || out[len(out)-1] == ","):
			j := i + 1
			for j < len(s) && (isIdent(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, s[i:j])
			i = j
		default:
			out = append(out, string(c))
			i++
		}
	}
	return out, ""
}

// isPyInt reports whether tok is a plain decimal integer literal (optionally
// negative), with no leading zeros, underscores or suffixes.
func isPyInt(tok string) bool {
	d := strings.TrimPrefix(tok, "-")
	if d == "" || len(d) > maxGenRowDigits || (len(d) > 1 && d[0] == '0') {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
