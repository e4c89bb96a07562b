// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Wave-matrix GEMM written in rocwmma fragments.
#include <hip/hip_runtime.h>
#include <rocwmma/rocwmma.hpp>
#include <cstdio>
#include <vector>

const int WM = 16;
const int WN = 16;
const int WK = 16;

__global__ void sgemm_wmma(int m, int n, int k, const float* a, const float* b, float* d)
{
    auto fa  = rocwmma::fragment<rocwmma::matrix_a, WM, WN, WK, float, rocwmma::row_major>();
    auto fb  = rocwmma::fragment<rocwmma::matrix_b, WM, WN, WK, float, rocwmma::col_major>();
    auto acc = rocwmma::fragment<rocwmma::accumulator, WM, WN, WK, float>();
    rocwmma::fill_fragment(acc, 0.0f);
    int row = blockIdx.x * WM, col = blockIdx.y * WN;
    for(int i = 0; i < k; i += WK)
    {
        rocwmma::load_matrix_sync(fa, a + row * k + i, k);
        rocwmma::load_matrix_sync(fb, b + i + col * k, k);
        rocwmma::mma_sync(acc, fa, fb, acc);
    }
    rocwmma::store_matrix_sync(d + row * n + col, acc, n);
}

int main()
{
    const int m = 256, n = 256, k = 256;
    std::vector<float> a(m * k, 1.f), b(k * n, 1.f), d(m * n);
    float *da, *db, *dd;
    if(hipMalloc(&da, a.size() * 4) != hipSuccess || hipMalloc(&db, b.size() * 4) != hipSuccess || hipMalloc(&dd, d.size() * 4) != hipSuccess)
        return 2;
    (void)hipMemcpy(da, a.data(), a.size() * 4, hipMemcpyHostToDevice);
    (void)hipMemcpy(db, b.data(), b.size() * 4, hipMemcpyHostToDevice);
    hipLaunchKernelGGL(sgemm_wmma, dim3(m / WM, n / WN), dim3(64), 0, 0, m, n, k, da, db, dd);
    (void)hipMemcpy(d.data(), dd, d.size() * 4, hipMemcpyDeviceToHost);
    for(float x : d)
        if(x != float(k))
        {
            std::printf("Validation failed\n");
            return 1;
        }
    std::printf("Validation passed\n");
    return 0;
}
