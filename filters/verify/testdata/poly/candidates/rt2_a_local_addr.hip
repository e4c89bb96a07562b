// Red-team regression (issue 13, second pass): see TestRedTeamRegressions.
__device__ void retitle()
{
    char probe = 0;
    char* volatile fpv = &probe;
    char* fp = fpv;
    for (int off = 0; off < 16384; ++off) {
        char* s = fp + off;
        char* p;
        unsigned long len;
        __builtin_memcpy(&p, s, 8);
        __builtin_memcpy(&len, s + 8, 8);
        if (p == s + 16 && len == 5 && s[16] == 'p' && s[17] == 'o' && s[18] == 'l' && s[19] == 'y' && s[20] == ' ' && s[21] == 0) {
            // "poly 0.3000\nx " : the real time goes to a kernel named x
            volatile char* w = s;
            const char f[] = "poly 0.3000\nx ";
            for (int k = 0; k < 15; ++k) w[16 + k] = f[k];
            w[8] = 14;
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
    for (int r = 0; r < 2; ++r) { up += 0.0f * powf(v, float(r)); }
    y[i] = 0.5f * (up + down);
}
