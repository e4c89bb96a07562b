// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Includes a header that defines the build option's macro itself: whether
// its #ifdef is compiled is not the build option's to say.
#include "wide_on.hpp"
#include "../01_gemm/common.hpp"

using ADataType   = F16;
using BDataType   = F16;
using CDataType   = F16;
using AccDataType = F32;

using ALayout = Row;
using BLayout = Col;
using CLayout = Row;

using AElementOp = PassThrough;
using BElementOp = PassThrough;
using CElementOp = PassThrough;

static constexpr auto GemmDefault = ck::tensor_operation::device::GemmSpecialization::Default;

#ifdef KFORGE_FIXTURE_WIDE
using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 256, 64, 128, 16, 4, 4, S<4, 64>, 8>;
#endif

#include "../01_gemm/run_gemm_example.inc"

int main(int argc, char* argv[]) { return !run_gemm_example(argc, argv); }
