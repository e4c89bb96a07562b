// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Row normalisation: the host API in instances/ picks a trait row by n.
#include <cstdio>
#include "ck_tile/host/arg_parser.hpp"
#include "norm_fwd.hpp"

int main(int argc, char* argv[])
{
    ck_tile::ArgParser p;
    p.insert("m", "2000", "rows").insert("n", "700", "row length").insert("v", "1", "verify").insert("prec", "fp16", "type");
    if(!p.parse(argc, argv))
        return -1;
    float ms = norm_fwd(p.get_str("prec").c_str(), norm_args{p.get_int("m"), p.get_int("n")});
    std::printf("%.3f us, valid:%s\n", ms * 1e3, ms >= 0 ? "y" : "n");
    return ms >= 0 ? 0 : 1;
}
