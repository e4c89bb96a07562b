// Fixture (c): two kernels, of which main launches only one; a task whose
// region is the other is dead.
#include <hip/hip_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

__global__ void add_one(float* y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if(i < n)
        y[i] += 1.0f;
}

__global__ void add_two(float* y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if(i < n)
        y[i] += 2.0f;
}

int main(int argc, char** argv)
{
    int n = argc > 1 ? std::atoi(argv[1]) : 1024;
    std::vector<float> y(n, 0.0f);
    float* dy;
    hipMalloc(&dy, n * sizeof(float));
    hipMemcpy(dy, y.data(), n * sizeof(float), hipMemcpyHostToDevice);
    add_one<<<(n + 255) / 256, 256>>>(dy, n);
    hipDeviceSynchronize();
    hipMemcpy(y.data(), dy, n * sizeof(float), hipMemcpyDeviceToHost);
    for(int i = 0; i < n; ++i)
        if(y[i] != 1.0f)
        {
            std::printf("FAIL\n");
            return 1;
        }
    std::printf("PASS\n");
    return 0;
}
