// want: no-harness-names
// The HIP headers declare ::max: a region overload would capture calls.
__device__ float max(float a, float b, float c) { return a > b ? a : b > c ? b : c; }
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = max(x[i], 0.0f, 1.0f); }
