__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = x[i];
    // Horner's rule: one multiply-add per coefficient.
    float acc = coef(kDegree);
    for (int k = kDegree - 1; k >= 0; --k) acc = acc * v + coef(k);
    y[i] = acc;
}
