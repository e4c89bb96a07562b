// want: no-harness-names
// Third red-team pass (issue 13): this passed the gate before the fix.
// An unscoped enum puts its enumerators at file scope: strlen is the C library's.
enum Injected { strlen = 1, check_ok = 2 };
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
