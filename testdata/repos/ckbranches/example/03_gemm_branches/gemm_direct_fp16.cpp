// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Two instances behind a switch the file sets itself: the first is
// compiled, the second never is; a third needs a build option not asked for.
#include "fp16_gemm.hpp"

#define USE_WIDE_TILE 1

#if USE_WIDE_TILE
// The compiled branch pads every dimension; the other pads none.
static constexpr auto GemmSpec = ck::tensor_operation::device::GemmSpecialization::MNKPadding;
using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmSpec, 256, 128, 64, 16, 4, 4, S<4, 64>, 8>;
#else
static constexpr auto GemmSpec = ck::tensor_operation::device::GemmSpecialization::Default;
using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmSpec, 128, 64, 64, 16, 4, 4, S<2, 64>, 8>;
#endif

#ifdef KFORGE_FIXTURE_WIDE
using DeviceGemmInstanceWide = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 256, 64, 128, 16, 4, 4, S<4, 64>, 8>;
#endif

#include "../01_gemm/run_gemm_example.inc"

int main(int argc, char* argv[])
{
#ifdef KFORGE_FIXTURE_WIDE
    if(!run_gemm<DeviceGemmInstanceWide>(ProblemSize{}, ExecutionConfig{}))
        return 1;
#endif
    return !run_gemm_example(argc, argv);
}
