// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include "ck/host_utility/device_prop.hpp"
#include "ck/tensor_operation/gpu/block/blockwise_sched.hpp"

namespace ck::tensor_operation::device {

// A GEMM whose K tile is K0PerBlock slices of K1 elements.
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
          index_t K0PerBlock,
          index_t K1,
          index_t ABlockTransferSrcScalarPerVector,
          index_t CShuffleBlockTransferScalarPerVector_NPerBlock>
struct DeviceGemmK0K1Xdl
{
    struct Argument
    {
        index_t M, N, K;
    };

    static bool IsSupportedArgument(const Argument& arg)
    {
        if(!ck::is_xdl_supported())
            return false;
        const bool m_ok = arg.M % MPerBlock == 0 || GemmSpec == GemmSpecialization::MNPadding;
        const bool n_ok = arg.N % NPerBlock == 0 || GemmSpec == GemmSpecialization::MNPadding;
        return m_ok && n_ok && arg.K % (K0PerBlock * K1) == 0;
    }
};
} // namespace ck::tensor_operation::device
