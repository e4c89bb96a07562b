package repos

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"kforge/datasets"
	"kforge/filters/gate"
)

// ck_tile fmha: the example's kernels are written by its own code generator
// (generate.py and codegen/ops/fmha_<api>.py; CMake runs it to write one
// instance .cpp per kernel and an API dispatch). A task is one row of the
// codegen's tile table (one dtype branch, one head dimension): its build
// runs the generator, from the checkout, with a filter that keeps the one
// kernel (batch mode, no mask, bias or dropout, a fixed pipeline) and
// compiles the program with what it wrote. The region is the row, the tile
// choice the generator takes; only its numbers may change.

// tileGenerator is an example whose kernels a code generator writes.
type tileGenerator struct {
	dir    string // example/ck_tile/01_fmha
	script string // the generator: dir/generate.py
	ops    string // its op module holding the tile table: dir/codegen/ops/fmha_fwd.py
	api    string // fwd, bwd
	dtypes []string
	cmake  string
}

var (
	// genTableRe is the codegen function returning a dtype's tile table.
	genTableRe = regexp.MustCompile(`(?m)^def\s+(get_\w*tile\w*_from_dtype)\s*\(`)
	// genBranchRe is one dtype branch of it: `if dtype == 'fp16' or dtype == 'bf16':`.
	genBranchRe = regexp.MustCompile(`(?m)^[ \t]*(?:el)?if\s+(dtype\s*==\s*'\w+'(?:\s+or\s+dtype\s*==\s*'\w+')*)\s*:`)
	genQuotedRe = regexp.MustCompile(`'(\w+)'`)
	// genRowRe is a row: `'128' : FmhaFwdTileSize(` (bwd: inside a list).
	genRowRe = regexp.MustCompile(`'(\d+)'\s*:\s*\[?\s*(\w+TileSize)\s*\(`)
	// genPplRe is the first pipeline named after a bwd row's tile: `, "kr_ktr_vr_iglp"`.
	genPplRe     = regexp.MustCompile(`^\s*,\s*"(\w+)"`)
	genDtypeMap  = regexp.MustCompile(`(?s)DTYPE_MAP\s*=\s*\{(.*?)\}`)
	genDtypeKey  = regexp.MustCompile(`"(\w+)"\s*:`)
	genTopRe     = regexp.MustCompile(`(?m)^[^\s#]`) // the next top-level statement
	genReceiptRe = regexp.MustCompile(`--api\s+(\w+)\s+--output_dir\s+\S+\s+--receipt\s+(\d+)`)
)

var fmhaRules = []string{
	"The region is one row of the fmha code generator's tile table (Python): the generator writes the kernel instance and its dispatch from it.",
	"Keep the head-dimension key, the tile type's name and the number of arguments; change only the integers (block tile, warps per block, warp tile, occupancy; -1 lets the pipeline decide).",
	"Block tile sizes must be multiples of the warp tile times the warps along that dimension; the head-dimension tiles must cover the head dimension.",
	"A size that the tiles do not divide is served only by a padded pipeline; the tail sizes check it.",
}

// findTileGenerator recognises an fmha program whose kernels the example's
// generator writes: example/ck_tile/NN_fmha/fmha_<api>.cpp next to
// generate.py and codegen/ops/fmha_<api>.py.
func findTileGenerator(v *view, p string, pr *program) *tileGenerator {
	dir := path.Dir(p)
	base := strings.TrimSuffix(path.Base(p), ".cpp")
	if !strings.HasPrefix(base, "fmha_") {
		return nil
	}
	g := &tileGenerator{dir: dir, script: dir + "/generate.py", ops: dir + "/codegen/ops/" + base + ".py", api: strings.TrimPrefix(base, "fmha_")}
	if !v.exists(g.script) || !v.exists(g.ops) {
		return nil
	}
	if b, err := v.read(dir + "/codegen/cpp_symbol_map.py"); err == nil {
		if m := genDtypeMap.FindSubmatch(b); m != nil {
			for _, k := range genDtypeKey.FindAllSubmatch(m[1], -1) {
				g.dtypes = append(g.dtypes, string(k[1]))
			}
		}
	}
	if b, err := v.read(dir + "/CMakeLists.txt"); err == nil {
		g.cmake = string(b)
	}
	return g
}

// genRow is one row of a tile table.
type genRow struct {
	dtypes     []string // of its branch
	hdim       int64
	start, end int     // the key's quote to the call's closing parenthesis
	ints       []int64 // the call's arguments
	ppl        string  // bwd: the pipeline named first after the tile
}

// genRows reads the tile table of a codegen op module.
func genRows(src []byte) []genRow {
	loc := genTableRe.FindIndex(src)
	if loc == nil {
		return nil
	}
	end := len(src)
	if nl := bytes.IndexByte(src[loc[1]:], '\n'); nl >= 0 {
		from := loc[1] + nl + 1
		if n := genTopRe.FindIndex(src[from:]); n != nil {
			end = from + n[0]
		}
	}
	body := src[:end]
	branches := genBranchRe.FindAllSubmatchIndex(body, -1)
	var rows []genRow
	for i, br := range branches {
		if br[0] < loc[0] {
			continue
		}
		bend := end
		if i+1 < len(branches) {
			bend = branches[i+1][0]
		}
		var dts []string
		for _, q := range genQuotedRe.FindAllSubmatch(body[br[2]:br[3]], -1) {
			dts = append(dts, string(q[1]))
		}
		for _, m := range genRowRe.FindAllSubmatchIndex(body[br[1]:bend], -1) {
			s := br[1] + m[0]
			open := br[1] + m[1] - 1
			cl := strings.IndexByte(string(body[open:bend]), ')')
			if cl < 0 || strings.ContainsAny(string(body[open+1:open+cl]), "(#") {
				continue
			}
			e := open + cl + 1
			r := genRow{dtypes: dts, start: s, end: e}
			r.hdim, _ = strconv.ParseInt(string(body[br[1]+m[2]:br[1]+m[3]]), 10, 64)
			ok := true
			for _, a := range strings.Split(string(body[open+1:e-1]), ",") {
				n, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
				if err != nil {
					ok = false
					break
				}
				r.ints = append(r.ints, n)
			}
			if !ok || len(r.ints) < 2 {
				continue
			}
			if pm := genPplRe.FindSubmatch(body[e:bend]); pm != nil {
				r.ppl = string(pm[1])
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// fmhaChoice is the one kernel a task's generator run keeps, and how the
// program is run to reach it.
type fmhaChoice struct {
	filter  string   // fnmatch pattern of the kernel's name
	outputs []string // generated files to compile
	padded  bool     // the kept kernels serve sizes the tiles do not divide
	args    []string // the program's arguments selecting it (besides sizes)
}

// fmhaPick chooses the kernel of a row for one dtype, by the codegen's
// pipeline list (fwd: get_pipelines; bwd: the row's first pipeline), or
// says why there is none.
func fmhaPick(api string, ops string, r genRow, dt string) (fmhaChoice, string) {
	pre := fmt.Sprintf("fmha_%s_d%d_%s_batch_", api, r.hdim, dt)
	switch api {
	case "fwd":
		if !strings.Contains(ops, "FmhaFwdPipeline('qr_async'") || !strings.Contains(ops, "FmhaFwdPipeline('qr'") {
			return fmhaChoice{}, "fmha fwd: the codegen's pipelines are not the qr/qr_async ones this miner knows"
		}
		c := fmhaChoice{outputs: []string{pre + "*.cpp", "fmha_fwd_api.cpp"}, args: []string{"-mode=0", "-mask=0", "-bias=n", "-lse=0", "-p_drop=0"}}
		switch {
		case dt == "fp16" || dt == "bf16":
			// Row-major V, no bias: qr_async with the seqlen_k tail
			// padded or not (psddv, psskddv); hdim 256 runs qr, padded.
			c.padded = true
			c.args = append(c.args, "-vlayout=r")
			if r.hdim == 256 {
				c.filter = pre + "shb_b*_qr_vr_psskddv"
			} else {
				c.filter = pre + "shb_b*_qr_async_vr_ps*ddv"
			}
		case dt == "fp8":
			c.filter = pre + "shb_b*_qr_vc_squant"
			c.args = append(c.args, "-vlayout=c", "-squant=1")
		default:
			return fmhaChoice{}, "fmha fwd: no pipeline choice known for dtype " + dt
		}
		return c, ""
	case "bwd":
		if r.ppl == "" || dt != "fp16" && dt != "bf16" {
			return fmhaChoice{}, "fmha bwd: no pipeline named after the tile row for dtype " + dt
		}
		// The unpadded kernel of the row's first pipeline, with the
		// OGradDotO and ConvertQGrad kernels its dispatch calls.
		return fmhaChoice{
			filter: fmt.Sprintf("fmha_bwd_d%d_%s_batch_b*_%s", r.hdim, dt, r.ppl),
			outputs: []string{pre + "b*.cpp", fmt.Sprintf("fmha_bwd_dot_do_o_d%d_%s_batch_*.cpp", r.hdim, dt),
				fmt.Sprintf("fmha_bwd_convert_dq_d%d_%s_b*_batch_*.cpp", r.hdim, dt), "fmha_bwd_api.cpp"},
			args: []string{"-mode=0", "-mask=0", "-bias=n", "-dbias=0", "-p_drop=0", "-deterministic=0"},
		}, ""
	}
	return fmhaChoice{}, "fmha: no generated-kernel convention known for api " + api
}

// fmhaFlags are the compile options the example's CMake sets for api
// (CMakeLists.txt: EXAMPLE_FMHA_<API>_COMPILE_OPTIONS, with its defaults:
// fast exp2 on, only the fwd API generated).
func fmhaFlags(api, cmake string) []string {
	f := []string{"-Wno-undefined-func-template", "-fgpu-flush-denormals-to-zero", "-Wno-float-equal"}
	if api == "fwd" {
		f = append(f, "-DCK_TILE_FMHA_FWD_FAST_EXP2=1")
		for _, d := range []string{"CK_TILE_FMHA_FWD_SPLITKV_API", "CK_TILE_FMHA_FWD_APPENDKV_API"} {
			if strings.Contains(cmake, d) {
				f = append(f, "-D"+d+"=0")
			}
		}
	}
	return f
}

func mineTileGenerated(v *view, p string, pr *program, g *tileGenerator, needs *datasets.Needs, archs []string) programResult {
	var res programResult
	ops, err := v.read(g.ops)
	if err != nil {
		res.Skips = append(res.Skips, "ck-tile: fmha codegen: "+reason(err))
		return res
	}
	rows := genRows(ops)
	if len(rows) == 0 {
		res.Skips = append(res.Skips, "ck-tile: fmha codegen: no tile table found in "+g.ops)
		return res
	}
	raw := pr.allRaw()
	argDefaults := map[string]string{}
	for _, m := range argInsertRe.FindAllStringSubmatch(raw, -1) {
		argDefaults[m[1]] = m[2]
	}
	receipt := ""
	for _, m := range genReceiptRe.FindAllStringSubmatch(g.cmake, -1) {
		if m[1] == g.api {
			receipt = m[2]
		}
	}
	files := append([]datasets.File(nil), pr.files...)
	files = append(files, datasets.File{Path: g.ops, Content: string(ops)})
	n := datasets.Needs{}
	if needs != nil {
		n = *needs
	}
	n.Tools = append(n.Tools[:len(n.Tools):len(n.Tools)], "python3")
	why := "runs the example's kernel generator " + g.script + " with python3"
	if n.Reason != "" {
		why = n.Reason + "; " + why
	}
	n.Reason = why
	for _, r := range rows {
		for _, dt := range r.dtypes {
			if len(g.dtypes) > 0 && !contains(g.dtypes, dt) {
				res.Skips = append(res.Skips, "ck-tile: fmha codegen: dtype "+dt+" is not generated (not in DTYPE_MAP)")
				continue
			}
			c, skip := fmhaPick(g.api, string(ops), r, dt)
			if skip != "" {
				res.Skips = append(res.Skips, "ck-tile: "+skip)
				continue
			}
			t := datasets.Task{Kind: datasets.KindCKTile, Op: "fmha_" + g.api, Dtypes: []string{canonicalDtype(dt)}}
			t.Name = fmt.Sprintf("%s/tile-d%d-%s", strings.TrimSuffix(path.Base(p), ".cpp"), r.hdim, dt)
			t.Files = files
			t.Region = datasets.Region{File: g.ops, Start: r.start, End: r.end, Text: string(ops[r.start:r.end]), Kind: gate.KindGenRow, Rules: fmhaRules}
			t.Sizes, t.SizeNotes = fmhaSizes(argDefaults, r, dt, c)
			if len(t.Sizes) < 3 {
				res.Skips = append(res.Skips, "ck-tile: fmha: the example's arguments (-b -h -s -s_k -d -prec) not found")
				continue
			}
			t.Description = fmt.Sprintf("ck_tile example %s (fmha %s): its kernels are generated by %s from the tile table in %s; this task is the row for head dimension %d, %s, built as the one kernel %q (batch mode, no mask, bias or dropout). The program checks its result and prints its own timing.",
				p, g.api, g.script, g.ops, r.hdim, dt, c.filter)
			t.Build = tileBuild(v, []string{p}, &n)
			t.Build.Flags = append(t.Build.Flags, fmhaFlags(g.api, g.cmake)...)
			t.Build.IncludeDirs = append(t.Build.IncludeDirs, g.dir)
			out := "kforge_gen/" + g.api
			args := []string{"--api", g.api, "--filter", c.filter, "--output_dir", out}
			if receipt != "" {
				args = append(args, "--receipt", receipt)
			}
			t.Build.Generate = &datasets.GenerateStep{Interpreter: "python3", Tree: g.dir, Script: g.script, Args: args, OutDir: out, Outputs: c.outputs}
			t.Run = tileRun(raw)
			finish(v, &t, archs)
			res.Tasks = append(res.Tasks, t)
		}
	}
	return res
}

// fmhaSizes: the example's default sequence length, an aligned hidden size
// and — when the kept kernels pad — a tail that no tile divides, else a
// second aligned size; the head dimension is the row's.
func fmhaSizes(def map[string]string, r genRow, dt string, c fmhaChoice) ([]datasets.Size, []string) {
	for _, k := range []string{"b", "h", "s", "d", "prec"} {
		if _, ok := def[k]; !ok {
			return nil, nil
		}
	}
	bm, bn := r.ints[0], r.ints[1]
	align := lcm(lcm(bm, bn), 64)
	num := func(k string, fb int64) int64 {
		if n, err := strconv.ParseInt(def[k], 10, 64); err == nil && n > 0 {
			return n
		}
		return fb
	}
	var fixed []string
	if _, ok := def["v"]; ok {
		fixed = append(fixed, "-v=1")
	}
	fixed = append(fixed, "-prec="+dt, fmt.Sprintf("-d=%d", r.hdim))
	for _, a := range c.args {
		k := strings.TrimPrefix(strings.SplitN(a, "=", 2)[0], "-")
		if _, ok := def[k]; ok {
			fixed = append(fixed, a)
		}
	}
	mk := func(name, origin string, b, h, s, sk int64, hidden bool) datasets.Size {
		sz := datasets.Size{Name: name, Origin: origin, Hidden: hidden, Dims: map[string]int64{"B": b, "H": h, "S": s, "S_K": sk, "D": r.hdim}}
		sz.Args = append(append([]string(nil), fixed...), fmt.Sprintf("-b=%d", b), fmt.Sprintf("-h=%d", h), fmt.Sprintf("-s=%d", s), fmt.Sprintf("-s_k=%d", sk))
		return sz
	}
	s := num("s", 1024)
	origin := "example_default"
	if !c.padded && s%align != 0 {
		s, origin = roundUp(s, align), "generated"
	}
	sizes := []datasets.Size{
		mk("default", origin, num("b", 2), num("h", 8), s, s, false),
		mk("aligned", "generated", 1, 4, roundUp(1024, align), roundUp(1024, align), true),
	}
	if c.padded {
		sizes = append(sizes, mk("tail", "generated_tail", 2, 2, bm*4+bm/2+1, bn*4+bn/2+3, false))
		return sizes, nil
	}
	sizes = append(sizes, mk("aligned2", "generated", 2, 2, align*3, align*2, false))
	return sizes, []string{fmt.Sprintf("no tail size: the kept %s kernel is unpadded, so sequence lengths stay multiples of %d (the tiles and the dispatch's 64) and the head dimension is %d", dt, align, r.hdim)}
}
