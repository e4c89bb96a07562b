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

// ckTileRe matches ck_tile example sources: example/ck_tile/NN_name/…/*.cpp.
var ckTileRe = regexp.MustCompile(`^example/ck_tile/\d+_[^/]+/(?:[^/]+/)*[^/]+\.cpp$`)

var (
	tileStructRe  = regexp.MustCompile(`\bstruct\s+(\w*(?:Config|Traits|Shape)\w*)\s*(?::[^{;]*)?\{`)
	tileConstRe   = regexp.MustCompile(`(?m)^[ \t]*(?:static[ \t]+)?constexpr[ \t]+[\w:]+[ \t]+(\w*(?:Tile|Warp)\w*)[ \t]*=[ \t]*([^;\n]+);[ \t]*$`)
	memberRe      = regexp.MustCompile(`(\w+)\s*=\s*([^;]+);`)
	argInsertRe   = regexp.MustCompile(`\.insert\(\s*"(\w+)"\s*,\s*"([^"]*)"`)
	tileProblemRe = regexp.MustCompile(`Pad|Layout|DataType|Type$`)
)

var ckTileRules = []string{
	"Replace only the tile configuration; keep every name it declares and their types.",
	"Keep problem parameters (data types, layouts, padding flags) as given; change only tile, warp and warp-tile sizes, pipeline and scheduler choices.",
	"Block tile sizes must be multiples of the warp tile times the warps per block.",
}

// mineCKTile mines one ck_tile example program: its tile configuration.
func mineCKTile(v *view, p string, archs []string) programResult {
	var res programResult
	pr, err := loadProgram(v, p, func(q string) bool { return strings.HasPrefix(q, "example/ck_tile/") })
	if err != nil {
		res.Skips = append(res.Skips, "ck-tile: "+reason(err))
		return res
	}
	if !pr.hasMain() {
		return res
	}
	file, start, end := "", -1, -1
	for _, f := range pr.order {
		code := pr.code[f]
		for _, m := range tileStructRe.FindAllSubmatchIndex(code, -1) {
			brace := m[1] - 1
			cl := matchClose(code, brace)
			if cl < 0 {
				continue
			}
			if !strings.Contains(string(code[brace:cl]), "Tile") {
				continue
			}
			j := cl + 1
			for j < len(code) && (code[j] == ' ' || code[j] == '\n' || code[j] == '\t') {
				j++
			}
			if j < len(code) && code[j] == ';' {
				file, start, end = f, m[0], j+1
				break
			}
		}
		if file != "" {
			break
		}
		// Else: a run of consecutive constexpr tile constants.
		// Constants derived from template parameters are not knobs: the run
		// must set at least two of them to literals.
		ms := tileConstRe.FindAllSubmatchIndex(code, -1)
		for k := 0; k < len(ms); k++ {
			s, e := ms[k][0], ms[k][1]
			literals := 0
			for {
				if intRe.Match(bytes.TrimSpace(code[ms[k][4]:ms[k][5]])) {
					literals++
				}
				if k+1 >= len(ms) || strings.TrimSpace(string(code[e:ms[k+1][0]])) != "" {
					break
				}
				k++
				e = ms[k][1]
			}
			if literals >= 2 && e-s > end-start {
				file, start, end = f, s, e
			}
		}
		if file != "" {
			for start < end && (code[start] == ' ' || code[start] == '\t' || code[start] == '\n') {
				start++
			}
			break
		}
	}
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
	t.Op = opFromDir(strings.SplitN(p, "/", 4)[2])
	code := string(pr.code[file][start:end])
	knobs := map[string]int64{}
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
	argDefaults := map[string]string{}
	for _, m := range argInsertRe.FindAllStringSubmatch(pr.allRaw(), -1) {
		argDefaults[m[1]] = m[2]
	}
	if _, ok := argDefaults["m"]; !ok {
		res.Skips = append(res.Skips, "ck-tile: no -m argument recognised")
		return res
	}
	if dt := canonicalDtype(argDefaults["prec"]); dt != "" {
		t.Dtypes = []string{dt}
	} else {
		t.Dtypes = dtypesFromName(p)
	}
	t.Sizes = ckTileSizes(argDefaults, knobs)
	t.Files = pr.files
	t.Region.File = file
	t.Region.Start, t.Region.End = start, end
	t.Region.Text = string(pr.raw[file][start:end])
	t.Region.Kind = "tile-config"
	t.Region.Rules = ckTileRules
	t.Description = fmt.Sprintf("ck_tile example %s (%s); the program checks its result and prints its own timing.", p, t.Op)
	t.Build = datasets.BuildRecipe{Sources: []string{p}, Flags: []string{"-O3", "-std=c++17"}, NeedsCheckout: true}
	if v.hasDir("include") {
		t.Build.IncludeDirs = []string{"include"}
	}
	raw := pr.allRaw()
	pass := datasets.PassRule{ExitZero: true, Fail: []string{"valid:n", "result is:fail", "Incorrect results"}}
	switch {
	case strings.Contains(raw, "valid:"):
		pass.Pass = []string{`valid:\s*y`}
	case strings.Contains(raw, "result is:"):
		pass.Pass = []string{`result is:\s*correct`}
	}
	t.Run = datasets.RunRecipe{Pass: pass, PerfPattern: `(?P<ms>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*ms\b`, TimeoutSeconds: 600}
	finish(v, &t, archs)
	res.Tasks = append(res.Tasks, t)
	return res
}

// ckTileSizes: the defaults, an aligned hidden size, and a tail that breaks
// tile divisibility, in the -key=value style.
func ckTileSizes(def map[string]string, knobs map[string]int64) []datasets.Size {
	tileOf := func(dim string, fallback int64) int64 {
		for name, n := range knobs {
			if strings.HasPrefix(strings.ToUpper(name), dim+"_TILE") || strings.EqualFold(name, "k"+dim+"PerBlock") {
				return n
			}
		}
		return fallback
	}
	dims := []string{"m", "n", "k"}
	tiles := map[string]int64{"m": tileOf("M", 128), "n": tileOf("N", 128), "k": tileOf("K", 32)}
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
	return []datasets.Size{
		mk("default", "example_default", parse, false),
		mk("aligned", "generated", func(d string) int64 { return roundUp(1024, tiles[d]) }, true),
		mk("tail", "generated_tail", func(d string) int64 { return tiles[d]*4 + tiles[d]/2 }, false),
	}
}
