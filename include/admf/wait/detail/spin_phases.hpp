// SPDX-License-Identifier: MIT
// The spin → yield → sleep escalation shared by the polling wait strategies.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

#include <admf/core/platform.hpp>

namespace admf::detail {

/// One waiting thread's escalation: `spins` pause-loops, then `yields` sched_yield()s, then
/// sleeps doubling from 1 µs up to `max_sleep` (0 = keep yielding forever).
class spin_phases {
public:
    constexpr spin_phases(std::uint32_t spins, std::uint32_t yields,
                          std::chrono::nanoseconds max_sleep) noexcept
        : spins_(spins), yields_(yields), max_sleep_(max_sleep) {}

    /// One step of waiting; cheap in the first phase, coarser the longer it has waited.
    void pause() noexcept {
        if (count_ < spins_) {
            ++count_;
            cpu_relax();
        } else if (count_ < spins_ + yields_ || max_sleep_.count() == 0) {
            ++count_;
            std::this_thread::yield();
        } else {
            std::this_thread::sleep_for(sleep_);
            sleep_ = sleep_ * 2 < max_sleep_ ? sleep_ * 2 : max_sleep_;
        }
    }

private:
    std::uint32_t spins_;
    std::uint32_t yields_;
    std::chrono::nanoseconds max_sleep_;
    std::uint32_t count_ = 0;
    std::chrono::nanoseconds sleep_{1000};
};

/// Polls `pred` with the escalation until it holds or `deadline` passes.
template <class Pred, class Clock, class Duration>
bool poll_until(Pred& pred, std::chrono::time_point<Clock, Duration> deadline,
                spin_phases phases) {
    while (!pred()) {
        if (Clock::now() >= deadline) {
            return pred();
        }
        phases.pause();
    }
    return true;
}

/// The polling wait strategies (yielding_wait, backoff_wait): escalate with spin_phases until
/// pred() holds; notify() is free because nobody ever parks.
template <std::uint32_t Spins, std::uint32_t Yields, std::int64_t MaxSleepNs>
class polling_wait {
public:
    template <class Pred>
    void wait(Pred&& pred) {
        spin_phases phases = make_phases();
        while (!pred()) {
            phases.pause();
        }
    }

    template <class Pred, class Clock, class Duration>
    [[nodiscard]] bool wait_until(Pred&& pred, std::chrono::time_point<Clock, Duration> deadline) {
        return poll_until(pred, deadline, make_phases());
    }

    void notify() noexcept {}

private:
    static constexpr spin_phases make_phases() noexcept {
        return {Spins, Yields, std::chrono::nanoseconds{MaxSleepNs}};
    }
};

} // namespace admf::detail
