// SPDX-License-Identifier: MIT
// A wait strategy chosen at run time (partition_config::wait), one per worker.
#pragma once

#include <chrono>
#include <variant>

#include <admf/bus/bus_config.hpp>
#include <admf/wait/backoff_wait.hpp>
#include <admf/wait/blocking_wait.hpp>
#include <admf/wait/busy_spin_wait.hpp>
#include <admf/wait/yielding_wait.hpp>

namespace admf::detail {

/// Holds the wait strategy a partition_config names. notify() costs one predictable branch
/// for the strategies that poll (their notify is empty).
class any_wait {
public:
    explicit any_wait(wait_kind kind) noexcept : kind_(kind) {
        switch (kind) {
        case wait_kind::busy_spin:
            strategy_.emplace<busy_spin_wait>();
            break;
        case wait_kind::yielding:
            strategy_.emplace<yielding_wait>();
            break;
        case wait_kind::backoff:
            strategy_.emplace<backoff_wait>();
            break;
        case wait_kind::blocking:
            strategy_.emplace<blocking_wait>();
            break;
        }
    }

    template <class Pred>
    void wait(Pred&& pred) {
        std::visit([&](auto& w) { w.wait(pred); }, strategy_);
    }

    template <class Pred, class Clock, class Duration>
    bool wait_until(Pred&& pred, std::chrono::time_point<Clock, Duration> deadline) {
        return std::visit([&](auto& w) { return w.wait_until(pred, deadline); }, strategy_);
    }

    void notify() noexcept {
        if (kind_ == wait_kind::blocking) {
            std::get_if<blocking_wait>(&strategy_)->notify();
        }
    }

    /// notify() after the caller's own light_fence() (see blocking_wait::notify_fenced).
    void notify_fenced() noexcept {
        if (kind_ == wait_kind::blocking) {
            std::get_if<blocking_wait>(&strategy_)->notify_fenced();
        }
    }

private:
    wait_kind kind_;
    std::variant<busy_spin_wait, yielding_wait, backoff_wait, blocking_wait> strategy_;
};

} // namespace admf::detail
