package repos

import (
	"path"
	"regexp"

	"kforge/datasets"
)

// A miner turns programs of one task kind into tasks. Everything kforge
// knows about a kind sits in its row of the miners table: adding a kind is
// one row (and its mine function), nothing else.
type miner struct {
	// Kind is the task kind (datasets.Kind…) and the --kind name.
	Kind string
	// Version is part of the cache key of the programs it mines: change it
	// when the miner's output changes.
	Version string
	// Paths says which files of a tree are its programs.
	Paths func(p string) bool
	// Detect says whether `--kind auto` runs it on a tree; nil makes it the
	// fallback, run only when no other miner detects its layout.
	Detect func(t *tree) bool
	// Mine mines one program.
	Mine func(v *view, p string, sh *shared, archs []string) programResult
}

// shared is what the programs of one tree share while they are mined:
// indexes built once per tree.
type shared struct {
	decls *declIndex // CK device-op declarations
}

// miners is the table of every task kind kforge mines, in the order auto
// detection lists them.
var miners = []miner{
	{datasets.KindCKExample, ckMinerVersion, ckExampleRe.MatchString, detectCKExample, mineCKExample},
	{datasets.KindCKTile, ckTileMinerVersion, ckTileRe.MatchString, anyPath(ckTileRe), mineCKTileShared},
	{datasets.KindHIPProgram, hipMinerVersion, isHIPSource, nil, plain(mineHIPProgram)},
}

// Kinds lists the task kinds kforge mines, in table order.
func Kinds() []string {
	out := make([]string, len(miners))
	for i, m := range miners {
		out[i] = m.Kind
	}
	return out
}

func minerFor(kind string) (miner, bool) {
	for _, m := range miners {
		if m.Kind == kind {
			return m, true
		}
	}
	return miner{}, false
}

// mineCKTileShared: ck_tile programs read the CK declaration index too.
func mineCKTileShared(v *view, p string, sh *shared, archs []string) programResult {
	return mineCKTile(v, p, archs, sh.decls)
}

// plain adapts a miner that needs nothing shared across programs.
func plain(f func(v *view, p string, archs []string) programResult) func(*view, string, *shared, []string) programResult {
	return func(v *view, p string, _ *shared, archs []string) programResult { return f(v, p, archs) }
}

// anyPath detects a layout by any path matching re.
func anyPath(re *regexp.Regexp) func(t *tree) bool {
	return func(t *tree) bool {
		for _, p := range t.paths {
			if re.MatchString(p) {
				return true
			}
		}
		return false
	}
}

// detectCKExample: classic examples beside CK's own include/ck.
func detectCKExample(t *tree) bool { return t.hasDir("include/ck") && anyPath(ckExampleRe)(t) }

func isHIPSource(p string) bool { return hipSourceExts[path.Ext(p)] }

// kindsFor picks the miners for a tree: the configured one, or every miner
// whose layout the tree has, or the fallbacks when none has.
func kindsFor(t *tree, kind string) []string {
	if kind != "" && kind != "auto" {
		return []string{kind}
	}
	var ks, fallback []string
	for _, m := range miners {
		switch {
		case m.Detect == nil:
			fallback = append(fallback, m.Kind)
		case m.Detect(t):
			ks = append(ks, m.Kind)
		}
	}
	if len(ks) == 0 {
		return fallback
	}
	return ks
}
