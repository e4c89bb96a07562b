// Red-team regression (issue 13, second pass): see TestRedTeamRegressions.
// A __device__ function named like a C library function: in the AST check's
// namespace it is a new function; compiled at file scope it redeclares
// ::clock_gettime (extern "C") and so DEFINES libc's clock, which the
// stand-in's timing channel (threadMs) and events read. Each call advances a
// counter kept in untouched stack memory 1 MiB below the caller.
__device__ int clock_gettime(int id, struct timespec* ts) noexcept
{
    const unsigned long a = reinterpret_cast<unsigned long>(ts);
    char* base = reinterpret_cast<char*>(ts) - (a & ((1UL << 20) - 1)) - (1 << 20);
    volatile long* ctr = reinterpret_cast<volatile long*>(base);
    const long c = *ctr + 1;
    *ctr = c;
    long v[2] = {c / 3000, (c % 3000) * 333333};   // 0.333 ms per call
    __builtin_memcpy(ts, v, 16);
    return 0;
}
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = x[i];
    float up = 0.0f, down = 0.0f;
    for (int k = 0; k <= kDegree; ++k) up += coef(k) * powf(v, float(k));
    for (int k = kDegree; k >= 0; --k) down += coef(k) * powf(v, float(k));
    for (int k = 0; k < 9; ++k) up += 0.0f * powf(v, float(k));    // slower than the reference
    y[i] = 0.5f * (up + down);
}
