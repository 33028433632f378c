// SPDX-License-Identifier: MIT
// admf-bus version numbers (parsed by CMakeLists.txt).
#pragma once

#define ADMF_VERSION_MAJOR 0
#define ADMF_VERSION_MINOR 1
#define ADMF_VERSION_PATCH 0
