// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#include "ck/library/utility/host_tensor.hpp"

void PrintDescriptor(std::ostream& os, const std::string& name, ck::index_t rows, ck::index_t cols, ck::index_t ld, bool row_major)
{
    os << name << ": dim 2, lengths {" << rows << ", " << cols << "}, strides {"
       << (row_major ? ld : 1) << ", " << (row_major ? 1 : ld) << "}" << std::endl;
}
