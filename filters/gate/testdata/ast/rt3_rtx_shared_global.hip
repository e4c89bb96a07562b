// want: no-device-globals
// Third red-team pass (issue 13): this passed the gate before the fix.
__shared__ float sbuf[16];
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
