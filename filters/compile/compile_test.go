package compile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/filters/sandbox"
	"kforge/pipeline"
)

const vadd = `#include <hip/hip_runtime.h>
__global__ void vadd(const float* a, const float* b, float* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}
__global__ void spill(float* o) {
  __shared__ float s[1024];
  s[threadIdx.x] = o[threadIdx.x];
  __syncthreads();
  o[threadIdx.x] = s[1023 - threadIdx.x];
}
int main() { return 0; }
`

func TestHipccCompileAndResources(t *testing.T) {
	if _, err := exec.LookPath("hipcc"); err != nil {
		t.Skip("hipcc not installed")
	}
	ctx := context.Background()
	cache := pipeline.NewMemCache()
	c, err := New(ctx, Compiler{Kind: HIPCC, Archs: []string{"gfx90a"}, Cache: cache, WorkDir: t.TempDir(), Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Version(), "HIP version") || strings.Contains(c.Version(), "Traceback") {
		t.Fatalf("version %q", c.Version())
	}
	job := Job{Files: []datasets.File{{Path: "k.hip", Content: vadd}}, Sources: []string{"k.hip"}, Flags: []string{"-O3"}}
	out, err := c.Compile(ctx, job)
	if err != nil || !out.Result.OK || out.Result.Cached {
		t.Fatalf("%+v %v", out.Result, err)
	}
	if st, err := os.Stat(out.Binary); err != nil || st.Mode()&0o100 == 0 || len(out.BinaryHash) != 64 {
		t.Fatalf("binary %s: %v", out.Binary, err)
	}
	ks := map[string]datasets.KernelResources{}
	for _, k := range out.Result.Kernels {
		ks[k.Name] = k
	}
	if k := ks["_Z4vaddPKfS0_Pfi"]; k.VGPRs == 0 || k.SGPRs == 0 || k.Occupancy == 0 || k.LDS != 0 {
		t.Fatalf("vadd resources %+v", k)
	}
	if k := ks["_Z5spillPf"]; k.LDS != 4096 {
		t.Fatalf("spill resources %+v (want 4096 bytes of LDS)", k)
	}
	if strings.Contains(out.Result.Log, "Traceback") || strings.Contains(out.Result.Log, "remark") {
		t.Fatalf("log not cleaned: %q", out.Result.Log)
	}
	again, err := c.Compile(ctx, job)
	if err != nil || !again.Result.Cached || again.BinaryHash != out.BinaryHash || len(again.Result.Kernels) != 2 {
		t.Fatalf("not cached: %+v %v", again.Result, err)
	}
	job.Files[0].Content = strings.Replace(vadd, "a[i] + b[i]", "a[i] + undefined_name", 1)
	bad, err := c.Compile(ctx, job)
	if err != nil || bad.Result.OK || bad.Binary != "" || !strings.Contains(bad.Result.Log, "undefined_name") || strings.Contains(bad.Result.Log, "Traceback") {
		t.Fatalf("broken program: %+v %v", bad.Result, err)
	}
}

func TestHostCompileTimeoutAndPaths(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, Compiler{Kind: Host, WorkDir: t.TempDir(), Timeout: time.Second})
	if err != nil {
		t.Skipf("no host compiler: %v", err)
	}
	prog := "#include <cstdio>\n#ifndef KFORGE_HOST\n#error host macro missing\n#endif\nint main() { std::puts(\"hi\"); }\n"
	out, err := c.Compile(ctx, Job{Files: []datasets.File{{Path: "src/m.hip", Content: prog}}, Sources: []string{"src/m.hip"}, Flags: []string{"-O1", "--offload-arch=gfx90a"}})
	if err != nil || !out.Result.OK {
		t.Fatalf("%+v %v", out.Result, err)
	}
	if b, err := exec.Command(out.Binary).Output(); err != nil || string(b) != "hi\n" {
		t.Fatalf("ran %q %v", b, err)
	}
	// Template recursion that outlives the compile limit.
	slow := "template<int N> struct F { static constexpr long v = F<N-1>::v + F<N-2>::v; };\ntemplate<> struct F<0> { static constexpr long v = 0; };\ntemplate<> struct F<1> { static constexpr long v = 1; };\n" +
		"constexpr long f(long n) { long s = 0; for (long i = 0; i < n; ++i) s += i % 7; return s; }\nconstexpr long x = f(4000000000L);\nint main() { return x == 1; }\n"
	out, err = c.Compile(ctx, Job{Files: []datasets.File{{Path: "s.cpp", Content: slow}}, Sources: []string{"s.cpp"}, Flags: []string{"-fconstexpr-ops-limit=2147483647", "-fconstexpr-loop-limit=2147483647"}})
	// A timeout is the machine's (its load), not the source's result: an
	// error, never cached.
	if !errors.Is(err, pipeline.ErrMachine) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("slow compile: %+v %v", out.Result, err)
	}
	if _, err := c.Compile(ctx, Job{Files: []datasets.File{{Path: "../escape.cpp", Content: prog}}, Sources: []string{"../escape.cpp"}}); err == nil {
		t.Fatal("a file path leaving the build directory was accepted")
	}
}

func TestFilterLog(t *testing.T) {
	noise := `Traceback (most recent call last):
  File "/usr/bin/rocm_agent_enumerator", line 257, in <module>
    main()
  File "/usr/bin/rocm_agent_enumerator", line 193, in readFromKFD
    for node in sorted(os.listdir(topology_dir)):
                       ^^^^^^^^^^^^^^^^^^^^^^^^
FileNotFoundError: [Errno 2] No such file or directory: '/sys/class/kfd/kfd/topology/nodes/'
k.hip:3:5: error: use of undeclared identifier 'x'
Traceback (most recent call last):
  File "/opt/other.py", line 1, in <module>
ValueError: kept`
	got := FilterLog(noise)
	want := "k.hip:3:5: error: use of undeclared identifier 'x'\nTraceback (most recent call last):\n  File \"/opt/other.py\", line 1, in <module>\nValueError: kept"
	if got != want {
		t.Fatalf("got:\n%s", got)
	}
}

func TestParseNVCCResources(t *testing.T) {
	log := `ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z4polyPKfPfi' for 'sm_90'
ptxas info    : Function properties for _Z4polyPKfPfi
    16 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads
ptxas info    : Used 24 registers, 2048 bytes smem, 368 bytes cmem[0]
ptxas info    : Compiling entry function '_Z1kv' for 'sm_90'
ptxas info    : Used 4 registers, used 1 barriers, 368 bytes cmem[0]`
	ks := ParseNVCCResources(log)
	if len(ks) != 2 || ks[0].Name != "_Z4polyPKfPfi" || ks[0].Registers != 24 || ks[0].SharedMemB != 2048 || ks[0].Scratch != 16 || ks[0].VGPRSpill != 8 || ks[1].Registers != 4 {
		t.Fatalf("%+v", ks)
	}
}

func TestParseAMDMultiArch(t *testing.T) {
	one := "k.hip:1:1: remark: Function Name: _Z1kv [-Rpass-analysis=kernel-resource-usage]\nk.hip:1:1: remark:     VGPRs: 3 [-Rpass-analysis=kernel-resource-usage]\n"
	ks := ParseAMDResources(one+strings.Replace(one, "VGPRs: 3", "VGPRs: 5", 1), true)
	if len(ks) != 2 || ks[0].Name != "_Z1kv@1" || ks[1].Name != "_Z1kv@2" || ks[1].VGPRs != 5 {
		t.Fatalf("%+v", ks)
	}
}

// TestGuardRemovedCUDA patches the installed HIP NVIDIA headers: every use of
// CUDA's removed texture-reference API ends up inside a version guard.
func TestGuardRemovedCUDA(t *testing.T) {
	src := "/usr/include"
	if _, err := os.Stat(filepath.Join(src, "hip", "nvidia_detail", "nvidia_hip_runtime_api.h")); err != nil {
		t.Skip("HIP NVIDIA headers not installed")
	}
	dst := t.TempDir()
	if err := PrepareNvidiaHeaders(src, dst); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "hip", "nvidia_detail", "nvidia_hip_runtime_api.h"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.Contains(text, cuda12Guard) {
		t.Fatal("nothing guarded")
	}
	// Drop guarded blocks; nothing removed may remain, braces must balance.
	re := regexp.MustCompile(`(?s)` + regexp.QuoteMeta(cuda12Guard) + `.*?\n#endif`)
	rest := re.ReplaceAllString(text, "")
	if m := cuda12Removed.FindString(rest); m != "" {
		t.Fatalf("unguarded %q remains", m)
	}
	if strings.Count(rest, "{") != strings.Count(rest, "}") {
		t.Fatal("guarding unbalanced the braces")
	}
	if _, err := os.Stat(filepath.Join(dst, "hip", "hip_runtime.h")); err != nil {
		t.Fatal(err)
	}
}

func TestNVCCArgs(t *testing.T) {
	c := &Compiler{Kind: NVCC, Archs: []string{"sm_90"}, nvInclude: "/patched"}
	a := strings.Join(c.args(Job{Sources: []string{"main.hip"}, Flags: []string{"-O3", "--offload-arch=gfx90a", "-Rpass-analysis=kernel-resource-usage"}}, "/b", "/b/prog"), " ")
	for _, want := range []string{"-x cu ", "-D__HIP_PLATFORM_NVIDIA__", "-I/patched ", "-Xptxas -v", "-gencode arch=compute_90,code=sm_90", "-O3", "/b/main.hip -o /b/prog"} {
		if !strings.Contains(a, want) {
			t.Errorf("nvcc args lack %q: %s", want, a)
		}
	}
	if strings.Contains(a, "offload-arch") || strings.Contains(a, "Rpass") {
		t.Errorf("clang-only flags reach nvcc: %s", a)
	}
}

// TestConfinedCompileCannotReadHome: a source whose assembly pulls in a file
// (.incbin) can read the home directory, where the Hub token lives, from an
// unconfined compiler; a confined one sees an empty home.
func TestConfinedCompileCannotReadHome(t *testing.T) {
	sb := sandbox.New()
	if ok, note := sb.Confinement(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI installs bubblewrap, but: %s", note)
		}
		t.Skip(note)
	}
	ctx := context.Background()
	home := t.TempDir()
	t.Setenv("HOME", home)
	secret := filepath.Join(home, "token")
	if err := os.WriteFile(secret, []byte("hf_secret_value"), 0o600); err != nil {
		t.Fatal(err)
	}
	prog := fmt.Sprintf("#include <cstdio>\nasm(\".section .rodata\\nleak: .incbin \\\"%s\\\"\\n.byte 0\\n.text\");\nextern \"C\" const char leak[];\nint main() { std::puts(leak); }\n", secret)
	job := Job{Files: []datasets.File{{Path: "m.cpp", Content: prog}}, Sources: []string{"m.cpp"}}
	for _, confined := range []bool{false, true} {
		c, err := New(ctx, Compiler{Kind: Host, WorkDir: t.TempDir()})
		if err != nil {
			t.Skipf("no host compiler: %v", err)
		}
		if confined {
			c.Sandbox = sb
		}
		out, err := c.Compile(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		if !confined {
			// The attack works without confinement: the test means something.
			if b, err := exec.Command(out.Binary).Output(); !out.Result.OK || err != nil || !strings.Contains(string(b), "hf_secret_value") {
				t.Fatalf("unconfined: %+v %q %v", out.Result, b, err)
			}
			continue
		}
		if out.Result.OK || strings.Contains(out.Result.Log, "hf_secret_value") {
			t.Fatalf("confined compile read the home directory: %+v", out.Result)
		}
	}
}

// confining returns a sandbox that confines commands, or skips the test
// where bwrap cannot (failing it in CI, which installs bubblewrap).
func confining(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb := sandbox.New()
	if ok, note := sb.Confinement(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI installs bubblewrap, but: %s", note)
		}
		t.Skip(note)
	}
	return sb
}

// TestConfinedCompileHasNoNetwork: the compiler (here a stand-in that prints
// the network interfaces it sees, its uid and its memory limit, then fails)
// sees only the loopback interface, runs unprivileged and under an
// address-space limit.
func TestConfinedCompileHasNoNetwork(t *testing.T) {
	for _, bwrap := range []bool{true, false} {
		t.Run(fmt.Sprintf("bwrap=%v", bwrap), func(t *testing.T) {
			var sb *sandbox.Sandbox
			if bwrap {
				sb = confining(t)
			} else {
				// Without bwrap the compiler still gets namespaces.
				sb = sandbox.New()
				t.Setenv("PATH", t.TempDir())
				if ok, note := sb.Isolation(); !ok {
					t.Skip(note)
				}
			}
			compileNoNetwork(t, sb, bwrap)
		})
	}
}

func compileNoNetwork(t *testing.T, sb *sandbox.Sandbox, confined bool) {
	fake := filepath.Join(t.TempDir(), "fakecc")
	body := "#!/bin/sh\nPATH=/usr/bin:/bin\n[ \"$1\" = --version ] && { echo 'fakecc version 1'; exit 0; }\n" +
		"tail -n +3 /proc/net/dev | while read -r i rest; do echo \"iface:$i\"; done\necho \"uid:$(id -u)\"\necho \"as:$(ulimit -v)\"\nexit 1\n"
	if err := os.WriteFile(fake, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := New(context.Background(), Compiler{Kind: Host, Path: fake, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c.Sandbox = sb
	out, err := c.Compile(context.Background(), Job{Files: []datasets.File{{Path: "m.cpp", Content: "int main() {}\n"}}, Sources: []string{"m.cpp"}})
	if err != nil {
		t.Fatal(err)
	}
	log := out.Result.Log
	if !strings.Contains(log, "iface:lo:") {
		t.Fatalf("the stand-in compiler did not run as expected:\n%s", log)
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "iface:") && l != "iface:lo:" {
			t.Errorf("the compiler sees a network interface: %s\n%s", l, log)
		}
	}
	if confined && strings.Contains(log, "uid:0\n") {
		t.Errorf("the compiler runs as root in its namespace:\n%s", log)
	}
	if strings.Contains(log, "as:unlimited") {
		t.Errorf("the compiler has no memory limit:\n%s", log)
	}
}

// TestConfinedHipccCompile: hipcc (a Perl script running clang and lld, and
// reading the LLVM and HIP trees and a few files under /etc) still compiles
// inside the allowlist.
func TestConfinedHipccCompile(t *testing.T) {
	if _, err := exec.LookPath("hipcc"); err != nil {
		t.Skip("hipcc not installed")
	}
	sb := confining(t)
	ctx := context.Background()
	c, err := New(ctx, Compiler{Kind: HIPCC, Archs: []string{"gfx90a"}, WorkDir: t.TempDir(), Timeout: 5 * time.Minute, Sandbox: sb})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Compile(ctx, Job{Files: []datasets.File{{Path: "k.hip", Content: vadd}}, Sources: []string{"k.hip"}, Flags: []string{"-O3"}})
	if err != nil || !out.Result.OK || len(out.Result.Kernels) != 2 {
		t.Fatalf("%+v %v", out.Result, err)
	}
}
