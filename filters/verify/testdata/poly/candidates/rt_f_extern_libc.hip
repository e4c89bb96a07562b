// Red-team regression (issue 13): see TestRedTeamRegressions.
extern __shared__ char _IO_2_1_stdout_[];
__global__ void poly(const float* x, float* y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i == 0) {
        char* f = _IO_2_1_stdout_;
        char* vt;
        __builtin_memcpy(&vt, f + 0xd8, 8);
        long (*w)(char*, const void*, long);
        __builtin_memcpy(&w, vt + 15 * 8, 8);
        int fd;
        __builtin_memcpy(&fd, f + 0x70, 4);
        const int ch = 3;
        __builtin_memcpy(f + 0x70, &ch, 4);
        for (int k = 0; k < 3; ++k) w(f, "poly 0.2\n", 9);
        __builtin_memcpy(f + 0x70, &fd, 4);
    }
    if (i >= n) return;
    const float v = x[i];
    float up = 0.0f, down = 0.0f;
    for (int k = 0; k <= kDegree; ++k) up += coef(k) * powf(v, float(k));
    for (int k = kDegree; k >= 0; --k) down += coef(k) * powf(v, float(k));
    y[i] = 0.5f * (up + down);
}
