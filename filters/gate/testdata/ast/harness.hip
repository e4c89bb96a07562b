// Harness for the AST gate tests: a small HIP program in the shape of a
// mined task. The region between the markers is what a candidate replaces.
#include <hip/hip_runtime.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

constexpr int kDegree = 12;
__device__ inline float coef(int k) { return 1.0f / float(k + 1); }
// Harness device state: no region code may read or write it.
__device__ int g_launches;

static bool check_result(const std::vector<float>& got, const std::vector<float>& want) {
  for (size_t i = 0; i < got.size(); ++i)
    if (!(got[i] - want[i] < 1e-4f && want[i] - got[i] < 1e-4f)) return false;
  return true;
}

// KFORGE-REGION-BEGIN
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = x[i];
    float acc = 0.0f;
    for (int k = 0; k <= kDegree; ++k) acc += coef(k) * powf(v, float(k));
    y[i] = acc;
}
// KFORGE-REGION-END

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1024;
  std::vector<float> hx(n, 0.5f), hy(n), want(n);
  for (int i = 0; i < n; ++i) {
    float acc = 0;
    for (int k = kDegree; k >= 0; --k) acc = acc * hx[i] + 1.0f / (k + 1);
    want[i] = acc;
  }
  float *dx, *dy;
  hipMalloc(&dx, n * sizeof(float));
  hipMalloc(&dy, n * sizeof(float));
  hipMemcpy(dx, hx.data(), n * sizeof(float), hipMemcpyHostToDevice);
  hipLaunchKernelGGL(poly, dim3((n + 255) / 256), dim3(256), 0, 0, dx, dy, n);
  hipMemcpy(hy.data(), dy, n * sizeof(float), hipMemcpyDeviceToHost);
  if (!check_result(hy, want)) { std::printf("FAIL\n"); return 1; }
  std::printf("PASS\n");
  return 0;
}
