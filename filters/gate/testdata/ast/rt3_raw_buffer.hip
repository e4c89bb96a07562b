// want: ast-parse
// Third red-team pass (issue 13): this passed the gate before the fix.
typedef int v4i __attribute__((ext_vector_type(4)));
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    v4i rsrc = {0x1000, 0x7f, -1, 0x27000};
    __builtin_amdgcn_raw_buffer_store_b32(1u, rsrc, 0, 0, 0);
    y[i] = x[i];
}
