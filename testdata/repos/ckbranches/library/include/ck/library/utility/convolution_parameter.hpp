// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Convolution parameters, declared here and defined in
// library/src/utility/convolution_parameter.cpp (a program that uses them
// links that source).
#pragma once
#include <vector>

namespace ck::utils::conv {
struct ConvParam
{
    ConvParam(int n, int c, int k, std::vector<int> spatial);
    int N, C, K;
    std::vector<int> spatial;
    long Flops() const;
};
} // namespace ck::utils::conv
