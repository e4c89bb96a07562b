// want: ok
// Honest: a constant table at file scope, a const helper value, __forceinline__.
const int kLanes = 64;
constexpr float kScale[2] = {1.0f, 0.5f};
__device__ __forceinline__ float scaled(float v) { return v * kScale[0]; }
__global__ void poly(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n && kLanes > 0) y[i] = scaled(x[i]); }
