// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
namespace rocwmma {
struct matrix_a {}; struct matrix_b {}; struct accumulator {}; struct row_major {}; struct col_major {};
template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment { static constexpr int num_elements = M * N / 64; T x[M * N / 64 > 0 ? M * N / 64 : 1]; };
template <typename F, typename T> __device__ void fill_fragment(F& f, T v) { for(auto& e : f.x) e = v; }
template <typename F, typename T> __device__ void load_matrix_sync(F& f, const T* p, int ld) { f.x[0] = p[0]; }
template <typename D, typename A, typename B, typename C> __device__ void mma_sync(D& d, const A& a, const B& b, const C& c) { d.x[0] = a.x[0] * b.x[0] + c.x[0]; }
template <typename T, typename F> __device__ void store_matrix_sync(T* p, const F& f, int ld) { p[0] = f.x[0]; }
} // namespace rocwmma
