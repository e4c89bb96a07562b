// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Squares n ints and checks them, but reports only through its exit status:
// it includes the shared header that prints "Validation passed" and never
// calls it.

#include "example_utils.hpp"

#include <hip/hip_runtime.h>

#include <vector>

__global__ void square(int* v, unsigned int n)
{
    const unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if(i < n)
        v[i] = v[i] * v[i];
}

int main()
{
    constexpr unsigned int n = 4096;
    std::vector<int> host(n);
    for(unsigned int i = 0; i < n; ++i)
        host[i] = int(i % 100) - 50;
    int* dev{};
    HIP_CHECK(hipMalloc(&dev, n * sizeof(int)));
    HIP_CHECK(hipMemcpy(dev, host.data(), n * sizeof(int), hipMemcpyHostToDevice));
    square<<<n / 256, 256>>>(dev, n);
    HIP_CHECK(hipGetLastError());
    std::vector<int> out(n);
    HIP_CHECK(hipMemcpy(out.data(), dev, n * sizeof(int), hipMemcpyDeviceToHost));
    HIP_CHECK(hipFree(dev));
    unsigned int wrong = 0;
    for(unsigned int i = 0; i < n; ++i)
        wrong += out[i] != host[i] * host[i];
    std::cout << "squared " << n << " values" << std::endl;
    return wrong == 0 ? 0 : error_exit_code;
}
