// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// The DL path: its device op accepts gfx906 and gfx103x only.
#include "ck/tensor_operation/gpu/device/impl/device_gemm_dl.hpp"

using F16 = ck::half_t;
using Row = ck::tensor_layout::gemm::RowMajor;
using PassThrough = ck::tensor_operation::element_wise::PassThrough;

static constexpr auto GemmDefault = ck::tensor_operation::device::GemmSpecialization::Default;

using DeviceGemmInstance = ck::tensor_operation::device::
    // ####| ALayout| BLayout| CLayout| AData| BData| CData| AccData|           A|           B|           C|        GEMM| Block| MPer| NPer| K0Per| K1|
    // ####|        |        |        |  Type|  Type|  Type|    Type| Elementwise| Elementwise| Elementwise| Specializ. |  Size| Block| Block| Block|   |
    DeviceGemmDl<       Row,      Row,      Row,   F16,   F16,   F16,   float, PassThrough, PassThrough, PassThrough, GemmDefault,   256,  128,  128,    16,  2>;

int main(int argc, char* argv[])
{
    bool verify = true, time = false;
    int init = 1;
    ck::index_t M = 1024, N = 1024, K = 1024;
    ck::index_t StrideA = 1024, StrideB = 1024, StrideC = 1024;
    if(argc == 10)
    {
        verify = std::stoi(argv[1]);
        init   = std::stoi(argv[2]);
        time   = std::stoi(argv[3]);
        M = std::stoi(argv[4]);
        N = std::stoi(argv[5]);
        K = std::stoi(argv[6]);
        StrideA = std::stoi(argv[7]);
        StrideB = std::stoi(argv[8]);
        StrideC = std::stoi(argv[9]);
    }
    return !run<DeviceGemmInstance>(M, N, K, StrideA, StrideB, StrideC, verify, init, time);
}
