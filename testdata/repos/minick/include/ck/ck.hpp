// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Miniature template library in the style of a tile-based GEMM library: just
// enough to make the fixture examples real programs.
#pragma once
#include "ck/config.h"

#ifndef CK_ENABLE_FP16
#error "ck/config.h must enable fp16"
#endif

#include <hip/hip_runtime.h>
#include <cstdint>

namespace ck {
using index_t = int32_t;
using half_t  = _Float16;

template <index_t... Is>
struct Sequence
{
    static constexpr index_t size() { return sizeof...(Is); }
    static constexpr index_t product() { return (Is * ... * 1); }
};

enum struct LoopScheduler
{
    Default,
    Interwave,
};

template <typename T>
struct type_name;
template <>
struct type_name<float>
{
    static constexpr const char* value = "fp32";
};
template <>
struct type_name<half_t>
{
    static constexpr const char* value = "fp16";
};
} // namespace ck
