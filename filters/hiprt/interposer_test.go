package hiprt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInterposerBuilds builds the ROCm interposer with the real toolchain
// (g++, and hipcc where installed), checks that it exports the four entry
// points it wraps, and links a tiny HIP program beside it. It cannot run
// the program: that needs an AMD GPU, and the interposer is untested on one.
func TestInterposerBuilds(t *testing.T) {
	if _, err := os.Stat("/usr/include/hip/hip_runtime_api.h"); err != nil {
		t.Skip("HIP headers not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	compilers := []string{"g++"}
	hipcc, err := exec.LookPath("hipcc")
	if err == nil {
		compilers = append(compilers, hipcc)
	}
	var lib string
	for _, cxx := range compilers {
		if _, err := exec.LookPath(cxx); err != nil {
			continue
		}
		dir := t.TempDir()
		l, err := BuildInterposer(ctx, cxx, "/usr/include", dir)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("nm", "-D", "--defined-only", l).CombinedOutput()
		if err != nil {
			t.Fatalf("nm: %v %s", err, out)
		}
		for _, sym := range []string{"hipMalloc", "hipFree", "hipLaunchKernel", "__hipRegisterFunction"} {
			if !strings.Contains(string(out), " T "+sym+"\n") {
				t.Errorf("%s: %s does not export %s:\n%s", filepath.Base(cxx), l, sym, out)
			}
		}
		lib = l
	}
	if lib == "" || hipcc == "" {
		t.Skip("hipcc not installed: the tiny HIP program is not linked")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "tiny.hip")
	prog := `#include <hip/hip_runtime.h>
__global__ void twice(const float* x, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = 2.0f * x[i];
}
int main() {
  float *x, *y;
  if (hipMalloc(&x, 64 * sizeof(float)) != hipSuccess || hipMalloc(&y, 64 * sizeof(float)) != hipSuccess) return 1;
  hipLaunchKernelGGL(twice, dim3(1), dim3(64), 0, 0, x, y, 64);
  return hipDeviceSynchronize() == hipSuccess && hipFree(x) == hipSuccess && hipFree(y) == hipSuccess ? 0 : 1;
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "tiny")
	if out, err := exec.CommandContext(ctx, hipcc, "--offload-arch=gfx90a", src, "-o", bin, "-L"+filepath.Dir(lib), "-lkforge_hiprt",
		"-Wl,-rpath,"+filepath.Dir(lib)).CombinedOutput(); err != nil {
		t.Fatalf("hipcc: %v %s", err, out)
	}
	// The program calls what the interposer wraps, and needs it.
	und, _ := exec.Command("nm", "-D", "--undefined-only", bin).CombinedOutput()
	dyn, _ := exec.Command("readelf", "-d", bin).CombinedOutput()
	for _, sym := range []string{"hipMalloc", "hipLaunchKernel", "__hipRegisterFunction"} {
		if !strings.Contains(string(und), " "+sym+"\n") {
			t.Errorf("tiny does not call %s:\n%s", sym, und)
		}
	}
	if !strings.Contains(string(dyn), InterposerName) {
		t.Errorf("tiny does not need %s:\n%s", InterposerName, dyn)
	}
}
