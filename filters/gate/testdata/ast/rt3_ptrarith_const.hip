// want: call-allowlist
// Third red-team pass (issue 13): this passed the gate before the fix.
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float* w = y + (x - y);
    float* z;
    __builtin_memcpy(&z, &x, sizeof z);
    union { const float* c; float* m; } u;
    u.c = x;
    w[i] += 1.0f; z[i] += 1.0f; u.m[i] += 1.0f;
    y[i] = x[i];
}
