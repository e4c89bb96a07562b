// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include "ck/ck.hpp"

namespace ck::tensor_operation::element_wise {
struct PassThrough
{
    template <typename Y, typename X>
    __host__ __device__ void operator()(Y& y, const X& x) const
    {
        y = static_cast<Y>(x);
    }
};

struct Relu
{
    template <typename Y, typename X>
    __host__ __device__ void operator()(Y& y, const X& x) const
    {
        y = x > X{0} ? static_cast<Y>(x) : Y{0};
    }
};
} // namespace ck::tensor_operation::element_wise
