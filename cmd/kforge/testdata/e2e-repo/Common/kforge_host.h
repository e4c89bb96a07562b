// kforge_host.h: runs the fixture programs on the CPU. With -DKFORGE_HOST the
// programs include this instead of <hip/hip_runtime.h>: device memory is host
// memory, a kernel launch is a loop over every block and thread, events read a
// steady clock. Only what the fixtures call is here.
#pragma once
#include <ctime>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#define __global__
#define __device__
#define __host__

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

// The launch loop sets these before each simulated thread runs.
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

typedef int hipError_t;
constexpr hipError_t hipSuccess = 0;
constexpr hipError_t hipErrorMemoryAllocation = 2;
enum hipMemcpyKind { hipMemcpyHostToDevice = 1, hipMemcpyDeviceToHost = 2 };

inline const char* hipGetErrorString(hipError_t e) { return e == hipSuccess ? "no error" : "host runtime error"; }
inline hipError_t hipGetLastError() { return hipSuccess; }
inline hipError_t hipDeviceSynchronize() { return hipSuccess; }

template <typename T>
hipError_t hipMalloc(T** ptr, std::size_t bytes) {
  *ptr = static_cast<T*>(std::malloc(bytes));
  return *ptr != nullptr ? hipSuccess : hipErrorMemoryAllocation;
}
inline hipError_t hipFree(void* ptr) {
  std::free(ptr);
  return hipSuccess;
}
inline hipError_t hipMemcpy(void* dst, const void* src, std::size_t bytes, hipMemcpyKind) {
  std::memcpy(dst, src, bytes);
  return hipSuccess;
}

// Events read this thread's CPU clock, not the wall clock: on a loaded
// machine (CI, a shared node) the time a run is descheduled is not the
// kernel's, and counting it makes the timings too noisy to rank candidates.
inline double kforge_host_now_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct kforge_host_event {
  double at = 0;
};
typedef kforge_host_event* hipEvent_t;
inline hipError_t hipEventCreate(hipEvent_t* e) {
  *e = new kforge_host_event{};
  return hipSuccess;
}
inline hipError_t hipEventDestroy(hipEvent_t e) {
  delete e;
  return hipSuccess;
}
inline hipError_t hipEventRecord(hipEvent_t e, int stream = 0) {
  (void)stream;
  e->at = kforge_host_now_ms();
  return hipSuccess;
}
inline hipError_t hipEventSynchronize(hipEvent_t) { return hipSuccess; }
inline hipError_t hipEventElapsedTime(float* ms, hipEvent_t from, hipEvent_t to) {
  *ms = static_cast<float>(to->at - from->at);
  return hipSuccess;
}

template <typename Body>
void kforge_host_launch(dim3 grid, dim3 block, Body body) {
  gridDim = grid;
  blockDim = block;
  for (unsigned b = 0; b < grid.x * grid.y * grid.z; ++b) {
    blockIdx = dim3(b % grid.x, (b / grid.x) % grid.y, b / (grid.x * grid.y));
    for (unsigned t = 0; t < block.x * block.y * block.z; ++t) {
      threadIdx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
      body();
    }
  }
}

#define hipLaunchKernelGGL(kernel, grid, block, shared_bytes, stream, ...) \
  kforge_host_launch(dim3(grid), dim3(block), [&]() { kernel(__VA_ARGS__); })
