// want: no-const-cast
// A pointer from an integer reaches memory the kernel was never given.
__global__ void poly(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float* w = reinterpret_cast<float*>(reinterpret_cast<unsigned long long>(x) + 4096);
    if (i < n) { y[i] = x[i]; w[0] = 1.0f; }
}
