// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include "ck_tile/core.hpp"
// ndim, G, N, K, C, filter, input, strides, dilations, left pads, right pads
#define DefaultConvParams \
    ConvParam { 2, 2, 4, 8, 16, {3, 3}, {20, 20}, {1, 1}, {1, 1}, {0, 0}, {0, 0} }
struct RunConfig { bool verify = true; int init = 1; bool time = false; };
inline bool parse_args(int argc, char* argv[], RunConfig& config, ConvParam& cp)
{
    constexpr int num_exec_args = 3;
    constexpr int partial       = 1 + num_exec_args;
    constexpr int all_args      = partial + 5;
    if(argc == 1)
        return true;
    if(argc == partial)
    {
        config.verify = std::stoi(argv[1]);
        config.init   = std::stoi(argv[2]);
        config.time   = std::stoi(argv[3]);
        return true;
    }
    if(all_args < argc && ((argc - all_args) % 3 == 0))
    {
        config.verify = std::stoi(argv[1]);
        config.init   = std::stoi(argv[2]);
        config.time   = std::stoi(argv[3]);
        const int num_dim_spatial = std::stoi(argv[4]);
        cp = parse_conv_param(num_dim_spatial, partial + 1, argv);
        return true;
    }
    return false;
}
