package gate

import (
	"strings"
	"testing"

	"kforge/datasets"
)

// tileRefText is the tile configuration the miner cuts from
// testdata/repos/minick/example/ck_tile/03_gemm/gemm_basic.cpp, with two
// more members of the kinds real ck_tile configurations have.
const tileRefText = `struct GemmTileConfig
{
    static constexpr ck_tile::index_t M_Tile      = 32;
    static constexpr ck_tile::index_t N_Tile      = 32;
    static constexpr ck_tile::index_t K_Tile      = 16;
    static constexpr ck_tile::index_t M_Warp_Tile = 2;
    static constexpr ck_tile::index_t N_Warp_Tile = 2; // warps per block in N
    static constexpr ck_tile::index_t K_Warp_Tile = get_k_warp_tile<PrecType, M_Warp_Tile>();
    static constexpr bool kPadM                   = true;
    static constexpr auto Scheduler               = ck_tile::GemmPipelineScheduler::Intrawave;
    using BlockTile = ck_tile::sequence<M_Tile, N_Tile, K_Tile>;
    using ADataType = ck_tile::half_t;
};`

func tileRegion() datasets.Region {
	r := datasets.Region{Kind: KindTileConfig, Text: tileRefText}
	for _, p := range [][2]string{
		{"M_Tile", "knob"}, {"N_Tile", "knob"}, {"K_Tile", "knob"}, {"M_Warp_Tile", "knob"}, {"N_Warp_Tile", "knob"},
		{"K_Warp_Tile", "knob"}, {"kPadM", "problem"}, {"Scheduler", "knob"}, {"BlockTile", "knob"}, {"ADataType", "problem"},
	} {
		r.Params = append(r.Params, datasets.TemplateParam{Name: p[0], Class: p[1]})
	}
	return r
}

func TestTileConfigAllowlist(t *testing.T) {
	r := tileRegion()
	set := func(name, v string) string {
		lines := strings.Split(tileRefText, "\n")
		for i, l := range lines {
			if strings.Contains(l, " "+name+" ") {
				eq := strings.IndexByte(l, '=')
				lines[i] = l[:eq+1] + " " + v + ";"
			}
		}
		return strings.Join(lines, "\n")
	}
	rejected := []struct{ name, code, rule string }{
		{"padding flag (problem)", set("kPadM", "false"), RuleTileProblemParam},
		{"data type (problem)", set("ADataType", "float"), RuleTileProblemParam},
		{"new declaration", strings.Replace(tileRefText, "};", "    static constexpr int Extra = 1;\n};", 1), RuleTileNames},
		{"removed declaration", strings.Replace(tileRefText, "    static constexpr ck_tile::index_t K_Tile      = 16;\n", "", 1), RuleTileNames},
		{"renamed", strings.Replace(tileRefText, "N_Warp_Tile =", "N_Warps =", 1), RuleTileNames},
		{"kind changed", strings.Replace(tileRefText, "ck_tile::index_t M_Tile", "int M_Tile", 1), RuleTileNames},
		{"static dropped", strings.Replace(tileRefText, "static constexpr ck_tile::index_t M_Tile", "constexpr ck_tile::index_t M_Tile", 1), RuleTileNames},
		{"struct renamed", strings.Replace(tileRefText, "struct GemmTileConfig", "struct Other", 1), RuleTileNames},
		{"base added", strings.Replace(tileRefText, "struct GemmTileConfig", "struct GemmTileConfig : Evil", 1), RuleTileNames},
		{"call", set("M_Tile", "pick_tile()"), RuleTileValue},
		{"sizeof", set("M_Tile", "sizeof(float) * 8"), RuleTileValue},
		{"unknown name", set("M_Tile", "kSecret"), RuleTileValue},
		{"unknown template", set("BlockTile", "ck_tile::tuple<M_Tile, 1>"), RuleTileValue},
		{"call reused elsewhere", set("M_Tile", "get_k_warp_tile<PrecType, 2>()"), RuleTileValue},
		{"comparison", set("M_Tile", "(N_Tile > 8)"), RuleTileValue},
		{"braces", set("M_Tile", "ck_tile::index_t{64}"), RuleTileDeclarations},
		{"nested struct", strings.Replace(tileRefText, "};", "    struct X { int a; };\n};", 1), RuleTileDeclarations},
		{"member function", strings.Replace(tileRefText, "};", "    static int f() { return 1; }\n};", 1), RuleTileDeclarations},
		{"lambda", set("M_Tile", "[] { return 64; }()"), RuleLambda},
		{"statement after", tileRefText + "\nrun(x);", RuleTileDeclarations},
	}
	for _, c := range rejected {
		t.Run("reject/"+c.name, func(t *testing.T) {
			rej := Check(r, c.code)
			if rej == nil {
				t.Fatalf("accepted, want rule %s", c.rule)
			}
			if rej.Rule != c.rule {
				t.Fatalf("rule %s (%s), want %s", rej.Rule, rej.Detail, c.rule)
			}
		})
	}
	accepted := []struct{ name, code string }{
		{"reference", tileRefText},
		{"reformatted", "struct GemmTileConfig {" + strings.Join(strings.Fields(mustStrip(tileRefText))[3:], " ") + "\n"},
		{"tile sizes", set("M_Tile", "128")},
		{"arithmetic over names", set("K_Tile", "2 * (M_Warp_Tile + 2) * 4")},
		{"call replaced by literal", set("K_Warp_Tile", "8")},
		{"scheduler", set("Scheduler", "ck_tile::GemmPipelineScheduler::Interwave")},
		{"sequence", set("BlockTile", "ck_tile::sequence<64, N_Tile * 2, 32>")},
	}
	for _, c := range accepted {
		t.Run("accept/"+c.name, func(t *testing.T) {
			if rej := Check(r, c.code); rej != nil {
				t.Fatalf("rejected: %v", rej)
			}
		})
	}
}

// TestTileConfigConstants covers a run of constants without a struct, and
// the fallback without Params (literal arithmetic is a knob, the rest stays).
func TestTileConfigConstants(t *testing.T) {
	ref := "constexpr ck_tile::index_t M_Tile = 256;\n    constexpr ck_tile::index_t N_Tile = 128;\n    constexpr bool kPadN = false;\n"
	r := datasets.Region{Kind: KindTileConfig, Text: ref}
	for _, c := range []struct{ name, code, rule string }{
		{"tuned", strings.Replace(ref, "256", "(64 * 2)", 1), ""},
		{"bool frozen without Params", strings.Replace(ref, "false", "true", 1), RuleTileProblemParam},
		{"struct around it", "struct S {\n" + ref + "};", RuleBraces},
		{"new constant", ref + "constexpr int x = 1;\n", RuleTileNames},
	} {
		rej := Check(r, c.code)
		switch {
		case c.rule == "" && rej != nil:
			t.Errorf("%s: rejected: %v", c.name, rej)
		case c.rule != "" && (rej == nil || rej.Rule != c.rule):
			t.Errorf("%s: got %v, want %s", c.name, rej, c.rule)
		}
	}
	if rej := Check(datasets.Region{Kind: KindTileConfig, Text: "struct S { void f() {} };"}, ref); rej == nil || rej.Rule != RuleCKReference {
		t.Errorf("unreadable reference: got %v", rej)
	}
}
