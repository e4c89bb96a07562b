// want: statement-allowlist
__global__ void poly(const float* x, float* y, int n) { int* p = new int(3); int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i] + *p; delete p; }
