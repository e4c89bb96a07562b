__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float acc = 0.0f;
    for (int k = 0; k <= kDegree; ++k) acc += coef(k) * powf(x[i], float(k));
    y[i] = acc;
    // Writes one element past the output.
    if (i == n - 1) y[n] = acc;
}
