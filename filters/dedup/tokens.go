package dedup

import (
	"hash/fnv"
	"strings"
)

// Tokens splits C/C++/HIP code into tokens after removing comments:
// identifiers, numbers (with their suffixes) and single punctuation
// characters. Whitespace and comments never matter, so reformatting a
// kernel does not make it new.
func Tokens(code string) []string {
	var out []string
	i, n := 0, len(code)
	for i < n {
		c := code[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '/' && i+1 < n && code[i+1] == '/':
			for i < n && code[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && code[i+1] == '*':
			j := strings.Index(code[i+2:], "*/")
			if j < 0 {
				i = n
			} else {
				i += j + 4
			}
		case c == '"' || c == '\'':
			// A literal is one token, escapes included.
			j := i + 1
			for j < n && code[j] != c && code[j] != '\n' {
				if code[j] == '\\' {
					j++
				}
				j++
			}
			if j < n {
				j++
			}
			if j > n {
				j = n
			}
			out = append(out, code[i:j])
			i = j
		case isWord(c):
			j := i + 1
			for j < n && (isWord(code[j]) || (code[j] == '.' && isDigit(code[i]))) {
				j++
			}
			out = append(out, code[i:j])
			i = j
		default:
			out = append(out, code[i:i+1])
			i++
		}
	}
	return out
}

func isWord(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Normalize returns code as its tokens joined by single spaces: the form
// exact duplicates are detected on.
func Normalize(code string) string { return strings.Join(Tokens(code), " ") }

// hashTokens is FNV-1a over tokens with a separator, so ("ab","c") and
// ("a","bc") differ.
func hashTokens(toks []string) uint64 {
	h := fnv.New64a()
	for _, t := range toks {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// NGramHashes returns the hash of every n-token window of toks (one hash of
// the whole sequence when it is shorter than n and not empty).
func NGramHashes(toks []string, n int) []uint64 {
	if len(toks) == 0 {
		return nil
	}
	if len(toks) < n {
		return []uint64{hashTokens(toks)}
	}
	out := make([]uint64, 0, len(toks)-n+1)
	for i := 0; i+n <= len(toks); i++ {
		out = append(out, hashTokens(toks[i:i+n]))
	}
	return out
}
