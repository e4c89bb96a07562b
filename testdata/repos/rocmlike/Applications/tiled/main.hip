// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Transposes a rows x cols matrix in 16 x 16 tiles. The kernel has a local
// named cols, like the option main declares; only main's reading counts.

#include "cmdparser.hpp"
#include "example_utils.hpp"

#include <hip/hip_runtime.h>

#include <vector>

constexpr unsigned int tile = 16;

__device__ float load_tile_value(const float* in, unsigned int i) { return in[i]; }

__global__ void transpose_tiled(const float* in, float* out, unsigned int rows)
{
    __shared__ float t[tile][tile + 1];
    const unsigned int cols = blockDim.x * gridDim.x;
    const unsigned int x    = blockIdx.x * tile + threadIdx.x;
    const unsigned int y    = blockIdx.y * tile + threadIdx.y;
    t[threadIdx.y][threadIdx.x] = load_tile_value(in, y * cols + x);
    __syncthreads();
    const unsigned int ox = blockIdx.y * tile + threadIdx.x;
    const unsigned int oy = blockIdx.x * tile + threadIdx.y;
    out[oy * rows + ox] = t[threadIdx.x][threadIdx.y];
}

__device__ float load_naive(const float* in, unsigned int i) { return in[i]; }

// An older version that main no longer launches.
__global__ void transpose_naive(const float* in, float* out, unsigned int rows, unsigned int cols)
{
    const unsigned int x = blockIdx.x * blockDim.x + threadIdx.x;
    const unsigned int y = blockIdx.y * blockDim.y + threadIdx.y;
    if(x < cols && y < rows)
        out[x * rows + y] = load_naive(in, y * cols + x);
}

int main(int argc, char* argv[])
{
    constexpr unsigned int rows = 48;
    constexpr unsigned int cols = 80;
    cli::Parser parser(argc, argv);
    parser.set_optional<unsigned int>("rows", "r", rows, "number of rows (a multiple of 16)");
    parser.set_optional<unsigned int>("cols", "c", cols, "number of columns (a multiple of 16)");
    if(!parser.run_and_exit_if_error())
        return error_exit_code;
    const unsigned int m = parser.get<unsigned int>("rows");
    const unsigned int n = parser.get<unsigned int>("cols");
    if(m % tile != 0 || n % tile != 0)
    {
        std::cout << "rows and cols must be multiples of " << tile << std::endl;
        return error_exit_code;
    }
    const unsigned int elements = m * n;
    std::vector<float> in(elements);
    for(unsigned int i = 0; i < elements; ++i)
        in[i] = float(i % 1000);
    float *din, *dout;
    HIP_CHECK(hipMalloc(&din, elements * sizeof(float)));
    HIP_CHECK(hipMalloc(&dout, elements * sizeof(float)));
    HIP_CHECK(hipMemcpy(din, in.data(), elements * sizeof(float), hipMemcpyHostToDevice));
    transpose_tiled<<<dim3(n / tile, m / tile), dim3(tile, tile)>>>(din, dout, m);
    HIP_CHECK(hipGetLastError());
    std::vector<float> out(elements);
    HIP_CHECK(hipMemcpy(out.data(), dout, elements * sizeof(float), hipMemcpyDeviceToHost));
    HIP_CHECK(hipFree(din));
    HIP_CHECK(hipFree(dout));
    int errors = 0;
    for(unsigned int y = 0; y < m; ++y)
        for(unsigned int x = 0; x < n; ++x)
            errors += out[x * m + y] != in[y * n + x];
    return report_validation_result(errors);
}
