// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <cstdio>
#include <cstdlib>
#define CHECK(cmd) do { if((cmd) != hipSuccess) { std::printf("hip error\n"); std::exit(2); } } while(0)
