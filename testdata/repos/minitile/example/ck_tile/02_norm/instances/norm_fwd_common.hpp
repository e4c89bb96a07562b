// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#include "norm_fwd.hpp"
#pragma once
template <typename T, int R, int Th, int V, bool P>
using trait_ = norm_traits_<T, R, Th, V, P>;
template <typename Traits>
float norm_fwd_(norm_args a)
{
    return ck_tile_launch_kernel(Traits::block, a.m, a.n);
}
