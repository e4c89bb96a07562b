// want: declaration-allowlist
// The runtime's reserved names (its printf internals) are not the region's to declare.
__device__ long __ockl_fprintf_stdout_begin();
__global__ void poly(const float* x, float* y, int n) { if (threadIdx.x == 0) __ockl_fprintf_stdout_begin(); }
