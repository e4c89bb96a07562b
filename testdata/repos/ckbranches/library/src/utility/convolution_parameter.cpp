// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#include "ck/library/utility/convolution_parameter.hpp"

namespace ck::utils::conv {
ConvParam::ConvParam(int n, int c, int k, std::vector<int> s) : N(n), C(c), K(k), spatial(std::move(s)) {}
long ConvParam::Flops() const
{
    long f = 2L * N * C * K;
    for(int x : spatial)
        f *= x;
    return f;
}
} // namespace ck::utils::conv
