// want: no-device-globals
__device__ int g_done = 0;
__device__ int g_seen(5);
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
