// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#include "norm_fwd.hpp"

template <typename T, int R, int Th, int V, bool P>
using trait_ = norm_traits_<T, R, Th, V, P>;

template <typename T>
float norm_dispatch(norm_args a)
{
    float r = -1;
#if 1
    // clang-format off
    if(a.n <= 256) {
        if(a.n % 4 == 0)
            r = norm_fwd_<trait_<T, 1,  64, 4, true>>(a);
        else
            r = norm_fwd_<trait_<T, 4,  64, 1, true>>(a);
    }
    else if(a.n <= 1024) {
        if(a.n % 8 == 0)
            r = norm_fwd_<trait_<T, 1, 128, 8, true>>(a);
        else
            r = norm_fwd_<trait_<T, 4, 256, 1, true>>(a);
    }
    else if(a.n > 1024) {
        r = norm_fwd_<trait_<T, 2, 256, 8, true>>(a);
    }
    // clang-format on
#else
    if(a.n <= 99) {
        r = norm_fwd_<trait_<T, 1, 64, 1, true>>(a);
    }
#endif
    return r;
}

float norm_fwd(const char* prec, norm_args a)
{
    if(std::string(prec).compare("fp16") == 0)
        return norm_dispatch<ck_tile::half_t>(a);
    return -1;
}
