// SPDX-License-Identifier: MIT
// admf::blocking_wait: spins briefly, then parks on a C++20 atomic wait until notified.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <admf/core/asymmetric_fence.hpp>
#include <admf/core/platform.hpp>
#include <admf/wait/detail/spin_phases.hpp>
#include <admf/wait/wait_strategy.hpp>

namespace admf {

// Design: waiters park on `epoch_` (std::atomic::wait, a futex on Linux) after announcing
// themselves in `waiters_`; notify() bumps `epoch_` and wakes them only when `waiters_` says
// someone is parked, so a publisher pays no system call while its consumer is awake.
// No lost wake-up (Dekker's handshake, split asymmetrically: core/asymmetric_fence.hpp):
// the waiter increments `waiters_`, heavy_fence(), then re-checks its condition; the
// notifier makes the condition true, light_fence(), then reads `waiters_`. Either the
// notifier sees the waiter counted and bumps the epoch (which the waiter's atomic wait
// cannot miss: it compares the epoch it read before re-checking), or the waiter's re-check
// sees the condition true. The rare side (about to sleep anyway) pays the membarrier; the
// frequent side, every publish, pays only a compiler barrier where membarrier exists, and a
// full fence where it does not.
// Threads: any number of waiters and notifiers.
template <template <class> class Atomic = std::atomic>
class basic_blocking_wait {
public:
    static constexpr std::uint32_t default_spins = 100;

    /// `spins`: condition checks before parking (0 parks at the first miss).
    explicit basic_blocking_wait(std::uint32_t spins = default_spins) noexcept : spins_(spins) {}

    /// Cost: 100 spins (by default), then the waiter makes a membarrier call (~1 µs; every
    /// CPU running this process takes a fence) and sleeps in the kernel (no CPU while idle);
    /// waking a parked thread costs the notifier a futex wake (~5-40 µs on a VM) and the
    /// waiter a reschedule. notify() costs a load (plus a full fence where the kernel has no
    /// membarrier).
    template <class Pred>
    void wait(Pred&& pred) {
        for (std::uint32_t i = 0; i != spins_; ++i) {
            if (pred()) {
                return;
            }
            cpu_relax();
        }
        waiters_.fetch_add(1, std::memory_order_relaxed);
        heavy_fence(); // pairs with the light_fence in notify(): see Design

        for (;;) {
            // Acquire pairs with notify()'s release bump: a waiter that reads the new epoch
            // also sees the condition the notifier made true before bumping it.
            const auto epoch = epoch_.load(std::memory_order_acquire);
            if (pred()) {
                break;
            }
            epoch_.wait(epoch, std::memory_order_acquire);
        }
        waiters_.fetch_sub(1, std::memory_order_relaxed);
    }

    /// std::atomic::wait has no timeout, so a bounded wait polls (spin, yield, then sleeps
    /// up to 100 µs) instead of parking: deadlines stay accurate to ~100 µs.
    template <class Pred, class Clock, class Duration>
    [[nodiscard]] bool wait_until(Pred&& pred, std::chrono::time_point<Clock, Duration> deadline) {
        return detail::poll_until(pred, deadline,
                                  detail::spin_phases{spins_, 100, std::chrono::microseconds{100}});
    }

    /// Call after making a waiter's condition true. Never blocks.
    void notify() noexcept {
        light_fence(); // pairs with the heavy_fence in wait(): see Design
        notify_fenced();
    }

    /// As notify(), for a caller that issued light_fence() itself after making the
    /// condition true (lane::notify_owner fences once for both of its handshakes).
    void notify_fenced() noexcept {
        if (waiters_.load(std::memory_order_relaxed) != 0) {
            // Release pairs with the waiter's acquire load of the epoch.
            epoch_.fetch_add(1, std::memory_order_release);
            epoch_.notify_all();
        }
    }

    /// Any thread. Threads parked (or about to park) at some instant during the call.
    [[nodiscard]] std::uint32_t parked_approx() const noexcept {
        return waiters_.load(std::memory_order_relaxed);
    }

private:
    std::uint32_t spins_;

    alignas(false_sharing_range) Atomic<std::uint32_t> epoch_{0};
    Atomic<std::uint32_t> waiters_{0};
};

using blocking_wait = basic_blocking_wait<>;

static_assert(wait_strategy<blocking_wait>);

} // namespace admf
