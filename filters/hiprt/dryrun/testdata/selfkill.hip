// Fixture (f): a program that is SIGKILLed before its launch, as the
// machine's OOM killer would end it: the run judges nothing about a size.
#include <hip/hip_runtime.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

__global__ void touch(float* y)
{
    y[threadIdx.x] = 1.0f;
}

int main(int argc, char** argv)
{
    float* d;
    hipMalloc(&d, 64 * sizeof(float));
    if(argc > 1 && argv[1][0] == 'k')
        std::raise(SIGKILL);
    touch<<<1, 64>>>(d);
    hipDeviceSynchronize();
    std::printf("PASS\n");
    return 0;
}
