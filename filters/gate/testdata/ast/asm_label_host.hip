// want: no-asm
// A host function whose symbol takes over hipEventElapsedTime.
int fake_elapsed(float* ms, void*, void*) __asm__("hipEventElapsedTime");
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
