// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <string>

namespace ck {
std::string get_device_name();

inline bool is_xdl_supported()
{
    return get_device_name() == "gfx908" || get_device_name() == "gfx90a" || get_device_name() == "gfx942";
}

inline bool is_gfx103_supported() { return get_device_name() == "gfx1030"; }
} // namespace ck
