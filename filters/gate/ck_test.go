package gate

import (
	"regexp"
	"strings"
	"testing"

	"kforge/datasets"
)

// ckRefText is a classic CK GEMM instance as the miner cuts it, with the
// tabular comments real examples carry.
const ckRefText = `using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle
//######| ALayout| BLayout| CLayout| AData| BData| CData| AccData| CShuffle| A| B| C| GemmSpec|
//######|        |        |        |  Type|  Type|  Type|    Type| DataType| Op| Op| Op|        |
        < ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, float, CShuffleDataType, AElementOp, BElementOp, CElementOp, GemmDefault,
//######| Prefetch| Block| MPer| NPer| KPer| AK1| BK1| MPer| NPer| MXdl| NXdl|
          1, 256, 256, 128, 32, 8, 8, 32, 32, 4, 2,
          S<4, 64, 1>, S<1, 0, 2>, S<1, 0, 2>, 2, 8, 8, 1,
          S<4, 64, 1>, S<1, 0, 2>, S<1, 0, 2>, 2, 8, 8, 1,
          1, 1, S<1, 32, 1, 8>, 8, ck::LoopScheduler::Default, ck::PipelineVersion::v1>;`

var ckRefNames = []string{
	"ALayout", "BLayout", "CLayout", "ADataType", "BDataType", "CDataType", "AccDataType", "CShuffleDataType",
	"AElementwiseOperation", "BElementwiseOperation", "CElementwiseOperation", "GemmSpec",
	"NumGemmKPrefetchStage", "BlockSize", "MPerBlock", "NPerBlock", "KPerBlock", "AK1", "BK1", "MPerXDL", "NPerXDL", "MXdlPerWave", "NXdlPerWave",
	"ABlockTransferThreadClusterLengths_AK0_M_AK1", "ABlockTransferThreadClusterArrangeOrder", "ABlockTransferSrcAccessOrder",
	"ABlockTransferSrcVectorDim", "ABlockTransferSrcScalarPerVector", "ABlockTransferDstScalarPerVector_AK1", "ABlockLdsExtraM",
	"BBlockTransferThreadClusterLengths_BK0_N_BK1", "BBlockTransferThreadClusterArrangeOrder", "BBlockTransferSrcAccessOrder",
	"BBlockTransferSrcVectorDim", "BBlockTransferSrcScalarPerVector", "BBlockTransferDstScalarPerVector_BK1", "BBlockLdsExtraN",
	"CShuffleMXdlPerWavePerShuffle", "CShuffleNXdlPerWavePerShuffle", "CShuffleBlockTransferClusterLengths_MBlock_MPerBlock_NBlock_NPerBlock",
	"CShuffleBlockTransferScalarPerVector_NPerBlock", "LoopSched", "PipelineVer",
}

var reProblemName = regexp.MustCompile(`Layout|DataType|ElementwiseOperation|GemmSpec`)

// ckRegion is the task region with Params as the miner records them.
func ckRegion(t testing.TB) datasets.Region {
	ref, err := parseCKAlias(mustStrip(ckRefText))
	if err != "" {
		t.Fatalf("reference: %s", err)
	}
	if len(ref.args) != len(ckRefNames) {
		t.Fatalf("reference has %d arguments, %d names", len(ref.args), len(ckRefNames))
	}
	r := datasets.Region{Kind: KindCKInstance, Text: ckRefText}
	for k, a := range ref.args {
		cl := "knob"
		if reProblemName.MatchString(ckRefNames[k]) {
			cl = "problem"
		}
		r.Params = append(r.Params, datasets.TemplateParam{Name: ckRefNames[k], Value: joinToks(a), Class: cl})
	}
	return r
}

// ckFlat is the reference on one line without comments.
func ckFlat() string { return strings.Join(strings.Fields(mustStrip(ckRefText)), " ") }

// ckWithArg replaces template argument k (0-based) of the reference.
func ckWithArg(t testing.TB, k int, v string) string {
	ref, _ := parseCKAlias(mustStrip(ckRefText))
	args := make([]string, len(ref.args))
	for i, a := range ref.args {
		args[i] = joinToks(a)
	}
	args[k] = v
	return "using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<" + strings.Join(args, ", ") + ">;"
}

func ckArgIndex(t testing.TB, name string) int {
	for k, n := range ckRefNames {
		if n == name {
			return k
		}
	}
	t.Fatalf("no parameter %s", name)
	return -1
}

func TestCKInstanceAllowlist(t *testing.T) {
	r := ckRegion(t)
	at := func(name, v string) string { return ckWithArg(t, ckArgIndex(t, name), v) }
	flat := ckFlat()
	rejected := []struct{ name, code, rule string }{
		{"AccDataType float to half", at("AccDataType", "ck::half_t"), RuleCKProblemParam},
		{"AccDataType to another name in the reference", at("AccDataType", "ADataType"), RuleCKProblemParam},
		{"elementwise op changed", at("CElementwiseOperation", "ck::tensor_operation::element_wise::Relu"), RuleCKProblemParam},
		{"elementwise op to a sibling", at("CElementwiseOperation", "AElementOp"), RuleCKProblemParam},
		{"layout swapped", at("BLayout", "ALayout"), RuleCKProblemParam},
		{"layout qualified", at("ALayout", "ck::tensor_layout::gemm::RowMajor"), RuleCKProblemParam},
		{"gemm spec changed", at("GemmSpec", "ck::tensor_operation::device::GemmSpecialization::MNKPadding"), RuleCKProblemParam},
		{"extra argument", strings.Replace(flat, "ck::PipelineVersion::v1>", "ck::PipelineVersion::v1, ck::half_t>", 1), RuleCKArgCount},
		{"missing argument", strings.Replace(flat, ", ck::PipelineVersion::v1>", ">", 1), RuleCKArgCount},
		{"knob call", at("LoopSched", "ck::make_default_loop_scheduler()"), RuleCKKnobValue},
		{"knob sizeof", at("BlockSize", "sizeof(float) * 64"), RuleCKKnobValue},
		{"knob parenthesised sizeof", at("BlockSize", "(sizeof(float) * 64)"), RuleCKKnobValue},
		{"knob decltype", at("MPerBlock", "decltype(AccDataType{})::value"), RuleBraces},
		{"knob decltype no braces", at("MPerBlock", "decltype(x)"), RuleCKKnobValue},
		{"knob string", at("KPerBlock", `"256"`), RuleCKAlias},
		{"knob lambda", at("KPerBlock", "decltype([] { return 1; }())"), RuleLambda},
		{"knob brace init", at("KPerBlock", "int{256}"), RuleBraces},
		{"knob unknown identifier", at("KPerBlock", "kSecretTile"), RuleCKKnobValue},
		{"knob unknown template", at("ABlockTransferThreadClusterLengths_AK0_M_AK1", "ck::Tuple<4, 64, 1>"), RuleCKKnobValue},
		{"knob sequence of names", at("ABlockTransferThreadClusterLengths_AK0_M_AK1", "S<4, BlockSize, 1>"), RuleCKKnobValue},
		{"knob cast", at("AK1", "static_cast<int>(8)"), RuleCKKnobValue},
		{"knob functional cast", at("AK1", "int(8)"), RuleCKKnobValue},
		{"knob ::template", at("AK1", "ck::template Number<8>"), RuleCKKnobValue},
		{"knob comparison", at("AK1", "(8 > 4)"), RuleCKKnobValue},
		{"knob shift", at("AK1", "(8 << 1)"), RuleCKKnobValue},
		{"knob float", at("AK1", "8.0"), RuleCKKnobValue},
		{"knob problem type", at("AK1", "ck::half_t"), RuleCKKnobValue},
		{"knob enumerator of an unknown scope", at("LoopSched", "ck::Evil::Default"), RuleCKKnobValue},
		{"knob enumerator scope call", at("LoopSched", "ck::LoopScheduler::Default()"), RuleCKKnobValue},
		{"template-like comparison", at("AK1", "BlockSize < 8, ck::half_t > 0"), RuleCKKnobValue},
		{"renamed alias", strings.Replace(flat, "DeviceGemmInstance", "Other", 1), RuleCKAliasName},
		{"other device op", strings.Replace(flat, "DeviceGemm_Xdl_CShuffle", "DeviceGemmDl", 1), RuleCKAlias},
		{"template respelled", strings.Replace(flat, "ck::tensor_operation::device::", "::ck::tensor_operation::device::", 1), RuleCKAlias},
		{"two aliases", flat + "\n" + strings.Replace(flat, "DeviceGemmInstance", "Other", 1), RuleCKAlias},
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

	// Every knob changed at once to other literals and sequences.
	allKnobs := ckWithArg(t, 0, "ALayout")
	for k, n := range ckRefNames {
		if reProblemName.MatchString(n) {
			continue
		}
		ref, _ := parseCKAlias(mustStrip(ckRefText))
		v := "4"
		switch {
		case isSequence(ref.args[k]):
			v = "S<(2 * 4), 32, -1>"
		case n == "LoopSched":
			v = "ck::LoopScheduler::Interwave"
		case n == "PipelineVer":
			v = "::ck::PipelineVersion::v2"
		}
		allKnobs = ckReplaceArg(t, allKnobs, k, v)
	}
	accepted := []struct{ name, code string }{
		{"reference as is", ckRefText},
		{"reference flattened", flat},
		{"reference without comments, new comments", "/* tuned */ " + strings.ReplaceAll(flat, ", ", " ,\n // ######|\n ") + "\n"},
		{"tile sizes", at("MPerBlock", "128")},
		{"vector width", at("ABlockTransferSrcScalarPerVector", "4")},
		{"cluster lengths", at("ABlockTransferThreadClusterLengths_AK0_M_AK1", "S<8, 32, 1>")},
		{"literal arithmetic", at("BlockSize", "(64 * 4)")},
		{"suffixed and signed literal", at("NumGemmKPrefetchStage", "-1")},
		{"hex literal", at("BlockSize", "0x100u")},
		{"boolean", at("ABlockLdsExtraM", "true")},
		{"pipeline enumerator", at("PipelineVer", "ck::PipelineVersion::v2")},
		{"pipeline enumerator root-qualified", at("PipelineVer", "::ck::PipelineVersion::v4")},
		{"scheduler enumerator", at("LoopSched", "ck::LoopScheduler::Interwave")},
		{"name from the reference", at("LoopSched", "ck::PipelineVersion::v1")},
		{"every knob changed", allKnobs},
	}
	for _, c := range accepted {
		t.Run("accept/"+c.name, func(t *testing.T) {
			if rej := Check(r, c.code); rej != nil {
				t.Fatalf("rejected: %v", rej)
			}
		})
	}
}

func ckReplaceArg(t testing.TB, code string, k int, v string) string {
	d, err := parseCKAlias(mustStrip(code))
	if err != "" {
		t.Fatalf("%s: %s", code, err)
	}
	args := make([]string, len(d.args))
	for i, a := range d.args {
		args[i] = joinToks(a)
	}
	args[k] = v
	return "using " + d.name + " = " + joinToks(d.tmpl) + "<" + strings.Join(args, ", ") + ">;"
}

// TestCKInstanceMinedFixture runs the gate on instances the miner cut from
// testdata/repos/minick, with the Params it recorded.
func TestCKInstanceMinedFixture(t *testing.T) {
	text := "using DeviceGemmInstance1 = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<\n    ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType,\n    AElementOp, BElementOp, CElementOp, GemmMNKPadding,\n    256,      // BlockSize\n    128, 32,  // MPerBlock, NPerBlock\n    8,        // KPerBlock\n    4, 4,     // MPerThread, NPerThread\n    S<2, 128>, 1>;"
	names := []string{"ALayout", "BLayout", "CLayout", "ADataType", "BDataType", "CDataType", "AccDataType", "AElementwiseOperation", "BElementwiseOperation", "CElementwiseOperation", "GemmSpec", "BlockSize", "MPerBlock", "NPerBlock", "KPerBlock", "MPerThread", "NPerThread", "ABlockTransferThreadClusterLengths_K_M", "ABlockTransferSrcScalarPerVector"}
	values := []string{"ALayout", "BLayout", "CLayout", "ADataType", "BDataType", "CDataType", "AccDataType", "AElementOp", "BElementOp", "CElementOp", "GemmMNKPadding", "256", "128", "32", "8", "4", "4", "S<2, 128>", "1"}
	r := datasets.Region{Kind: KindCKInstance, Text: text}
	for k := range names {
		cl := "knob"
		if k < 11 {
			cl = "problem"
		}
		r.Params = append(r.Params, datasets.TemplateParam{Name: names[k], Value: values[k], Class: cl})
	}
	if rej := Check(r, text); rej != nil {
		t.Fatalf("reference rejected: %v", rej)
	}
	tuned := strings.Replace(strings.Replace(text, "128, 32,", "64, 64,", 1), "S<2, 128>, 1>", "S<4, 64>, 2>", 1)
	if rej := Check(r, tuned); rej != nil {
		t.Fatalf("tuned rejected: %v", rej)
	}
	if rej := Check(r, strings.Replace(text, "AccDataType,", "ADataType,", 1)); rej == nil || rej.Rule != RuleCKProblemParam || !strings.Contains(rej.Detail, "argument 7 (AccDataType)") {
		t.Fatalf("AccDataType change: got %v", rej)
	}
	// A task whose Params disagree with its own reference fails closed.
	bad := r
	bad.Params = append([]datasets.TemplateParam(nil), r.Params...)
	bad.Params[6].Value = "F32"
	if rej := Check(bad, text); rej == nil || rej.Rule != RuleCKReference {
		t.Fatalf("inconsistent Params: got %v", rej)
	}
	bad.Params = r.Params[:5]
	if rej := Check(bad, text); rej == nil || rej.Rule != RuleCKReference {
		t.Fatalf("short Params: got %v", rej)
	}
}

// TestCKInstanceFallback covers tasks without Params: names are problem
// parameters, numbers and sequences are knobs.
func TestCKInstanceFallback(t *testing.T) {
	r := ckRegion(t)
	r.Params = nil
	for _, c := range []struct {
		name, code, rule string
	}{
		{"AccDataType", ckWithArg(t, 6, "ck::half_t"), RuleCKProblemParam},
		{"pipeline frozen without Params", ckWithArg(t, 41, "ck::LoopScheduler::Interwave"), RuleCKProblemParam},
		{"knob call", ckWithArg(t, 13, "f()"), RuleCKKnobValue},
		{"tile size", ckWithArg(t, 13, "128"), ""},
		{"sequence", ckWithArg(t, 23, "S<8, 32, 1>"), ""},
	} {
		rej := Check(r, c.code)
		switch {
		case c.rule == "" && rej != nil:
			t.Errorf("%s: rejected: %v", c.name, rej)
		case c.rule != "" && (rej == nil || rej.Rule != c.rule):
			t.Errorf("%s: got %v, want %s", c.name, rej, c.rule)
		}
	}
	if rej := Check(datasets.Region{Kind: KindCKInstance, Text: "int x;"}, ckFlat()); rej == nil || rej.Rule != RuleCKReference {
		t.Errorf("unreadable reference: got %v", rej)
	}
}

// reFuzzTok tokenises independently of the gate's lexer.
var reFuzzTok = regexp.MustCompile(`[A-Za-z_0-9.]+|::|\S`)

func FuzzCKInstance(f *testing.F) {
	r := ckRegion(f)
	f.Add(ckRefText)
	f.Add(ckFlat())
	for k := range ckRefNames {
		for _, v := range []string{"ck::half_t", "7", "S<1, 2>", "f()", "(1+2)", "sizeof(int)", "ALayout", `"x"`, "{}", "[]{}", "A<1, B>"} {
			f.Add(ckWithArg(f, k, v))
		}
	}
	ref, _ := parseCKAlias(mustStrip(ckRefText))
	f.Fuzz(func(t *testing.T, cand string) {
		if Check(r, cand) != nil {
			return
		}
		code, err := stripComments(cand)
		if err != nil {
			t.Fatalf("accepted a candidate the stripper refuses: %v", err)
		}
		// Independent reading: tokens, the argument list after the first '<',
		// split at commas outside '<>' and '()'.
		toks := reFuzzTok.FindAllString(code, -1)
		open := -1
		for i, tk := range toks {
			if tk == "<" {
				open = i
				break
			}
		}
		if open < 0 {
			t.Fatalf("accepted %q without an argument list", cand)
		}
		var args [][]string
		depth, start := 0, open+1
		for i := open + 1; i < len(toks); i++ {
			switch toks[i] {
			case "<", "(":
				depth++
			case ">", ")":
				depth--
			case ",":
				if depth == 0 {
					args = append(args, toks[start:i])
					start = i + 1
				}
			}
			if depth < 0 {
				args = append(args, toks[start:i])
				break
			}
		}
		if len(args) != len(ref.args) {
			t.Fatalf("accepted %q with %d arguments, want %d", cand, len(args), len(ref.args))
		}
		for k, p := range r.Params {
			if p.Class != "problem" {
				continue
			}
			want := reFuzzTok.FindAllString(p.Value, -1)
			if strings.Join(args[k], " ") != strings.Join(want, " ") {
				t.Fatalf("accepted %q with problem parameter %s = %q, want %q", cand, p.Name, args[k], want)
			}
		}
	})
}

// TestCKInstanceNameSplitByComments: CK's DL examples put the table comment
// between the namespace and the device op's name
// (`ck::tensor_operation::device::` newline `// ###|…` newline `DeviceGemmMultipleD_Dl<…>`);
// the unchanged reference, and a tuned one, pass.
func TestCKInstanceNameSplitByComments(t *testing.T) {
	text := "using DeviceOpInstance = ck::tensor_operation::device::\n        //  ####| ALayout| BLayout|\n        //  ####|        |        |\n        DeviceGemmMultipleD_Dl< ALayout, BLayout, 256, S<8, 2>>;"
	r := datasets.Region{Kind: KindCKInstance, Text: text}
	if rej := Check(r, text); rej != nil {
		t.Fatalf("reference rejected: %v", rej)
	}
	if rej := Check(r, strings.Replace(text, "256", "128", 1)); rej != nil {
		t.Fatalf("tuned rejected: %v", rej)
	}
	if rej := Check(r, strings.Replace(text, "device::\n", "device::Other", 1)); rej == nil {
		t.Fatal("a name split into two identifiers accepted")
	}
}
