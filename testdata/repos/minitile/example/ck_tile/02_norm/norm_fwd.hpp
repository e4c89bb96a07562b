// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include "ck_tile/core.hpp"
struct norm_args { int m; int n; };
template <typename T, int RepeatN, int Threads, int VecN, bool Pad>
struct norm_traits_ { static constexpr int block = RepeatN * Threads * VecN; };
template <typename Traits> float norm_fwd_(norm_args a);
float norm_fwd(const char* prec, norm_args a);
