// want: ok
// Third red-team pass (issue 13): harmless; it must keep passing.
constexpr auto cl = [](int v) { return v + 1; };
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
