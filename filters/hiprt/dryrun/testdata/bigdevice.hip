// Fixture (e): a program whose device buffers are several times its host
// memory, as a GEMM's are when the host keeps one input at a time. It
// prints its resident memory after filling the device, so a test sees
// that device memory costs the host nothing.
#include <hip/hip_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

__global__ void scale(float* y, size_t n)
{
    size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
    if(i < n)
        y[i] *= 2.0f;
}

static long rss_mib()
{
    FILE* f = std::fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while(f && std::fgets(line, sizeof line, f))
        if(std::strncmp(line, "VmRSS:", 6) == 0)
            kb = std::atol(line + 6);
    if(f)
        std::fclose(f);
    return kb / 1024;
}

int main(int argc, char** argv)
{
    // host MiB, the count of device buffers, and their MiB (the host's).
    size_t host_mib = argc > 1 ? std::atol(argv[1]) : 64;
    int buffers     = argc > 2 ? std::atoi(argv[2]) : 8;
    size_t buf_mib  = argc > 3 ? std::atol(argv[3]) : host_mib;
    size_t n        = host_mib << 18; // floats
    size_t m        = buf_mib << 18;
    std::vector<float> h(n, 1.0f);
    std::vector<float*> d(buffers);
    for(int b = 0; b < buffers; ++b)
    {
        if(hipMalloc(&d[b], m * sizeof(float)) != hipSuccess)
        {
            std::printf("device out of memory at buffer %d\n", b);
            return 1;
        }
        hipMemcpy(d[b], h.data(), (n < m ? n : m) * sizeof(float), hipMemcpyHostToDevice);
        hipMemset(d[b], 0, m * sizeof(float));
    }
    size_t free_b = 0, total_b = 0;
    hipMemGetInfo(&free_b, &total_b);
    std::printf("rss %ld MiB, device used %zu MiB\n", rss_mib(), (total_b - free_b) >> 20);
    scale<<<(n + 255) / 256, 256>>>(d[0], n);
    hipMemcpy(h.data(), d[0], (n < m ? n : m) * sizeof(float), hipMemcpyDeviceToHost);
    // As on the device: freeing inside an allocation is an error, an
    // allocation past any size fails, and hipHostFree of device memory
    // frees it.
    if(hipFree(reinterpret_cast<char*>(d[0]) + 4096) != hipErrorInvalidValue)
    {
        std::printf("an interior pointer was freed\n");
        return 4;
    }
    void* huge = nullptr;
    if(hipMalloc(&huge, SIZE_MAX) == hipSuccess)
    {
        std::printf("SIZE_MAX bytes allocated\n");
        return 5;
    }
    for(int b = 0; b + 1 < buffers; ++b)
        hipFree(d[b]);
    hipHostFree(d[buffers - 1]);
    hipMemGetInfo(&free_b, &total_b);
    std::printf("after free: device used %zu MiB\n", (total_b - free_b) >> 20);
    return h[0] == 2.0f ? 0 : 3; // nothing ran: its own check fails
}
