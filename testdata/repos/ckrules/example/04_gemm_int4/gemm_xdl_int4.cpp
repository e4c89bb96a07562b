// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// The int4 variant: CMake builds it only with USE_BITINT_EXTENSION_INT4.
#include "ck/tensor_operation/gpu/device/impl/device_gemm_multiple_d_xdl.hpp"

using I4 = ck::int4_t;
using Row = ck::tensor_layout::gemm::RowMajor;
using Col = ck::tensor_layout::gemm::ColumnMajor;
using AddAdd = ck::tensor_operation::element_wise::AddAdd;
using PassThrough = ck::tensor_operation::element_wise::PassThrough;

static constexpr auto GemmDefault = ck::tensor_operation::device::GemmSpecialization::Default;

using DeviceOpInstance = ck::tensor_operation::device::DeviceGemmMultipleD_Xdl<Row, Col, ck::Tuple<Row, Row>, Row, I4, I4, float, ck::Tuple<I4, I4>, I4, PassThrough, PassThrough, AddAdd, GemmDefault, 256, 256, 128, 32, 8, 8, 8, 8, 8>;

int main(int argc, char* argv[])
{
    bool verify = true, time = false;
    int init = 1;
    ck::index_t M = 2048, N = 1024, K = 512;
    ck::index_t StrideA = 512, StrideB = 512, StrideD0 = 0, StrideD1 = 1024, StrideE = 1024;
    if(argc == 4)
    {
        verify = std::stoi(argv[1]);
        init   = std::stoi(argv[2]);
        time   = std::stoi(argv[3]);
    }
    else if(argc == 12)
    {
        verify = std::stoi(argv[1]);
        init   = std::stoi(argv[2]);
        time   = std::stoi(argv[3]);
        M = std::stoi(argv[4]);
        N = std::stoi(argv[5]);
        K = std::stoi(argv[6]);
        StrideA  = std::stoi(argv[7]);
        StrideB  = std::stoi(argv[8]);
        StrideD0 = std::stoi(argv[9]);
        StrideD1 = std::stoi(argv[10]);
        StrideE  = std::stoi(argv[11]);
    }
    return !run<DeviceOpInstance>(M, N, K, StrideA, StrideB, StrideD0, StrideD1, StrideE, verify, init, time);
}
