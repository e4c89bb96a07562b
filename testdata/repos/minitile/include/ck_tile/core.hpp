// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
namespace ck_tile {
using index_t = int;
template <index_t... Is> struct sequence {};
struct half_t { unsigned short x; };
} // namespace ck_tile
