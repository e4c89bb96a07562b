// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#include <hip/hip_runtime.h>
#include <stdexcept>
#include <string>

#include "ck/library/utility/device_memory.hpp"

static void check(hipError_t e, const char* what)
{
    if(e != hipSuccess)
        throw std::runtime_error(std::string(what) + ": " + hipGetErrorString(e));
}

DeviceMem::DeviceMem(std::size_t bytes) : bytes_(bytes) { check(hipMalloc(&ptr_, bytes), "hipMalloc"); }

DeviceMem::~DeviceMem() { (void)hipFree(ptr_); }

void DeviceMem::ToDevice(const void* host) const
{
    check(hipMemcpy(ptr_, host, bytes_, hipMemcpyHostToDevice), "hipMemcpy to device");
}

void DeviceMem::FromDevice(void* host) const
{
    check(hipMemcpy(host, ptr_, bytes_, hipMemcpyDeviceToHost), "hipMemcpy from device");
}
