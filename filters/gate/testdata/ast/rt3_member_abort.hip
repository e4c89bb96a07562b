// want: call-allowlist
// Third red-team pass (issue 13): this passed the gate before the fix.
struct Q { __device__ void abort() const {} };
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) abort();
    y[i] = x[i];
}
