// want: ok
// Third red-team pass (issue 13): harmless; it must keep passing.
struct D { int a = 0; long long t = 0; __device__ D() {} };
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
