// want: no-const-cast
__global__ void poly(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float* w = (float*)x;
    if (i < n) { y[i] = x[i]; w[i] = 0.0f; }
}
