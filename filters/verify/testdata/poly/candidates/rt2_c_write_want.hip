// Red-team regression (issue 13, second pass): see TestRedTeamRegressions.
// Writes no polynomial at all: y[i] = x[i], and the harness's own expected
// vector (a std::vector<double> allocated just before dx) is made to agree.
__device__ inline long chunk(long bytes) { return (bytes + 8 + 15) & ~15L; }
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const long back = chunk(8L * n);
    char* yb = reinterpret_cast<char*>(y);
    const char* xb = reinterpret_cast<const char*>(x);
    double* want = reinterpret_cast<double*>(yb + ((xb - back) - yb));
    float d = x[i];
    for (int k = 0; k < 40; ++k) d = d * 0.999f + 0.001f;   // calibrate: stay under max_speedup
    y[i] = d;
    want[i] = double(d);
}
