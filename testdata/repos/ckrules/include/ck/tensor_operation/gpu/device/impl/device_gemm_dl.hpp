// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include "ck/host_utility/device_prop.hpp"

namespace ck::tensor_operation::device {

// A GEMM on the dot-product (DL) path: no matrix cores.
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
          index_t K1>
struct DeviceGemmDl
{
    template <typename Argument>
    static bool IsSupportedArgument(const Argument& arg)
    {
        if(ck::get_device_name() == "gfx906" || ck::is_gfx103_supported())
        {
            return arg.M % MPerBlock == 0 && arg.N % NPerBlock == 0 && arg.K % (K0PerBlock * K1) == 0;
        }
        return false;
    }
};
} // namespace ck::tensor_operation::device
