// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <hip/hip_runtime.h>

struct StreamConfig
{
    hipStream_t stream = nullptr;
    bool time_kernel   = false;
    int warmup         = 2;
    int repeat         = 10;
};
