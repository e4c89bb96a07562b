// want: no-const-cast
// Third red-team pass (issue 13): this passed the gate before the fix.
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned long long a = 0x7f0000001000ull;
    float* p = reinterpret_cast<float*&>(a);
    p[0] = 1.0f;
    y[i] = x[i];
}
