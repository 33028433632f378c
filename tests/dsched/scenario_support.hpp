// SPDX-License-Identifier: MIT
// Test-only: the element type of the dsched ring scenarios and the checker of what the
// consumers received (exactly once, FIFO per producer, value integrity, nothing lost).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dsched.hpp"

namespace admf_test::dsched {

/// A ring's initial sequence from which a scenario's positions cross 2^64 mid-run.
inline constexpr std::uint64_t near_wrap = ~std::uint64_t{0} - 2;

/// One pushed value: who pushed it, its per-producer sequence, and a check word that a
/// torn or stale slot would not match.
struct item {
    std::uint32_t producer = 0;
    std::uint32_t seq = 0;
    std::uint64_t check = 0;

    static constexpr std::uint64_t mix(std::uint32_t p, std::uint32_t s) noexcept {
        return (std::uint64_t{p} << 32 | s) * 0x9e37'79b9'7f4a'7c15ULL ^ 0x5bd1'e995ULL;
    }
    static constexpr item make(std::size_t p, std::size_t s) noexcept {
        const auto pp = static_cast<std::uint32_t>(p);
        const auto ss = static_cast<std::uint32_t>(s);
        return item{pp, ss, mix(pp, ss)};
    }
    [[nodiscard]] constexpr bool intact() const noexcept { return check == mix(producer, seq); }
};

/// What each consumer received, in order; check() compares it with what each producer
/// pushed (`sent[p]` items with sequences 0, 1, ...).
template <std::size_t Producers, std::size_t Consumers>
struct received {
    std::array<std::vector<item>, Consumers> by_consumer;
    std::array<std::size_t, Producers> sent{};

    void add(std::size_t consumer, const item& e) { by_consumer[consumer].push_back(e); }

    [[nodiscard]] std::size_t total() const {
        std::size_t n = 0;
        for (const auto& v : by_consumer) {
            n += v.size();
        }
        return n;
    }

    /// Empty when every sent item arrived exactly once, intact, and each consumer saw each
    /// producer's items in push order.
    [[nodiscard]] std::string check() const {
        std::array<std::vector<int>, Producers> seen;
        for (std::size_t p = 0; p != Producers; ++p) {
            seen[p].assign(sent[p], 0);
        }
        for (std::size_t c = 0; c != Consumers; ++c) {
            std::array<std::int64_t, Producers> last;
            last.fill(-1);
            for (const item& e : by_consumer[c]) {
                const std::string what = "consumer " + std::to_string(c) + " got item {" +
                                         std::to_string(e.producer) + ", " +
                                         std::to_string(e.seq) + "}";
                if (!e.intact() || e.producer >= Producers || e.seq >= sent[e.producer]) {
                    return what + ": corrupt or never sent (value integrity)";
                }
                if (++seen[e.producer][e.seq] > 1) {
                    return what + " twice (exactly once)";
                }
                if (static_cast<std::int64_t>(e.seq) < last[e.producer]) {
                    return what + " after seq " + std::to_string(last[e.producer]) +
                           " (FIFO per producer)";
                }
                last[e.producer] = e.seq;
            }
        }
        for (std::size_t p = 0; p != Producers; ++p) {
            for (std::size_t s = 0; s != sent[p]; ++s) {
                if (seen[p][s] == 0) {
                    return "item {" + std::to_string(p) + ", " + std::to_string(s) +
                           "} was pushed but never popped (lost value)";
                }
            }
        }
        return {};
    }
};

} // namespace admf_test::dsched
