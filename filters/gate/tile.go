package gate

import (
	"strings"
)

// checkTile enforces a tile-config region: only aliases and constant
// declarations, no braces, lambdas or statements.
func checkTile(code string) *Rejection {
	if reLambdaLike.MatchString(code) {
		return reject(RuleLambda, "a tile configuration may not hold lambdas")
	}
	if strings.ContainsAny(code, "{}") {
		return reject(RuleBraces, "a tile configuration may not hold braces")
	}
	for _, st := range strings.SplitAfter(code, ";") {
		st = strings.Join(strings.Fields(st), " ")
		if st == "" {
			continue
		}
		if !reTileDecl.MatchString(st) || strings.Contains(st, "(") && !strings.HasPrefix(st, "using") {
			return reject(RuleTileDeclarations, "%q is not a constant or alias declaration", clip(st))
		}
	}
	return nil
}
