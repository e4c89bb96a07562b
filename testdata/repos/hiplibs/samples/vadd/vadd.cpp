// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Vector add, including the HIP runtime with quotes as hip-tests' samples do.
#include "hip/hip_runtime.h"
#include "hip_helper.h"
#include <vector>

__global__ void vadd(const float* a, const float* b, float* c, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if(i < n)
        c[i] = a[i] + b[i];
}

int main()
{
    const int n = 1 << 16;
    std::vector<float> a(n, 1.f), b(n, 2.f), c(n);
    float *da, *db, *dc;
    CHECK(hipMalloc(&da, n * 4));
    CHECK(hipMalloc(&db, n * 4));
    CHECK(hipMalloc(&dc, n * 4));
    CHECK(hipMemcpy(da, a.data(), n * 4, hipMemcpyHostToDevice));
    CHECK(hipMemcpy(db, b.data(), n * 4, hipMemcpyHostToDevice));
    hipLaunchKernelGGL(vadd, dim3(n / 256), dim3(256), 0, 0, da, db, dc, n);
    CHECK(hipMemcpy(c.data(), dc, n * 4, hipMemcpyDeviceToHost));
    int errors = 0;
    for(int i = 0; i < n; ++i)
        errors += c[i] != 3.f;
    if(errors != 0)
    {
        std::printf("FAILED: %d errors\n", errors);
        return 1;
    }
    std::printf("PASSED!\n");
    return 0;
}
