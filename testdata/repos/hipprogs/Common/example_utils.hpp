// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <cstdlib>
#include <iostream>

#include <hip/hip_runtime.h>

#define HIP_CHECK(expr)                                                                   \
    do                                                                                    \
    {                                                                                     \
        const hipError_t e_ = (expr);                                                     \
        if(e_ != hipSuccess)                                                              \
        {                                                                                 \
            std::cerr << "HIP error " << hipGetErrorString(e_) << " at " << __LINE__ << '\n'; \
            std::exit(2);                                                                 \
        }                                                                                 \
    } while(0)

// report_validation_result prints the verdict line and returns the exit code.
inline int report_validation_result(int errors)
{
    if(errors)
    {
        std::cout << "Validation failed. Errors: " << errors << std::endl;
        return 1;
    }
    std::cout << "Validation passed." << std::endl;
    return 0;
}
