// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
// Turns the wide build option's macro on for whoever includes it.
#pragma once
#define KFORGE_FIXTURE_WIDE 1
