// Red-team regression (issue 13, second pass): see TestRedTeamRegressions.
__attribute__((host)) __device__ int strcmp(const char* a, const char* b) noexcept { return 1; }
__global__ void poly(const float* x, float* y, int n) { const int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
