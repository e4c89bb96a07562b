// scale_shift: y = a * x + b over a vector, checked on the host, then timed.
// Prints PASSED or FAILED and "Perf: <ms> ms".
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

__global__ void scale_shift(const float* x, float* y, float a, float b, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + b;
}

int main()
{
    const int n = 1 << 15;
    const int iterations = 20;
    const float a = 1.5f, b = -0.25f;
    std::vector<float> hx(n), hy(n);
    for (int i = 0; i < n; ++i) hx[i] = float(i % 1000) / 1000.0f;

    float* dx = nullptr;
    float* dy = nullptr;
    HIP_CHECK(hipMalloc(&dx, n * sizeof(float)));
    HIP_CHECK(hipMalloc(&dy, n * sizeof(float)));
    HIP_CHECK(hipMemcpy(dx, hx.data(), n * sizeof(float), hipMemcpyHostToDevice));

    const dim3 block(256);
    const dim3 grid((n + block.x - 1) / block.x);
    hipLaunchKernelGGL(scale_shift, grid, block, 0, 0, dx, dy, a, b, n);
    HIP_CHECK(hipGetLastError());
    HIP_CHECK(hipMemcpy(hy.data(), dy, n * sizeof(float), hipMemcpyDeviceToHost));

    int wrong = 0;
    for (int i = 0; i < n; ++i) {
        const double want = double(a) * hx[i] + b;
        if (std::fabs(hy[i] - want) > 1e-6 + 1e-5 * std::fabs(want)) ++wrong;
    }
    if (wrong != 0) {
        std::printf("FAILED: %d of %d values wrong\n", wrong, n);
        return 1;
    }

    hipEvent_t start, stop;
    HIP_CHECK(hipEventCreate(&start));
    HIP_CHECK(hipEventCreate(&stop));
    HIP_CHECK(hipEventRecord(start, 0));
    for (int it = 0; it < iterations; ++it) hipLaunchKernelGGL(scale_shift, grid, block, 0, 0, dx, dy, a, b, n);
    HIP_CHECK(hipEventRecord(stop, 0));
    HIP_CHECK(hipEventSynchronize(stop));
    float ms = 0.0f;
    HIP_CHECK(hipEventElapsedTime(&ms, start, stop));
    HIP_CHECK(hipFree(dx));
    HIP_CHECK(hipFree(dy));
    std::printf("PASSED\n");
    std::printf("Perf: %.6f ms\n", ms / iterations);
    return 0;
}
