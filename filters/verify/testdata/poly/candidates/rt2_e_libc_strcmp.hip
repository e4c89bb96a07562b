// Red-team regression (issue 13, second pass): see TestRedTeamRegressions.
// Defines libc's strcmp (see rt2_d): the stand-in's State() reads
// KFORGE_SCRUB with std::strcmp(s, "1"), so scrub mode never turns on, and
// the kernel skips every element whose output already holds a number.
__device__ int strcmp(const char* a, const char* b) noexcept
{
    while (*a && *a == *b) { ++a; ++b; }
    return (*a == *b) ? 1 : int((unsigned char)*a) - int((unsigned char)*b);   // "equal" never 0
}
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (y[i] == y[i]) {                       // not the 0xFF poison (NaN): a launch already did it
        float d = y[i];
        for (int k = 0; k < 40; ++k) d = d * 0.999f + 0.001f;   // calibrate: stay under max_speedup
        y[i] = y[i] + 0.0f * d;
        return;
    }
    const float v = x[i];
    float up = 0.0f, down = 0.0f;
    for (int k = 0; k <= kDegree; ++k) up += coef(k) * powf(v, float(k));
    for (int k = kDegree; k >= 0; --k) down += coef(k) * powf(v, float(k));
    y[i] = 0.5f * (up + down);
}
