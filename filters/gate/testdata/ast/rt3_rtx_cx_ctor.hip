// want: device-code-only
// Third red-team pass (issue 13): this passed the gate before the fix.
struct E { int a; constexpr E(int v) : a(v) {} };
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
