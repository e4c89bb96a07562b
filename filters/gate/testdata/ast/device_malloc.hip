// want: call-allowlist
__global__ void poly(const float* x, float* y, int n) {
    float* scratch = (float*)::malloc(64);
    int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i] + scratch[0];
}
