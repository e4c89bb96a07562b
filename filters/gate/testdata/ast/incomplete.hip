// want: ast-parse
// An incomplete declaration would swallow the harness after the region.
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
__device__ float f(float x)
