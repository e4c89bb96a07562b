// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Launches a kernel and never checks its result: no pass rule can be derived,
// so the miner skips it.

#include <hip/hip_runtime.h>

__global__ void fill(int* p) { p[threadIdx.x] = int(threadIdx.x); }

int main()
{
    int* p = nullptr;
    if(hipMalloc(&p, 64 * sizeof(int)) != hipSuccess)
        return 1;
    fill<<<1, 64>>>(p);
    return hipDeviceSynchronize() == hipSuccess ? 0 : 1;
}
