// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// A deliberately broken example: its instance's template argument list never
// closes. The miner must record it and go on.

#include "../01_gemm/common.hpp"

using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<Row, Col, Row, F16, F16, F16, F32, PassThrough, PassThrough, PassThrough, ck::tensor_operation::device::GemmSpecialization::Default, 256, S<4, 64, 8;

int main() { return 1; }
