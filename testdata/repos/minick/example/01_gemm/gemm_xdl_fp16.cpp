// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// GEMM in fp16 with fp32 accumulation, A row-major, B column-major.

#include "common.hpp"

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

// The interface type: not an instance, never a task.
using BaseGemm = ck::tensor_operation::device::DeviceGemm<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AElementOp, BElementOp, CElementOp>;

// clang-format off
using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle
//######| ALayout| BLayout| CLayout| AData| BData| CData| AccData| A| B| C| GemmSpec| Block| MPer| NPer| KPer| MPer| NPer| ACluster| AVec|
//######|        |        |        |  Type|  Type|  Type|    Type| Op| Op| Op|        |  Size| Block| Block| Block| Thread| Thread| K_M| |
        < ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 256, 64, 64, 16, 4, 4, S<4, 64>, 8>;
// clang-format on

#include "run_gemm_example.inc"

int main(int argc, char* argv[]) { return !run_gemm_example(argc, argv); }
