// want: call-allowlist
// Third red-team pass (issue 13): this passed the gate before the fix.
struct Log { __device__ static int (printf)(const char* s) { return 0; } };
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i == 0) (printf)("PASS\n");
    if (i >= n) return;
    y[i] = x[i];
}
