// want: no-const-cast
// Casting away const through void* (the cast inserts the const-dropping conversion).
__global__ void poly(const float* x, float* y, int n) { const int i = blockIdx.x * blockDim.x + threadIdx.x; if (i >= n) return; float* w = (float*)(void*)x; y[i] = x[i]; w[i] = x[i]; }
