// Red-team regression (issue 13): see TestRedTeamRegressions.
__device__ float fast(float v)
{
    float acc = 0.0f;
    for (int k = kDegree; k >= 0; --k) acc = acc * v + coef(k);
    return acc;
}
template <class T>
__device__ void run(void (*k)(const float*, float*, int), const T& a, dim3 g, dim3 b)
{
    const float* x = std::get<0>(a);
    float* y = std::get<1>(a);
    const int n = std::get<2>(a);
    for (int i = 0; i < n; ++i) y[i] = fast(x[i]);
}
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = x[i];
    float up = 0.0f, down = 0.0f;
    for (int k = 0; k <= kDegree; ++k) up += coef(k) * powf(v, float(k));
    for (int k = kDegree; k >= 0; --k) down += coef(k) * powf(v, float(k));
    y[i] = 0.5f * (up + down);
}
