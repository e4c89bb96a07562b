// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Sums n ints per block in shared memory, then on the host.

#include "cmdparser.hpp"
#include "example_utils.hpp"

#include <hip/hip_runtime.h>

#include <chrono>
#include <numeric>
#include <vector>

template <unsigned int BlockSize>
__device__ int warp_tail(volatile int* s, unsigned int t)
{
    for(unsigned int stride = 32; stride > 0; stride /= 2)
        if(t < stride && BlockSize > stride)
            s[t] += s[t + stride];
    return s[0];
}

template <unsigned int BlockSize>
__global__ void block_reduce(const int* in, int* partial, unsigned int size)
{
    __shared__ int s[BlockSize];
    const unsigned int t = threadIdx.x;
    const unsigned int i = blockIdx.x * BlockSize + t;
    s[t] = i < size ? in[i] : 0;
    __syncthreads();
    for(unsigned int stride = BlockSize / 2; stride > 32; stride /= 2)
    {
        if(t < stride)
            s[t] += s[t + stride];
        __syncthreads();
    }
    if(t < 32)
    {
        const int total = warp_tail<BlockSize>(s, t);
        if(t == 0)
            partial[blockIdx.x] = total;
    }
}

int main(int argc, char* argv[])
{
    cli::Parser parser(argc, argv);
    parser.set_optional<unsigned int>("size", "size", 100000, "number of elements");
    if(!parser.run_and_exit_if_error())
        return 2;
    const unsigned int size = parser.get<unsigned int>("size");
    constexpr unsigned int block = 256;
    const unsigned int blocks = (size + block - 1) / block;
    std::vector<int> in(size);
    for(unsigned int i = 0; i < size; ++i)
        in[i] = int(i % 11) - 5;
    int *din, *dpartial;
    HIP_CHECK(hipMalloc(&din, size * sizeof(int)));
    HIP_CHECK(hipMalloc(&dpartial, blocks * sizeof(int)));
    HIP_CHECK(hipMemcpy(din, in.data(), size * sizeof(int), hipMemcpyHostToDevice));
    const auto t0 = std::chrono::steady_clock::now();
    block_reduce<block><<<blocks, block>>>(din, dpartial, size);
    HIP_CHECK(hipDeviceSynchronize());
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::vector<int> partial(blocks);
    HIP_CHECK(hipMemcpy(partial.data(), dpartial, blocks * sizeof(int), hipMemcpyDeviceToHost));
    HIP_CHECK(hipFree(din));
    HIP_CHECK(hipFree(dpartial));
    std::cout << "kernel time: " << ms << " ms" << std::endl;
    const long got  = std::accumulate(partial.begin(), partial.end(), 0L);
    const long want = std::accumulate(in.begin(), in.end(), 0L);
    return report_validation_result(got == want ? 0 : 1);
}
