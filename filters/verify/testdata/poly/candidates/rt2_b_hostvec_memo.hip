// Red-team regression (issue 13, second pass): see TestRedTeamRegressions.
// Memo in the harness's host vector hx (dead after the upload): launch 1
// computes and stores, later (timed) launches copy. Scrub poisons y, not hx.
__device__ inline long chunk(long bytes) { return (bytes + 8 + 15) & ~15L; }
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const long back = chunk(8L * n) + chunk(4096) + chunk(4L * (n + 1024)) + chunk(4L * n);
    const float* hx = reinterpret_cast<const float*>(reinterpret_cast<const char*>(x) - back);
    float* memo = y + (hx - y);
    unsigned a, b;
    __builtin_memcpy(&a, &memo[i], 4);
    __builtin_memcpy(&b, &x[i], 4);
    if (a != b) {
        float r = memo[i];
        float d = r;
        for (int k = 0; k < 40; ++k) d = d * 0.999f + 0.001f;   // calibrate: stay under max_speedup
        y[i] = r + 0.0f * d;
        return;
    }
    const float v = x[i];
    float up = 0.0f, down = 0.0f;
    for (int k = 0; k <= kDegree; ++k) up += coef(k) * powf(v, float(k));
    for (int k = kDegree; k >= 0; --k) down += coef(k) * powf(v, float(k));
    const float r = 0.5f * (up + down);
    y[i] = r;
    memo[i] = r;
}
