package repos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBlankKeepsOffsets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a // c<\nb", "a      \nb"},
		{"x /* <\n> */ y", "x     \n     y"},
		{`s = "a<b;";`, `s = "    ";`},
		{`c = '<'; n = 1'000;`, `c = ' '; n = 1'000;`},
		{`"esc\"<" <`, `"      " <`},
	} {
		got := string(blank([]byte(tc.in)))
		if got != tc.want || len(got) != len(tc.in) {
			t.Errorf("blank(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMatchClose(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"<A, S<1, 2>, B>;", 14},
		{"<A, S<S<1>>>", 11},
		{"<A, (1 < 2), B>", 14},
		{"<A, S<4, 64, 8;", -1},         // unbalanced: ends at ';'
		{"<A, B", -1},                   // unterminated
		{"<A, {1}>", -1},                // a brace inside an angle list
		{"(int i) { if(i < n) {} }", 6}, // comparisons in bodies are not brackets
		{"{ if(i < n) { x >>= 1; } }", 25},
		{"(a]", -1},
	} {
		if got := matchClose([]byte(tc.in), 0); got != tc.want {
			t.Errorf("matchClose(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestSplitTopAndParamName(t *testing.T) {
	got := splitTop("ALayout, S<4, 64, 1>, f(1, 2), 8")
	if strings.Join(got, "|") != "ALayout|S<4, 64, 1>|f(1, 2)|8" {
		t.Errorf("splitTop: %q", got)
	}
	for in, want := range map[string]string{
		"typename ALayout":  "ALayout",
		"index_t BlockSize": "BlockSize",
		"LoopScheduler LoopSched = LoopScheduler::Default": "LoopSched",
		"typename ComputeType = ADataType":                 "ComputeType",
		"typename... Ts":                                   "Ts",
		"int":                                              "",
	} {
		if got := paramName(in); got != want {
			t.Errorf("paramName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCondSpans(t *testing.T) {
	src := "#ifndef G\n#define G\nusing A = 1;\n#if X\nusing B = 2;\n#else\nusing C = 3;\n#endif\nusing D = 4;\n#endif\n"
	spans := condSpans([]byte(src))
	for name, want := range map[string]bool{"A": false, "B": true, "C": true, "D": false} {
		off := strings.Index(src, "using "+name)
		if got := inSpans(spans, off); got != want {
			t.Errorf("%s in #if: %v, want %v", name, got, want)
		}
	}
	// An unterminated #if runs to the end of the file.
	if !inSpans(condSpans([]byte("#ifdef Y\nusing E = 5;\n")), 10) {
		t.Errorf("unterminated #if not counted")
	}
}

func TestClassifyAndDtypes(t *testing.T) {
	for name, want := range map[string]string{
		"ALayout": "problem", "CDataType": "problem", "AElementwiseOperation": "problem", "GemmSpec": "problem",
		"ComputeTypeA": "problem", "NumDimM": "problem", "BlockSize": "knob", "MPerXDL": "knob", "AK1": "knob",
		"ABlockTransferSrcScalarPerVector": "knob", "BlkGemmPipelineVer": "knob", "LoopSched": "knob",
	} {
		if got := classify(name); got != want {
			t.Errorf("classify(%s) = %s, want %s", name, got, want)
		}
	}
	for in, want := range map[string]string{"ck::half_t": "fp16", "F16": "fp16", "ck::bhalf_t": "bf16", "float": "fp32", "ck::f8_t": "fp8", "int8_t": "int8", "Foo": ""} {
		if got := canonicalDtype(in); got != want {
			t.Errorf("canonicalDtype(%s) = %q, want %q", in, got, want)
		}
	}
	if got := dtypesFromName("example/01_gemm/gemm_xdl_fp16_fp8.cpp"); strings.Join(got, ",") != "fp16,fp8" {
		t.Errorf("dtypesFromName: %v", got)
	}
}

// FuzzParsers feeds arbitrary text to every parser the miners use: none may
// panic or loop, whatever the input.
func FuzzParsers(f *testing.F) {
	for _, p := range []string{
		"minick/example/01_gemm/gemm_xdl_fp32.cpp", "minick/example/02_gemm_broken/gemm_unbalanced_fp16.cpp",
		"minick/example/ck_tile/03_gemm/gemm_basic.cpp", "hipprogs/HIP-Basic/block_reduce/main.hip",
	} {
		b, err := os.ReadFile(filepath.Join(fixture(""), p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("using X = DeviceY<<<<;>>>>\n#if\n__global__ void (((({"))
	f.Fuzz(func(t *testing.T, b []byte) {
		code := blank(b)
		if len(code) != len(b) {
			t.Fatalf("blank changed the length")
		}
		condSpans(code)
		functions(code)
		aliases(string(code))
		argSchema(string(code))
		pr := &program{main: "f.hip", raw: map[string][]byte{"f.hip": b}, code: map[string][]byte{"f.hip": code}, order: []string{"f.hip"}}
		ix := newProgIndex(pr, nil, nil)
		live := ix.reachable()
		ix.passLines(live)
		ix.checksResult(live)
		ix.hipSizes(live)
		evalInt(string(b), map[string]int64{"n": 3})
		for i, c := range code {
			if c == '<' || c == '(' || c == '{' {
				if j := matchClose(code, i); j >= 0 && j <= i {
					t.Fatalf("matchClose went backwards")
				}
			}
		}
	})
}

func TestArchsFor(t *testing.T) {
	all := []string{"gfx90a", "gfx942", "gfx1100"}
	for p, want := range map[string]string{
		"example/01_gemm/gemm_xdl_fp16.cpp":      "gfx90a,gfx942",
		"example/01_gemm/gemm_wmma_fp16.cpp":     "gfx1100",
		"example/01_gemm/gemm_dl_fp16.cpp":       "gfx90a,gfx942,gfx1100",
		"example/12_reduce/reduce_blockwise.cpp": "gfx90a,gfx942,gfx1100",
	} {
		got, _ := archsFor(p, all)
		if strings.Join(got, ",") != want {
			t.Errorf("archsFor(%s) = %v, want %s", p, got, want)
		}
	}
	if got, backend := archsFor("example/01_gemm/gemm_wmma_fp16.cpp", []string{"gfx90a"}); len(got) != 0 || backend != "WMMA" {
		t.Errorf("wmma on gfx90a: %v %s", got, backend)
	}
}
