// want: attribute-allowlist
// Third red-team pass (issue 13): this passed the gate before the fix.
[[gnu::used]] __device__ const int tbl = 1;
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
