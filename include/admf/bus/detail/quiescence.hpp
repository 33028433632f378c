// SPDX-License-Identifier: MIT
// Quiescent-state tracking of dispatching threads: when a removed handler has stopped
// running, and when a retired subscriber table can be freed.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>

#include <admf/core/asymmetric_fence.hpp>
#include <admf/core/platform.hpp>

namespace admf::detail {

// Design: each thread that dispatches (a bus worker; sync_bus's caller) owns one
// dispatch_sync and is the only writer of its `state_`:
//   state_ = (passes << 2) | in_dispatch (1) | in_handler (2)
// `passes` counts finished dispatch rounds. A round sets both bits, then light_fence(),
// before it reads any subscriber table, and clears both while counting one pass (release)
// after its last handler returned. A thread that blocks inside a handler to wait for other
// dispatchers (unsubscribe) clears only in_handler while it waits, so two handlers waiting
// for each other both see the other as "not running a handler" and neither deadlocks.
// - Handler removal (unsubscribe): clear the entry's `active` flag, heavy_fence(), then for
//   each other dispatcher read `state_`: with in_handler clear it cannot call the entry any
//   more (Dekker, split asymmetrically: the round's store + light_fence + load of `active`
//   against the remover's store + heavy_fence + load of `state_`); else wait until `state_`
//   changes (its next round, or a nested wait, sees the flag).
// - Table reclamation: the writer swaps the table pointer, heavy_fence(), and snapshots the
//   states; a table retired while a dispatcher was in a round may be freed once `passes`
//   moved on, one retired while it was outside a round at once. Nested waits do not count a
//   pass: the waiting handler's round still holds its table.
class dispatch_sync {
public:
    static constexpr std::uint64_t in_dispatch = 1;
    static constexpr std::uint64_t in_handler = 2;

    /// Owner only. Starts a dispatch round.
    void begin_round() noexcept {
        // Relaxed + light_fence: pairs with the writers' heavy_fence (see Design): a remover
        // either sees this round, or this round sees its cleared `active` flag / new table.
        state_.store((passes_ << 2) | in_dispatch | in_handler, std::memory_order_relaxed);
        light_fence();
    }

    /// Owner only, when every subscribe/unsubscribe runs on the owner's thread too.
    void begin_round_same_thread() noexcept {
        // Relaxed: the only other accesses are this thread's own (sequenced) ones.
        state_.store((passes_ << 2) | in_dispatch | in_handler, std::memory_order_relaxed);
    }

    /// Owner only. Ends a round: every handler call of it happens-before a waiter's
    /// acquire load that sees the new state.
    void end_round() noexcept {
        ++passes_;
        state_.store(passes_ << 2, std::memory_order_release); // pairs with waiters' acquire
    }

    /// Owner only, inside a round: brackets a wait for other dispatchers.
    void begin_nested_wait() noexcept {
        // Release: the handler's effects so far happen-before a waiter that sees the bit clear.
        state_.store((passes_ << 2) | in_dispatch, std::memory_order_release);
    }
    void end_nested_wait() noexcept {
        state_.store((passes_ << 2) | in_dispatch | in_handler, std::memory_order_relaxed);
        light_fence(); // as in begin_round: the handler goes on reading `active` flags
    }

    /// Any thread, after a heavy_fence(). The state, for snapshots.
    [[nodiscard]] std::uint64_t state() const noexcept {
        return state_.load(std::memory_order_acquire);
    }

    /// Owner only: counts events published from inside its handlers (flush() follows them).
    void count_publish(std::uint64_t n) noexcept {
        // Release pairs with publishes()'s acquire; single writer, so no RMW needed.
        publishes_.store(publishes_.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }
    [[nodiscard]] std::uint64_t publishes() const noexcept {
        return publishes_.load(std::memory_order_acquire);
    }

    /// Owner only, around each handler call: what the stall watchdog reads. Plain stores
    /// (single writer, relaxed: the watchdog only compares values over time; nothing is
    /// read through them).
    void note_call(std::uint64_t subscription) noexcept {
        calling_.store(subscription, std::memory_order_relaxed);
    }
    void note_return() noexcept {
        calls_.store(calls_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    /// Any thread: handler calls returned so far, and the subscription called last.
    [[nodiscard]] std::uint64_t calls_approx() const noexcept {
        return calls_.load(std::memory_order_relaxed); // a progress count, see note_call
    }
    [[nodiscard]] std::uint64_t calling_approx() const noexcept {
        return calling_.load(std::memory_order_relaxed); // see note_call
    }

    /// Whether this dispatcher can no longer be inside a round that started at `snapshot`.
    [[nodiscard]] bool passed(std::uint64_t snapshot) const noexcept {
        if ((snapshot & in_dispatch) == 0) {
            return true;
        }
        // Acquire pairs with end_round's release: the round's table reads are done.
        return (state_.load(std::memory_order_acquire) >> 2) != (snapshot >> 2);
    }

    /// Any thread but the owner, after a heavy_fence(): returns once the owner runs no
    /// handler that started before the fence (see Design).
    void wait_handlers_idle() const noexcept {
        const auto seen = state_.load(std::memory_order_acquire);
        if ((seen & in_handler) == 0) {
            return;
        }
        // Acquire pairs with end_round's release / begin_nested_wait's seq_cst store, so
        // the handler's effects happen-before the caller goes on (e.g. frees its state).
        for (std::uint32_t spins = 0; state_.load(std::memory_order_acquire) == seen; ++spins) {
            if (spins < 64) {
                cpu_relax();
            } else {
                std::this_thread::yield();
            }
        }
    }

private:
    alignas(false_sharing_range) std::atomic<std::uint64_t> state_{0};
    std::uint64_t passes_ = 0; // owner only
    std::atomic<std::uint64_t> publishes_{0};
    std::atomic<std::uint64_t> calling_{0};
    std::atomic<std::uint64_t> calls_{0};
};

/// The dispatch_sync of the round the calling thread is in (null outside any dispatch).
inline thread_local dispatch_sync* current_dispatcher = nullptr;

/// RAII: marks the calling thread as dispatching one round of `sync` (nests correctly when
/// a sync_bus dispatches from inside another bus's handler).
class dispatch_round {
public:
    explicit dispatch_round(dispatch_sync& sync) noexcept
        : sync_(sync), outer_(std::exchange(current_dispatcher, &sync)) {
        sync_.begin_round();
    }
    /// For a dispatcher whose readers all run on its own thread (sync_bus): no fence.
    struct same_thread_t {};
    dispatch_round(dispatch_sync& sync, same_thread_t) noexcept
        : sync_(sync), outer_(std::exchange(current_dispatcher, &sync)) {
        sync_.begin_round_same_thread();
    }
    ~dispatch_round() {
        sync_.end_round();
        current_dispatcher = outer_;
    }
    dispatch_round(const dispatch_round&) = delete;
    dispatch_round& operator=(const dispatch_round&) = delete;

private:
    dispatch_sync& sync_;
    dispatch_sync* outer_;
};

/// RAII: while alive, the calling thread (if dispatching) counts as running no handler.
class nested_wait {
public:
    nested_wait() noexcept : sync_(current_dispatcher) {
        if (sync_ != nullptr) {
            sync_->begin_nested_wait();
        }
    }
    ~nested_wait() {
        if (sync_ != nullptr) {
            sync_->end_nested_wait();
        }
    }
    nested_wait(const nested_wait&) = delete;
    nested_wait& operator=(const nested_wait&) = delete;

private:
    dispatch_sync* sync_;
};

} // namespace admf::detail
