// want: attribute-allowlist
// Third red-team pass (issue 13): this passed the gate before the fix.
[[gnu::weak]] __device__ float helperw(float v) { return v; }
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
