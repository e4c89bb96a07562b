// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Built only with USE_FIXTURE_WIDE, which defines the macro it tests: its
// task records that need and compiles with the macro defined.
#ifdef KFORGE_FIXTURE_WIDE
#include "fp16_gemm.hpp"

using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 256, 64, 128, 16, 4, 4, S<4, 64>, 8>;

#include "../01_gemm/run_gemm_example.inc"

int main(int argc, char* argv[]) { return !run_gemm_example(argc, argv); }
#endif
