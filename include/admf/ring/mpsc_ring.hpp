// SPDX-License-Identifier: MIT
// admf::mpsc_ring: bounded, lock-free, many-producer single-consumer ring buffer.
#pragma once

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <type_traits>
#include <utility>

#include <admf/core/platform.hpp>
#include <admf/ring/detail/ring_storage.hpp>
#include <admf/ring/ring_for.hpp>

namespace admf {

// Design: the bus lane's ring when many threads publish and one worker consumes. Producers
// claim runs of positions by CAS on `tail_` and publish each element by its slot's `turn`
// (position + 1), as in mpmc_ring; the one consumer reads turns and frees a whole batch with
// one store of `head_`, as in spsc_ring. So, unlike mpmc_ring, the consumer writes nothing
// into the slots: a slot's line crosses between cores once per lap, not twice.
// Room: a producer needs head_ (the consumer's line) only when its claim would overtake
// the newest head it knows; producers share what they learnt in `head_hint_` (on their own
// line), so the consumer's line is read about once per lap, not once per push.
// Threads: try_push* from any number of threads; try_pop*, consume and front_ready from one
// consumer thread at a time; size_approx, claimed_approx and capacity from any thread.
// Progress: claims are lock-free. Hand-over is not: a producer preempted between its CAS
// and its turn store holds back the consumer at that position (it reports empty).
// Memory order: a producer constructs, then stores turn = p + 1 with release; the
// consumer's acquire load of it makes the element visible. The consumer destroys a batch,
// then stores head_ with release; a producer's acquire load of head_ (or of head_hint_,
// stored with release by a producer after its own acquire of head_) orders the destruction
// before it constructs over the slot. The CAS on tail_ is relaxed: it hands out positions.
// Guarantees: exactly once, FIFO per producer.
template <class T, template <class> class Atomic = std::atomic>
class mpsc_ring {
    static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                  "a claimed slot must always be filled and emptied: T's move constructor and "
                  "destructor must be noexcept");
    static_assert(Atomic<std::uint64_t>::is_always_lock_free,
                  "the ring indices must be lock-free atomics");

public:
    using value_type = T;
    static constexpr producers producer_mode = producers::many;
    static constexpr consumers consumer_mode = consumers::single;

    /// Allocates `capacity` slots, rounded up to a power of two. Throws
    /// std::invalid_argument for 0, std::length_error when it cannot be addressed,
    /// std::bad_alloc.
    explicit mpsc_ring(std::size_t capacity) : mpsc_ring(capacity, initial_sequence{}) {}

    /// Test-only: as above, counting positions from `start` (to cross 2^64 wrap-around).
    mpsc_ring(std::size_t capacity, initial_sequence start)
        : mask_(detail::ring_capacity(capacity, sizeof(slot), 1, "admf::mpsc_ring") - 1),
          slots_(mask_ + 1) {
        for (std::uint64_t i = 0; i <= mask_; ++i) {
            // turn == pos + 1 means "holds pos": no position is ready yet.
            at(start.value + i).turn.store(start.value + i, std::memory_order_relaxed);
        }
        tail_.store(start.value, std::memory_order_relaxed);
        head_hint_.store(start.value, std::memory_order_relaxed);
        head_.store(start.value, std::memory_order_relaxed);
    }

    /// Destroys the elements still queued. No other thread may use the ring any more.
    ~mpsc_ring() {
        const auto tail = tail_.load(std::memory_order_relaxed);
        for (auto pos = head_.load(std::memory_order_relaxed); pos != tail; ++pos) {
            // Pairs with the producer's release store of turn: the element is complete.
            if (at(pos).turn.load(std::memory_order_acquire) == pos + 1) {
                at(pos).element.get()->~T();
            }
        }
    }

    mpsc_ring(const mpsc_ring&) = delete;
    mpsc_ring& operator=(const mpsc_ring&) = delete;

    /// Any producer. Constructs an element from `args` in the slot when that cannot throw;
    /// otherwise constructs it first (so a throwing constructor leaves the ring unchanged)
    /// and moves it in. Returns false when full. Does not allocate.
    template <class... Args>
        requires std::constructible_from<T, Args...>
    [[nodiscard]] ADMF_ALWAYS_INLINE bool try_emplace(Args&&... args) noexcept(
        std::is_nothrow_constructible_v<T, Args...>) {
        if constexpr (std::is_nothrow_constructible_v<T, Args...>) {
            const auto [pos, count] = claim(1);
            if (count == 0) {
                return false;
            }
            fill(pos, std::forward<Args>(args)...);
            return true;
        } else {
            T value(std::forward<Args>(args)...);
            return try_emplace(std::move(value));
        }
    }

    /// Any producer. Moves or copies `value` into the ring; false when full.
    template <class U>
        requires std::constructible_from<T, U&&>
    [[nodiscard]] bool try_push(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        return try_emplace(std::forward<U>(value));
    }

    /// Any producer. Claims up to `n` consecutive slots with one CAS and moves the elements
    /// from `first` into them (each built from `std::move(*first)`, which must not throw:
    /// the slots are claimed). Returns how many moved (0 when full).
    template <std::input_iterator It>
        requires std::is_nothrow_constructible_v<T, std::iter_rvalue_reference_t<It>>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) noexcept {
        const auto [pos, count] = claim(n);
        for (std::size_t i = 0; i != count; ++i, ++first) {
            fill(pos + i, std::move(*first));
        }
        return count;
    }

    /// Consumer only. Moves the oldest element into `out`; false when empty (or when the
    /// next position is claimed but its producer has not finished writing it).
    [[nodiscard]] bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
        return consume([&out](T& e) noexcept(std::is_nothrow_move_assignable_v<T>) {
            out = std::move(e);
        }, 1) == 1;
    }

    /// Consumer only. Move-assigns up to `max` elements to `out`. Returns how many moved.
    template <class OutIt>
    [[nodiscard]] std::size_t try_pop_n(OutIt out, std::size_t max) {
        return consume([&out](T& e) { *out++ = std::move(e); }, max);
    }

    /// Consumer only. Calls `f(T&)` (or `f(T&, bool end_of_batch)`: true on the last element
    /// of this call) on up to `max` ready elements in place, oldest first, destroys them and
    /// frees their slots with one index store. Returns how many were consumed. If `f`
    /// throws, the element it threw on counts as consumed and the exception propagates
    /// after the slots up to it are released.
    template <class F>
        requires std::invocable<F&, T&> || std::invocable<F&, T&, bool>
    std::size_t consume(F&& f, std::size_t max) {
        const auto head = head_.load(std::memory_order_relaxed); // only this thread writes it
        release_guard guard{*this, head};
        while (guard.done != max && ready(head + guard.done)) {
            T* e = at(head + guard.done).element.get();
            struct destroy_on_exit {
                T* e;
                ~destroy_on_exit() { e->~T(); }
            } destroy{e};
            ++guard.done; // counted before f: an element f threw on is consumed too
            if constexpr (std::invocable<F&, T&, bool>) {
                f(*e, guard.done == max || !ready(head + guard.done));
            } else {
                f(*e);
            }
        }
        return guard.done; // ~release_guard stores head_
    }

    /// Consumer only. Whether a pop would find an element now.
    [[nodiscard]] bool front_ready() const noexcept {
        return ready(head_.load(std::memory_order_relaxed));
    }

    /// Any thread. Elements queued (or being written) at some instant during the call.
    [[nodiscard]] std::size_t size_approx() const noexcept {
        // head_ first: it never passes tail_, so the difference is never negative.
        const auto head = head_.load(std::memory_order_acquire);
        const auto tail = tail_.load(std::memory_order_relaxed);
        return std::min<std::size_t>(tail - head, capacity());
    }

    /// Any thread. Positions producers have claimed so far (pushes finished or under way),
    /// counted from the initial_sequence; a claimed position is always filled.
    [[nodiscard]] std::uint64_t claimed_approx() const noexcept {
        return tail_.load(std::memory_order_relaxed); // a snapshot of the claim count
    }

    /// Any thread. Maximum number of queued elements (a power of two).
    [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

private:
    struct slot {
        Atomic<std::uint64_t> turn{0}; // position + 1 of the element last put here
        detail::element_storage<T> element;
    };
    struct run {
        std::uint64_t pos;
        std::size_t count;
    };

    [[nodiscard]] slot& at(std::uint64_t pos) const noexcept { return slots_[pos & mask_]; }

    [[nodiscard]] bool ready(std::uint64_t pos) const noexcept {
        // Pairs with the release store of turn in fill(): the element is constructed.
        return at(pos).turn.load(std::memory_order_acquire) == pos + 1;
    }

    // Claims up to n free positions (at least 1 unless full) with one CAS.
    run claim(std::size_t n) noexcept {
        n = std::min<std::size_t>(n, capacity());
        if (n == 0) {
            return {0, 0};
        }
        auto pos = tail_.load(std::memory_order_relaxed); // a hint; the CAS validates it
        for (;;) {
            // Acquire pairs with the release store of the hint (see Design).
            auto head = head_hint_.load(std::memory_order_acquire);
            if (static_cast<std::int64_t>(pos - head) < 0) {
                pos = tail_.load(std::memory_order_relaxed); // pos is stale: consumed past it
                continue;
            }
            if (capacity() - std::min<std::uint64_t>(pos - head, capacity()) < n) {
                // The hint shows less room than wanted: read the true head.
                // Pairs with the consumer's release store of head_: destruction is visible.
                head = head_.load(std::memory_order_acquire);
                if (static_cast<std::int64_t>(pos - head) < 0) {
                    pos = tail_.load(std::memory_order_relaxed);
                    continue;
                }
                if (pos - head >= capacity()) {
                    return {pos, 0}; // full (a stale pos only understates how full)
                }
                // Release: another producer's acquire of the hint sees the destruction too.
                head_hint_.store(head, std::memory_order_release);
            }
            const auto count = std::min<std::size_t>(n, capacity() - (pos - head));
            // Relaxed: the CAS only hands out positions; slot contents are ordered by turn
            // (consumer side) and by head_ (producer side).
            if (tail_.compare_exchange_weak(pos, pos + count, std::memory_order_relaxed,
                                            std::memory_order_relaxed)) {
                return {pos, count};
            }
            ADMF_TEST_POINT("mpsc_ring.claim_retry");
        }
    }

    template <class... Args>
    void fill(std::uint64_t pos, Args&&... args) noexcept {
        slot& s = at(pos);
        ::new (s.element.raw()) T(std::forward<Args>(args)...);
        // Pairs with the consumer's acquire load of turn: publishes the element.
        s.turn.store(pos + 1, std::memory_order_release);
    }

    // Stores head_ once for a batch, including the part consumed before an exception.
    struct release_guard {
        mpsc_ring& ring;
        std::uint64_t head;
        std::size_t done = 0;
        ~release_guard() {
            if (done != 0) {
                // Pairs with the producers' acquire load of head_.
                ring.head_.store(head + done, std::memory_order_release);
            }
        }
    };

    // Producers' line: the claim index and the newest consumer index one of them read.
    alignas(false_sharing_range) Atomic<std::uint64_t> tail_{0};
    Atomic<std::uint64_t> head_hint_{0};
    // Consumer's line.
    alignas(false_sharing_range) Atomic<std::uint64_t> head_{0};
    // Read-only after construction.
    alignas(false_sharing_range) const std::uint64_t mask_;
    detail::slot_array<slot> slots_;
};

static_assert(ring_for<mpsc_ring<int>, int>);

} // namespace admf
