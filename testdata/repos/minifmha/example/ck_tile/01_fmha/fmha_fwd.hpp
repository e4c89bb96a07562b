// kforge test fixture: a tiled "attention-lite" forward whose kernel
// instances a generator writes (generate.py) from a tile table.
#pragma once
#include <hip/hip_runtime.h>
#include <string>

struct fmha_fwd_traits
{
    std::string data_type;
    int hdim;
};

struct fmha_fwd_args
{
    const float* q;
    const float* k;
    float* o;
    int batch, nhead, seqlen_q, seqlen_k, hdim;
};

// o[bh][i] = sum_j q[bh][i] * k[bh][j] / seqlen_k, keys staged through LDS
// in steps of BN0; one thread per query row, BM0 rows per block.
template <typename T, int BM0, int BN0, int RM, int WM, bool kPadSK>
__global__ void fmha_fwd_tile_kernel(fmha_fwd_args a)
{
    static_assert(BM0 % (RM * WM) == 0, "block tile must be a multiple of warps x warp tile");
    static_assert(BM0 <= 1024 && BN0 <= 4096, "tile too large");
    __shared__ T ks[BN0];
    const int bh  = blockIdx.y;
    const int row = blockIdx.x * BM0 + threadIdx.x;
    const T* k    = a.k + static_cast<long>(bh) * a.seqlen_k;
    T q           = row < a.seqlen_q ? a.q[static_cast<long>(bh) * a.seqlen_q + row] : T(0);
    T acc         = 0;
    for(int j0 = 0; j0 < a.seqlen_k; j0 += BN0)
    {
        for(int j = threadIdx.x; j < BN0; j += BM0)
            ks[j] = (!kPadSK || j0 + j < a.seqlen_k) ? k[j0 + j] : T(0);
        __syncthreads();
        for(int j = 0; j < BN0; ++j)
            acc += q * ks[j];
        __syncthreads();
    }
    if(row < a.seqlen_q)
        a.o[static_cast<long>(bh) * a.seqlen_q + row] = acc / a.seqlen_k;
}

template <typename T, int BM0, int BN0, int RM, int WM, bool kPadSK>
float run_tile(const fmha_fwd_args& a)
{
    dim3 grid((a.seqlen_q + BM0 - 1) / BM0, a.batch * a.nhead);
    hipEvent_t start, stop;
    (void)hipEventCreate(&start);
    (void)hipEventCreate(&stop);
    (void)hipEventRecord(start, 0);
    hipLaunchKernelGGL((fmha_fwd_tile_kernel<T, BM0, BN0, RM, WM, kPadSK>), grid, dim3(BM0), 0, 0, a);
    (void)hipEventRecord(stop, 0);
    (void)hipEventSynchronize(stop);
    float ms = 0;
    (void)hipEventElapsedTime(&ms, start, stop);
    return ms;
}

float fmha_fwd(const fmha_fwd_traits& t, const fmha_fwd_args& a);
