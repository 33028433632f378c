// SPDX-License-Identifier: MIT
// Test-only: Catch2 v2's main(), compiled once into admf_test_support (v3 links Catch2WithMain).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
