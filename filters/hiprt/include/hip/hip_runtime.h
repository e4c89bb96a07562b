// kforge's HIP runtime stand-in for host-built programs (the host-test
// backend). The Host compile puts this directory first on the include path,
// so a program's plain #include <hip/hip_runtime.h> gets it: the small part
// of the HIP runtime API that honest programs use, implemented on the CPU.
// Kernels run serially, one thread at a time, in a child process forked
// for each launch; __syncthreads and atomics are not provided.
//
// It is owned by kforge and is the judge's, not the program's: a region may
// only hold device code (filters/gate), and the kernel runs where it can
// reach the device allocations and nothing else.
//  - Every hipMalloc allocation is a shared mapping filled with poison (0xFF
//    bytes: NaN for floats) and tracked, so no run sees memory left by an
//    earlier one.
//  - A launch runs in a child process: a kernel that walks the stack or the
//    heap from its pointers changes only its own copy of the program, never
//    the harness's buffers or this runtime's state.
//  - Every launch is timed here (the child's CPU time) and reported on
//    kforge's channel, a file named by KFORGE_CHANNEL that kforge alone
//    reads after the run: "<kernel> <ms>" per launch, "!<rule> <detail>"
//    for a failure. Nothing the program prints reaches it.
//  - With KFORGE_SCRUB=1, before each launch every allocation that a
//    non-const pointer argument points into is poisoned again (an output
//    already holding the answer does not help), and each launch's outputs
//    are hashed: a later launch with the same kernel, configuration,
//    arguments and argument contents must leave the same contents, or the
//    run ends with exit code 86 and a "!nondeterministic" line.
#pragma once
#ifndef KFORGE_HIPRT_STANDIN
#define KFORGE_HIPRT_STANDIN 1

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define __global__
#define __device__
#define __host__
// Hidden visibility: `extern __shared__ char environ[];` must not bind to a
// libc symbol (it fails to link instead); ignored on ordinary variables.
#define __shared__ __attribute__((visibility("hidden")))
#define __constant__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define HIP_KERNEL_NAME(...) __VA_ARGS__
#define HIP_SYMBOL(x) x

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
#define hipThreadIdx_x (threadIdx.x)
#define hipThreadIdx_y (threadIdx.y)
#define hipThreadIdx_z (threadIdx.z)
#define hipBlockIdx_x (blockIdx.x)
#define hipBlockIdx_y (blockIdx.y)
#define hipBlockIdx_z (blockIdx.z)
#define hipBlockDim_x (blockDim.x)
#define hipBlockDim_y (blockDim.y)
#define hipBlockDim_z (blockDim.z)
#define hipGridDim_x (gridDim.x)
#define hipGridDim_y (gridDim.y)
#define hipGridDim_z (gridDim.z)

template <class T> inline T __ldg(const T* p) { return *p; }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

enum hipError_t {
  hipSuccess = 0,
  hipErrorInvalidValue = 1,
  hipErrorOutOfMemory = 2,
  hipErrorInvalidDevice = 101,
  hipErrorInvalidDevicePointer = 17,
  hipErrorLaunchFailure = 719,
};
enum hipMemcpyKind { hipMemcpyHostToHost, hipMemcpyHostToDevice, hipMemcpyDeviceToHost, hipMemcpyDeviceToDevice, hipMemcpyDefault };
struct kforge_hiprt_stream;
typedef kforge_hiprt_stream* hipStream_t;

struct hipDeviceProp_t {
  char name[256];
  char gcnArchName[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t totalConstMem;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int clockRate;
  int memoryClockRate;
  int memoryBusWidth;
  int major;
  int minor;
  int multiProcessorCount;
  int l2CacheSize;
  int maxSharedMemoryPerMultiProcessor;
};

namespace kforge_hiprt {

// One allocation made by hipMalloc.
struct Alloc {
  uintptr_t base;
  size_t size;
};

struct State {
  std::map<uintptr_t, size_t> allocs;
  bool scrub = false;
  int channel = -1;
  unsigned long launches = 0;
  // kernelMs is the kernels' CPU time so far: events read it, so an
  // event pair times the kernels between them, as GPU events do.
  double kernelMs = 0;
  // forkMs is what an empty launch costs its child (copy-on-write faults,
  // exit), measured at the first launch and taken off every launch's time.
  double forkMs = -1;
  // Input hash of a launch -> (output hash, launch number).
  std::map<uint64_t, std::pair<uint64_t, unsigned long>> seen;
  State() {
    const char* s = std::getenv("KFORGE_SCRUB");
    scrub = s && std::strcmp(s, "1") == 0;
    if (const char* p = std::getenv("KFORGE_CHANNEL")) {
      if (*p) channel = ::open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
  }
};
inline State& state() {
  static State s;
  return s;
}

inline void emit(const std::string& line) {
  int fd = ::kforge_hiprt::state().channel;
  if (fd < 0) return;
  const char* p = line.data();
  size_t n = line.size();
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= size_t(w);
  }
}

constexpr unsigned char kPoison = 0xFF;

inline bool find(const void* p, Alloc* out) {
  auto& a = ::kforge_hiprt::state().allocs;
  uintptr_t u = reinterpret_cast<uintptr_t>(p);
  auto it = a.upper_bound(u);
  if (it == a.begin()) return false;
  --it;
  if (u < it->first || u >= it->first + (it->second ? it->second : 1)) return false;
  *out = Alloc{it->first, it->second};
  return true;
}

inline uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0x100000001b3ull;
}
inline uint64_t hashBytes(uint64_t h, const void* p, size_t n) {
  const unsigned char* b = static_cast<const unsigned char*>(p);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, b + i, 8);
    h = ::kforge_hiprt::mix(h, w);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, b + i, n - i);
  return ::kforge_hiprt::mix(::kforge_hiprt::mix(h, tail), n);
}


inline double childMs(const struct rusage& ru) {
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
}

// emptyLaunchMs is the median CPU time of a child that runs nothing.
inline double emptyLaunchMs() {
  std::vector<double> t;
  for (int i = 0; i < 7; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) return 0;
    if (pid == 0) ::_exit(0);
    int status = 0;
    struct rusage ru {};
    while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    t.push_back(::kforge_hiprt::childMs(ru));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// kernelName is the kernel's name from the launch expression:
// "HIP_KERNEL_NAME(ns::k<float, 4>)" and "&k" are "k".
inline std::string kernelName(const char* expr) {
  std::string s(expr);
  const std::string wrap = "HIP_KERNEL_NAME(";
  if (s.compare(0, wrap.size(), wrap) == 0) s = s.substr(wrap.size());
  size_t i = 0;
  while (i < s.size() && !(std::isalnum((unsigned char)s[i]) || s[i] == '_')) ++i;
  size_t j = i;
  while (j < s.size() && (std::isalnum((unsigned char)s[j]) || s[j] == '_' || s[j] == ':')) ++j;
  std::string name = s.substr(i, j - i);
  size_t c = name.rfind("::");
  if (c != std::string::npos) name = name.substr(c + 2);
  return name.empty() ? std::string("kernel") : name;
}

struct Arg {
  const void* ptr;
  bool pointer, output;
};

template <class T> void describe(const T& v, std::vector<Arg>* out, uint64_t* h) {
  if constexpr (std::is_pointer_v<T>) {
    out->push_back(Arg{static_cast<const void*>(v), true, !std::is_const_v<std::remove_pointer_t<T>>});
    *h = ::kforge_hiprt::mix(*h, uint64_t(reinterpret_cast<uintptr_t>(v)));
  } else {
    // Padding bytes may differ between launches: that only makes two
    // launches look different, never the same.
    *h = ::kforge_hiprt::hashBytes(*h, &v, sizeof(T));
  }
}

template <class F, class Tuple> void run(F* k, const Tuple& args, dim3 g, dim3 b) {
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
              std::apply(k, args);
            }
}

template <class... P, class... A>
void launch(const char* expr, void (*k)(P...), dim3 g, dim3 b, size_t shmem, A&&... a) {
  static_assert(sizeof...(P) == sizeof...(A), "hipLaunchKernelGGL: the number of arguments does not match the kernel's");
  State& s = ::kforge_hiprt::state();
  const std::string name = ::kforge_hiprt::kernelName(expr);
  std::tuple<std::decay_t<P>...> args{static_cast<std::decay_t<P>>(std::forward<A>(a))...};
  std::vector<Arg> desc;
  namespace rt = ::kforge_hiprt;
  uint64_t in = rt::hashBytes(0xcbf29ce484222325ull, name.data(), name.size());
  in = rt::mix(rt::mix(rt::mix(in, g.x), rt::mix(g.y, g.z)), rt::mix(rt::mix(b.x, b.y), rt::mix(b.z, shmem)));
  std::apply([&](const auto&... v) { (rt::describe(v, &desc, &in), ...); }, args);
  // The allocations the launch can reach through its pointer arguments.
  std::vector<Alloc> reach, outs;
  auto add = [](std::vector<Alloc>* v, Alloc x) {
    for (const Alloc& y : *v)
      if (y.base == x.base) return;
    v->push_back(x);
  };
  for (const Arg& d : desc) {
    Alloc al;
    if (d.pointer && rt::find(d.ptr, &al)) {
      add(&reach, al);
      if (d.output) add(&outs, al);
    }
  }
  if (s.scrub) {
    for (const Alloc& al : outs) std::memset(reinterpret_cast<void*>(al.base), kPoison, al.size);
    for (const Alloc& al : reach) in = rt::hashBytes(in, reinterpret_cast<const void*>(al.base), al.size);
  }
  const unsigned long n = ++s.launches;
  // Allocations reachable only through const pointers are the kernel's
  // inputs: a launch may not change them (a kernel that rewrites its input
  // can carry state from one launch to the next).
  std::vector<std::pair<Alloc, uint64_t>> inputs;
  for (const Alloc& al : reach) {
    bool written = false;
    for (const Alloc& o : outs) written = written || o.base == al.base;
    if (!written) inputs.emplace_back(al, rt::hashBytes(0, reinterpret_cast<const void*>(al.base), al.size));
  }
  const std::string report = name + " ";
  // The kernel runs in a child process: like a GPU kernel it reaches the
  // device allocations (shared mappings) and nothing of the program's own
  // state (its stack, the harness's host buffers, this runtime's tables).
  // Its time is the child's CPU time, read by the parent from the kernel.
  std::fflush(nullptr);
  if (s.forkMs < 0) s.forkMs = rt::emptyLaunchMs();
  const pid_t pid = ::fork();
  if (pid < 0) {
    rt::emit("!runtime fork failed for launch " + std::to_string(n) + " of " + report + "\n");
    ::_exit(86);
  }
  if (pid == 0) {
    rt::run(k, args, g, b);
    ::_exit(0);
  }
  int status = 0;
  struct rusage ru {};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    // A crash in the kernel is the program's crash, as on a GPU.
    std::signal(WTERMSIG(status), SIG_DFL);
    ::raise(WTERMSIG(status));
    ::_exit(128 + WTERMSIG(status));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    rt::emit("!kernel-exit launch " + std::to_string(n) + " of " + report + "ended its process\n");
    ::_exit(86);
  }
  const double ms = std::max(rt::childMs(ru) - s.forkMs, 1e-4);
  s.kernelMs += ms;
  for (const auto& in0 : inputs) {
    if (rt::hashBytes(0, reinterpret_cast<const void*>(in0.first.base), in0.first.size) != in0.second) {
      rt::emit("!input-modified launch " + std::to_string(n) + " of " + report + "wrote to memory it was given through const pointers\n");
      std::fflush(nullptr);
      ::_exit(86);
    }
  }
  char line[64];
  std::snprintf(line, sizeof line, "%.6f\n", ms);
  rt::emit(report + line);
  if (!s.scrub) return;
  uint64_t out = 0x84222325cbf29ce4ull;
  for (const Alloc& al : reach) out = rt::hashBytes(out, reinterpret_cast<const void*>(al.base), al.size);
  auto ins = s.seen.emplace(in, std::make_pair(out, n));
  if (!ins.second && ins.first->second.first != out) {
    std::snprintf(line, sizeof line, "%lu", ins.first->second.second);
    rt::emit("!nondeterministic launch " + std::to_string(n) + " of " + name + " left other results than launch " + line +
         " from the same inputs\n");
    std::fflush(nullptr);
    ::_exit(86);
  }
}

}  // namespace kforge_hiprt

#define hipLaunchKernelGGL(kernel, grid, block, shmem, stream, ...) \
  ::kforge_hiprt::launch(#kernel, kernel, dim3(grid), dim3(block), size_t(shmem), ##__VA_ARGS__)

inline const char* hipGetErrorString(hipError_t e) {
  switch (e) {
    case hipSuccess: return "hipSuccess";
    case hipErrorOutOfMemory: return "hipErrorOutOfMemory";
    case hipErrorInvalidValue: return "hipErrorInvalidValue";
    default: return "hipError";
  }
}
inline const char* hipGetErrorName(hipError_t e) { return hipGetErrorString(e); }

// Device memory is a shared mapping: the kernel runs in a child process
// (see launch) and what it writes here, and only here, reaches the program,
// as on a GPU.
template <class T> hipError_t hipMalloc(T** p, size_t n) {
  void* m = ::mmap(nullptr, n ? n : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return hipErrorOutOfMemory;
  std::memset(m, kforge_hiprt::kPoison, n);
  kforge_hiprt::state().allocs[reinterpret_cast<uintptr_t>(m)] = n;
  *p = static_cast<T*>(m);
  return hipSuccess;
}
inline hipError_t hipFree(void* p) {
  if (!p) return hipSuccess;
  auto& a = kforge_hiprt::state().allocs;
  auto it = a.find(reinterpret_cast<uintptr_t>(p));
  if (it == a.end()) return hipErrorInvalidDevicePointer;
  const size_t n = it->second;
  a.erase(it);
  ::munmap(p, n ? n : 1);
  return hipSuccess;
}
inline hipError_t hipMemcpy(void* d, const void* s, size_t n, hipMemcpyKind) {
  std::memmove(d, s, n);
  return hipSuccess;
}
inline hipError_t hipMemcpyAsync(void* d, const void* s, size_t n, hipMemcpyKind k, hipStream_t = nullptr) { return hipMemcpy(d, s, n, k); }
inline hipError_t hipMemset(void* d, int v, size_t n) {
  std::memset(d, v, n);
  return hipSuccess;
}
inline hipError_t hipMemsetAsync(void* d, int v, size_t n, hipStream_t = nullptr) { return hipMemset(d, v, n); }
template <class T>
hipError_t hipMemcpyToSymbol(T& symbol, const void* src, size_t n, size_t offset = 0, hipMemcpyKind = hipMemcpyHostToDevice) {
  if (offset + n > sizeof(T)) return hipErrorInvalidValue;
  std::memcpy(reinterpret_cast<char*>(&symbol) + offset, src, n);
  return hipSuccess;
}
template <class T>
hipError_t hipMemcpyFromSymbol(void* dst, const T& symbol, size_t n, size_t offset = 0, hipMemcpyKind = hipMemcpyDeviceToHost) {
  if (offset + n > sizeof(T)) return hipErrorInvalidValue;
  std::memcpy(dst, reinterpret_cast<const char*>(&symbol) + offset, n);
  return hipSuccess;
}
inline hipError_t hipDeviceSynchronize() { return hipSuccess; }
inline hipError_t hipDeviceReset() { return hipSuccess; }
inline hipError_t hipGetLastError() { return hipSuccess; }
inline hipError_t hipPeekAtLastError() { return hipSuccess; }
inline hipError_t hipGetDeviceCount(int* n) { *n = 1; return hipSuccess; }
inline hipError_t hipGetDevice(int* d) { *d = 0; return hipSuccess; }
inline hipError_t hipSetDevice(int d) { return d == 0 ? hipSuccess : hipErrorInvalidDevice; }
inline hipError_t hipGetDeviceProperties(hipDeviceProp_t* p, int d) {
  if (d != 0) return hipErrorInvalidDevice;
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "kforge host stand-in");
  std::snprintf(p->gcnArchName, sizeof p->gcnArchName, "host");
  p->totalGlobalMem = size_t(1) << 32;
  p->sharedMemPerBlock = 64 << 10;
  p->totalConstMem = 64 << 10;
  p->regsPerBlock = 65536;
  p->warpSize = 64;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = p->maxThreadsDim[1] = p->maxThreadsDim[2] = 1024;
  p->maxGridSize[0] = p->maxGridSize[1] = p->maxGridSize[2] = 1 << 30;
  p->clockRate = 1000000;
  p->memoryClockRate = 1000000;
  p->memoryBusWidth = 64;
  p->major = 9;
  p->multiProcessorCount = 1;
  p->l2CacheSize = 1 << 20;
  p->maxSharedMemoryPerMultiProcessor = 64 << 10;
  return hipSuccess;
}
inline hipError_t hipStreamCreate(hipStream_t* s) { *s = nullptr; return hipSuccess; }
inline hipError_t hipStreamDestroy(hipStream_t) { return hipSuccess; }
inline hipError_t hipStreamSynchronize(hipStream_t) { return hipSuccess; }

// Events read the calling thread's CPU clock: kernels run on that thread,
// and time spent descheduled on a busy machine does not count. (The
// program's own timing; kforge's is the channel's.)
struct kforge_hiprt_event { double ms; };
typedef kforge_hiprt_event* hipEvent_t;
inline hipError_t hipEventCreate(hipEvent_t* e) { *e = new kforge_hiprt_event{0}; return hipSuccess; }
inline hipError_t hipEventDestroy(hipEvent_t e) { delete e; return hipSuccess; }
inline hipError_t hipEventRecord(hipEvent_t e, hipStream_t = nullptr) { e->ms = kforge_hiprt::state().kernelMs; return hipSuccess; }
inline hipError_t hipEventSynchronize(hipEvent_t) { return hipSuccess; }
inline hipError_t hipEventElapsedTime(float* ms, hipEvent_t a, hipEvent_t b) {
  *ms = float(b->ms - a->ms);
  return hipSuccess;
}

#endif
