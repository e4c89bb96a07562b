// host_hip.h: the small part of the HIP runtime API that kforge's fixture
// programs use, implemented on the CPU, so the same program builds with a host
// C++ compiler (-DKFORGE_HOST) for the host-test backend. Kernels run
// serially, one thread at a time; __syncthreads and atomics are not provided.
// Events read the calling thread's CPU clock: kernels run on that thread, and
// time spent descheduled on a busy machine does not count.
#pragma once
#include <cstdlib>
#include <cstring>
#include <ctime>

#define __global__
#define __device__
#define __host__
#define __shared__
#define __forceinline__ inline
#define __launch_bounds__(...)

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

typedef int hipError_t;
enum { hipSuccess = 0, hipErrorOutOfMemory = 2 };
enum hipMemcpyKind { hipMemcpyHostToDevice, hipMemcpyDeviceToHost, hipMemcpyDeviceToDevice, hipMemcpyDefault };

inline const char* hipGetErrorString(hipError_t e) { return e == hipSuccess ? "hipSuccess" : "hipError"; }
template <class T> hipError_t hipMalloc(T** p, size_t n) {
  *p = static_cast<T*>(std::malloc(n));
  return *p ? hipSuccess : hipErrorOutOfMemory;
}
inline hipError_t hipFree(void* p) { std::free(p); return hipSuccess; }
inline hipError_t hipMemcpy(void* d, const void* s, size_t n, hipMemcpyKind) { std::memcpy(d, s, n); return hipSuccess; }
inline hipError_t hipMemset(void* d, int v, size_t n) { std::memset(d, v, n); return hipSuccess; }
inline hipError_t hipDeviceSynchronize() { return hipSuccess; }
inline hipError_t hipGetLastError() { return hipSuccess; }

struct kforge_event { double ms; };
inline double kforge_thread_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
typedef kforge_event* hipEvent_t;
inline hipError_t hipEventCreate(hipEvent_t* e) { *e = new kforge_event; return hipSuccess; }
inline hipError_t hipEventDestroy(hipEvent_t e) { delete e; return hipSuccess; }
inline hipError_t hipEventRecord(hipEvent_t e, int = 0) { e->ms = kforge_thread_ms(); return hipSuccess; }
inline hipError_t hipEventSynchronize(hipEvent_t) { return hipSuccess; }
inline hipError_t hipEventElapsedTime(float* ms, hipEvent_t a, hipEvent_t b) {
  *ms = float(b->ms - a->ms);
  return hipSuccess;
}

template <class F> void kforge_launch(dim3 g, dim3 b, F f) {
  gridDim = g;
  blockDim = b;
  for (unsigned bz = 0; bz < g.z; ++bz)
    for (unsigned by = 0; by < g.y; ++by)
      for (unsigned bx = 0; bx < g.x; ++bx)
        for (unsigned tz = 0; tz < b.z; ++tz)
          for (unsigned ty = 0; ty < b.y; ++ty)
            for (unsigned tx = 0; tx < b.x; ++tx) {
              blockIdx = dim3(bx, by, bz);
              threadIdx = dim3(tx, ty, tz);
              f();
            }
}
#define hipLaunchKernelGGL(kernel, grid, block, shmem, stream, ...) \
  kforge_launch(dim3(grid), dim3(block), [&] { kernel(__VA_ARGS__); })
