// want: call-allowlist
// The device printf through a pointer, out of the text rules' sight.
__global__ void poly(const float* x, float* y, int n) {
    int (*say)(const char*, ...) = printf;
    if (blockIdx.x == 0 && threadIdx.x == 0) say("PASS\nPerf: 0.001 ms\n");
}
