// want: device-code-only
// A host-device function in attribute spelling would be compiled for the host too.
__attribute__((host)) __device__ int twice(int v) { return 2 * v; }
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i] * twice(1); }
