// want: ok
// Third red-team pass (issue 13): harmless; it must keep passing.
struct NC { int v; }; __device__ const NC nc{};
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
