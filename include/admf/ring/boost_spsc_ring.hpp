// SPDX-License-Identifier: MIT
// admf::boost_spsc_ring: the ring_for adapter over boost::lockfree::spsc_queue.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <concepts>
#include <cstddef>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

#include <boost/lockfree/spsc_queue.hpp>

#include <admf/core/platform.hpp>
#include <admf/ring/ring_for.hpp>

namespace admf {

// Design: a thin adapter so Boost.Lockfree's wait-free SPSC queue can stand in for
// admf::spsc_ring in a partition or a benchmark. Thread roles and memory ordering are
// Boost's (one producer, one consumer; push releases, pop acquires). Costs to know:
// - Boost 1.74 (Debian 12) copies elements in and out: T must be copyable, and
//   try_emplace/try_push build a temporary and copy it. Move-only types do not fit.
// - consume() hands each element to f in place but advances Boost's read index once per
//   element (Boost has no batched release), unlike spsc_ring's one store per batch.
// - capacity() is exactly the requested capacity (Boost needs no power of two).
// - Boost's read_available() is exact only on the consumer thread (from a third thread a
//   push and a pop between its two loads make it wrap to nearly the capacity), so the
//   adapter keeps its own pushed/popped counts for size_approx(): one more store per call
//   on each side, each on that side's own line.
template <class T>
    requires std::copy_constructible<T> && std::is_copy_assignable_v<T>
class boost_spsc_ring {
public:
    using value_type = T;
    static constexpr producers producer_mode = producers::single;
    static constexpr consumers consumer_mode = consumers::single;

    /// Allocates room for `capacity` elements. Throws std::invalid_argument for 0,
    /// std::length_error when the storage cannot be addressed, std::bad_alloc.
    explicit boost_spsc_ring(std::size_t capacity) : queue_(checked(capacity)), capacity_(capacity) {}

    boost_spsc_ring(const boost_spsc_ring&) = delete;
    boost_spsc_ring& operator=(const boost_spsc_ring&) = delete;

    /// Producer only. Builds a T from `args` and copies it in; false when full.
    template <class... Args>
        requires std::constructible_from<T, Args...>
    [[nodiscard]] bool try_emplace(Args&&... args) {
        T value(std::forward<Args>(args)...);
        counted_push push{*this, 1};
        return push.done(queue_.push(value) ? 1 : 0) == 1;
    }

    /// Producer only. Copies `value` in; false when full.
    template <class U>
        requires std::constructible_from<T, U&&>
    [[nodiscard]] bool try_push(U&& value) {
        counted_push push{*this, 1};
        if constexpr (std::same_as<std::remove_cvref_t<U>, T>) {
            return push.done(queue_.push(value) ? 1 : 0) == 1;
        } else {
            return push.done(queue_.push(T(std::forward<U>(value))) ? 1 : 0) == 1;
        }
    }

    /// Producer only. Copies up to `n` elements from `first`; returns how many went in.
    template <std::input_iterator It>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) {
        counted_push push{*this, n};
        if constexpr (std::contiguous_iterator<It> && std::same_as<std::iter_value_t<It>, T>) {
            // One Boost index store for the batch.
            return push.done(queue_.push(std::to_address(first), n));
        } else {
            std::size_t done = 0;
            for (; done != n && queue_.push(*first); ++done, ++first) {
            }
            return push.done(done);
        }
    }

    /// Consumer only. Copies the oldest element into `out`; false when empty.
    [[nodiscard]] bool try_pop(T& out) { return count_popped(queue_.pop(out) ? 1 : 0) == 1; }

    /// Consumer only. Copies up to `max` elements to `out`; returns how many.
    template <class OutIt>
    [[nodiscard]] std::size_t try_pop_n(OutIt out, std::size_t max) {
        if constexpr (std::is_pointer_v<OutIt>) {
            return count_popped(queue_.pop(out, max)); // one Boost index store for the batch
        } else {
            return consume([&out](T& e) { *out++ = e; }, max);
        }
    }

    /// Consumer only. Calls f(T&) on up to `max` elements in place, popping each after f
    /// returns (one index store per element). If f throws, that element counts as consumed
    /// (as in every admf ring) and the exception propagates.
    template <class F>
        requires std::invocable<F&, T&>
    std::size_t consume(F&& f, std::size_t max) {
        std::size_t done = 0;
        for (; done != max && queue_.read_available() != 0; ++done) {
            struct pop_on_exit {
                boost_spsc_ring& ring;
                ~pop_on_exit() {
                    (void)ring.queue_.pop();
                    ring.count_popped(1);
                }
            } pop{*this};
            f(queue_.front());
        }
        return done;
    }

    /// Any thread. Elements queued at some instant during the call.
    [[nodiscard]] std::size_t size_approx() const noexcept {
        // popped_ first: the consumer counts a pop after Boost's acquire of the element, and
        // the producer counted the push before Boost's release of it, so the pushed_ read
        // later includes every pop counted here: the difference is never negative.
        const auto popped = popped_.load(std::memory_order_acquire);
        const auto pushed = pushed_.load(std::memory_order_acquire);
        return std::min<std::size_t>(pushed - popped, capacity_);
    }

    /// Any thread. Maximum number of queued elements (exactly the requested capacity).
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    static std::size_t checked(std::size_t capacity) {
        if (capacity == 0) {
            throw std::invalid_argument("admf::boost_spsc_ring: capacity must be at least 1");
        }
        if (capacity > (static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) / sizeof(T)) - 1) {
            throw std::length_error("admf::boost_spsc_ring: capacity exceeds the addressable maximum");
        }
        return capacity;
    }

    // Counts `n` pushes before Boost publishes them; done(k) keeps the k that went in.
    struct counted_push {
        boost_spsc_ring& ring;
        std::uint64_t before;
        std::size_t n;
        std::size_t kept = 0;
        counted_push(boost_spsc_ring& r, std::size_t count)
            : ring(r), before(r.pushed_.load(std::memory_order_relaxed)), n(count) {
            // Relaxed: ordered before the element by Boost's release store of its index.
            ring.pushed_.store(before + n, std::memory_order_relaxed);
        }
        ~counted_push() {
            if (kept != n) {
                ring.pushed_.store(before + kept, std::memory_order_relaxed);
            }
        }
        std::size_t done(std::size_t k) noexcept { return kept = k; }
    };
    std::size_t count_popped(std::size_t k) noexcept {
        if (k != 0) {
            // Pairs with the acquire load in size_approx().
            popped_.store(popped_.load(std::memory_order_relaxed) + k, std::memory_order_release);
        }
        return k;
    }

    boost::lockfree::spsc_queue<T> queue_;
    std::size_t capacity_;
    alignas(false_sharing_range) std::atomic<std::uint64_t> pushed_{0}; // producer writes
    alignas(false_sharing_range) std::atomic<std::uint64_t> popped_{0}; // consumer writes
};

static_assert(ring_for<boost_spsc_ring<int>, int>);

} // namespace admf
