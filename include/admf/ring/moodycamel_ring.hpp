// SPDX-License-Identifier: MIT
// admf::moodycamel_ring: an honestly bounded ring_for adapter over moodycamel::ConcurrentQueue.
#pragma once

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#if __has_include(<concurrentqueue/moodycamel/concurrentqueue.h>)
#include <concurrentqueue/moodycamel/concurrentqueue.h>
#else
#include <concurrentqueue/concurrentqueue.h>
#endif

#include <admf/core/platform.hpp>
#include <admf/ring/ring_for.hpp>

namespace admf {

namespace detail {
// Block index large enough that one producer can hold max_capacity elements without the
// index growing (growing allocates, and try_enqueue fails instead of allocating).
struct moodycamel_ring_traits : moodycamel::ConcurrentQueueDefaultTraits {
    static constexpr std::size_t BLOCK_SIZE = 64;
    static constexpr std::size_t IMPLICIT_INITIAL_INDEX_SIZE = 1024;
};
} // namespace detail

// Design: moodycamel::ConcurrentQueue is unbounded by nature; with try_enqueue it is
// bounded only by its initial block pool, and how much of that pool one producer may hold
// is not fixed: a token (explicit) producer keeps every block it ever used, so one producer
// can take the whole pool and starve the others forever (measured on this project's
// machines). This adapter therefore:
// - uses implicit (token-less) producers, whose emptied blocks return to the shared pool;
// - sizes the pool so each of `max_producers` producer threads could hold `capacity`
//   elements (memory: about (max_producers + 1) x capacity elements);
// - bounds the elements in flight by `capacity` with its own atomic counter, so capacity()
//   means what it means for every other ring: the most elements queued at once.
// Costs to know: every push and pop pays one extra contended RMW on the counter; a push may
// report full below capacity while a consumer is returning a block to the pool, or when more
// than `max_producers` threads push; the first push from each thread allocates moodycamel's
// per-thread producer (its only allocation after construction). Ordering is moodycamel's:
// FIFO per producer, no order across producers. MPMC, lock-free.
template <class T>
    requires std::movable<T> && std::default_initializable<T>
class moodycamel_ring {
public:
    using value_type = T;
    static constexpr producers producer_mode = producers::many;
    static constexpr consumers consumer_mode = consumers::many;
    static constexpr std::size_t default_max_producers = 8;
    /// Largest capacity one implicit producer can hold without growing its block index.
    static constexpr std::size_t max_capacity =
        detail::moodycamel_ring_traits::BLOCK_SIZE *
        detail::moodycamel_ring_traits::IMPLICIT_INITIAL_INDEX_SIZE / 2;

    /// Pre-allocates a pool for `capacity` elements per producer thread, for up to
    /// `max_producers` threads. Throws std::invalid_argument for a 0 capacity or producer
    /// count, std::length_error above max_capacity, std::bad_alloc.
    explicit moodycamel_ring(std::size_t capacity, std::size_t max_producers = default_max_producers)
        : capacity_(checked(capacity, max_producers)), queue_(capacity_, 0, max_producers) {}

    moodycamel_ring(const moodycamel_ring&) = delete;
    moodycamel_ring& operator=(const moodycamel_ring&) = delete;

    /// Any producer. Builds a T from `args` and moves it in; false when full. A single
    /// argument of type T is handed to moodycamel as it is, so a refused push leaves it
    /// untouched (the caller can retry with it); other arguments build a temporary first.
    template <class... Args>
        requires std::constructible_from<T, Args...>
    [[nodiscard]] bool try_emplace(Args&&... args) {
        if (!reserve(1)) {
            return false;
        }
        // Gives the reservation back unless an element was queued, also when T's
        // constructor (or moodycamel, moving it) throws.
        struct reservation {
            moodycamel_ring* ring;
            bool queued = false;
            ~reservation() {
                if (!queued) {
                    ring->unreserve(1);
                }
            }
        } r{this};
        if constexpr (sizeof...(Args) == 1 && (std::same_as<std::remove_cvref_t<Args>, T> && ...)) {
            // moodycamel moves (or copies) the element only once it has a slot for it.
            r.queued = queue_.try_enqueue(std::forward<Args>(args)...);
        } else {
            r.queued = queue_.try_enqueue(T(std::forward<Args>(args)...));
        }
        return r.queued;
    }

    /// Any producer. Moves or copies `value` in; false when full.
    template <class U>
        requires std::constructible_from<T, U&&>
    [[nodiscard]] bool try_push(U&& value) {
        return try_emplace(std::forward<U>(value));
    }

    /// Any producer. Moves up to `n` elements from `first` in one bulk enqueue; returns how
    /// many went in.
    template <std::input_iterator It>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) {
        const std::size_t count = reserve_up_to(n);
        if (count != 0 && !queue_.try_enqueue_bulk(std::make_move_iterator(first), count)) {
            unreserve(count);
            return 0;
        }
        return count;
    }

    /// Any consumer. Moves an element into `out`; false when empty.
    [[nodiscard]] bool try_pop(T& out) {
        if (!queue_.try_dequeue(out)) {
            return false;
        }
        unreserve(1);
        return true;
    }

    /// Any consumer. Moves up to `max` elements to `out` in one bulk dequeue.
    template <class OutIt>
    [[nodiscard]] std::size_t try_pop_n(OutIt out, std::size_t max) {
        const std::size_t count = queue_.try_dequeue_bulk(out, max);
        unreserve(count);
        return count;
    }

    /// Any consumer. Dequeues up to `max` elements one by one into a local T and calls f on
    /// it (moodycamel has no in-place access). If f throws, that element is consumed.
    template <class F>
        requires std::invocable<F&, T&>
    std::size_t consume(F&& f, std::size_t max) {
        std::size_t done = 0;
        T local{};
        for (; done != max && queue_.try_dequeue(local); ++done) {
            unreserve(1);
            f(local);
        }
        return done;
    }

    /// Any thread. Elements counted in flight (reserved by producers, not yet popped).
    [[nodiscard]] std::size_t size_approx() const noexcept {
        // A refused reserve() counts for a moment before it gives its unit back.
        return std::min(in_flight_.load(std::memory_order_relaxed), capacity_);
    }

    /// Any thread. Maximum number of queued elements (exactly the requested capacity).
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    static std::size_t checked(std::size_t capacity, std::size_t max_producers) {
        if (capacity == 0 || max_producers == 0) {
            throw std::invalid_argument(
                "admf::moodycamel_ring: capacity and max_producers must be at least 1");
        }
        if (capacity > max_capacity) {
            throw std::length_error("admf::moodycamel_ring: capacity " + std::to_string(capacity) +
                                    " exceeds max_capacity " + std::to_string(max_capacity));
        }
        return capacity;
    }

    // The counter only bounds the element count; moodycamel orders the elements themselves,
    // so relaxed RMWs suffice on both sides.
    bool reserve(std::size_t n) noexcept {
        if (in_flight_.fetch_add(n, std::memory_order_relaxed) + n > capacity_) {
            unreserve(n);
            return false;
        }
        return true;
    }
    std::size_t reserve_up_to(std::size_t n) noexcept {
        auto current = in_flight_.load(std::memory_order_relaxed);
        for (;;) {
            const std::size_t count = current >= capacity_ ? 0 : std::min(n, capacity_ - current);
            if (count == 0 || in_flight_.compare_exchange_weak(current, current + count,
                                                               std::memory_order_relaxed)) {
                return count;
            }
        }
    }
    void unreserve(std::size_t n) noexcept { in_flight_.fetch_sub(n, std::memory_order_relaxed); }

    const std::size_t capacity_;
    moodycamel::ConcurrentQueue<T, detail::moodycamel_ring_traits> queue_;
    alignas(false_sharing_range) std::atomic<std::size_t> in_flight_{0};
};

static_assert(ring_for<moodycamel_ring<int>, int>);

} // namespace admf
