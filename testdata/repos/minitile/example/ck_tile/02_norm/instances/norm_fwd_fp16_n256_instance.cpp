// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#include "norm_fwd_common.hpp"
template float norm_fwd_<trait_<ck_tile::half_t, 1, 64, 4, true>>(norm_args);
