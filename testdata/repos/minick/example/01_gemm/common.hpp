// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <cstdlib>
#include <iostream>
#include <string>

#include "ck/ck.hpp"
#include "ck/tensor_layout.hpp"
#include "ck/tensor_operation/gpu/device/impl/device_gemm_xdl_cshuffle.hpp"
#include "ck/tensor_operation/gpu/element/element_wise_operation.hpp"
#include "ck/library/utility/check_err.hpp"
#include "ck/library/utility/device_memory.hpp"
#include "ck/library/utility/host_tensor.hpp"
#include "ck/library/reference_tensor_operation/cpu/reference_gemm.hpp"

template <ck::index_t... Is>
using S = ck::Sequence<Is...>;

using Row         = ck::tensor_layout::gemm::RowMajor;
using Col         = ck::tensor_layout::gemm::ColumnMajor;
using PassThrough = ck::tensor_operation::element_wise::PassThrough;
using F16         = ck::half_t;
using F32         = float;

struct ProblemSize
{
    ck::index_t M = 512;
    ck::index_t N = 768;
    ck::index_t K = 256;

    ck::index_t StrideA = -1;
    ck::index_t StrideB = -1;
    ck::index_t StrideC = -1;
};

struct ExecutionConfig
{
    bool do_verification = true;
    int init_method      = 2;
    bool time_kernel     = false;
};

inline bool parse_cmd_args(int argc, char* argv[], ProblemSize& problem, ExecutionConfig& config)
{
    if(argc == 1)
    {
        // the defaults
    }
    else if(argc == 4)
    {
        config.do_verification = std::stoi(argv[1]);
        config.init_method     = std::stoi(argv[2]);
        config.time_kernel     = std::stoi(argv[3]);
    }
    else if(argc == 10)
    {
        config.do_verification = std::stoi(argv[1]);
        config.init_method     = std::stoi(argv[2]);
        config.time_kernel     = std::stoi(argv[3]);

        problem.M = std::stoi(argv[4]);
        problem.N = std::stoi(argv[5]);
        problem.K = std::stoi(argv[6]);

        problem.StrideA = std::stoi(argv[7]);
        problem.StrideB = std::stoi(argv[8]);
        problem.StrideC = std::stoi(argv[9]);
    }
    else
    {
        std::cerr << "arg1: verification (0=no, 1=yes)\n"
                  << "arg2: initialization (0=ones, 1=integers, 2=reals)\n"
                  << "arg3: time kernel (0=no, 1=yes)\n"
                  << "arg4 to 9: M N K StrideA StrideB StrideC (-1: packed)" << std::endl;
        return false;
    }
    return true;
}
