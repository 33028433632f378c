// SPDX-License-Identifier: MIT
// Test-only: admf_test::dsched::atomic, the drop-in std::atomic whose every operation is a
// scheduling point of dsched's scheduler (scheduler.hpp), and dsched::yield for spin loops.
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <type_traits>

#include "scheduler.hpp"

namespace admf_test::dsched {

namespace detail {
inline void point() {
    if (running_scheduler != nullptr) {
        running_scheduler->step(running_thread);
    }
}
inline void wrote() noexcept {
    if (running_scheduler != nullptr) {
        running_scheduler->wrote();
    }
}
} // namespace detail

/// In a test thread's spin loop (retry after "full"/"empty"): lets the others run. Outside
/// a scheduled execution, std::this_thread::yield().
inline void yield() {
    if (detail::running_scheduler != nullptr) {
        detail::running_scheduler->yield(detail::running_thread);
    } else {
        std::this_thread::yield();
    }
}

/// Drop-in for std::atomic<T> (the members admf's rings and blocking_wait use, and more).
/// Every operation is a scheduling point; memory orders are accepted and ignored: each
/// execution is sequentially consistent. compare_exchange_weak never fails spuriously.
template <class T>
class atomic {
    static_assert(std::is_trivially_copyable_v<T>, "std::atomic needs a trivially copyable T");

public:
    using value_type = T;
    static constexpr bool is_always_lock_free = true;

    constexpr atomic() noexcept : value_{} {}
    constexpr atomic(T value) noexcept : value_(value) {} // NOLINT: implicit like std::atomic
    atomic(const atomic&) = delete;
    atomic& operator=(const atomic&) = delete;

    [[nodiscard]] bool is_lock_free() const noexcept { return true; }

    T load(std::memory_order = std::memory_order_seq_cst) const noexcept {
        detail::point();
        return value_;
    }
    operator T() const noexcept { return load(); } // NOLINT: implicit like std::atomic
    void store(T value, std::memory_order = std::memory_order_seq_cst) noexcept {
        detail::point();
        value_ = value;
        detail::wrote();
    }
    T operator=(T value) noexcept {
        store(value);
        return value;
    }
    T exchange(T value, std::memory_order = std::memory_order_seq_cst) noexcept {
        detail::point();
        const T old = value_;
        value_ = value;
        detail::wrote();
        return old;
    }
    bool compare_exchange_strong(T& expected, T desired, std::memory_order,
                                 std::memory_order) noexcept {
        detail::point();
        if (same(value_, expected)) {
            value_ = desired;
            detail::wrote();
            return true;
        }
        expected = value_;
        return false;
    }
    bool compare_exchange_strong(T& expected, T desired,
                                 std::memory_order order = std::memory_order_seq_cst) noexcept {
        return compare_exchange_strong(expected, desired, order, order);
    }
    bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                               std::memory_order failure) noexcept {
        return compare_exchange_strong(expected, desired, success, failure);
    }
    bool compare_exchange_weak(T& expected, T desired,
                               std::memory_order order = std::memory_order_seq_cst) noexcept {
        return compare_exchange_strong(expected, desired, order, order);
    }

    T fetch_add(T d, std::memory_order = std::memory_order_seq_cst) noexcept
        requires std::is_integral_v<T>
    {
        return modify([d](T v) { return static_cast<T>(v + d); });
    }
    T fetch_sub(T d, std::memory_order = std::memory_order_seq_cst) noexcept
        requires std::is_integral_v<T>
    {
        return modify([d](T v) { return static_cast<T>(v - d); });
    }
    T fetch_and(T d, std::memory_order = std::memory_order_seq_cst) noexcept
        requires std::is_integral_v<T>
    {
        return modify([d](T v) { return static_cast<T>(v & d); });
    }
    T fetch_or(T d, std::memory_order = std::memory_order_seq_cst) noexcept
        requires std::is_integral_v<T>
    {
        return modify([d](T v) { return static_cast<T>(v | d); });
    }
    T fetch_xor(T d, std::memory_order = std::memory_order_seq_cst) noexcept
        requires std::is_integral_v<T>
    {
        return modify([d](T v) { return static_cast<T>(v ^ d); });
    }
    T operator++() noexcept requires std::is_integral_v<T> { return static_cast<T>(fetch_add(1) + 1); }
    T operator--() noexcept requires std::is_integral_v<T> { return static_cast<T>(fetch_sub(1) - 1); }
    T operator++(int) noexcept requires std::is_integral_v<T> { return fetch_add(1); }
    T operator--(int) noexcept requires std::is_integral_v<T> { return fetch_sub(1); }
    T operator+=(T d) noexcept requires std::is_integral_v<T> { return static_cast<T>(fetch_add(d) + d); }
    T operator-=(T d) noexcept requires std::is_integral_v<T> { return static_cast<T>(fetch_sub(d) - d); }

    /// Blocks (in the scheduler) while the value equals `old`, until a notify. A notify
    /// is the only wake-up, as with a futex: a store without notify leaves it blocked.
    void wait(T old, std::memory_order = std::memory_order_seq_cst) const noexcept {
        for (;;) {
            detail::point();
            if (!same(value_, old)) {
                return;
            }
            if (detail::running_scheduler == nullptr) {
                std::abort(); // would block forever: nobody else runs outside an execution
            }
            detail::running_scheduler->block_on(detail::running_thread, this);
        }
    }
    void notify_one() noexcept { notify(false); }
    void notify_all() noexcept { notify(true); }

private:
    static bool same(const T& a, const T& b) noexcept {
        return std::memcmp(&a, &b, sizeof(T)) == 0;
    }
    template <class F>
    T modify(F f) noexcept {
        detail::point();
        const T old = value_;
        value_ = f(old);
        detail::wrote();
        return old;
    }
    void notify(bool all) noexcept {
        detail::point();
        if (detail::running_scheduler != nullptr) {
            detail::running_scheduler->notify(this, all);
        }
    }

    T value_;
};

} // namespace admf_test::dsched
