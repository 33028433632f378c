// SPDX-License-Identifier: MIT
// Test-only: the hand-over primitive of dsched's scheduler (one per thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace admf_test::dsched::detail {

/// One thread's permission to run. post() hands it over; take() waits for it: a short
/// spin, then sched_yield (a hand-over between two threads on one core), then a futex
/// sleep (a thread of a stuck execution, parked forever, costs no CPU).
class baton {
public:
    void post() noexcept {
        // Release pairs with the acquire in take(): everything the poster wrote (the
        // scheduler's fields, ring slots, the atomics' values) is visible to the taker.
        go_.store(1, std::memory_order_release);
        go_.notify_one();
    }
    /// `spins` busy checks, then sched_yield() until `yields` checks, then a futex sleep.
    void take(std::uint32_t spins = 256, std::uint32_t yields = 2048) noexcept {
        for (std::uint32_t i = 0;; ++i) {
            // Acquire pairs with the release store in post().
            if (go_.load(std::memory_order_acquire) != 0) {
                break;
            }
            if (i < spins) {
                continue;
            }
            if (i < yields) {
                std::this_thread::yield();
            } else {
                go_.wait(0, std::memory_order_acquire); // pairs with post()'s release store
            }
        }
        go_.store(0, std::memory_order_relaxed); // only this thread reads it until next post
    }

private:
    std::atomic<std::uint32_t> go_{0};
};
} // namespace admf_test::dsched::detail
