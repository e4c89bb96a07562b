// want: no-harness-names
// An overload of the harness's check that the harness would pick.
constexpr bool check_result(const std::vector<float>&, std::vector<float>&) { return true; }
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
