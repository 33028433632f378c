// SPDX-License-Identifier: MIT
// Package test, shared by both consumer projects (find_package, add_subdirectory): one int
// goes through each ring. ADMF_CONSUMER names the project that built it.
#include <cstdio>

#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/spsc_ring.hpp>

namespace {

template <class Ring>
bool round_trip(const char* name) {
    Ring ring(8);
    if (!ring.try_push(42)) {
        std::fprintf(stderr, "%s: try_push on an empty ring failed\n", name);
        return false;
    }
    int value = 0;
    if (!ring.try_pop(value) || value != 42) {
        std::fprintf(stderr, "%s: try_pop did not return the pushed value\n", name);
        return false;
    }
    return true;
}

} // namespace

int main() {
    const bool spsc_ok = round_trip<admf::spsc_ring<int>>("spsc_ring");
    const bool mpmc_ok = round_trip<admf::mpmc_ring<int>>("mpmc_ring");
    if (!spsc_ok || !mpmc_ok) {
        return 1;
    }
    std::printf("%s consumer: ok\n", ADMF_CONSUMER);
    return 0;
}
