// kforge's dry-run HIP runtime: a stand-in for libamdhip64.so.5 that lets a
// program built by hipcc run its host side on a machine without a GPU.
//
// Kernels are never run: a launch is recorded
// (its kernel's name appended to the file named by KFORGE_DRYRUN_CHANNEL)
// and succeeds. Device properties are those of the target named by
// KFORGE_DRYRUN_ARCH (default gfx90a). Events and streams do nothing and
// time nothing. When KFORGE_DRYRUN_STOP names kernels ("*" for any), the
// process ends (exit 0) right after the first launch of one of them: the
// program's host side accepted the problem and reached the region, and what
// follows (its own result check, which must fail since nothing ran) is not
// judged.
//
// Device memory is the target's (hipMemGetInfo, and hipMalloc fails past
// it) and costs the host nothing: each allocation is a shared anonymous
// mapping that nothing touches, since copies into device memory go
// nowhere, copies out of it read zeros and memsets on it do nothing (no
// kernel ever reads or writes it). The run's host limit is a data-segment
// limit (RLIMIT_DATA, private memory only), so it bounds the host side as
// on a GPU, where device buffers are not host memory either.
//
// Channel lines: "register <mangled>\t<demangled>", "launch <mangled>\t<demangled>",
// "stop <mangled>", and "unsupported <api>" for an API this runtime only
// pretends to serve.
#include <hip/hip_runtime_api.h>

#include <cxxabi.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

std::mutex mu;
std::map<const void*, std::string>& kernels() {
  static std::map<const void*, std::string> m;
  return m;
}
thread_local hipError_t last_error = hipSuccess;

struct Config {
  dim3 grid, block;
  size_t shared;
  hipStream_t stream;
};
thread_local std::vector<Config> configs;

void channel(const char* fmt, ...) {
  const char* path = std::getenv("KFORGE_DRYRUN_CHANNEL");
  if (!path || !*path) return;
  FILE* f = std::fopen(path, "a");
  if (!f) return;
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(f, fmt, ap);
  va_end(ap);
  std::fputc('\n', f);
  std::fclose(f);
}

std::string demangle(const std::string& s) {
  int status = 0;
  char* d = abi::__cxa_demangle(s.c_str(), nullptr, nullptr, &status);
  if (status != 0 || !d) return s;
  std::string out(d);
  std::free(d);
  return out;
}

bool ident(char c) { return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// stops reports whether a launch of name ends the run (KFORGE_DRYRUN_STOP).
bool stops(const std::string& mangled, const std::string& pretty) {
  const char* env = std::getenv("KFORGE_DRYRUN_STOP");
  if (!env || !*env) return false;
  std::string list(env);
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string want = list.substr(pos, comma - pos);
    pos = comma + 1;
    if (want.empty()) continue;
    if (want == "*" || want == mangled) return true;
    // The kernel's own name, as a whole identifier of the demangled name.
    for (size_t i = pretty.find(want); i != std::string::npos; i = pretty.find(want, i + 1)) {
      bool before = i == 0 || !ident(pretty[i - 1]);
      size_t end = i + want.size();
      bool after = end >= pretty.size() || !ident(pretty[end]);
      if (before && after) return true;
    }
  }
  return false;
}

void launched(const void* fn) {
  std::string name;
  {
    std::lock_guard<std::mutex> l(mu);
    auto it = kernels().find(fn);
    name = it == kernels().end() ? std::string("<unregistered>") : it->second;
  }
  std::string pretty = demangle(name);
  channel("launch %s\t%s", name.c_str(), pretty.c_str());
  if (stops(name, pretty)) {
    channel("stop %s", name.c_str());
    std::fflush(nullptr);
    _exit(0);
  }
}

struct Target {
  const char* arch;     // gcnArchName prefix
  const char* name;
  int cus, warp, gcn, major, minor;
  size_t lds, mem;
};

const Target targets[] = {
    {"gfx90a", "AMD Instinct MI210 (kforge dry run)", 104, 64, 910, 9, 0, 65536, size_t(64) << 30},
    {"gfx908", "AMD Instinct MI100 (kforge dry run)", 120, 64, 908, 9, 0, 65536, size_t(32) << 30},
    {"gfx940", "AMD Instinct MI300 (kforge dry run)", 228, 64, 940, 9, 4, 65536, size_t(128) << 30},
    {"gfx941", "AMD Instinct MI300X (kforge dry run)", 304, 64, 941, 9, 4, 65536, size_t(192) << 30},
    {"gfx942", "AMD Instinct MI300X (kforge dry run)", 304, 64, 942, 9, 4, 65536, size_t(192) << 30},
    {"gfx1100", "AMD Radeon RX 7900 XTX (kforge dry run)", 96, 32, 1100, 11, 0, 65536, size_t(24) << 30},
};

std::string arch_name() {
  const char* a = std::getenv("KFORGE_DRYRUN_ARCH");
  std::string s = a && *a ? a : "gfx90a";
  if (s.find(':') == std::string::npos && s.rfind("gfx9", 0) == 0) s += ":sramecc+:xnack-";
  return s;
}

const Target& target() {
  std::string a = arch_name();
  std::string base = a.substr(0, a.find(':'));
  for (const Target& t : targets)
    if (base == t.arch) return t;
  return targets[0];
}

void fill(hipDeviceProp_t* p) {
  const Target& t = target();
  std::memset(p, 0, sizeof(*p));
  std::snprintf(p->name, sizeof(p->name), "%s", t.name);
  std::snprintf(p->gcnArchName, sizeof(p->gcnArchName), "%s", arch_name().c_str());
  p->totalGlobalMem = t.mem;
  p->sharedMemPerBlock = t.lds;
  p->regsPerBlock = 65536;
  p->warpSize = t.warp;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = p->maxThreadsDim[1] = p->maxThreadsDim[2] = 1024;
  p->maxGridSize[0] = 2147483647;
  p->maxGridSize[1] = p->maxGridSize[2] = 65536;
  p->clockRate = 1700000;
  p->memoryClockRate = 1600000;
  p->memoryBusWidth = 4096;
  p->totalConstMem = 2147483647;
  p->major = t.major;
  p->minor = t.minor;
  p->multiProcessorCount = t.cus;
  p->l2CacheSize = 8 << 20;
  p->maxThreadsPerMultiProcessor = 2048;
  p->clockInstructionRate = 1000000;
  p->concurrentKernels = 1;
  p->maxSharedMemoryPerMultiProcessor = t.lds;
  p->canMapHostMemory = 1;
  p->gcnArch = t.gcn;
  p->cooperativeLaunch = 1;
  p->cooperativeMultiDeviceLaunch = 1;
  p->maxTexture1DLinear = 1 << 27;
  p->maxTexture1D = 16384;
  p->maxTexture2D[0] = p->maxTexture2D[1] = 16384;
  p->maxTexture3D[0] = p->maxTexture3D[1] = p->maxTexture3D[2] = 16384;
  p->memPitch = 2147483647;
  p->textureAlignment = 256;
  p->texturePitchAlignment = 256;
  p->ECCEnabled = 1;
  p->isLargeBar = 1;
  p->managedMemory = 1;
  p->arch.hasGlobalInt32Atomics = 1;
  p->arch.hasGlobalFloatAtomicExch = 1;
  p->arch.hasSharedInt32Atomics = 1;
  p->arch.hasSharedFloatAtomicExch = 1;
  p->arch.hasFloatAtomicAdd = 1;
  p->arch.hasGlobalInt64Atomics = 1;
  p->arch.hasSharedInt64Atomics = 1;
  p->arch.hasDoubles = 1;
  p->arch.hasWarpVote = 1;
  p->arch.hasWarpBallot = 1;
  p->arch.hasWarpShuffle = 1;
  p->arch.hasFunnelShift = 1;
  p->arch.hasThreadFenceSystem = 1;
  p->arch.hasSyncThreadsExt = 1;
  p->arch.hasDynamicParallelism = 0;
  p->arch.has3dGrid = 1;
}

void* alloc(size_t n) {
  size_t sz = (n + 255) / 256 * 256;
  if (sz == 0) sz = 256;
  void* p = std::aligned_alloc(256, sz);
  if (p) std::memset(p, 0, sz < 4096 ? sz : 4096);
  return p;
}

// Device allocations: start address to mapped length.
std::map<uintptr_t, size_t>& device() {
  static std::map<uintptr_t, size_t> m;
  return m;
}
size_t device_used = 0;

void* dalloc(size_t n) {
  if (n > target().mem) return nullptr;  // and no overflow rounding up
  size_t sz = (n + 4095) / 4096 * 4096;
  if (sz == 0) sz = 4096;
  std::lock_guard<std::mutex> l(mu);
  if (device_used + sz > target().mem) return nullptr;
  void* p = mmap(nullptr, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  device()[reinterpret_cast<uintptr_t>(p)] = sz;
  device_used += sz;
  return p;
}

bool on_device(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> l(mu);
  auto it = device().upper_bound(a);
  if (it == device().begin()) return false;
  --it;
  return a < it->first + it->second;
}

// dfree frees a device allocation: hipSuccess, or hipErrorInvalidValue for
// a pointer inside one that is not its start; false for host memory.
bool dfree(void* p, hipError_t* e) {
  std::lock_guard<std::mutex> l(mu);
  *e = hipSuccess;
  auto it = device().find(reinterpret_cast<uintptr_t>(p));
  if (it == device().end()) {
    auto in = device().upper_bound(reinterpret_cast<uintptr_t>(p));
    if (in != device().begin()) {
      --in;
      if (reinterpret_cast<uintptr_t>(p) < in->first + in->second) {
        *e = hipErrorInvalidValue;
        return true;
      }
    }
    return false;
  }
  munmap(p, it->second);
  device_used -= it->second;
  device().erase(it);
  return true;
}

// copy moves n bytes as a copy between host and device would land: into
// device memory nothing lands, out of it come zeros.
void copy(void* dst, const void* src, size_t n) {
  if (n == 0 || dst == src || on_device(dst)) return;
  if (on_device(src)) {
    std::memset(dst, 0, n);
    return;
  }
  std::memmove(dst, src, n);
}

void set(void* p, int v, size_t n) {
  if (!on_device(p)) std::memset(p, v, n);
}

hipError_t ret(hipError_t e) {
  if (e != hipSuccess) last_error = e;
  return e;
}

}  // namespace

extern "C" {

// Registration and launch (what hipcc's generated code calls).
void** __hipRegisterFatBinary(const void*) {
  static void* handle[1] = {nullptr};
  return handle;
}
void __hipUnregisterFatBinary(void**) {}
void __hipRegisterFunction(void**, const void* hostFunction, char* deviceFunction, const char*, unsigned int,
                           void*, void*, void*, void*, int*) {
  std::string name = deviceFunction ? deviceFunction : "";
  {
    std::lock_guard<std::mutex> l(mu);
    kernels()[hostFunction] = name;
  }
  channel("register %s\t%s", name.c_str(), demangle(name).c_str());
}
void __hipRegisterVar(void**, void* var, char*, const char*, int, size_t, int, int) { (void)var; }
void __hipRegisterManagedVar(void*, void** pointer, void* init_value, const char*, size_t size, unsigned align) {
  void* p = alloc(size ? size : 1);
  (void)align;
  if (p && init_value) std::memcpy(p, init_value, size);
  *pointer = p;
}
void __hipRegisterSurface(void**, void*, char*, const char*, int, int) {}
void __hipRegisterTexture(void**, void*, char*, const char*, int, int, int) {}

hipError_t __hipPushCallConfiguration(dim3 grid, dim3 block, size_t shared, hipStream_t stream) {
  configs.push_back(Config{grid, block, shared, stream});
  return hipSuccess;
}
hipError_t __hipPopCallConfiguration(dim3* grid, dim3* block, size_t* shared, hipStream_t* stream) {
  if (configs.empty()) return ret(hipErrorInvalidConfiguration);
  Config c = configs.back();
  configs.pop_back();
  *grid = c.grid;
  *block = c.block;
  *shared = c.shared;
  *stream = c.stream;
  return hipSuccess;
}
hipError_t hipLaunchKernel(const void* fn, dim3, dim3, void**, size_t, hipStream_t) {
  launched(fn);
  return hipSuccess;
}
hipError_t hipLaunchCooperativeKernel(const void* fn, dim3, dim3, void**, unsigned int, hipStream_t) {
  launched(fn);
  return hipSuccess;
}
hipError_t hipExtLaunchKernel(const void* fn, dim3, dim3, void**, size_t, hipStream_t, hipEvent_t, hipEvent_t, int) {
  launched(fn);
  return hipSuccess;
}

// Devices.
hipError_t hipGetDeviceCount(int* n) { *n = 1; return hipSuccess; }
hipError_t hipGetDevice(int* d) { *d = 0; return hipSuccess; }
hipError_t hipSetDevice(int d) { return d == 0 ? hipSuccess : ret(hipErrorInvalidDevice); }
hipError_t hipSetDeviceFlags(unsigned) { return hipSuccess; }
hipError_t hipGetDeviceFlags(unsigned* f) { *f = 0; return hipSuccess; }
hipError_t hipDeviceReset() { return hipSuccess; }
hipError_t hipDeviceSynchronize() { return hipSuccess; }
hipError_t hipInit(unsigned) { return hipSuccess; }
hipError_t hipDriverGetVersion(int* v) { *v = 50221153; return hipSuccess; }
hipError_t hipRuntimeGetVersion(int* v) { *v = 50221153; return hipSuccess; }
hipError_t hipGetDeviceProperties(hipDeviceProp_t* p, int d) {
  if (d != 0) return ret(hipErrorInvalidDevice);
  fill(p);
  return hipSuccess;
}
hipError_t hipDeviceGetName(char* name, int len, int d) {
  if (d != 0) return ret(hipErrorInvalidDevice);
  std::snprintf(name, len, "%s", target().name);
  return hipSuccess;
}
hipError_t hipDeviceGet(hipDevice_t* dev, int ord) { *dev = ord; return ord == 0 ? hipSuccess : ret(hipErrorInvalidDevice); }
hipError_t hipDeviceComputeCapability(int* major, int* minor, hipDevice_t) {
  *major = target().major;
  *minor = target().minor;
  return hipSuccess;
}
hipError_t hipDeviceTotalMem(size_t* b, hipDevice_t) { *b = target().mem; return hipSuccess; }
hipError_t hipChooseDevice(int* d, const hipDeviceProp_t*) { *d = 0; return hipSuccess; }
hipError_t hipDeviceGetAttribute(int* v, hipDeviceAttribute_t a, int d) {
  if (d != 0) return ret(hipErrorInvalidDevice);
  hipDeviceProp_t p;
  fill(&p);
  switch (a) {
    case hipDeviceAttributeMaxThreadsPerBlock: *v = p.maxThreadsPerBlock; break;
    case hipDeviceAttributeMaxBlockDimX: case hipDeviceAttributeMaxBlockDimY: case hipDeviceAttributeMaxBlockDimZ: *v = 1024; break;
    case hipDeviceAttributeMaxGridDimX: *v = p.maxGridSize[0]; break;
    case hipDeviceAttributeMaxGridDimY: case hipDeviceAttributeMaxGridDimZ: *v = p.maxGridSize[1]; break;
    case hipDeviceAttributeMaxSharedMemoryPerBlock: *v = int(p.sharedMemPerBlock); break;
    case hipDeviceAttributeSharedMemPerBlockOptin: *v = int(p.sharedMemPerBlock); break;
    case hipDeviceAttributeMaxSharedMemoryPerMultiprocessor: *v = int(p.maxSharedMemoryPerMultiProcessor); break;
    case hipDeviceAttributeWarpSize: *v = p.warpSize; break;
    case hipDeviceAttributeMaxRegistersPerBlock: *v = p.regsPerBlock; break;
    case hipDeviceAttributeClockRate: *v = p.clockRate; break;
    case hipDeviceAttributeMemoryClockRate: *v = p.memoryClockRate; break;
    case hipDeviceAttributeMemoryBusWidth: *v = p.memoryBusWidth; break;
    case hipDeviceAttributeMultiprocessorCount: *v = p.multiProcessorCount; break;
    case hipDeviceAttributeComputeCapabilityMajor: *v = p.major; break;
    case hipDeviceAttributeComputeCapabilityMinor: *v = p.minor; break;
    case hipDeviceAttributeL2CacheSize: *v = p.l2CacheSize; break;
    case hipDeviceAttributeMaxThreadsPerMultiProcessor: *v = p.maxThreadsPerMultiProcessor; break;
    case hipDeviceAttributeConcurrentKernels: *v = 1; break;
    case hipDeviceAttributeCooperativeLaunch: *v = 1; break;
    case hipDeviceAttributeManagedMemory: *v = 1; break;
    case hipDeviceAttributeIntegrated: *v = 0; break;
    case hipDeviceAttributeEccEnabled: *v = 1; break;
    case hipDeviceAttributeTotalConstantMemory: *v = int(p.totalConstMem); break;
    default: *v = 0; break;
  }
  return hipSuccess;
}
hipError_t hipDeviceSetCacheConfig(hipFuncCache_t) { return hipSuccess; }
hipError_t hipDeviceGetCacheConfig(hipFuncCache_t* c) { *c = hipFuncCachePreferNone; return hipSuccess; }
hipError_t hipDeviceSetSharedMemConfig(hipSharedMemConfig) { return hipSuccess; }
hipError_t hipDeviceGetLimit(size_t* v, enum hipLimit_t) { *v = 0; return hipSuccess; }
hipError_t hipDeviceCanAccessPeer(int* can, int, int) { *can = 0; return hipSuccess; }
hipError_t hipDeviceEnablePeerAccess(int, unsigned) { return hipSuccess; }
hipError_t hipDeviceDisablePeerAccess(int) { return hipSuccess; }
hipError_t hipFuncGetAttributes(hipFuncAttributes* a, const void*) {
  std::memset(a, 0, sizeof(*a));
  a->maxThreadsPerBlock = 1024;
  a->numRegs = 64;
  a->binaryVersion = target().major * 10 + target().minor;
  a->ptxVersion = a->binaryVersion;
  return hipSuccess;
}
hipError_t hipFuncSetAttribute(const void*, hipFuncAttribute, int) { return hipSuccess; }
hipError_t hipFuncSetCacheConfig(const void*, hipFuncCache_t) { return hipSuccess; }
hipError_t hipFuncSetSharedMemConfig(const void*, hipSharedMemConfig) { return hipSuccess; }
hipError_t hipOccupancyMaxActiveBlocksPerMultiprocessor(int* n, const void*, int block, size_t) {
  *n = block > 0 ? (2048 / block > 0 ? 2048 / block : 1) : 1;
  return hipSuccess;
}
hipError_t hipOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* n, const void* f, int block, size_t s, unsigned) {
  return hipOccupancyMaxActiveBlocksPerMultiprocessor(n, f, block, s);
}
hipError_t hipOccupancyMaxPotentialBlockSize(int* grid, int* block, const void*, size_t, int limit) {
  *block = limit > 0 && limit < 1024 ? limit : 1024;
  *grid = target().cus * 2;
  return hipSuccess;
}

// Errors.
hipError_t hipGetLastError() {
  hipError_t e = last_error;
  last_error = hipSuccess;
  return e;
}
hipError_t hipPeekAtLastError() { return last_error; }
const char* hipGetErrorName(hipError_t e) {
  switch (e) {
    case hipSuccess: return "hipSuccess";
    case hipErrorOutOfMemory: return "hipErrorOutOfMemory";
    case hipErrorInvalidValue: return "hipErrorInvalidValue";
    case hipErrorInvalidDevice: return "hipErrorInvalidDevice";
    default: return "hipErrorUnknown";
  }
}
const char* hipGetErrorString(hipError_t e) { return hipGetErrorName(e); }

// Memory: device memory is host memory.
hipError_t hipMalloc(void** p, size_t n) {
  *p = dalloc(n);
  return *p ? hipSuccess : ret(hipErrorOutOfMemory);
}
hipError_t hipExtMallocWithFlags(void** p, size_t n, unsigned) { return hipMalloc(p, n); }
hipError_t hipMallocAsync(void** p, size_t n, hipStream_t) { return hipMalloc(p, n); }
// Host and managed memory: the host side reads and writes it.
hipError_t hipHostMalloc(void** p, size_t n, unsigned) {
  *p = alloc(n);
  return *p ? hipSuccess : ret(hipErrorOutOfMemory);
}
hipError_t hipMallocManaged(void** p, size_t n, unsigned) { return hipHostMalloc(p, n, 0); }
hipError_t hipMallocHost(void** p, size_t n) { return hipHostMalloc(p, n, 0); }
hipError_t hipHostAlloc(void** p, size_t n, unsigned) { return hipHostMalloc(p, n, 0); }
hipError_t hipMallocPitch(void** p, size_t* pitch, size_t w, size_t h) {
  *pitch = (w + 255) / 256 * 256;
  return hipMalloc(p, *pitch * h);
}
hipError_t hipFree(void* p) {
  hipError_t e = hipSuccess;
  if (!dfree(p, &e)) std::free(p);
  return ret(e);
}
hipError_t hipFreeAsync(void* p, hipStream_t) { return hipFree(p); }
hipError_t hipHostFree(void* p) { return hipFree(p); }
hipError_t hipFreeHost(void* p) { return hipFree(p); }
hipError_t hipHostRegister(void*, size_t, unsigned) { return hipSuccess; }
hipError_t hipHostUnregister(void*) { return hipSuccess; }
hipError_t hipHostGetDevicePointer(void** d, void* h, unsigned) { *d = h; return hipSuccess; }
hipError_t hipMemGetInfo(size_t* free, size_t* total) {
  *total = target().mem;
  std::lock_guard<std::mutex> l(mu);
  *free = *total - device_used;
  return hipSuccess;
}
hipError_t hipMemcpy(void* dst, const void* src, size_t n, hipMemcpyKind) {
  copy(dst, src, n);
  return hipSuccess;
}
hipError_t hipMemcpyAsync(void* dst, const void* src, size_t n, hipMemcpyKind k, hipStream_t) { return hipMemcpy(dst, src, n, k); }
hipError_t hipMemcpyWithStream(void* dst, const void* src, size_t n, hipMemcpyKind k, hipStream_t) { return hipMemcpy(dst, src, n, k); }
hipError_t hipMemcpyHtoD(hipDeviceptr_t dst, void* src, size_t n) { return hipMemcpy(dst, src, n, hipMemcpyHostToDevice); }
hipError_t hipMemcpyDtoH(void* dst, hipDeviceptr_t src, size_t n) { return hipMemcpy(dst, src, n, hipMemcpyDeviceToHost); }
hipError_t hipMemcpyDtoD(hipDeviceptr_t dst, hipDeviceptr_t src, size_t n) { return hipMemcpy(dst, src, n, hipMemcpyDeviceToDevice); }
hipError_t hipMemcpyHtoDAsync(hipDeviceptr_t dst, void* src, size_t n, hipStream_t) { return hipMemcpy(dst, src, n, hipMemcpyHostToDevice); }
hipError_t hipMemcpyDtoHAsync(void* dst, hipDeviceptr_t src, size_t n, hipStream_t) { return hipMemcpy(dst, src, n, hipMemcpyDeviceToHost); }
hipError_t hipMemcpyDtoDAsync(hipDeviceptr_t dst, hipDeviceptr_t src, size_t n, hipStream_t) { return hipMemcpy(dst, src, n, hipMemcpyDeviceToDevice); }
hipError_t hipMemcpyPeer(void* dst, int, const void* src, int, size_t n) { return hipMemcpy(dst, src, n, hipMemcpyDefault); }
hipError_t hipMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t w, size_t h, hipMemcpyKind) {
  for (size_t r = 0; r < h; ++r) copy(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, w);
  return hipSuccess;
}
hipError_t hipMemcpy2DAsync(void* dst, size_t dp, const void* src, size_t sp, size_t w, size_t h, hipMemcpyKind k, hipStream_t) {
  return hipMemcpy2D(dst, dp, src, sp, w, h, k);
}
hipError_t hipMemcpyToSymbol(const void* sym, const void* src, size_t n, size_t off, hipMemcpyKind) {
  // Device variables are never allocated: the copy goes nowhere.
  (void)sym; (void)src; (void)n; (void)off;
  channel("unsupported hipMemcpyToSymbol");
  return hipSuccess;
}
hipError_t hipMemcpyFromSymbol(void* dst, const void* sym, size_t n, size_t off, hipMemcpyKind) {
  (void)sym; (void)off;
  set(dst, 0, n);
  channel("unsupported hipMemcpyFromSymbol");
  return hipSuccess;
}
hipError_t hipMemcpyToSymbolAsync(const void* sym, const void* src, size_t n, size_t off, hipMemcpyKind k, hipStream_t) {
  return hipMemcpyToSymbol(sym, src, n, off, k);
}
hipError_t hipMemcpyFromSymbolAsync(void* dst, const void* sym, size_t n, size_t off, hipMemcpyKind k, hipStream_t) {
  return hipMemcpyFromSymbol(dst, sym, n, off, k);
}
hipError_t hipMemset(void* p, int v, size_t n) { set(p, v, n); return hipSuccess; }
hipError_t hipMemsetAsync(void* p, int v, size_t n, hipStream_t) { set(p, v, n); return hipSuccess; }
hipError_t hipMemsetD32(hipDeviceptr_t p, int v, size_t n) {
  if (!on_device(p))
    for (size_t i = 0; i < n; ++i) static_cast<int*>(p)[i] = v;
  return hipSuccess;
}
hipError_t hipMemsetD8(hipDeviceptr_t p, unsigned char v, size_t n) { set(p, v, n); return hipSuccess; }
hipError_t hipMemPrefetchAsync(const void*, size_t, int, hipStream_t) { return hipSuccess; }
hipError_t hipMemAdvise(const void*, size_t, hipMemoryAdvise, int) { return hipSuccess; }
hipError_t hipPointerGetAttributes(hipPointerAttribute_t* a, const void* p) {
  std::memset(a, 0, sizeof(*a));
  a->memoryType = hipMemoryTypeDevice;
  a->devicePointer = const_cast<void*>(p);
  a->hostPointer = const_cast<void*>(p);
  return hipSuccess;
}

// Streams and events: nothing runs, so nothing waits and nothing takes time.
hipError_t hipStreamCreate(hipStream_t* s) { *s = reinterpret_cast<hipStream_t>(alloc(64)); return hipSuccess; }
hipError_t hipStreamCreateWithFlags(hipStream_t* s, unsigned) { return hipStreamCreate(s); }
hipError_t hipStreamCreateWithPriority(hipStream_t* s, unsigned, int) { return hipStreamCreate(s); }
hipError_t hipStreamDestroy(hipStream_t s) { std::free(s); return hipSuccess; }
hipError_t hipStreamSynchronize(hipStream_t) { return hipSuccess; }
hipError_t hipStreamQuery(hipStream_t) { return hipSuccess; }
hipError_t hipStreamWaitEvent(hipStream_t, hipEvent_t, unsigned) { return hipSuccess; }
hipError_t hipDeviceGetStreamPriorityRange(int* lo, int* hi) { *lo = 0; *hi = 0; return hipSuccess; }
hipError_t hipEventCreate(hipEvent_t* e) { *e = reinterpret_cast<hipEvent_t>(alloc(64)); return hipSuccess; }
hipError_t hipEventCreateWithFlags(hipEvent_t* e, unsigned) { return hipEventCreate(e); }
hipError_t hipEventDestroy(hipEvent_t e) { std::free(e); return hipSuccess; }
hipError_t hipEventRecord(hipEvent_t, hipStream_t) { return hipSuccess; }
hipError_t hipEventSynchronize(hipEvent_t) { return hipSuccess; }
hipError_t hipEventQuery(hipEvent_t) { return hipSuccess; }
hipError_t hipEventElapsedTime(float* ms, hipEvent_t, hipEvent_t) { *ms = 0.0f; return hipSuccess; }

}  // extern "C"
