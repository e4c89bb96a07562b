__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    // Hands the work to a library.
    rocblas_saxpy(nullptr, n, nullptr, x, 1, y, 1);
}
