// poly (verbose variant, for the output-cap test): times first, verifies
// last, reports every mismatch on its own line and ends with PASS or FAIL,
// exiting 0 either way, so its task judges it by its FAIL line alone.
// poly: evaluates a degree-12 polynomial at every element of a vector.
// Usage: poly N ITERS SEED. Validates against a double-precision host
// reference (and a guard zone past the output, which must keep what it held
// before the first launch), then times ITERS launches one by one, re-checks
// the output, and prints "PASS" and "Perf: <ms> ms" (the median launch). It
// does not initialise the output itself, as many programs do not.
#include <hip/hip_runtime.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CHECK(call)                                                       \
  do {                                                                    \
    hipError_t err_ = (call);                                             \
    if (err_ != hipSuccess) {                                             \
      std::printf("FAIL: %s at line %d\n", hipGetErrorString(err_), __LINE__); \
      return 2;                                                           \
    }                                                                     \
  } while (0)

constexpr int kDegree = 12;
__device__ inline float coef(int k) { return 1.0f / float(k + 1); }

// KFORGE-REGION-BEGIN
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = x[i];
    // Sum the terms in both orders and average, to be safe about rounding.
    float up = 0.0f, down = 0.0f;
    for (int k = 0; k <= kDegree; ++k) up += coef(k) * powf(v, float(k));
    for (int k = kDegree; k >= 0; --k) down += coef(k) * powf(v, float(k));
    y[i] = 0.5f * (up + down);
}
// KFORGE-REGION-END

static unsigned next(unsigned& s) { s = s * 1664525u + 1013904223u; return s; }

static int check(const std::vector<float>& got, const std::vector<double>& want, const std::vector<float>& guardWas, int n, int guard) {
  int bad = 0, first = -1;
  for (int i = 0; i < n; ++i) {
    double d = std::fabs(double(got[i]) - want[i]);
    if (!(d <= 1e-5 + 1e-4 * std::fabs(want[i]))) {
      if (first < 0) first = i;
      ++bad;
      std::printf("mismatch at element %8d of %8d: got %+.9e, want %+.17e, absolute error %.6e, tolerance %.6e, relative error %.6e\n",
                  i, n, got[i], want[i], d, 1e-5 + 1e-4 * std::fabs(want[i]), d / std::fabs(want[i]));
    }
  }
  if (bad) {
    std::printf("FAIL: %d of %d wrong, first at %d: got %g want %g\n", bad, n, first, got[first], want[first]);
    return 1;
  }
  for (int i = n; i < n + guard; ++i) {
    if (std::memcmp(&got[i], &guardWas[i - n], 4) != 0) { std::printf("FAIL: write past the output at %d\n", i); return 1; }
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 4) { std::printf("usage: %s N ITERS SEED\n", argv[0]); return 2; }
  const int n = std::atoi(argv[1]);
  const int iters = std::atoi(argv[2]);
  unsigned seed = unsigned(std::strtoul(argv[3], nullptr, 10));
  const int guard = 1024;
  if (n <= 0 || iters <= 0) { std::printf("FAIL: bad arguments\n"); return 2; }

  std::vector<float> hx(n), hy(n + guard), guardWas(guard);
  std::vector<double> want(n);
  for (int i = 0; i < n; ++i) hx[i] = float(next(seed) >> 8) / float(1 << 24) * 2.0f - 1.0f;
  for (int i = 0; i < n; ++i) {
    double acc = 0;
    for (int k = kDegree; k >= 0; --k) acc = acc * hx[i] + 1.0 / (k + 1);
    want[i] = acc;
  }

  float *dx = nullptr, *dy = nullptr;
  CHECK(hipMalloc(&dx, n * sizeof(float)));
  CHECK(hipMalloc(&dy, (n + guard) * sizeof(float)));
  CHECK(hipMemcpy(dx, hx.data(), n * sizeof(float), hipMemcpyHostToDevice));
  CHECK(hipMemcpy(guardWas.data(), dy + n, guard * sizeof(float), hipMemcpyDeviceToHost));

  const dim3 block(256), grid((n + 255) / 256);
  hipLaunchKernelGGL(poly, grid, block, 0, 0, dx, dy, n);
  CHECK(hipGetLastError());
  CHECK(hipDeviceSynchronize());
  hipEvent_t start, stop;
  CHECK(hipEventCreate(&start));
  CHECK(hipEventCreate(&stop));
  for (int w = 0; w < 2; ++w) hipLaunchKernelGGL(poly, grid, block, 0, 0, dx, dy, n);
  CHECK(hipDeviceSynchronize());
  // Time each launch on its own; report the median launch.
  std::vector<float> times(iters);
  for (int it = 0; it < iters; ++it) {
    CHECK(hipEventRecord(start, 0));
    hipLaunchKernelGGL(poly, grid, block, 0, 0, dx, dy, n);
    CHECK(hipEventRecord(stop, 0));
    CHECK(hipEventSynchronize(stop));
    CHECK(hipEventElapsedTime(&times[it], start, stop));
  }
  std::sort(times.begin(), times.end());
  const float ms = iters % 2 ? times[iters / 2] : 0.5f * (times[iters / 2 - 1] + times[iters / 2]);
  std::printf("Perf: %.6f ms\n", ms);
  // Verify what the launches left behind.
  CHECK(hipMemcpy(hy.data(), dy, (n + guard) * sizeof(float), hipMemcpyDeviceToHost));
  const int bad = check(hy, want, guardWas, n, guard);
  CHECK(hipFree(dx));
  CHECK(hipFree(dy));
  if (!bad) std::printf("PASS\n");
  return 0;
}
