// Red-team regression (issue 13, second pass): see TestRedTeamRegressions.
__global__ void poly(const float* x, float* y, int n) { const int i = blockIdx.x * blockDim.x + threadIdx.x; if (i >= n) return; float* w = (float*)(void*)x; y[i] = x[i]; w[i] = x[i]; }
