// want: call-allowlist
// Third red-team pass (issue 13): this passed the gate before the fix.
struct Tag { __device__ long long clock64() const { return 0; } __device__ long long wall_clock64() const { return 0; } };
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    long long t0 = wall_clock64();
    long long t1 = clock64();
    y[i] = x[i] + 0.0f * float(t0 + t1);
}
