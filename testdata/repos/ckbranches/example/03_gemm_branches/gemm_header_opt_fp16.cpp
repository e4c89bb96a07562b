// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Includes a header that defines the build option's macro itself: whether
// its #ifdef is compiled is not the build option's to say.
#include "wide_on.hpp"
#include "fp16_gemm.hpp"

#ifdef KFORGE_FIXTURE_WIDE
using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 256, 64, 128, 16, 4, 4, S<4, 64>, 8>;
#endif

#include "../01_gemm/run_gemm_example.inc"

int main(int argc, char* argv[]) { return !run_gemm_example(argc, argv); }
