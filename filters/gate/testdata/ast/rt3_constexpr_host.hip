// want: device-code-only
// Third red-team pass (issue 13): this passed the gate before the fix.
struct Sink { int v; };
constexpr int helper(int v) { return v == 123456 ? Sink{v}.v : v; }
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    y[i] = x[i] + float(helper(0));
}
