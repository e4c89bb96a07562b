// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <cstdlib>
#include <iostream>

#include <hip/hip_runtime.h>

constexpr int error_exit_code = -1;

#define HIP_CHECK(expr)                                                          \
    do                                                                           \
    {                                                                            \
        const hipError_t e_ = (expr);                                            \
        if(e_ != hipSuccess)                                                     \
        {                                                                        \
            std::cerr << "HIP error " << hipGetErrorString(e_) << std::endl;     \
            std::exit(error_exit_code);                                          \
        }                                                                        \
    } while(0)

// Every program of this tree includes this header; only some call it.
inline int report_validation_result(int errors)
{
    if(errors)
    {
        std::cout << "Validation failed. Errors: " << errors << std::endl;
        return error_exit_code;
    }
    std::cout << "Validation passed." << std::endl;
    return 0;
}
