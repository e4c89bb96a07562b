// want: no-device-globals
// A mutable device pointer set from a kernel: state between launches.
__device__ float* g_prev = nullptr;
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
