// want: declaration-allowlist
// Third red-team pass (issue 13): this passed the gate before the fix.
inline namespace z { __device__ float f2(float v) { return v; } }
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
