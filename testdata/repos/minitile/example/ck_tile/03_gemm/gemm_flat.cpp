// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// GEMM whose tile, padding and pipeline choices are local declarations of main.
#include <cstdio>
#include "ck_tile/core.hpp"
#include "ck_tile/host/arg_parser.hpp"

template <typename Shape, bool PadM, typename Pipeline>
float run_gemm(int m, int n, int k);

int main(int argc, char* argv[])
{
    ck_tile::ArgParser p;
    p.insert("m", "512", "m").insert("n", "256", "n").insert("k", "128", "k").insert("v", "2", "verify").insert("prec", "fp16", "type");
    if(!p.parse(argc, argv))
        return -1;
    using a_layout = RowMajor;
    const int m = p.get_int("m");

    // padding
    constexpr bool kPadM = true;
    constexpr bool kPadN = false;

    constexpr ck_tile::index_t M_Tile = 64;
    constexpr ck_tile::index_t N_Tile = 32;
    constexpr ck_tile::index_t K_Tile = 16;

    constexpr ck_tile::index_t M_Warp_Tile = 16;
    using Shape    = GemmShape<ck_tile::sequence<M_Tile, N_Tile, K_Tile>, M_Warp_Tile>;
    using Problem  = GemmProblem<a_layout, Shape>;
    using Pipeline = GemmPipelineV1<Problem>;
    float ms = run_gemm<Shape, kPadM, Pipeline>(m, p.get_int("n"), p.get_int("k"));
    std::printf("Running time: %.3f ms\nThe CPU veification result is:correct\n", ms);
    return 0;
}
