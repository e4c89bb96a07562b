// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// The types every program of this fixture shares: an fp16 GEMM with fp32
// accumulation, A row-major, B column-major.
#pragma once
#include "../01_gemm/common.hpp"

using ADataType   = F16;
using BDataType   = F16;
using CDataType   = F16;
using AccDataType = F32;

using ALayout = Row;
using BLayout = Col;
using CLayout = Row;

using AElementOp = PassThrough;
using BElementOp = PassThrough;
using CElementOp = PassThrough;

static constexpr auto GemmDefault = ck::tensor_operation::device::GemmSpecialization::Default;
