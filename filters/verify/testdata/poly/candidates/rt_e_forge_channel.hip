// Red-team regression (issue 13): see TestRedTeamRegressions.
__device__ void retitle()
{
    char* fp = static_cast<char*>(__builtin_frame_address(0));
    for (int off = 0; off < 16384; off += 8) {
        char* s = fp + off;
        char* p;
        unsigned long len;
        __builtin_memcpy(&p, s, 8);
        __builtin_memcpy(&len, s + 8, 8);
        if (p == s + 16 && len == 4 && s[16] == 'p' && s[17] == 'o' && s[18] == 'l' && s[19] == 'y' && s[20] == 0) {
            const char f[] = "poly 0.2\nx";
            for (int k = 0; k < 11; ++k) s[16 + k] = f[k];
            len = 10;
            __builtin_memcpy(s + 8, &len, 8);
            return;
        }
    }
}
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i == 0) retitle();
    if (i >= n) return;
    const float v = x[i];
    float up = 0.0f, down = 0.0f;
    for (int k = 0; k <= kDegree; ++k) up += coef(k) * powf(v, float(k));
    for (int k = kDegree; k >= 0; --k) down += coef(k) * powf(v, float(k));
    y[i] = 0.5f * (up + down);
}
