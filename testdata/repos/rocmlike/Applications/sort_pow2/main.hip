// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Sorts 2^e values with an odd-even transposition step per launch; -e is an
// exponent, not a length.

#include "cmdparser.hpp"
#include "example_utils.hpp"

#include <hip/hip_runtime.h>

#include <algorithm>
#include <vector>

__global__ void odd_even_step(unsigned int* v, unsigned int length, unsigned int phase)
{
    const unsigned int i = 2 * (blockIdx.x * blockDim.x + threadIdx.x) + phase;
    if(i + 1 < length && v[i] > v[i + 1])
    {
        const unsigned int t = v[i];
        v[i]                 = v[i + 1];
        v[i + 1]             = t;
    }
}

int main(int argc, char* argv[])
{
    cli::Parser parser(argc, argv);
    parser.set_optional<unsigned int>("e", "exponent", 10, "sort 2**e values");
    if(!parser.run_and_exit_if_error())
        return error_exit_code;
    const unsigned int e      = parser.get<unsigned int>("e");
    const unsigned int length = 1u << e;
    std::vector<unsigned int> v(length);
    for(unsigned int i = 0; i < length; ++i)
        v[i] = (i * 2654435761u) % 1000u;
    unsigned int* d{};
    HIP_CHECK(hipMalloc(&d, length * sizeof(unsigned int)));
    HIP_CHECK(hipMemcpy(d, v.data(), length * sizeof(unsigned int), hipMemcpyHostToDevice));
    const unsigned int threads = length / 2;
    for(unsigned int p = 0; p < length; ++p)
        odd_even_step<<<(threads + 255) / 256, 256>>>(d, length, p % 2);
    HIP_CHECK(hipGetLastError());
    std::vector<unsigned int> out(length);
    HIP_CHECK(hipMemcpy(out.data(), d, length * sizeof(unsigned int), hipMemcpyDeviceToHost));
    HIP_CHECK(hipFree(d));
    std::sort(v.begin(), v.end());
    if(out != v)
    {
        std::cout << "Sort failed" << std::endl;
        return error_exit_code;
    }
    std::cout << "Sort verified" << std::endl;
    return 0;
}
