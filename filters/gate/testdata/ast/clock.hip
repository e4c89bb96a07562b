// want: call-allowlist
// Reading the clock lets a kernel tell timed launches from checked ones.
__global__ void poly(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = (wall_clock64() & 1) ? x[i] : 0.0f;
}
