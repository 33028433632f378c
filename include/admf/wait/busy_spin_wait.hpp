// SPDX-License-Identifier: MIT
// admf::busy_spin_wait: waits by spinning on the condition, never giving up the CPU.
#pragma once

#include <chrono>

#include <admf/core/platform.hpp>
#include <admf/wait/wait_strategy.hpp>

namespace admf {

/// Cost: the lowest wake-up latency (one cache-line transfer after the condition changes)
/// and 100% of a core while waiting. Use only with a core reserved for each waiting thread:
/// when threads outnumber cores, a spinning waiter can hold the CPU that the thread it
/// waits for needs, for a whole scheduler time slice. notify() is free.
class busy_spin_wait {
public:
    template <class Pred>
    void wait(Pred&& pred) noexcept(noexcept(pred())) {
        while (!pred()) {
            cpu_relax();
        }
    }

    template <class Pred, class Clock, class Duration>
    [[nodiscard]] bool wait_until(Pred&& pred, std::chrono::time_point<Clock, Duration> deadline) {
        while (!pred()) {
            if (Clock::now() >= deadline) {
                return pred();
            }
            cpu_relax();
        }
        return true;
    }

    void notify() noexcept {}
};

static_assert(wait_strategy<busy_spin_wait>);

} // namespace admf
