// Harness for the template-kernel AST test: the region's kernel is a
// template over its block size, launched with explicit arguments, as many
// ROCm samples write theirs.
#include <hip/hip_runtime.h>
#include <cstdio>
#include <vector>

// KFORGE-REGION-BEGIN
template <unsigned int BlockSize>
__global__ void block_sum(const float* in, float* out, unsigned int n)
{
    __shared__ float part[BlockSize];
    const unsigned int i = blockIdx.x * BlockSize + threadIdx.x;
    float sum = 0.0f;
    if (i < n) sum += in[i];
    part[threadIdx.x] = sum;
    __syncthreads();
    for (unsigned int s = BlockSize / 2; s > 0; s /= 2)
    {
        if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}
// KFORGE-REGION-END

int main()
{
    constexpr unsigned int n = 1 << 16, block = 256;
    std::vector<float> h(n, 1.0f);
    float *in, *out;
    hipMalloc(&in, n * sizeof(float));
    hipMalloc(&out, n / block * sizeof(float));
    hipMemcpy(in, h.data(), n * sizeof(float), hipMemcpyHostToDevice);
    block_sum<block><<<n / block, block>>>(in, out, n);
    std::vector<float> r(n / block);
    hipMemcpy(r.data(), out, r.size() * sizeof(float), hipMemcpyDeviceToHost);
    std::printf("%s\n", r[0] == float(block) ? "PASS" : "FAIL");
    return 0;
}
