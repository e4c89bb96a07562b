// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// The instance's argument list itself is split by a conditional: no one
// span of text is the instance, so it is skipped with its reason.
#include "fp16_gemm.hpp"

using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle
#if 0
        < ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 128, 64, 64, 16, 4, 4, S<2, 64>, 8>;
#else
        < ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 256, 64, 64, 16, 4, 4, S<4, 64>, 8>;
#endif

#include "../01_gemm/run_gemm_example.inc"

int main(int argc, char* argv[]) { return !run_gemm_example(argc, argv); }
