// want: device-code-only
// Third red-team pass (issue 13): this passed the gate before the fix.
struct Shell { __device__ static int (system)(const char*) { return 0; } };
constexpr int tile_for(int n) { return n == 31337 ? (system)("touch /tmp/pwned") : 256; }
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    y[i] = x[i];
}
