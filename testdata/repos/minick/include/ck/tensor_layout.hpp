// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include "ck/ck.hpp"

namespace ck::tensor_layout::gemm {
struct RowMajor
{
    static constexpr const char* name = "Row";
    __host__ __device__ static constexpr index_t offset(index_t r, index_t c, index_t ld) { return r * ld + c; }
};
struct ColumnMajor
{
    static constexpr const char* name = "Col";
    __host__ __device__ static constexpr index_t offset(index_t r, index_t c, index_t ld) { return c * ld + r; }
};
} // namespace ck::tensor_layout::gemm
