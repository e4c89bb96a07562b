// want: no-const-cast
// Third red-team pass (issue 13): this passed the gate before the fix.
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float* w = __builtin_bit_cast(float*, x);
    float* q = __builtin_bit_cast(float*, 0x7f0000001000ull);
    w[i] = w[i] + 1.0f;
    y[i] = x[i] + q[0] * 0.0f;
}
