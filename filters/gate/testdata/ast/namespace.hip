// want: declaration-allowlist
namespace helpers { __device__ float twice(float v) { return 2 * v; } }
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
