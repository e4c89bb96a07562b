// Red-team regression (issue 13): see TestRedTeamRegressions.
struct Memo { mutable float y[16384]; mutable float x[16384]; mutable int ok[16384]; };
__device__ const Memo memo = {};
__device__ float slow(float v)
{
    float acc = 0.0f;
    for (int k = 0; k <= kDegree; ++k) acc += coef(k) * powf(v, float(k));
    return acc;
}
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = x[i];
    float w = 0.0f; for (int k = 0; k < 4; ++k) w += powf(v, float(k)); w *= 0.0f;
    if (i < 16384 && memo.ok[i] && memo.x[i] == v) { y[i] = memo.y[i] + w; return; }
    const float r = slow(v);
    if (i < 16384) { memo.x[i] = v; memo.y[i] = r; memo.ok[i] = 1; }
    y[i] = r;
}
