// want: ok
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = x[i];
    float acc = 0.0f;
    for (int k = 0; k <= kDegree; ++k) acc += coef(k) * powf(v, float(k));
    y[i] = acc;
}
