// want: no-device-globals
// A host global: state that outlives a launch (and host code in its init).
float cache[1024];
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
