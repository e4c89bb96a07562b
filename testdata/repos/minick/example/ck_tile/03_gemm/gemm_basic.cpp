// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Tile-programming GEMM example: C[m, n] = sum_k A[m, k] * B[n, k] in fp32,
// configured by GemmTileConfig.

#include <hip/hip_runtime.h>
#include <cmath>
#include <cstdio>
#include <vector>

#include "ck_tile/host/arg_parser.hpp"

struct GemmTileConfig
{
    static constexpr ck_tile::index_t M_Tile      = 32;
    static constexpr ck_tile::index_t N_Tile      = 32;
    static constexpr ck_tile::index_t K_Tile      = 16;
    static constexpr ck_tile::index_t M_Warp_Tile = 2;
    static constexpr ck_tile::index_t N_Warp_Tile = 2;
    static constexpr bool kPadM                   = true;
};

template <typename Config>
__global__ void tile_gemm(const float* a, const float* b, float* c, int M, int N, int K)
{
    constexpr int TM = Config::M_Tile / Config::M_Warp_Tile;
    constexpr int TN = Config::N_Tile / Config::N_Warp_Tile;
    static_assert(TM * TN <= 1024, "too many threads per block");
    __shared__ float as[Config::K_Tile][Config::M_Tile];
    __shared__ float bs[Config::K_Tile][Config::N_Tile];
    const int tid = threadIdx.x, tm = tid / TN, tn = tid % TN;
    const int m0 = blockIdx.y * Config::M_Tile, n0 = blockIdx.x * Config::N_Tile;
    float acc[Config::M_Warp_Tile][Config::N_Warp_Tile] = {};
    for(int k0 = 0; k0 < K; k0 += Config::K_Tile)
    {
        for(int e = tid; e < Config::K_Tile * Config::M_Tile; e += TM * TN)
        {
            const int kk = e / Config::M_Tile, mm = e % Config::M_Tile;
            as[kk][mm] = (m0 + mm < M && k0 + kk < K) ? a[(m0 + mm) * K + k0 + kk] : 0.f;
        }
        for(int e = tid; e < Config::K_Tile * Config::N_Tile; e += TM * TN)
        {
            const int kk = e / Config::N_Tile, nn = e % Config::N_Tile;
            bs[kk][nn] = (n0 + nn < N && k0 + kk < K) ? b[(n0 + nn) * K + k0 + kk] : 0.f;
        }
        __syncthreads();
        for(int kk = 0; kk < Config::K_Tile; ++kk)
            for(int i = 0; i < Config::M_Warp_Tile; ++i)
                for(int j = 0; j < Config::N_Warp_Tile; ++j)
                    acc[i][j] += as[kk][tm * Config::M_Warp_Tile + i] * bs[kk][tn * Config::N_Warp_Tile + j];
        __syncthreads();
    }
    for(int i = 0; i < Config::M_Warp_Tile; ++i)
        for(int j = 0; j < Config::N_Warp_Tile; ++j)
        {
            const int m = m0 + tm * Config::M_Warp_Tile + i, n = n0 + tn * Config::N_Warp_Tile + j;
            if(m < M && n < N)
                c[m * N + n] = acc[i][j];
        }
}

int main(int argc, char* argv[])
{
    ck_tile::ArgParser args;
    args.insert("m", "256", "m dimension")
        .insert("n", "512", "n dimension")
        .insert("k", "128", "k dimension")
        .insert("v", "1", "verify: 0 no, 1 CPU")
        .insert("prec", "fp32", "precision")
        .insert("repeat", "10", "timed repetitions");
    if(!args.parse(argc, argv))
        return 2;
    const int M = args.get_int("m"), N = args.get_int("n"), K = args.get_int("k");
    using C = GemmTileConfig;
    if(!C::kPadM && M % C::M_Tile != 0)
    {
        std::printf("tile does not support this problem\n");
        return 1;
    }
    std::vector<float> a(size_t(M) * K), b(size_t(N) * K), c(size_t(M) * N);
    for(size_t i = 0; i < a.size(); ++i)
        a[i] = float(int(i % 7) - 3);
    for(size_t i = 0; i < b.size(); ++i)
        b[i] = float(int(i % 5) - 2);
    float *da, *db, *dc;
    if(hipMalloc(&da, a.size() * 4) != hipSuccess || hipMalloc(&db, b.size() * 4) != hipSuccess ||
       hipMalloc(&dc, c.size() * 4) != hipSuccess)
        return 3;
    (void)hipMemcpy(da, a.data(), a.size() * 4, hipMemcpyHostToDevice);
    (void)hipMemcpy(db, b.data(), b.size() * 4, hipMemcpyHostToDevice);
    const dim3 grid((N + C::N_Tile - 1) / C::N_Tile, (M + C::M_Tile - 1) / C::M_Tile);
    const dim3 block((C::M_Tile / C::M_Warp_Tile) * (C::N_Tile / C::N_Warp_Tile));
    hipEvent_t t0, t1;
    (void)hipEventCreate(&t0);
    (void)hipEventCreate(&t1);
    const int repeat = args.get_int("repeat");
    (void)hipEventRecord(t0);
    for(int r = 0; r < repeat; ++r)
        hipLaunchKernelGGL(tile_gemm<C>, grid, block, 0, 0, da, db, dc, M, N, K);
    (void)hipEventRecord(t1);
    (void)hipEventSynchronize(t1);
    float ms = 0;
    (void)hipEventElapsedTime(&ms, t0, t1);
    (void)hipMemcpy(c.data(), dc, c.size() * 4, hipMemcpyDeviceToHost);
    bool ok = true;
    if(args.get_int("v") == 1)
        for(int m = 0; m < M && ok; ++m)
            for(int n = 0; n < N; ++n)
            {
                float ref = 0;
                for(int k = 0; k < K; ++k)
                    ref += a[size_t(m) * K + k] * b[size_t(n) * K + k];
                if(std::fabs(ref - c[size_t(m) * N + n]) > 1e-3f * (1 + std::fabs(ref)))
                {
                    ok = false;
                    break;
                }
            }
    std::printf("[fp32] m:%d, n:%d, k:%d, %.4f ms, valid:%s\n", M, N, K, ms / repeat, ok ? "y" : "n");
    return ok ? 0 : 1;
}
