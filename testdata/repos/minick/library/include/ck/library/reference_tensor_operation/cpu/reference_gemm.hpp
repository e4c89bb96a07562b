// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include "ck/library/utility/host_tensor.hpp"

namespace ck::tensor_operation::host {
// ReferenceGemm is the naive host GEMM the examples check against.
template <typename A, typename B, typename C, typename Acc, typename AOp, typename BOp, typename COp>
void ReferenceGemm(const HostMatrix<A>& a, const HostMatrix<B>& b, HostMatrix<C>& c, AOp a_op = {}, BOp b_op = {}, COp c_op = {})
{
    for(ck::index_t m = 0; m < c.rows; ++m)
        for(ck::index_t n = 0; n < c.cols; ++n)
        {
            Acc acc{0};
            for(ck::index_t k = 0; k < a.cols; ++k)
            {
                Acc x, y;
                a_op(x, a(m, k));
                b_op(y, b(k, n));
                acc += x * y;
            }
            c_op(c(m, n), acc);
        }
}
} // namespace ck::tensor_operation::host
