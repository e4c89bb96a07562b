// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <cmath>
#include <iostream>
#include <vector>

namespace ck::utils {
// check_err compares element by element; it is silent on success and
// reports the first mismatches on stderr.
template <typename T>
bool check_err(const std::vector<T>& out, const std::vector<T>& ref, double rtol, double atol)
{
    std::size_t errors = 0;
    for(std::size_t i = 0; i < out.size(); ++i)
    {
        const double o = static_cast<double>(out[i]), r = static_cast<double>(ref[i]);
        if(std::abs(o - r) > atol + rtol * std::abs(r) || std::isnan(o))
        {
            if(errors < 5)
                std::cerr << "Error: Incorrect results! out[" << i << "] != ref[" << i << "]: " << o << " != " << r << std::endl;
            ++errors;
        }
    }
    if(errors)
        std::cerr << "number of errors: " << errors << std::endl;
    return errors == 0;
}
} // namespace ck::utils
