// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Image to column with tile aliases over sequence<>.
#include <cstdio>
#include "im2col.hpp"

float im2col_run(const ConvParam& cp)
{
    constexpr ck_tile::index_t NDimSpatial = 2;
    constexpr ck_tile::index_t VectorSize  = 4;

    using thread_tile = ck_tile::sequence<4, 4>;
    using block_tile  = ck_tile::sequence<64, 32>;

    using InDataType = ck_tile::half_t;
    using Kernel     = Im2Col<InDataType, NDimSpatial, VectorSize, thread_tile, block_tile>;
    return launch(Kernel{}, cp);
}

int main(int argc, char* argv[])
{
    RunConfig config;
    ConvParam cp = DefaultConvParams;
    if(!parse_args(argc, argv, config, cp))
        return 1;
    float ms = im2col_run(cp);
    std::printf("Perf: %.3f ms\nvalid:%s\n", ms, ms >= 0 ? "y" : "n");
    return 0;
}
