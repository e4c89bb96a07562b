// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <cstddef>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "ck/ck.hpp"

// HostMatrix is a rows x cols matrix with a leading dimension, row- or
// column-major.
template <typename T>
struct HostMatrix
{
    HostMatrix(ck::index_t rows, ck::index_t cols, ck::index_t ld, bool row_major)
        : rows(rows), cols(cols), ld(ld), row_major(row_major),
          data(static_cast<std::size_t>(row_major ? rows : cols) * ld)
    {
    }

    T& operator()(ck::index_t r, ck::index_t c) { return data[row_major ? r * ld + c : c * ld + r]; }
    const T& operator()(ck::index_t r, ck::index_t c) const
    {
        return data[row_major ? r * ld + c : c * ld + r];
    }
    std::size_t bytes() const { return data.size() * sizeof(T); }

    // Fill: 0 ones, 1 integers in [-5, 5], 2 reals in [-1, 1].
    void Fill(int method, unsigned seed)
    {
        std::mt19937 g(seed);
        std::uniform_int_distribution<int> ints(-5, 5);
        std::uniform_real_distribution<float> reals(-1.f, 1.f);
        for(auto& x : data)
            x = method == 0 ? T(1) : method == 1 ? T(ints(g)) : T(reals(g));
    }

    ck::index_t rows, cols, ld;
    bool row_major;
    std::vector<T> data;
};

void PrintDescriptor(std::ostream& os, const std::string& name, ck::index_t rows, ck::index_t cols, ck::index_t ld, bool row_major);
