package repos

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"kforge/datasets"
)

// ckTileMinerVersion is part of the cache key of ck-tile programs: bump it
// when the ck-tile miner's output changes.
const ckTileMinerVersion = "tile-v3"

// ckTileRe matches ck_tile example sources: example/ck_tile/NN_name/…/*.cpp.
var ckTileRe = regexp.MustCompile(`^example/ck_tile/\d+_[^/]+/(?:[^/]+/)*[^/]+\.cpp$`)

var (
	tileStructRe = regexp.MustCompile(`\bstruct\s+(\w*(?:Config|Traits|Shape)\w*)\s*(?::[^{;]*)?\{`)
	tileConstRe  = regexp.MustCompile(`(?m)^[ \t]*(?:static[ \t]+)?constexpr[ \t]+[\w:]+[ \t]+(\w*(?:Tile|Warp)\w*)[ \t]*=[ \t]*([^;\n]+);[ \t]*$`)
	// tileSeqRe: a tile alias over literals, `using BlockTile = ck_tile::sequence<128, 128>;`.
	tileSeqRe   = regexp.MustCompile(`(?m)^[ \t]*using[ \t]+(\w+)[ \t]*=[ \t]*(?:ck_tile::)?sequence<([\d\s,]+)>[ \t]*;`)
	memberRe    = regexp.MustCompile(`(\w+)\s*=\s*([^;]+);`)
	argInsertRe = regexp.MustCompile(`\.insert\(\s*"(\w+)"\s*,\s*"([^"]*)"`)
	// tileProblemRe names the declarations of a tile region that are the
	// problem, not a choice: data types, layouts, spatial rank, and the
	// problem, kernel and partitioner types built from the choices.
	tileProblemRe = regexp.MustCompile(`Layout|DataType|Type$|NDim|Spatial|Problem$|^Kernel$|Partitioner|Epilogue`)
	// tileDeclRe: one statement a tile region may hold, a constant or an alias.
	tileDeclRe = regexp.MustCompile(`^(?:(?:static|inline)\s+)*constexpr\s+[\w:<>, ]+?\s+\w+\s*=|^using\s+\w+\s*=`)
	tilePadRe  = regexp.MustCompile(`(?m)\b(k?Pad\w*)\s*=\s*(true|false)\b`)
)

var ckTileRules = []string{
	"Replace only the tile configuration; keep every name it declares, their order and their declared types.",
	"Keep problem parameters (data types, layouts, spatial rank, problem and kernel types) as given; change tile, warp and warp-tile sizes, vector sizes, padding flags, pipeline, policy and scheduler choices.",
	"Block tile sizes must be multiples of the warp tile times the warps per block.",
	"A padding flag may be turned off only where every size divides the tile: the tail sizes check it.",
}

// mineCKTile mines one ck_tile example program. Its region is, by the
// example's shape: the rows of a size-range dispatch in a sibling source
// (layernorm2d), the tile choice a code generator takes (fmha), or the
// tile configuration in the program (a Config struct, or a run of constant
// and alias declarations around the tile constants or `sequence<>` tile
// aliases: gemm, img2col, reduce).
func mineCKTile(v *view, p string, archs []string, decls *declIndex) programResult {
	var res programResult
	pr, err := loadProgram(v, p, func(q string) bool { return strings.HasPrefix(q, "example/ck_tile/") })
	if err != nil {
		res.Skips = append(res.Skips, "ck-tile: "+reason(err))
		return res
	}
	if !pr.hasMain() {
		return res
	}
	needs := ckTileNeeds(v, p, pr, decls)
	if gen := findTileGenerator(v, p, pr); gen != nil {
		return mineTileGenerated(v, p, pr, gen, needs, archs)
	}
	if d := findTileDispatch(v, p, pr); d != nil {
		return mineTileDispatch(v, p, pr, d, needs, archs)
	}
	file, start, end := tileRegion(pr)
	if file == "" {
		res.Skips = append(res.Skips, "ck-tile: no tile configuration found")
		return res
	}
	if inSpans(condSpans(pr.code[file]), start) {
		res.Skips = append(res.Skips, "ck-tile: tile configuration inside #if block")
		return res
	}
	t := datasets.Task{Kind: datasets.KindCKTile}
	t.Name = strings.TrimSuffix(path.Base(p), ".cpp") + "/tile-config"
	t.Op = tileOp(p)
	code := string(pr.code[file][start:end])
	knobs := map[string]int64{}
	seqs := map[string][]int64{}
	for _, m := range memberRe.FindAllStringSubmatch(code, -1) {
		val := squash(m[2])
		cl := "knob"
		if tileProblemRe.MatchString(m[1]) {
			cl = "problem"
		}
		t.Region.Params = append(t.Region.Params, datasets.TemplateParam{Name: m[1], Value: val, Class: cl})
		if n, err := strconv.ParseInt(val, 10, 64); err == nil {
			knobs[m[1]] = n
		}
	}
	for _, m := range tileSeqRe.FindAllStringSubmatch(code, -1) {
		for _, f := range strings.Split(m[2], ",") {
			n, _ := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			seqs[m[1]] = append(seqs[m[1]], n)
		}
	}
	pads := tilePadRe.FindAllStringSubmatch(code, -1)
	padded := false
	for _, m := range pads {
		padded = padded || m[2] == "true"
	}
	raw := pr.allRaw()
	argDefaults := map[string]string{}
	for _, m := range argInsertRe.FindAllStringSubmatch(raw, -1) {
		argDefaults[m[1]] = m[2]
	}
	switch {
	case argDefaults["m"] != "":
		t.Sizes, t.SizeNotes = ckTileSizes(argDefaults, tileDims(knobs, seqs), padded)
	case strings.Contains(pr.all(), "parse_conv_param") && convDefaultRe.MatchString(raw):
		t.Sizes, t.SizeNotes = convTileSizes(raw, tileDims(knobs, seqs))
		if t.Sizes == nil {
			res.Skips = append(res.Skips, "ck-tile: conv default parameters unreadable")
			return res
		}
	default:
		res.Skips = append(res.Skips, "ck-tile: no -m argument or conv parameters recognised")
		return res
	}
	if dt := canonicalDtype(argDefaults["prec"]); dt != "" {
		t.Dtypes = []string{dt}
	} else if dt := tileDtype(code); dt != "" {
		t.Dtypes = []string{dt}
	} else {
		t.Dtypes = dtypesFromName(p)
	}
	t.Files = pr.files
	t.Region.File = file
	t.Region.Start, t.Region.End = start, end
	t.Region.Text = string(pr.raw[file][start:end])
	t.Region.Kind = "tile-config"
	t.Region.Rules = ckTileRules
	t.Description = fmt.Sprintf("ck_tile example %s (%s); the program checks its result and prints its own timing.", p, t.Op)
	t.Build = tileBuild(v, []string{p}, needs)
	t.Run = tileRun(raw)
	finish(v, &t, archs)
	res.Tasks = append(res.Tasks, t)
	return res
}

// tileOp names the op from the example directory, example/ck_tile/NN_name.
func tileOp(p string) string { return opFromDir(strings.SplitN(p, "/", 4)[2]) }

// tileBuild is the build of a ck_tile program: its sources against the
// checkout's include directory.
func tileBuild(v *view, sources []string, needs *datasets.Needs) datasets.BuildRecipe {
	b := datasets.BuildRecipe{Sources: sources, Flags: []string{"-O3", "-std=c++17"}, NeedsCheckout: true}
	if v.hasDir("include") {
		b.IncludeDirs = []string{"include"}
	}
	if needs != nil {
		n := *needs
		b.Needs = &n
	}
	return b
}

// tileRun is the run recipe of a ck_tile program: its own success line, and
// its own timing line when it prints one in ms.
func tileRun(raw string) datasets.RunRecipe {
	pass := datasets.PassRule{ExitZero: true, Fail: []string{"valid:n", "result is:fail", "Incorrect results"}}
	switch {
	case strings.Contains(raw, "valid:"):
		pass.Pass = []string{`valid:\s*y`}
	case strings.Contains(raw, "result is:"):
		pass.Pass = []string{`result is:\s*correct`}
	}
	r := datasets.RunRecipe{Pass: pass, TimeoutSeconds: 600}
	if regexp.MustCompile(`"\s*ms\b|<<\s*"ms`).MatchString(raw) || strings.Contains(raw, `ms\n`) || strings.Contains(raw, `ms,`) {
		r.PerfPattern = `(?P<ms>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*ms\b`
	}
	return r
}

// tileRegion finds the tile configuration of a program: a Config/Traits/
// Shape struct holding tile members, else the longest run of constant and
// alias declarations that sets at least two tile constants or `sequence<>`
// tile aliases to literals.
func tileRegion(pr *program) (file string, start, end int) {
	for _, f := range pr.order {
		code := pr.code[f]
		for _, m := range tileStructRe.FindAllSubmatchIndex(code, -1) {
			brace := m[1] - 1
			cl := matchClose(code, brace)
			if cl < 0 || !strings.Contains(string(code[brace:cl]), "Tile") {
				continue
			}
			j := cl + 1
			for j < len(code) && (code[j] == ' ' || code[j] == '\n' || code[j] == '\t') {
				j++
			}
			if j < len(code) && code[j] == ';' {
				return f, m[0], j + 1
			}
		}
	}
	best := 0
	for _, f := range pr.order {
		code := pr.code[f]
		type seed struct{ s, e int }
		var seeds []seed
		for _, m := range tileConstRe.FindAllSubmatchIndex(code, -1) {
			if intRe.Match(bytes.TrimSpace(code[m[4]:m[5]])) {
				seeds = append(seeds, seed{m[0], m[1]})
			}
		}
		for _, m := range tileSeqRe.FindAllSubmatchIndex(code, -1) {
			seeds = append(seeds, seed{m[0], m[1]})
		}
		for _, sd := range seeds {
			s, e := declRun(code, sd.s, sd.e)
			lits := 0
			for _, x := range seeds {
				if x.s >= s && x.e <= e {
					lits++
				}
			}
			if lits >= 2 && (lits > best || lits == best && f == file && e-s > end-start) {
				best, file, start, end = lits, f, s, e
			}
		}
	}
	return file, start, end
}

// declRun widens [s, e) of blanked code over the constant and alias
// declarations next to it (whitespace and comments between them), and
// trims leading whitespace.
func declRun(code []byte, s, e int) (int, int) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for s < e && isSpace(code[s]) {
		s++
	}
	for {
		i := s - 1
		for i >= 0 && isSpace(code[i]) {
			i--
		}
		if i < 0 || code[i] != ';' {
			break
		}
		j := bytes.LastIndexAny(code[:i], ";{}") + 1
		st := strings.TrimSpace(string(code[j : i+1]))
		if !tileDeclRe.MatchString(st) {
			break
		}
		s = j
		for s < i && isSpace(code[s]) {
			s++
		}
	}
	for {
		k := e
		n := bytes.IndexByte(code[k:], ';')
		if n < 0 {
			break
		}
		st := strings.TrimSpace(string(code[k : k+n+1]))
		if strings.ContainsAny(st, "{}") || !tileDeclRe.MatchString(st) {
			break
		}
		e = k + n + 1
	}
	return s, e
}

// tileDims are the block tile per problem dimension (m, n, k), from tile
// constants (M_Tile, kMPerBlock) or a block tile alias (BlockTile =
// sequence<M, N[, K]>).
func tileDims(knobs map[string]int64, seqs map[string][]int64) map[string]int64 {
	out := map[string]int64{}
	for _, d := range []string{"m", "n", "k"} {
		for name, n := range knobs {
			if strings.HasPrefix(strings.ToUpper(name), strings.ToUpper(d)+"_TILE") || strings.EqualFold(name, "k"+d+"PerBlock") {
				out[d] = n
			}
		}
	}
	for name, xs := range seqs {
		if ln := strings.ToLower(name); strings.Contains(ln, "block") && strings.Contains(ln, "tile") {
			for i, d := range []string{"m", "n", "k"} {
				if i < len(xs) && out[d] == 0 {
					out[d] = xs[i]
				}
			}
		}
	}
	return out
}

// tileDtype reads the data type an alias of the region names (InDataType =
// ck_tile::half_t).
func tileDtype(code string) string {
	for _, m := range memberRe.FindAllStringSubmatch(code, -1) {
		if strings.Contains(m[1], "DataType") {
			if dt := canonicalDtype(m[2]); dt != "" {
				return dt
			}
		}
	}
	return ""
}

// ckTileSizes: the defaults, an aligned hidden size, a second aligned size,
// and — when the region pads — a tail that breaks tile divisibility, in the
// -key=value style.
func ckTileSizes(def map[string]string, tiles map[string]int64, padded bool) ([]datasets.Size, []string) {
	fallback := map[string]int64{"m": 128, "n": 128, "k": 32}
	for d, x := range fallback {
		if tiles[d] <= 0 {
			tiles[d] = x
		}
	}
	dims := []string{"m", "n", "k"}
	verify := []string{}
	if _, ok := def["v"]; ok {
		verify = append(verify, "-v=1")
	}
	mk := func(name, origin string, val func(d string) int64, hidden bool) datasets.Size {
		s := datasets.Size{Name: name, Origin: origin, Hidden: hidden, Dims: map[string]int64{}}
		s.Args = append(s.Args, verify...)
		for _, d := range dims {
			if _, ok := def[d]; !ok {
				continue
			}
			x := val(d)
			s.Dims[strings.ToUpper(d)] = x
			s.Args = append(s.Args, fmt.Sprintf("-%s=%d", d, x))
		}
		return s
	}
	parse := func(d string) int64 { n, _ := strconv.ParseInt(def[d], 10, 64); return n }
	sizes := []datasets.Size{
		mk("default", "example_default", parse, false),
		mk("aligned", "generated", func(d string) int64 { return roundUp(1024, tiles[d]) }, true),
	}
	if padded {
		sizes = append(sizes, mk("tail", "generated_tail", func(d string) int64 { return tiles[d]*4 + tiles[d]/2 }, false))
		return sizes, nil
	}
	sizes = append(sizes, mk("aligned2", "generated", func(d string) int64 { return tiles[d] * 24 }, false))
	return sizes, []string{"no tail size: the tile configuration declares no padding flag set to true, so sizes stay multiples of the block tile"}
}
