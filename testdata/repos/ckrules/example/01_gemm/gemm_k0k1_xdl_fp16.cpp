// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// A K0PerBlock x K1 GEMM padded in M and N; a second instance is defined and never run.
#include "ck/tensor_operation/gpu/device/impl/device_gemm_k0k1_xdl.hpp"

using F16 = ck::half_t;
using Row = ck::tensor_layout::gemm::RowMajor;
using PassThrough = ck::tensor_operation::element_wise::PassThrough;

static constexpr auto GemmMNPadding = ck::tensor_operation::device::GemmSpecialization::MNPadding;
static constexpr auto GemmMNKPadding = ck::tensor_operation::device::GemmSpecialization::MNKPadding;

// An earlier tuning, kept for reference; main does not run it.
using DeviceGemmInstance0 = ck::tensor_operation::device::DeviceGemmK0K1Xdl<Row, Row, Row, F16, F16, F16, float, PassThrough, PassThrough, PassThrough, GemmMNKPadding, 256, 128, 128, 4, 8, 8, 8>;

using DeviceGemmInstance1 = ck::tensor_operation::device::DeviceGemmK0K1Xdl<Row, Row, Row, F16, F16, F16, float, PassThrough, PassThrough, PassThrough, GemmMNPadding, 256, 256, 128, 4, 8, 8, 4>;

using DeviceGemmInstance = DeviceGemmInstance1;

template <typename Gemm, typename P>
bool run(const P& p, bool verify, int init, bool time);

#include "run_gemm_example.inc"

int main(int argc, char* argv[]) { return !run_gemm_example(argc, argv); }
