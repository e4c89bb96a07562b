// want: ok
// Honest: a templated helper, a struct with device members, a lambda, std::min.
template <int Unroll>
struct Horner {
    __device__ static float eval(float v) {
        float acc = 0.0f;
        for (int k = kDegree; k >= 0; --k) acc = acc * v + coef(k);
        return acc;
    }
};
template <typename T>
__device__ inline T clampv(T v, T lo, T hi) { return v < lo ? lo : (v > hi ? hi : v); }
__global__ void poly(const float* x, float* y, int n)
{
    auto idx = [&]() { return int(blockIdx.x * blockDim.x + threadIdx.x); };
    const int i = idx();
    if (i >= n) return;
    y[i] = clampv(Horner<4>::eval(x[i]), -1e30f, 1e30f) + 0.0f * min(1.0f, 2.0f);
}
/// A doc comment clang attaches to the declaration (FullComment).
/** \brief Another one. */
__device__ inline float documented(float v) { return v; }
