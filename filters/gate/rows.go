package gate

import (
	"strings"

	"kforge/datasets"
)

// KindTileRows is a region of kernel trait rows in a host dispatch (one size
// range of ck_tile's layernorm2d API): statements that each call a kernel
// template with a trait argument list.
const KindTileRows = "tile-rows"

// RuleTileRows names a tile-rows rejection.
const RuleTileRows = "tile-rows-skeleton"

// checkTileRows enforces a tile-rows region as an allowlist by construction:
// the candidate is the reference token for token, except integer literals
// and true/false inside a `trait_<…>`-style template argument list (the
// template named by the token before the reference's first '<' that holds
// literals), and never its first argument (the data type). A literal may be
// replaced only by one of the same kind.
func checkTileRows(r datasets.Region, code string) *Rejection {
	ref, err := lexTokens(mustStrip(r.Text), "{}")
	if err != "" || len(ref) == 0 {
		return reject(RuleCKReference, "the task's reference rows cannot be read (%s)", err)
	}
	cand, err := lexTokens(code, "{}")
	if err != "" {
		return reject(RuleTileRows, "%s", err)
	}
	if len(cand) != len(ref) {
		return reject(RuleTileRows, "the rows have %d tokens, the task's have %d: keep every statement, condition and call, change only trait arguments", len(cand), len(ref))
	}
	editable := rowArgs(ref)
	for i := range ref {
		if cand[i] == ref[i] {
			continue
		}
		if !editable[i] {
			return reject(RuleTileRows, "token %d is %q, the task's is %q: only the numbers and true/false of the trait arguments (after the data type) may change", i+1, clip(cand[i]), clip(ref[i]))
		}
		if isIntTok(ref[i]) != isIntTok(cand[i]) || isBoolTok(ref[i]) != isBoolTok(cand[i]) || !isIntTok(cand[i]) && !isBoolTok(cand[i]) {
			return reject(RuleTileRows, "trait argument %q replaces %q: a number stays a number and a flag a flag", clip(cand[i]), clip(ref[i]))
		}
	}
	return nil
}

// rowArgs marks the token positions that are trait arguments: literals at
// depth one of a template argument list after its first argument.
func rowArgs(toks []string) map[int]bool {
	out := map[int]bool{}
	for i := 0; i+1 < len(toks); i++ {
		if !strings.HasSuffix(toks[i], "trait_") && !strings.HasSuffix(toks[i], "traits_") || toks[i+1] != "<" {
			continue
		}
		depth, arg := 0, 0
		for j := i + 1; j < len(toks); j++ {
			switch toks[j] {
			case "<":
				depth++
				continue
			case ">":
				depth--
			case ">>":
				depth -= 2
			case ",":
				if depth == 1 {
					arg++
				}
				continue
			}
			if depth <= 0 {
				break
			}
			if depth == 1 && arg > 0 && (isIntTok(toks[j]) || isBoolTok(toks[j])) {
				out[j] = true
			}
		}
	}
	return out
}

func isIntTok(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isBoolTok(s string) bool { return s == "true" || s == "false" }
