package hiprt

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// standinProg builds a host program with the stand-in, as the Host compile does.
func standinProg(t *testing.T, src string) string {
	t.Helper()
	cxx, err := exec.LookPath("c++")
	if err != nil {
		t.Skip("no host C++ compiler")
	}
	dir := t.TempDir()
	if err := WriteHeaders(filepath.Join(dir, "inc")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.cpp"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "p")
	if out, err := exec.Command(cxx, "-x", "c++", "-std=c++17", "-O1", "-I"+filepath.Join(dir, "inc"), filepath.Join(dir, "p.cpp"), "-o", bin).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return bin
}

func runStandin(t *testing.T, bin string, scrub bool, args ...string) (string, Report, int) {
	t.Helper()
	ch := filepath.Join(t.TempDir(), "channel")
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{EnvChannel + "=" + ch, EnvScrub + "=0"}
	if scrub {
		cmd.Env[1] = EnvScrub + "=1"
	}
	out, _ := cmd.Output()
	b, _ := os.ReadFile(ch)
	return string(out), ParseReport(b), cmd.ProcessState.ExitCode()
}

const standinSrc = `#include <hip/hip_runtime.h>
#include <cstdio>
#include <cstdlib>
// Writes y only where it does not hold a value yet: it reuses its output.
__global__ void reuse(const float* x, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n && y[i] != y[i]) y[i] = 2.0f * x[i];
}
// Reads an untracked host value through a const pointer the harness changes.
__global__ void drift(const int* host, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = float(*host);
}
int main(int argc, char** argv) {
  const int n = 100;
  float *x, *y;
  hipMalloc(&x, n * sizeof(float));
  hipMalloc(&y, n * sizeof(float));
  unsigned u; std::memcpy(&u, y, 4);
  std::printf("poison %08x\n", u);
  float hx[n];
  for (int i = 0; i < n; ++i) hx[i] = float(i);
  hipMemcpy(x, hx, sizeof hx, hipMemcpyHostToDevice);
  if (argv[1][0] == 'r') {
    hipLaunchKernelGGL(reuse, dim3(1), dim3(128), 0, 0, x, y, n);
    hipMemcpy(x, hx + 1, sizeof(float), hipMemcpyHostToDevice);  // x[0] = 1
    hipLaunchKernelGGL(reuse, dim3(1), dim3(128), 0, 0, x, y, n);
    float h0;
    hipMemcpy(&h0, y, 4, hipMemcpyDeviceToHost);
    std::printf("y0 %g\n", h0);
  } else {
    static int v = 1;
    hipLaunchKernelGGL(drift, dim3(1), dim3(128), 0, 0, &v, y, n);
    v = 2;
    hipLaunchKernelGGL(drift, dim3(1), dim3(128), 0, 0, &v, y, n);
    std::printf("done\n");
  }
  return 0;
}
`

// TestStandin: allocations start poisoned; each launch is timed on the
// channel; scrub mode poisons outputs before each launch (a kernel that
// reuses its output recomputes) and stops a run whose launches give two
// results from the same inputs (exit 86, a line on the channel).
func TestStandin(t *testing.T) {
	bin := standinProg(t, standinSrc)
	out, rep, code := runStandin(t, bin, false, "reuse")
	if code != 0 || !strings.Contains(out, "poison ffffffff") || !strings.Contains(out, "y0 0\n") || len(rep.Launches["reuse"]) != 2 {
		t.Fatalf("plain: %d %q %+v", code, out, rep)
	}
	out, rep, code = runStandin(t, bin, true, "reuse")
	if code != 0 || !strings.Contains(out, "y0 2\n") || len(rep.Launches["reuse"]) != 2 || len(rep.Failures) != 0 {
		t.Fatalf("scrub: %d %q %+v", code, out, rep)
	}
	out, rep, code = runStandin(t, bin, false, "drift")
	if code != 0 || !strings.Contains(out, "done") || len(rep.Failures) != 0 {
		t.Fatalf("drift plain: %d %q %+v", code, out, rep)
	}
	out, rep, code = runStandin(t, bin, true, "drift")
	if rule, _, failed := rep.Failed(); code != ExitNondeterministic || strings.Contains(out, "done") || !failed || rule != "nondeterministic" {
		t.Fatalf("drift scrub: %d %q %+v", code, out, rep)
	}
}
