// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <cstddef>

// DeviceMem owns one device buffer.
struct DeviceMem
{
    explicit DeviceMem(std::size_t bytes);
    ~DeviceMem();
    DeviceMem(const DeviceMem&) = delete;
    DeviceMem& operator=(const DeviceMem&) = delete;

    void* GetDeviceBuffer() const { return ptr_; }
    void ToDevice(const void* host) const;
    void FromDevice(void* host) const;

    private:
    void* ptr_ = nullptr;
    std::size_t bytes_;
};
