// SPDX-License-Identifier: MIT
// Bus clocks: steady_clock_ns, tsc_clock (the default) and no_clock, all in nanoseconds.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace admf {

/// A bus clock: `static std::int64_t now() noexcept`, nanoseconds from an arbitrary epoch,
/// never decreasing on one thread. event_info::publish_time comes from it.
template <class C>
concept bus_clock = requires {
    { C::now() } noexcept -> std::same_as<std::int64_t>;
};

/// std::chrono::steady_clock in ns: ~20-25 ns per call through the vDSO on Linux VMs.
struct steady_clock_ns {
    [[nodiscard]] static std::int64_t now() noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
};

namespace detail {
#if defined(__x86_64__)
__extension__ typedef __int128 int128;           // NOLINT: -Wpedantic-clean 128-bit product
__extension__ typedef unsigned __int128 uint128; // NOLINT
#endif

/// TSC ticks -> steady_clock ns, measured once per process.
struct tsc_calibration {
    bool usable = false;
    std::uint64_t tsc0 = 0;
    std::int64_t ns0 = 0;
    std::uint64_t ns_per_tick_q32 = 0; // ns per tick, fixed point with 32 fraction bits

    static tsc_calibration measure() noexcept {
        tsc_calibration c;
#if defined(__x86_64__)
        unsigned a = 0, b = 0, cx = 0, d = 0;
        // CPUID 0x80000007 EDX bit 8: the TSC runs at a constant rate in every C/P-state.
        const bool invariant = __get_cpuid(0x80000007, &a, &b, &cx, &d) != 0 && (d & (1U << 8)) != 0;
        // And the kernel, which checks the TSCs of all CPUs agree, uses it itself.
        std::string source;
        try {
            std::ifstream{"/sys/devices/system/clocksource/clocksource0/current_clocksource"} >> source;
        } catch (...) {
        }
        if (!invariant || source != "tsc") {
            return c;
        }
        const auto t0 = steady_clock_ns::now();
        const auto c0 = __rdtsc();
        std::int64_t t1 = t0;
        while (t1 - t0 < 5'000'000) { // 5 ms: ~0.01% error from the clock reads at the ends
            t1 = steady_clock_ns::now();
        }
        const auto c1 = __rdtsc();
        if (c1 <= c0) {
            return c;
        }
        c.ns_per_tick_q32 = static_cast<std::uint64_t>(
            (static_cast<uint128>(t1 - t0) << 32) / (c1 - c0));
        c.tsc0 = c1;
        c.ns0 = t1;
        c.usable = c.ns_per_tick_q32 != 0;
#endif
        return c;
    }
};

inline const tsc_calibration& tsc() noexcept {
    static const tsc_calibration c = tsc_calibration::measure();
    return c;
}
} // namespace detail

/// The default bus clock: the CPU's time-stamp counter scaled to ns (~8-10 ns per call, vs
/// ~24 for steady_clock on the VM we measure on), on the steady_clock's epoch. Used only
/// where the TSC is invariant and the kernel's own clocksource; otherwise it is
/// steady_clock_ns. The first call calibrates for 5 ms (a bus does it at construction).
struct tsc_clock {
    [[nodiscard]] static std::int64_t now() noexcept {
#if defined(__x86_64__)
        const auto& c = detail::tsc();
        if (c.usable) {
            const auto ticks = __rdtsc() - c.tsc0; // wraps to "negative" before calibration
            const auto scaled = static_cast<detail::int128>(static_cast<std::int64_t>(ticks)) *
                                static_cast<detail::int128>(c.ns_per_tick_q32);
            return c.ns0 + static_cast<std::int64_t>(scaled >> 32);
        }
#endif
        return steady_clock_ns::now();
    }
};

/// A clock that never runs: publish_time is 0 and publishing reads no clock.
struct no_clock {
    [[nodiscard]] static constexpr std::int64_t now() noexcept { return 0; }
};

static_assert(bus_clock<steady_clock_ns>);
static_assert(bus_clock<tsc_clock>);
static_assert(bus_clock<no_clock>);

} // namespace admf
