// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Prints what its kernel computed and checks nothing: no pass rule exists.

#include "example_utils.hpp"

#include <hip/hip_runtime.h>

#include <vector>

__global__ void iota_kernel(float* v) { v[threadIdx.x] = float(threadIdx.x) * 0.5f; }

int main()
{
    float* dev{};
    HIP_CHECK(hipMalloc(&dev, 64 * sizeof(float)));
    iota_kernel<<<1, 64>>>(dev);
    std::vector<float> out(64);
    HIP_CHECK(hipMemcpy(out.data(), dev, 64 * sizeof(float), hipMemcpyDeviceToHost));
    HIP_CHECK(hipFree(dev));
    for(float x : out)
        std::cout << x << ' ';
    std::cout << std::endl;
}
