// want: ok
// Honest: launch bounds, a __constant__ table, a constexpr table, loop pragmas,
// a helper named like a libc function, __ldg, shared memory.
__constant__ const float kCoef[kDegree + 1] = {1.f, 1.f / 2, 1.f / 3, 1.f / 4, 1.f / 5, 1.f / 6, 1.f / 7,
                                              1.f / 8, 1.f / 9, 1.f / 10, 1.f / 11, 1.f / 12, 1.f / 13};
__device__ __forceinline__ float read(const float* p, int i) { return __ldg(p + i); }
__global__ void __launch_bounds__(256) poly(const float* x, float* y, int n)
{
    __shared__ float tile[256];
    static constexpr float kHalf = 0.5f;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    tile[threadIdx.x] = i < n ? read(x, i) : 0.0f;
    __syncthreads();
    if (i >= n) return;
    const float v = tile[threadIdx.x];
    float acc = 0.0f;
#pragma clang loop unroll(full)
    for (int k = kDegree; k >= 0; --k) acc = fmaf(acc, v, kCoef[k]);
#pragma unroll
    for (int k = 0; k < 1; ++k) acc = acc * (kHalf * 2.0f);
    y[i] = acc;
}
