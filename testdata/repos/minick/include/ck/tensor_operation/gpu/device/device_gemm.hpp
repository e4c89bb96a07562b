// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <string>

namespace ck::tensor_operation::device {
// DeviceGemm is the interface every GEMM device op implements: only the
// problem (layouts, data types, element-wise ops) parameterises it.
template <typename ALayout,
          typename BLayout,
          typename CLayout,
          typename ADataType,
          typename BDataType,
          typename CDataType,
          typename AElementwiseOperation,
          typename BElementwiseOperation,
          typename CElementwiseOperation>
struct DeviceGemm
{
    virtual ~DeviceGemm()                      = default;
    virtual std::string GetTypeString() const = 0;
};
} // namespace ck::tensor_operation::device
