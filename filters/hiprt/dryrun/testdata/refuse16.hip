// Fixture (a): a tiled copy whose host side refuses problems whose sizes
// are not multiples of its tile (16), as Composable Kernel's examples do.
#include <hip/hip_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

__global__ void tile16_scale(const float* x, float* y, int m, int n)
{
    int i = blockIdx.y * 16 + threadIdx.y;
    int j = blockIdx.x * 16 + threadIdx.x;
    y[i * n + j] = 3.0f * x[i * n + j];
}

int main(int argc, char** argv)
{
    if(argc != 3)
    {
        std::printf("usage: %s M N\n", argv[0]);
        return 2;
    }
    int m = std::atoi(argv[1]), n = std::atoi(argv[2]);
    if(m <= 0 || n <= 0 || m % 16 != 0 || n % 16 != 0)
    {
        std::printf("wrong! device_op with the specified compilation parameters does not support this problem\n");
        return 1;
    }
    std::vector<float> x(size_t(m) * n), y(x.size());
    for(size_t i = 0; i < x.size(); ++i)
        x[i] = float(i % 7);
    float *dx, *dy;
    if(hipMalloc(&dx, x.size() * sizeof(float)) != hipSuccess || hipMalloc(&dy, y.size() * sizeof(float)) != hipSuccess)
        return 3;
    hipMemcpy(dx, x.data(), x.size() * sizeof(float), hipMemcpyHostToDevice);
    tile16_scale<<<dim3(n / 16, m / 16), dim3(16, 16)>>>(dx, dy, m, n);
    hipMemcpy(y.data(), dy, y.size() * sizeof(float), hipMemcpyDeviceToHost);
    for(size_t i = 0; i < x.size(); ++i)
        if(y[i] != 3.0f * x[i])
        {
            std::printf("FAIL at %zu\n", i);
            return 1;
        }
    std::printf("PASS\n");
    return 0;
}
