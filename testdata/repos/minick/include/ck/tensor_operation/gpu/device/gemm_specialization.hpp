// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once

namespace ck::tensor_operation::device {
enum struct GemmSpecialization
{
    Default,
    MNKPadding,
};

inline const char* spec_name(GemmSpecialization s)
{
    return s == GemmSpecialization::Default ? "Default" : "MNKPadding";
}
} // namespace ck::tensor_operation::device
