// SPDX-License-Identifier: MIT
// The wait_strategy concept: how a thread waits for a condition another thread makes true.
#pragma once

#include <chrono>
#include <concepts>

namespace admf {

namespace detail {
/// Predicate archetype used only to spell the wait_strategy requirements.
struct wait_predicate_archetype {
    bool operator()() const noexcept { return true; }
};
} // namespace detail

/// A policy for waiting until `pred()` holds, where another thread makes it hold and then
/// calls notify(). Semantic requirements the compiler cannot check:
/// - wait(pred) returns only once pred() returned true; pred is called from the waiting
///   thread only and must be safe to call repeatedly;
/// - no lost wake-up: if a thread makes pred() true and then calls notify(), every waiter
///   returns (also one that was just about to block);
/// - wait_until returns true as soon as pred() holds, false once `deadline` passed without;
/// - notify() is noexcept, never blocks, and may be called from any number of threads.
template <class W>
concept wait_strategy =
    std::default_initializable<W> &&
    requires(W& w, detail::wait_predicate_archetype pred,
             std::chrono::steady_clock::time_point deadline) {
        { w.wait(pred) } -> std::same_as<void>;
        { w.wait_until(pred, deadline) } -> std::same_as<bool>;
        { w.notify() } noexcept -> std::same_as<void>;
    };

} // namespace admf
