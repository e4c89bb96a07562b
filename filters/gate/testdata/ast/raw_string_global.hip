// want: no-device-globals
// A literal that confuses a lexer, then a device global it no longer sees.
__device__ const wchar_t* note() { return LR"(")"; }
__device__ float stash[1 << 16];
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) { y[i] = stash[i]; stash[i] = x[i]; } }
