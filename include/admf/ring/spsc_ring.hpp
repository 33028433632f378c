// SPDX-License-Identifier: MIT
// admf::spsc_ring: bounded, wait-free, single-producer single-consumer ring buffer.
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

/// Where an spsc_ring's consumer learns that an element is ready (see spsc_ring's Design).
enum class spsc_ready_signal {
    automatic,    ///< turn_in_slot when sizeof(T) + 8 fits one cache line, else tail_index
    turn_in_slot, ///< each slot carries its turn: one line per hop; slots grow by 8 bytes
    tail_index,   ///< the producer's index: slots are exactly sizeof(T); two lines per hop
};

// Design: a power-of-two array of slots indexed by two free-running 64-bit sequences.
// When an element and a 64-bit turn fit in one cache line (`turn_in_slot`), each slot holds
// the element and the sequence it was last filled for, so a consumer learns that position p
// is ready by reading p's own slot (turn == p + 1): on a ping-pong that is one cache line
// per hop, the same as a bare atomic bouncing between two cores, and a streaming consumer
// never touches the producer's index. Larger elements span lines anyway; for them a turn
// would only push each slot across one more line, so the slots stay exactly sizeof(T) and
// the consumer reads `tail_` instead, refreshing its cached copy once per batch.
// `tail_` (next position to fill, written only by the producer) sits on the producer's
// false_sharing_range block with its cached copy of `head_`; `head_` (next position to
// drain, written only by the consumer) sits on the consumer's block. The producer reads
// `head_` only when its cached copy says "full"; the consumer frees a whole batch with one
// store of `head_`. A slot is `sequence & mask_`.
// Progress: every operation is wait-free (bounded steps, no CAS, no retry).
// Memory order: the producer constructs the element, then stores the slot's turn (or
// tail_) with release; the consumer's acquire load of it makes the element visible. The
// consumer destroys elements, then stores head_ with release; the producer's acquire load
// of head_ orders those destructions before it constructs in the same slots again.
template <class T, template <class> class Atomic = std::atomic,
          spsc_ready_signal Signal = spsc_ready_signal::automatic>
class spsc_ring {
    static_assert(std::is_nothrow_destructible_v<T>, "ring elements must not throw from ~T()");
    static_assert(Atomic<std::uint64_t>::is_always_lock_free,
                  "the ring indices must be lock-free atomics");

public:
    using value_type = T;
    /// True when the ready signal lives in each slot (by default for elements up to 56
    /// bytes), false when it is the producer's index (see Design).
    static constexpr bool turn_in_slot =
        Signal == spsc_ready_signal::automatic
            ? sizeof(T) + sizeof(std::uint64_t) <= cache_line_size
            : Signal == spsc_ready_signal::turn_in_slot;
    static constexpr producers producer_mode = producers::single;
    static constexpr consumers consumer_mode = consumers::single;

    /// Allocates `capacity` slots, rounded up to a power of two. Throws std::invalid_argument
    /// for 0, std::length_error when the rounded size cannot be addressed, std::bad_alloc.
    explicit spsc_ring(std::size_t capacity) : spsc_ring(capacity, initial_sequence{}) {}

    /// Test-only: as above, counting sequences from `start` (to cross 2^64 wrap-around).
    spsc_ring(std::size_t capacity, initial_sequence start)
        : mask_(detail::ring_capacity(capacity, sizeof(slot), 1, "admf::spsc_ring") - 1),
          slots_(mask_ + 1) {
        tail_.store(start.value, std::memory_order_relaxed);
        head_.store(start.value, std::memory_order_relaxed);
        head_cache_ = tail_cache_ = start.value;
        if constexpr (turn_in_slot) {
            // Turn p (not p + 1) marks position p as not yet filled.
            for (std::uint64_t i = 0; i <= mask_; ++i) {
                slots_[(start.value + i) & mask_].turn.store(start.value + i,
                                                             std::memory_order_relaxed);
            }
        }
    }

    /// Destroys the elements still queued. No other thread may use the ring any more.
    ~spsc_ring() {
        // Single-threaded by contract; ready() says which slots hold an element.
        for (auto pos = head_.load(std::memory_order_relaxed); ready(pos); ++pos) {
            element(pos)->~T();
        }
    }

    spsc_ring(const spsc_ring&) = delete;
    spsc_ring& operator=(const spsc_ring&) = delete;

    /// Producer only. Constructs an element in the next slot from `args`, no temporary.
    /// Returns false, constructing nothing, when the ring is full. If T's constructor
    /// throws, the exception propagates and the ring is unchanged.
    template <class... Args>
        requires std::constructible_from<T, Args...>
    [[nodiscard]] ADMF_ALWAYS_INLINE bool try_emplace(Args&&... args) noexcept(
        std::is_nothrow_constructible_v<T, Args...>) {
        const auto tail = tail_.load(std::memory_order_relaxed); // only this thread writes it
        if (tail - head_cache_ == capacity()) {
            // Pairs with the consumer's release store of head_: the slot's old element is
            // destroyed before we construct over it.
            head_cache_ = head_.load(std::memory_order_acquire);
            if (tail - head_cache_ == capacity()) {
                return false;
            }
        }
        publish_guard guard{*this, tail, 1};
        fill(tail, std::forward<Args>(args)...);
        guard.done = 1;
        return true;
    }

    /// Producer only. Moves or copies `value` into the ring; false when full.
    template <class U>
        requires std::constructible_from<T, U&&>
    [[nodiscard]] bool try_push(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        return try_emplace(std::forward<U>(value));
    }

    /// Producer only. Moves up to `n` elements from `first` into the ring, checking for room
    /// once. Returns how many moved (a prefix of the input; 0 when full).
    template <std::input_iterator It>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) {
        const auto tail = tail_.load(std::memory_order_relaxed);
        if (capacity() - (tail - head_cache_) < n) {
            head_cache_ = head_.load(std::memory_order_acquire); // as in try_emplace
        }
        const std::size_t count = std::min<std::size_t>(n, capacity() - (tail - head_cache_));
        if (count == 0) {
            return 0;
        }
        publish_guard guard{*this, tail, count};
        for (; guard.done != count; ++guard.done, ++first) {
            fill(tail + guard.done, std::move(*first));
        }
        return count; // a constructor that threw midway leaves only the built prefix counted
    }

    /// Consumer only. Moves the oldest element into `out` and destroys it in the ring.
    /// Returns false when empty. If T's move assignment throws, the element stays queued.
    [[nodiscard]] bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
        const auto head = head_.load(std::memory_order_relaxed); // only this thread writes it
        if (!ready(head)) {
            return false;
        }
        T* e = element(head);
        out = std::move(*e);
        e->~T();
        // Pairs with the producer's acquire load of head_: the slot is free for reuse.
        head_.store(head + 1, std::memory_order_release);
        return true;
    }

    /// Consumer only. Move-assigns up to `max` elements to `out` and releases them with one
    /// index store. Returns how many moved.
    template <class OutIt>
    [[nodiscard]] std::size_t try_pop_n(OutIt out, std::size_t max) {
        return consume([&out](T& e) { *out++ = std::move(e); }, max);
    }

    /// Consumer only. Calls `f(T&)` on up to `max` queued elements in place, oldest first,
    /// then destroys them and frees their slots with one index store. Returns how many were
    /// consumed. If `f` throws, the element it threw on counts as consumed and the
    /// exception propagates after the slots up to it are released.
    /// `f` may instead take `(T&, bool end_of_batch)`: true on the last element of this
    /// call (`max` reached, or the next position not yet published when f is called).
    template <class F>
        requires std::invocable<F&, T&> || std::invocable<F&, T&, bool>
    std::size_t consume(F&& f, std::size_t max) {
        const auto head = head_.load(std::memory_order_relaxed);
        release_guard guard{*this, head};
        while (guard.done != max && ready(head + guard.done)) {
            T* e = element(head + guard.done);
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

    /// Consumer only. Whether a pop would find an element now. Reads what a pop reads (the
    /// slot's turn, or the cached producer index), never the producer's line on its own.
    [[nodiscard]] bool front_ready() noexcept {
        return ready(head_.load(std::memory_order_relaxed)); // only this thread writes head_
    }

    /// Any thread. Elements queued at some instant during the call; exact only when the
    /// other side is idle.
    [[nodiscard]] std::size_t size_approx() const noexcept {
        // head_ first: tail_ counts an element no later than it is published (with a turn in
        // the slot, before), so a head_ that counts a pop makes the tail read later count
        // that element too: the difference is never negative. It can exceed capacity() if
        // pops ran between the loads, and may count an element being constructed.
        const auto head = head_.load(std::memory_order_acquire);
        const auto tail = tail_.load(std::memory_order_acquire);
        return std::min<std::size_t>(tail - head, capacity());
    }

    /// Any thread. Positions producers have claimed so far (pushes finished or under way),
    /// counted from the initial_sequence; every claimed position is filled without blocking.
    /// The bus compares it with the positions its worker consumed to know what is pending.
    [[nodiscard]] std::uint64_t claimed_approx() const noexcept {
        // Acquire pairs with the producers' updates of tail_ (a position is claimed no later
        // than it becomes readable).
        return tail_.load(std::memory_order_acquire);
    }

    /// Any thread. Maximum number of queued elements (a power of two).
    [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

private:
    struct turn_slot {
        Atomic<std::uint64_t> turn{0}; // position + 1 of the element last put here
        detail::element_storage<T> element;
    };
    struct plain_slot {
        detail::element_storage<T> element;
    };
    using slot = std::conditional_t<turn_in_slot, turn_slot, plain_slot>;

    [[nodiscard]] T* element(std::uint64_t pos) const noexcept {
        return slots_[pos & mask_].element.get();
    }

    // Consumer side: has the producer published position `pos`?
    [[nodiscard]] bool ready(std::uint64_t pos) noexcept {
        if constexpr (turn_in_slot) {
            // Pairs with the release store of turn in fill(): the element is constructed.
            return slots_[pos & mask_].turn.load(std::memory_order_acquire) == pos + 1;
        } else {
            if (static_cast<std::int64_t>(tail_cache_ - pos) > 0) {
                return true;
            }
            // Pairs with the release store of tail_ in ~publish_guard: elements constructed.
            tail_cache_ = tail_.load(std::memory_order_acquire);
            return static_cast<std::int64_t>(tail_cache_ - pos) > 0;
        }
    }

    // Producer side: constructs position `pos`'s element (and publishes it by its turn).
    template <class... Args>
    void fill(std::uint64_t pos, Args&&... args) {
        slot& s = slots_[pos & mask_];
        ::new (s.element.raw()) T(std::forward<Args>(args)...);
        if constexpr (turn_in_slot) {
            // Pairs with the acquire load of turn in ready(): publishes the element.
#if defined(ADMF_FAULT_RELAXED_PUBLISH)
            // TEST-ONLY negative control (tests/negative/README.md): publish without release.
            s.turn.store(pos + 1, std::memory_order_relaxed);
#else
            s.turn.store(pos + 1, std::memory_order_release);
#endif
        }
    }

    // Keeps tail_ right around a batch of fill()s, also when a constructor throws.
    // With turns, tail_ (then read only by size_approx) counts the batch before it is
    // published: the turn's release store orders it first, so a size_approx() that sees the
    // consumer's head_ past an element also sees it counted. Without turns, tail_ publishes
    // the elements built, after they are built.
    struct publish_guard {
        spsc_ring& ring;
        std::uint64_t tail;
        std::size_t count;
        std::size_t done = 0;
        publish_guard(spsc_ring& r, std::uint64_t t, std::size_t n) : ring(r), tail(t), count(n) {
            if constexpr (turn_in_slot) {
                ring.tail_.store(tail + count, std::memory_order_relaxed);
            }
        }
        ~publish_guard() {
            if constexpr (turn_in_slot) {
                if (done != count) {
                    ring.tail_.store(tail + done, std::memory_order_relaxed); // uncount
                }
            } else if (done != 0) {
                // Pairs with the consumer's acquire load of tail_ in ready().
                ring.tail_.store(tail + done, std::memory_order_release);
            }
        }
        publish_guard(const publish_guard&) = delete;
        publish_guard& operator=(const publish_guard&) = delete;
    };
    // Stores head_ once for a batch, including the part consumed before an exception.
    struct release_guard {
        spsc_ring& ring;
        std::uint64_t head;
        std::size_t done = 0;
        ~release_guard() {
            if (done != 0) {
                // Pairs with the producer's acquire load of head_.
                ring.head_.store(head + done, std::memory_order_release);
            }
        }
    };

    // Producer line: its index and its cached view of the consumer's.
    alignas(false_sharing_range) Atomic<std::uint64_t> tail_{0};
    std::uint64_t head_cache_ = 0;
    // Consumer line: its index and (without turns) its cached view of the producer's.
    alignas(false_sharing_range) Atomic<std::uint64_t> head_{0};
    std::uint64_t tail_cache_ = 0;
    // Read-only after construction, shared by both sides.
    alignas(false_sharing_range) const std::uint64_t mask_;
    detail::slot_array<slot> slots_;
};

static_assert(ring_for<spsc_ring<int>, int>);

} // namespace admf
