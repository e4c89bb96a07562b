// want: attribute-allowlist
// A constructor in C++11 attribute spelling runs host code before main.
[[gnu::constructor]] __device__ void setup() {}
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
