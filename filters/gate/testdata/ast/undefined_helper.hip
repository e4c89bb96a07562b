// want: call-allowlist
// A declaration with no definition binds to whatever the linker finds.
__device__ float helper(float);
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = helper(x[i]); }
