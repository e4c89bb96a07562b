__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    // Skips the second half of the vector.
    if (i >= n / 2) return;
    float acc = 0.0f;
    for (int k = 0; k <= kDegree; ++k) acc += coef(k) * powf(x[i], float(k));
    y[i] = acc;
}
