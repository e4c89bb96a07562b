// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// y = a * x + y over n floats, checked on the host.

#include "cmdparser.hpp"
#include "example_utils.hpp"

#include <hip/hip_runtime.h>

#include <cmath>
#include <vector>

constexpr unsigned int block_size = 256;

__device__ float fused_axpy(float a, float x, float y)
{
    return fmaf(a, x, y);
}

__global__ void saxpy_kernel(const float a, const float* x, float* y, const unsigned int n)
{
    const unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if(i < n)
    {
        y[i] = fused_axpy(a, x[i], y[i]);
    }
}

int main(int argc, char* argv[])
{
    cli::Parser parser(argc, argv);
    parser.set_optional<unsigned int>("n", "n", 1 << 20, "number of elements");
    if(!parser.run_and_exit_if_error())
        return 2;
    const unsigned int n = parser.get<unsigned int>("n");
    const float a = 2.5f;
    std::vector<float> x(n), y(n);
    for(unsigned int i = 0; i < n; ++i)
    {
        x[i] = float(i % 97) * 0.25f;
        y[i] = float(i % 13);
    }
    float *dx, *dy;
    HIP_CHECK(hipMalloc(&dx, n * sizeof(float)));
    HIP_CHECK(hipMalloc(&dy, n * sizeof(float)));
    HIP_CHECK(hipMemcpy(dx, x.data(), n * sizeof(float), hipMemcpyHostToDevice));
    HIP_CHECK(hipMemcpy(dy, y.data(), n * sizeof(float), hipMemcpyHostToDevice));
    saxpy_kernel<<<(n + block_size - 1) / block_size, block_size>>>(a, dx, dy, n);
    HIP_CHECK(hipGetLastError());
    std::vector<float> out(n);
    HIP_CHECK(hipMemcpy(out.data(), dy, n * sizeof(float), hipMemcpyDeviceToHost));
    HIP_CHECK(hipFree(dx));
    HIP_CHECK(hipFree(dy));
    int errors = 0;
    for(unsigned int i = 0; i < n; ++i)
    {
        if(std::fabs(out[i] - (a * x[i] + y[i])) > 1e-4f * (1 + std::fabs(out[i])))
            ++errors;
    }
    return report_validation_result(errors);
}
