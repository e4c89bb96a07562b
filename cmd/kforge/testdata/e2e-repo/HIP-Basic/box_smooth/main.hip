// box_smooth: a 9-point moving average of a vector (the ends repeat the edge
// value), checked against a host average, then timed. Prints PASSED or
// FAILED and "Perf: <ms> ms".
#ifdef KFORGE_HOST
#include "kforge_host.h"
#else
#include <hip/hip_runtime.h>
#endif
#include <cmath>
#include <cstdio>
#include <vector>

#define HIP_CHECK(expr)                                                         \
  do {                                                                          \
    const hipError_t status_ = (expr);                                          \
    if (status_ != hipSuccess) {                                                \
      std::printf("FAILED: %s: %s\n", #expr, hipGetErrorString(status_));      \
      return 1;                                                                 \
    }                                                                           \
  } while (0)

__device__ int clamp_index(int i, int n)
{
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

__global__ void box_smooth(const float* in, float* out, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float acc = 0.0f;
    for (int d = -4; d <= 4; ++d) acc += in[clamp_index(i + d, n)] / 9.0f;
    out[i] = acc;
}

int main()
{
    const int n = 1 << 15;
    const int iterations = 20;
    std::vector<float> hin(n), hout(n);
    for (int i = 0; i < n; ++i) hin[i] = float((i * 37) % 101) / 50.0f - 1.0f;

    float* din = nullptr;
    float* dout = nullptr;
    HIP_CHECK(hipMalloc(&din, n * sizeof(float)));
    HIP_CHECK(hipMalloc(&dout, n * sizeof(float)));
    HIP_CHECK(hipMemcpy(din, hin.data(), n * sizeof(float), hipMemcpyHostToDevice));

    const dim3 block(128);
    const dim3 grid((n + block.x - 1) / block.x);
    hipLaunchKernelGGL(box_smooth, grid, block, 0, 0, din, dout, n);
    HIP_CHECK(hipGetLastError());
    HIP_CHECK(hipMemcpy(hout.data(), dout, n * sizeof(float), hipMemcpyDeviceToHost));

    int wrong = 0;
    for (int i = 0; i < n; ++i) {
        double want = 0.0;
        for (int d = -4; d <= 4; ++d) {
            const int j = i + d < 0 ? 0 : (i + d >= n ? n - 1 : i + d);
            want += hin[j];
        }
        want /= 9.0;
        if (std::fabs(hout[i] - want) > 1e-5 + 1e-4 * std::fabs(want)) ++wrong;
    }
    if (wrong != 0) {
        std::printf("FAILED: %d of %d values wrong\n", wrong, n);
        return 1;
    }

    hipEvent_t start, stop;
    HIP_CHECK(hipEventCreate(&start));
    HIP_CHECK(hipEventCreate(&stop));
    HIP_CHECK(hipEventRecord(start, 0));
    for (int it = 0; it < iterations; ++it) hipLaunchKernelGGL(box_smooth, grid, block, 0, 0, din, dout, n);
    HIP_CHECK(hipEventRecord(stop, 0));
    HIP_CHECK(hipEventSynchronize(stop));
    float ms = 0.0f;
    HIP_CHECK(hipEventElapsedTime(&ms, start, stop));
    HIP_CHECK(hipFree(din));
    HIP_CHECK(hipFree(dout));
    std::printf("PASSED\n");
    std::printf("Perf: %.6f ms\n", ms / iterations);
    return 0;
}
