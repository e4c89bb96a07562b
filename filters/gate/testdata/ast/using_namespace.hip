// want: declaration-allowlist
// A using-directive at file scope changes what the harness's calls resolve to.
using namespace std;
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
