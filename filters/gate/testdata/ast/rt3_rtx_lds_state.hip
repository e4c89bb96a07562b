// want: ok
// Third red-team pass (issue 13): reads shared memory before writing it; not decidable from the source (see README limits), so it passes the gate.
struct L { }; __device__ float rd(float* s) { return s[0]; }
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
