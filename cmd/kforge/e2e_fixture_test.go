package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fixtureRegions are the scripted model's answers for the kernels of
// testdata/e2e-repo, by kernel name: two faster versions and one wrong one
// (it drops the shift), so a build keeps some candidates and rejects others.
var fixtureRegions = map[string]string{
	"poly_eval": `__global__ void poly_eval(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = x[i];
    // Horner's rule: one multiply-add per coefficient instead of a power loop.
    float acc = 1.0f / 12.0f;
    for (int k = 9; k >= 0; --k) acc = acc * v + 1.0f / float(k + 2);
    y[i] = acc;
}`,
	"box_smooth": `__device__ int clamp_index(int i, int n)
{
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

__global__ void box_smooth(const float* in, float* out, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    // Sum first, divide once.
    float acc = 0.0f;
    for (int d = -4; d <= 4; ++d) acc += in[clamp_index(i + d, n)];
    out[i] = acc * (1.0f / 9.0f);
}`,
	"scale_shift": `__global__ void scale_shift(const float* x, float* y, float a, float b, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i];
}`,
}

var (
	regionRe = regexp.MustCompile("(?s)The editable region \\(reference version\\):\n```[a-z+]*\n(.*?)\n```")
	kernelRe = regexp.MustCompile(`__global__\s+void\s+(\w+)`)
)

// fixtureAnswer is the scripted model: it finds the editable region in the
// prompt and answers with the scripted version of its kernel, or with the
// region unchanged when it does not know the kernel. The seed only changes a
// comment, so samples are distinct candidates with the same code.
func fixtureAnswer(prompt string, seed int) string {
	m := regionRe.FindStringSubmatch(prompt)
	if m == nil {
		return "I cannot find the editable region."
	}
	region := m[1]
	if k := kernelRe.FindStringSubmatch(region); k != nil {
		if r, ok := fixtureRegions[k[1]]; ok {
			region = r
		}
	}
	return fmt.Sprintf("Here is a faster version (sample %d).\n\n```cpp\n%s\n```\n", seed, region)
}

func TestFixtureAnswer(t *testing.T) {
	prompt := "Task: x\n\nThe editable region (reference version):\n```cpp\n__global__ void poly_eval(const float* x, float* y, int n)\n{\n}\n```\n\nRules"
	got := fixtureAnswer(prompt, 3)
	if !strings.Contains(got, "Horner") || !strings.Contains(got, "```cpp\n__global__ void poly_eval(") {
		t.Fatalf("answer %q", got)
	}
	unknown := strings.Replace(prompt, "poly_eval", "other", 1)
	if got := fixtureAnswer(unknown, 1); !strings.Contains(got, "__global__ void other(const float* x, float* y, int n)\n{\n}\n```") {
		t.Fatalf("unknown kernel: %q", got)
	}
	if got := fixtureAnswer("no region here", 1); strings.Contains(got, "```") {
		t.Fatalf("no region: %q", got)
	}
}

// TestFixturePrograms builds every fixture program for the CPU, as the
// host-test backend does, with its reference kernels and with the scripted
// answer spliced in: references and faster answers pass their own check, the
// wrong answer fails it.
func TestFixturePrograms(t *testing.T) {
	cxx, err := exec.LookPath("c++")
	if err != nil {
		t.Skip("no host C++ compiler")
	}
	repo := filepath.Join("testdata", "e2e-repo")
	for kernel, answer := range fixtureRegions {
		t.Run(kernel, func(t *testing.T) {
			src := filepath.Join(repo, "HIP-Basic", kernel, "main.hip")
			ref, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			// The region runs from the first __device__ or __global__ line to
			// the end of the kernel (the first "}" line after __global__).
			code := string(ref)
			g := strings.Index(code, "\n__global__")
			if g < 0 {
				t.Fatal("no kernel found")
			}
			start := g
			if d := strings.Index(code, "\n__device__"); d >= 0 && d < g {
				start = d
			}
			end := g + strings.Index(code[g:], "\n}\n") + 2
			cand := code[:start+1] + answer + code[end:]
			dir := t.TempDir()
			for _, v := range []struct {
				name, code string
				pass       bool
			}{{"reference", code, true}, {"answer", cand, kernel != "scale_shift"}} {
				file := filepath.Join(dir, v.name+".hip")
				if err := os.WriteFile(file, []byte(v.code), 0o644); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				exe := filepath.Join(dir, v.name)
				if out, err := exec.CommandContext(ctx, cxx, "-x", "c++", "-DKFORGE_HOST=1", "-std=c++17", "-O2", "-I", filepath.Join(repo, "Common"), "-o", exe, file).CombinedOutput(); err != nil {
					t.Fatalf("%s: compile: %v\n%s", v.name, err, out)
				}
				out, err := exec.CommandContext(ctx, exe).CombinedOutput()
				passed := err == nil && strings.Contains(string(out), "PASSED\n") && regexp.MustCompile(`Perf: [0-9.]+ ms`).Match(out)
				if passed != v.pass {
					t.Fatalf("%s: passed=%v, want %v: %v\n%s", v.name, passed, v.pass, err, out)
				}
			}
		})
	}
}
