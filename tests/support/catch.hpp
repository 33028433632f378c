// SPDX-License-Identifier: MIT
// Test-only: includes Catch2, v2 (Debian 12's catch2 2.13) or v3 where CMake found that.
#pragma once

#if defined(ADMF_TEST_CATCH3)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
