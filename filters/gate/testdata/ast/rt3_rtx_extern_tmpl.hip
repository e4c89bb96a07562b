// want: ast-parse
// Third red-team pass (issue 13): this passed the gate before the fix.
template <class T> __device__ T id(T v) { return v; } extern template float id<float>(float);
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }
