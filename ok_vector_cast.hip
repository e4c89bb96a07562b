// want: ok
// Honest: vectorised loads through a reinterpret_cast that keeps const.
__global__ void poly(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    float4* y4 = reinterpret_cast<float4*>(y);
    if (4 * i + 3 < n) { float4 v = x4[i]; y4[i] = v; }
    else for (int k = 4 * i; k < n; ++k) y[k] = x[k];
}
