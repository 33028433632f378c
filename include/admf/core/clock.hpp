// SPDX-License-Identifier: MIT
// admf::steady_clock_ns: the bus clock, nanoseconds of std::chrono::steady_clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace admf {

/// The default bus clock: steady_clock in ns (~20 ns per call through the vDSO on Linux).
/// A bus clock is any type with `static std::int64_t now() noexcept`; sync_bus tests use a
/// manual one to make time deterministic.
struct steady_clock_ns {
    [[nodiscard]] static std::int64_t now() noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
};

/// A clock that never runs: publish_time is 0 and no clock is read on publish.
struct no_clock {
    [[nodiscard]] static constexpr std::int64_t now() noexcept { return 0; }
};

template <class C>
concept bus_clock = requires {
    { C::now() } noexcept -> std::same_as<std::int64_t>;
};

static_assert(bus_clock<steady_clock_ns>);
static_assert(bus_clock<no_clock>);

} // namespace admf
