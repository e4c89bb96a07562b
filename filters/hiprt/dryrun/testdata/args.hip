// Fixture (d): a program that parses its arguments (-n N -b BLOCK) and
// refuses what it cannot parse.
#include <hip/hip_runtime.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

__global__ void square(const float* x, float* y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if(i < n)
        y[i] = x[i] * x[i];
}

static bool parse(const char* s, long* v)
{
    char* end;
    errno = 0;
    *v = std::strtol(s, &end, 10);
    return errno == 0 && *s != '\0' && *end == '\0' && *v > 0;
}

int main(int argc, char** argv)
{
    long n = 4096, block = 256;
    for(int i = 1; i < argc; ++i)
    {
        long* dst = std::strcmp(argv[i], "-n") == 0 ? &n : std::strcmp(argv[i], "-b") == 0 ? &block : nullptr;
        if(dst == nullptr || i + 1 >= argc)
        {
            std::fprintf(stderr, "unknown argument %s\nusage: %s [-n N] [-b BLOCK]\n", argv[i], argv[0]);
            return 2;
        }
        if(!parse(argv[i + 1], dst))
        {
            std::fprintf(stderr, "invalid value for %s: '%s'\n", argv[i], argv[i + 1]);
            return 2;
        }
        ++i;
    }
    std::vector<float> x(n, 2.0f), y(n);
    float *dx, *dy;
    hipMalloc(&dx, n * sizeof(float));
    hipMalloc(&dy, n * sizeof(float));
    hipMemcpy(dx, x.data(), n * sizeof(float), hipMemcpyHostToDevice);
    square<<<(n + block - 1) / block, block>>>(dx, dy, int(n));
    hipMemcpy(y.data(), dy, n * sizeof(float), hipMemcpyDeviceToHost);
    for(long i = 0; i < n; ++i)
        if(y[i] != 4.0f)
        {
            std::printf("FAIL\n");
            return 1;
        }
    std::printf("PASS\n");
    return 0;
}
