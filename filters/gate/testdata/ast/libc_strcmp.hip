// want: no-harness-names
// Compiled at file scope this would be the C library's strcmp for the
// whole program (kforge's runtime reads its settings with it).
__device__ int strcmp(const char*, const char*) { return 1; }
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
