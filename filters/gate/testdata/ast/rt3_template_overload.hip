// want: signature
// Third red-team pass (issue 13): this passed the gate before the fix.
template <typename P>
__global__ void poly(P x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = 1.0f;
}
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i];
}
