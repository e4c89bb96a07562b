// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once

namespace ck {
template <int Mfmas>
struct BlockSched
{
    __device__ static void Run()
    {
        // interleave: one MFMA group, then one LDS read group
        __builtin_amdgcn_sched_group_barrier(0x008, Mfmas, 0);
        __builtin_amdgcn_sched_group_barrier(0x100, 1, 0);
    }
};

#if CK_FIXTURE_EXPERIMENTAL_IGLP
template <int Opt>
__device__ void iglp() { __builtin_amdgcn_iglp_opt(Opt); }
#endif
} // namespace ck
