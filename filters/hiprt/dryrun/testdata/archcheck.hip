// Fixture (b): a program that runs only on gfx9 devices, checked on the
// host through hipGetDeviceProperties.
#include <hip/hip_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

__global__ void negate(const float* x, float* y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if(i < n)
        y[i] = -x[i];
}

int main(int argc, char** argv)
{
    int n = argc > 1 ? std::atoi(argv[1]) : 1024;
    hipDeviceProp_t prop;
    if(hipGetDeviceProperties(&prop, 0) != hipSuccess)
    {
        std::printf("no device\n");
        return 1;
    }
    if(std::strncmp(prop.gcnArchName, "gfx9", 4) != 0)
    {
        std::printf("device %s is not supported: this example needs a gfx9 GPU\n", prop.gcnArchName);
        return 1;
    }
    std::printf("device %s, %d CUs, warp %d\n", prop.gcnArchName, prop.multiProcessorCount, prop.warpSize);
    std::vector<float> x(n, 1.5f), y(n);
    float *dx, *dy;
    hipMalloc(&dx, n * sizeof(float));
    hipMalloc(&dy, n * sizeof(float));
    hipMemcpy(dx, x.data(), n * sizeof(float), hipMemcpyHostToDevice);
    hipLaunchKernelGGL(negate, dim3((n + 255) / 256), dim3(256), 0, 0, dx, dy, n);
    hipMemcpy(y.data(), dy, n * sizeof(float), hipMemcpyDeviceToHost);
    for(int i = 0; i < n; ++i)
        if(y[i] != -x[i])
        {
            std::printf("FAIL\n");
            return 1;
        }
    std::printf("PASS\n");
    return 0;
}
