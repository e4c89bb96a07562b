// Honest forms the gate must let through: launch bounds, a __constant__
// table, a loop pragma, a helper named like a libc function, __ldg.
__constant__ const float kCoef[kDegree + 1] = {1.0f / 1, 1.0f / 2, 1.0f / 3, 1.0f / 4, 1.0f / 5, 1.0f / 6, 1.0f / 7,
                                               1.0f / 8, 1.0f / 9, 1.0f / 10, 1.0f / 11, 1.0f / 12, 1.0f / 13};

__device__ __forceinline__ float read(const float* __restrict__ p, int i) { return __ldg(p + i); }

__global__ void __launch_bounds__(256) poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = read(x, i);
    float acc = 0.0f;
#pragma clang loop unroll(full)
    for (int k = 0; k <= kDegree; ++k) acc += kCoef[k] * powf(v, float(k));
    y[i] = acc;
}
