// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// GEMM in fp32, all row-major, with a padding instance for any size.

#include "common.hpp"

using ADataType   = F32;
using BDataType   = F32;
using CDataType   = F32;
using AccDataType = F32;

using ALayout = Row;
using BLayout = Row;
using CLayout = Row;

using AElementOp = PassThrough;
using BElementOp = PassThrough;
using CElementOp = PassThrough;

static constexpr auto GemmDefault = ck::tensor_operation::device::GemmSpecialization::Default;
static constexpr auto GemmMNKPadding = ck::tensor_operation::device::GemmSpecialization::MNKPadding;

using DeviceGemmInstance0 = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 128, 64, 32, 16, 4, 4, S<2, 64>, 4>;

using DeviceGemmInstance1 = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<
    ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType,
    AElementOp, BElementOp, CElementOp, GemmMNKPadding,
    256,      // BlockSize
    128, 32,  // MPerBlock, NPerBlock
    8,        // KPerBlock
    4, 4,     // MPerThread, NPerThread
    S<2, 128>, 1>;

#if defined(CK_EXPERIMENTAL_FIXTURE)
// Experimental: only built when the configure step enables it.
using DeviceGemmInstance2 = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 64, 32, 32, 8, 4, 4, S<1, 64>, 4, ck::LoopScheduler::Interwave>;
#endif

using DeviceGemmInstance = DeviceGemmInstance1;

#include "run_gemm_example.inc"

int main(int argc, char* argv[])
{
    ProblemSize problem;
    ExecutionConfig config;
    if(!parse_cmd_args(argc, argv, problem, config))
        return 1;
    // Both instances run; the default one refuses sizes it cannot tile.
    const bool ok0 = run_gemm<DeviceGemmInstance0>(problem, config);
    const bool ok1 = run_gemm<DeviceGemmInstance>(problem, config);
    return !(ok0 && ok1);
}
