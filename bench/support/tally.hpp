// SPDX-License-Identifier: MIT
// admf::bench::tally: what every bus benchmark handler does with an event (check, count, sum).
#pragma once

#include <atomic>
#include <cstdint>

#include <admf/core/platform.hpp>

namespace admf::bench {

/// The handler's state for one stream of events E published with seq 0, 1, 2... by one
/// producer into one lane (so FIFO is total): checks each event is the next seq and intact
/// (`intact(e)`, found by argument-dependent lookup beside E), sums seq, counts. Written
/// only by the thread that handles; `handled` is polled by the producer to see the end; the
/// rest is read after that.
template <class E>
struct alignas(admf::false_sharing_range) tally {
    std::uint64_t next = 0; // expected seq
    std::uint64_t sum = 0;  // sum of seq
    std::uint64_t violations = 0;
    std::atomic<std::uint64_t> handled{0};

    void operator()(const E& e) noexcept {
        if (e.seq != next || !intact(e)) {
            ++violations;
        }
        next = e.seq + 1;
        sum += e.seq;
        // Single writer: a plain store (release pairs with the producer's acquire).
        handled.store(handled.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    /// After the run: events 0..sent-1 were published; returns the violations found
    /// (order or payload, count, and the sum, which catches a loss hidden by a duplicate).
    [[nodiscard]] std::uint64_t finish(std::uint64_t sent) const noexcept {
        std::uint64_t v = violations;
        const std::uint64_t n = handled.load(std::memory_order_acquire);
        v += n != sent ? 1 : 0;
        v += sum != (sent == 0 ? 0 : sent * (sent - 1) / 2) ? 1 : 0;
        return v;
    }
};

} // namespace admf::bench
