__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    // Spins forever: every input is below 1000.
    const volatile float* vx = x;
    while (vx[i] < 1000.0f) {}
    y[i] = vx[i];
}
