package gate

import (
	"strings"
	"testing"

	"kforge/datasets"
)

const goodKernel = `// Scales and shifts every element.
__device__ inline float affine(float x, float a, float b) { return a * x + b; }
// Helpers named like libc functions are the AST check's to judge.
__device__ inline float read(const float* p, int i) { return p[i]; }
__device__ inline void write(float* p, int i, float v) { p[i] = v; }
__constant__ const float kBias[2] = {0.f, 1.f};

__global__ void __launch_bounds__(256) scale(const float* __restrict__ x, float* y, float a, float b, int n)
{
    extern __shared__ float scratch[];
    __shared__ float tile[256];
    const int i = hipBlockIdx_x * blockDim.x + threadIdx.x;
    #pragma unroll 4
    for (int k = 0; k < 1; ++k) { tile[threadIdx.x] = 0.f; }
    #pragma clang loop unroll(full) vectorize(enable)
    for (int k = 0; k < 2; ++k) { tile[threadIdx.x] += kBias[k]; }
    if (i < n) write(y, i, affine(read(x, i), a, b));
    (void)scratch;
    const char* s = "printf( fork( #define"; (void)s; // words in literals are fine: printf(
    atomicAdd(&y[0], 0.f);
}

template <int B>
__global__ void other(float* p) { p[0] = B; }

constexpr int kTile = 256;
struct alignas(16) F4 { float v[4]; };
using Vec = F4;
`

func hipRegion() datasets.Region {
	return datasets.Region{Kind: KindHIPKernels, Signatures: []string{"__global__ void scale(const float* __restrict__ x, float* y, float a, float b, int n)"}}
}

func TestHIPKernelsAccepted(t *testing.T) {
	if rej := Check(hipRegion(), goodKernel); rej != nil {
		t.Fatalf("good kernel rejected: %v", rej)
	}
}

func TestHIPKernelsRejected(t *testing.T) {
	ok := "__global__ void scale(const float* __restrict__ x, float* y, float a, float b, int n) { if (n) y[0] = x[0]; }\n"
	cases := []struct {
		name, code, rule string
	}{
		{"empty", "  \n", RuleEmpty},
		{"include", "#include <rocblas/rocblas.h>\n" + ok, RuleInclude},
		{"include-spaced", "  #  include \"x.h\"\n" + ok, RuleInclude},
		{"asm incbin", "asm(\".section .rodata\\nk: .incbin \\\"/root/.cache/huggingface/token\\\"\");\n" + ok, RuleInclude},
		{"asm INCBIN", "asm(\"k: .INCBIN \\\"/etc/hostname\\\"\");\n" + ok, RuleInclude},
		{"asm incbin continued", "asm(\"k: .inc\\\nbin \\\"/etc/hostname\\\"\");\n" + ok, RuleInclude},
		{"define rewrites harness", "#define main fake_main\n" + ok, RulePreprocessor},
		{"undef", ok + "#undef CHECK\n", RulePreprocessor},
		{"digraph define", "%:define X 1\n" + ok, RulePreprocessor},
		{"pragma other", "#pragma once\n" + ok, RulePreprocessor},
		{"_Pragma", ok + "_Pragma(\"GCC diagnostic push\")\n", RulePreprocessor},
		{"token paste", ok + "constexpr int a = 1 ## 2;\n", RulePreprocessor},
		{"unterminated block comment", ok + "/* swallow the harness", RuleUnterminated},
		{"line comment to end", ok + "// eats the rest of the line", RuleUnterminated},
		{"continuation", ok + "constexpr int z = 1; \\\n", RuleContinuation},
		{"closing brace escapes", ok + "}\nint main() { return 0; }\n{", RuleBraces},
		{"unbalanced", ok + "{", RuleBraces},
		{"rocblas call", strings.Replace(ok, "y[0] = x[0];", "rocblas_sgemm(0,0,0,0,0,0,0,0,0,0,0,0,0,0);", 1), RuleLibrary},
		{"hipblas", strings.Replace(ok, "y[0] = x[0];", "hipblasSgemm(h);", 1), RuleLibrary},
		{"miopen", strings.Replace(ok, "y[0] = x[0];", "miopenConvolutionForward(h);", 1), RuleLibrary},
		{"hipblaslt", strings.Replace(ok, "y[0] = x[0];", "hipblasLtMatmul(h);", 1), RuleLibrary},
		{"ck namespace", strings.Replace(ok, "y[0] = x[0];", "ck::tensor_operation::run(y);", 1), RuleLibrary},
		{"host api", strings.Replace(ok, "y[0] = x[0];", "hipMemcpy(y, x, 4, hipMemcpyDefault);", 1), RuleHostAPI},
		{"fake perf printf", strings.Replace(ok, "y[0] = x[0];", "printf(\"Perf: 0.001 ms\\n\");", 1), RuleOutput},
		{"fake perf cout", "struct P { P() { std::cout << 1; } };\n" + ok, RuleOutput},
		{"open file", strings.Replace(ok, "y[0] = x[0];", "FILE* f = fopen(\"/etc/passwd\", \"r\");", 1), RuleFiles},
		{"fork", strings.Replace(ok, "y[0] = x[0];", "while (1) fork();", 1), RuleProcess},
		{"system", strings.Replace(ok, "y[0] = x[0];", "system(\"ls\");", 1), RuleProcess},
		{"thread", strings.Replace(ok, "y[0] = x[0];", "std::thread t;", 1), RuleProcess},
		{"syscall", strings.Replace(ok, "y[0] = x[0];", "syscall(39);", 1), RuleSyscall},
		{"other pragma", "#pragma clang attribute push (__attribute__((constructor)), apply_to = function)\n" + ok, RulePreprocessor},
		{"pragma weak", "#pragma weak printf\n" + ok, RulePreprocessor},
		{"host qualifier", "__host__ __device__ int h(int a) { return a; }\n" + ok, RuleHostCode},
		{"constructor attribute", "__attribute__((constructor)) __device__ void f() {}\n" + ok, RuleHostCode},
		{"extern", "extern int harness_state;\n" + ok, RuleHostCode},
		{"managed", "__managed__ int m;\n" + ok, RuleDeviceGlobal},
		{"main", ok + "__device__ int main() { return 0; }\n", RuleMain},
		{"renamed kernel", strings.Replace(ok, "scale(", "scale2(", 1), RuleSignature},
		{"changed params", strings.Replace(ok, "int n)", "long n)", 1), RuleSignature},
		{"device not global", strings.Replace(ok, "__global__", "__device__", 1), RuleSignature},
		{"non-ascii", ok + "// caf\u00e9\n", RuleNonASCII},
		{"raw string", strings.Replace(ok, "y[0] = x[0];", "const char* s = R\"(x)\";", 1), RuleOutput},
		{"too large", ok + strings.Repeat(" ", MaxRegionBytes), RuleTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rej := Check(hipRegion(), c.code)
			if rej == nil {
				t.Fatalf("accepted, want rule %s", c.rule)
			}
			if rej.Rule != c.rule {
				t.Fatalf("rule %s (%s), want %s", rej.Rule, rej.Detail, c.rule)
			}
			if rej.Detail == "" {
				t.Fatal("rejection without detail")
			}
		})
	}
}

func TestCKInstance(t *testing.T) {
	ref := "using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemmXdl<F16, F16, F16, F32, Row, Col, Row, PassThrough, PassThrough, PassThrough, GemmDefault, 256, 256, 128, 4, 8, 32, 32, 4, 2, S<4, 64, 1>, S<1, 0, 2>, 7, 1>;"
	r := datasets.Region{Kind: KindCKInstance, Text: ref}
	good := strings.Replace(ref, "256, 256, 128", "256, 128, 128", 1)
	if rej := Check(r, "// tuned tile\n"+good+"\n"); rej != nil {
		t.Fatalf("good instance rejected: %v", rej)
	}
	cases := []struct{ name, code, rule string }{
		{"two statements", good + " int x = 1;", RuleCKAlias},
		{"braces", strings.Replace(good, "S<4, 64, 1>", "S<4, 64, 1>{}", 1), RuleBraces},
		{"lambda", strings.Replace(good, "7, 1>", "7, decltype([]{ return 1; })>", 1), RuleLambda},
		{"macro", "#define X 1\n" + good, RulePreprocessor},
		{"include", "#include <x>\n" + good, RuleInclude},
		{"renamed", strings.Replace(good, "DeviceGemmInstance", "Other", 1), RuleCKAliasName},
		{"other template", strings.Replace(good, "DeviceGemmXdl", "DeviceGemmDl", 1), RuleCKAlias},
		{"not alias", "struct DeviceGemmInstance;", RuleCKAlias},
		{"string", strings.Replace(good, "7, 1>", "7, \"x\">", 1), RuleCKAlias},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rej := Check(r, c.code)
			if rej == nil || rej.Rule != c.rule {
				t.Fatalf("got %v, want rule %s", rej, c.rule)
			}
		})
	}
}

func TestTileConfig(t *testing.T) {
	r := datasets.Region{Kind: KindTileConfig}
	good := "constexpr ck_tile::index_t M_Tile = 256;\nstatic constexpr bool kPad = false;\nusing Shape = ck_tile::sequence<256, 128, 32>;\n"
	if rej := Check(r, good); rej != nil {
		t.Fatalf("good tile config rejected: %v", rej)
	}
	for _, c := range []struct{ name, code, rule string }{
		{"statement", good + "run_kernel(x);", RuleTileDeclarations},
		{"braces", good + "struct S { int a; };", RuleBraces},
		{"lambda", good + "auto f = [](int a) -> int;", RuleLambda},
	} {
		if rej := Check(r, c.code); rej == nil || rej.Rule != c.rule {
			t.Errorf("%s: got %v, want rule %s", c.name, rej, c.rule)
		}
	}
}

func TestUnknownKind(t *testing.T) {
	if rej := Check(datasets.Region{Kind: "python"}, "x = 1;"); rej == nil || rej.Rule != RuleUnknownKind {
		t.Fatalf("got %v", rej)
	}
}

func BenchmarkCheckHIP(b *testing.B) {
	r := hipRegion()
	for b.Loop() {
		if rej := Check(r, goodKernel); rej != nil {
			b.Fatal(rej)
		}
	}
}
