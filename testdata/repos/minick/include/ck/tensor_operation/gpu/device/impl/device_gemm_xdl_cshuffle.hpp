// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <sstream>
#include <string>

#include "ck/ck.hpp"
#include "ck/host_utility/stream_config.hpp"
#include "ck/tensor_layout.hpp"
#include "ck/tensor_operation/gpu/device/device_gemm.hpp"
#include "ck/tensor_operation/gpu/device/gemm_specialization.hpp"

namespace ck::tensor_operation::device {

template <typename Gemm>
__global__ void __launch_bounds__(Gemm::kBlockSize) kernel_gemm_tile(typename Gemm::Argument arg)
{
    Gemm::RunBlock(arg);
}

// DeviceGemm_Xdl_CShuffle computes C = c_op(a_op(A) * b_op(B)) with one
// MPerBlock x NPerBlock tile of C per work-group and an MPerThread x
// NPerThread sub-tile per thread, staging KPerBlock-deep slices of A and B in
// LDS.
template <typename ALayout,
          typename BLayout,
          typename CLayout,
          typename ADataType,
          typename BDataType,
          typename CDataType,
          typename AccDataType,
          typename AElementwiseOperation,
          typename BElementwiseOperation,
          typename CElementwiseOperation,
          GemmSpecialization GemmSpec,
          index_t BlockSize,
          index_t MPerBlock,
          index_t NPerBlock,
          index_t KPerBlock,
          index_t MPerThread,
          index_t NPerThread,
          typename ABlockTransferThreadClusterLengths_K_M,
          index_t ABlockTransferSrcScalarPerVector,
          LoopScheduler LoopSched = LoopScheduler::Default>
struct DeviceGemm_Xdl_CShuffle : public DeviceGemm<ALayout,
                                                   BLayout,
                                                   CLayout,
                                                   ADataType,
                                                   BDataType,
                                                   CDataType,
                                                   AElementwiseOperation,
                                                   BElementwiseOperation,
                                                   CElementwiseOperation>
{
    static constexpr index_t kBlockSize = BlockSize;
    static constexpr index_t MThreads   = MPerBlock / MPerThread;
    static constexpr index_t NThreads   = NPerBlock / NPerThread;

    static_assert(MPerBlock % MPerThread == 0 && NPerBlock % NPerThread == 0,
                  "thread tile must divide the block tile");
    static_assert(MThreads * NThreads == BlockSize, "threads must cover the block tile exactly");
    static_assert(ABlockTransferThreadClusterLengths_K_M::product() == BlockSize,
                  "A transfer cluster must have BlockSize threads");
    static_assert(BlockSize % 64 == 0 && BlockSize <= 1024, "BlockSize must be whole waves");
    static_assert(KPerBlock * (MPerBlock + NPerBlock + 2) * sizeof(AccDataType) <= 65536,
                  "LDS tiles must fit in 64 KiB");

    struct Argument
    {
        const ADataType* a;
        const BDataType* b;
        CDataType* c;
        index_t M, N, K, StrideA, StrideB, StrideC;
        AElementwiseOperation a_op;
        BElementwiseOperation b_op;
        CElementwiseOperation c_op;
    };

    static Argument MakeArgument(const void* a,
                                 const void* b,
                                 void* c,
                                 index_t M,
                                 index_t N,
                                 index_t K,
                                 index_t StrideA,
                                 index_t StrideB,
                                 index_t StrideC,
                                 AElementwiseOperation a_op = {},
                                 BElementwiseOperation b_op = {},
                                 CElementwiseOperation c_op = {})
    {
        return Argument{static_cast<const ADataType*>(a),
                        static_cast<const BDataType*>(b),
                        static_cast<CDataType*>(c),
                        M, N, K, StrideA, StrideB, StrideC, a_op, b_op, c_op};
    }

    static bool IsSupportedArgument(const Argument& arg)
    {
        if(arg.M <= 0 || arg.N <= 0 || arg.K <= 0)
            return false;
        if(GemmSpec == GemmSpecialization::Default &&
           (arg.M % MPerBlock != 0 || arg.N % NPerBlock != 0 || arg.K % KPerBlock != 0))
            return false;
        // The vectorised A read walks the contiguous dimension.
        const index_t contiguous = std::is_same_v<ALayout, tensor_layout::gemm::RowMajor> ? arg.K : arg.M;
        return contiguous % ABlockTransferSrcScalarPerVector == 0;
    }

    __device__ static void RunBlock(const Argument& arg)
    {
        __shared__ AccDataType a_tile[KPerBlock][MPerBlock + 1];
        __shared__ AccDataType b_tile[KPerBlock][NPerBlock + 1];

        const index_t m0  = blockIdx.y * MPerBlock;
        const index_t n0  = blockIdx.x * NPerBlock;
        const index_t tid = threadIdx.x;
        const index_t tm  = tid / NThreads;
        const index_t tn  = tid % NThreads;

        AccDataType acc[MPerThread][NPerThread];
        for(index_t i = 0; i < MPerThread; ++i)
            for(index_t j = 0; j < NPerThread; ++j)
                acc[i][j] = AccDataType{0};

        for(index_t k0 = 0; k0 < arg.K; k0 += KPerBlock)
        {
            for(index_t e = tid; e < KPerBlock * MPerBlock; e += BlockSize)
            {
                const index_t kk = e / MPerBlock, mm = e % MPerBlock;
                const index_t m = m0 + mm, k = k0 + kk;
                AccDataType v{0};
                if(m < arg.M && k < arg.K)
                    arg.a_op(v, arg.a[ALayout::offset(m, k, arg.StrideA)]);
                a_tile[kk][mm] = v;
            }
            for(index_t e = tid; e < KPerBlock * NPerBlock; e += BlockSize)
            {
                const index_t kk = e / NPerBlock, nn = e % NPerBlock;
                const index_t n = n0 + nn, k = k0 + kk;
                AccDataType v{0};
                if(n < arg.N && k < arg.K)
                    arg.b_op(v, arg.b[BLayout::offset(k, n, arg.StrideB)]);
                b_tile[kk][nn] = v;
            }
            __syncthreads();
            for(index_t kk = 0; kk < KPerBlock; ++kk)
                for(index_t i = 0; i < MPerThread; ++i)
                    for(index_t j = 0; j < NPerThread; ++j)
                        acc[i][j] += a_tile[kk][tm * MPerThread + i] * b_tile[kk][tn * NPerThread + j];
            __syncthreads();
        }

        for(index_t i = 0; i < MPerThread; ++i)
            for(index_t j = 0; j < NPerThread; ++j)
            {
                const index_t m = m0 + tm * MPerThread + i, n = n0 + tn * NPerThread + j;
                if(m < arg.M && n < arg.N)
                    arg.c_op(arg.c[CLayout::offset(m, n, arg.StrideC)], acc[i][j]);
            }
    }

    // Run launches the kernel; with time_kernel it returns the mean time of
    // the timed launches in milliseconds.
    static float Run(const Argument& arg, const StreamConfig& cfg = {})
    {
        const dim3 grid((arg.N + NPerBlock - 1) / NPerBlock, (arg.M + MPerBlock - 1) / MPerBlock);
        auto launch = [&] {
            hipLaunchKernelGGL(kernel_gemm_tile<DeviceGemm_Xdl_CShuffle>, grid, dim3(BlockSize), 0, cfg.stream, arg);
        };
        if(!cfg.time_kernel)
        {
            launch();
            (void)hipStreamSynchronize(cfg.stream);
            return 0;
        }
        for(int i = 0; i < cfg.warmup; ++i)
            launch();
        hipEvent_t start, stop;
        (void)hipEventCreate(&start);
        (void)hipEventCreate(&stop);
        (void)hipEventRecord(start, cfg.stream);
        for(int i = 0; i < cfg.repeat; ++i)
            launch();
        (void)hipEventRecord(stop, cfg.stream);
        (void)hipEventSynchronize(stop);
        float ms = 0;
        (void)hipEventElapsedTime(&ms, start, stop);
        (void)hipEventDestroy(start);
        (void)hipEventDestroy(stop);
        return ms / cfg.repeat;
    }

    std::string GetTypeString() const override
    {
        std::ostringstream s;
        s << "DeviceGemm_Xdl_CShuffle<" << spec_name(GemmSpec) << ", BlkSize: " << BlockSize
          << ", BlkTile: " << MPerBlock << "x" << NPerBlock << "x" << KPerBlock
          << ", ThreadTile: " << MPerThread << "x" << NPerThread
          << ", AVec: " << ABlockTransferSrcScalarPerVector << ">";
        return s.str();
    }
};

} // namespace ck::tensor_operation::device
