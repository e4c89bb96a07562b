// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// A GEMM that reports its work in convolution terms: it uses the
// convolution parameters without being a conv op, so it links their source.
#include "fp16_gemm.hpp"
#include "ck/library/utility/convolution_parameter.hpp"

using DeviceGemmInstance = ck::tensor_operation::device::DeviceGemm_Xdl_CShuffle<ALayout, BLayout, CLayout, ADataType, BDataType, CDataType, AccDataType, AElementOp, BElementOp, CElementOp, GemmDefault, 256, 64, 64, 16, 4, 4, S<4, 64>, 8>;

#include "../01_gemm/run_gemm_example.inc"

int main(int argc, char* argv[])
{
    const ck::utils::conv::ConvParam as_conv(1, 256, 512, {1, 1});
    std::cout << "as a 1x1 convolution: " << as_conv.Flops() << " flop" << std::endl;
    return !run_gemm_example(argc, argv);
}
