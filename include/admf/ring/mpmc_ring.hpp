// SPDX-License-Identifier: MIT
// admf::mpmc_ring: bounded, lock-free, many-producer many-consumer ring buffer.
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

// Design: a power-of-two array of slots, each holding an element and its own `turn`
// sequence (Vyukov's bounded MPMC queue). Producers claim positions by CAS on `tail_`,
// consumers by CAS on `head_`; the two indices live on separate false_sharing_range blocks.
// A slot for position p reads turn == p when free for the producer of p, p + 1 when it
// holds p's element, and p + capacity when the consumer of p has emptied it (free for the
// producer one lap later). Ownership of a slot passes only through its turn, so neither side
// reads the other's index: there is nothing to cache, and a producer never touches the
// consumers' line. Batches claim k consecutive slots with one CAS after checking all k.
// Progress: claims are lock-free (a CAS fails only because another thread claimed the
// position). Hand-over is not: a producer preempted between its CAS and its turn store
// holds back every consumer at that position, which report empty until it commits (and a
// preempted consumer likewise makes producers report full one lap later). No call waits.
// Memory order: a producer constructs, then stores turn = p + 1 with release; a consumer's
// acquire load of that turn makes the element visible. The consumer destroys, then stores
// turn = p + capacity with release; the next producer's acquire load orders the destruction
// before the new construction. The index CASes are relaxed: they hand out positions only.
// Guarantees: exactly once, FIFO per producer. Not one global FIFO order of every push and
// pop: a pop may report empty while a later position is already filled (see above).
template <class T, template <class> class Atomic = std::atomic>
class mpmc_ring {
    static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                  "a claimed slot must always be filled and emptied: T's move constructor and "
                  "destructor must be noexcept");
    static_assert(Atomic<std::uint64_t>::is_always_lock_free,
                  "the ring indices must be lock-free atomics");

public:
    using value_type = T;
    static constexpr producers producer_mode = producers::many;
    static constexpr consumers consumer_mode = consumers::many;

    /// Allocates `capacity` slots, rounded up to a power of two and at least 2 (a one-slot
    /// ring cannot tell "full for p" from "free for p + 1"). Throws std::invalid_argument for
    /// 0, std::length_error when the rounded size cannot be addressed, std::bad_alloc.
    explicit mpmc_ring(std::size_t capacity) : mpmc_ring(capacity, initial_sequence{}) {}

    /// Test-only: as above, counting positions from `start` (to cross 2^64 wrap-around).
    mpmc_ring(std::size_t capacity, initial_sequence start)
        : mask_(detail::ring_capacity(capacity, sizeof(slot), 2, "admf::mpmc_ring") - 1),
          slots_(mask_ + 1) {
        for (std::uint64_t i = 0; i <= mask_; ++i) {
            at(start.value + i).turn.store(start.value + i, std::memory_order_relaxed);
        }
        head_.store(start.value, std::memory_order_relaxed);
        tail_.store(start.value, std::memory_order_relaxed);
    }

    /// Destroys the elements still queued. No other thread may use the ring any more.
    ~mpmc_ring() {
        const auto tail = tail_.load(std::memory_order_relaxed);
        for (auto pos = head_.load(std::memory_order_relaxed); pos != tail; ++pos) {
            slot& s = at(pos);
            // Pairs with the producer's release store of turn: the element is complete.
            if (s.turn.load(std::memory_order_acquire) == pos + 1) {
                s.element.get()->~T();
            }
        }
    }

    mpmc_ring(const mpmc_ring&) = delete;
    mpmc_ring& operator=(const mpmc_ring&) = delete;

    /// Any producer. Constructs an element from `args` in the slot when that cannot throw;
    /// otherwise constructs it first (so a throwing constructor leaves the ring unchanged)
    /// and moves it in. Returns false when the ring is full.
    template <class... Args>
        requires std::constructible_from<T, Args...>
    [[nodiscard]] bool try_emplace(Args&&... args) noexcept(
        std::is_nothrow_constructible_v<T, Args...>) {
        if constexpr (std::is_nothrow_constructible_v<T, Args...>) {
            return claim_and_fill(std::forward<Args>(args)...);
        } else {
            T value(std::forward<Args>(args)...);
            return claim_and_fill(std::move(value));
        }
    }

    /// Any producer. Moves or copies `value` into the ring; false when full.
    template <class U>
        requires std::constructible_from<T, U&&>
    [[nodiscard]] bool try_push(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        return try_emplace(std::forward<U>(value));
    }

    /// Any producer. Claims up to `n` consecutive free slots with one CAS and moves the
    /// elements from `first` into them (each built from `std::move(*first)`, which must not
    /// throw: the slots are claimed). Returns how many moved (0 when full).
    template <std::input_iterator It>
        requires std::is_nothrow_constructible_v<T, std::iter_rvalue_reference_t<It>>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) noexcept {
        const auto [pos, count] = claim_run(tail_, n, 0);
        for (std::size_t i = 0; i != count; ++i, ++first) {
            slot& s = at(pos + i);
            ::new (s.element.raw()) T(std::move(*first));
            // Pairs with the consumer's acquire load of turn: publishes the element.
            s.turn.store(pos + i + 1, std::memory_order_release);
        }
        return count;
    }

    /// Any consumer. Moves the oldest available element into `out`; false when empty (or
    /// when the next position is claimed but its producer has not finished writing it).
    /// If T's move assignment throws, the element is destroyed and the exception propagates.
    [[nodiscard]] bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
        return consume([&out](T& e) noexcept(std::is_nothrow_move_assignable_v<T>) {
            out = std::move(e);
        }, 1) == 1;
    }

    /// Any consumer. Move-assigns up to `max` elements to `out`, claimed with one CAS.
    /// Returns how many moved.
    template <class OutIt>
    [[nodiscard]] std::size_t try_pop_n(OutIt out, std::size_t max) {
        return consume([&out](T& e) noexcept(noexcept(*out++ = std::move(e))) {
            *out++ = std::move(e);
        }, max);
    }

    /// Any consumer. Calls `f(T&)` on up to `max` available elements in place, oldest
    /// first, destroying each and freeing its slot right after (slots are handed back one
    /// turn store each). Returns how many were consumed. When `f` is noexcept the whole run
    /// is claimed with one CAS; otherwise one element is claimed at a time, so if `f` throws,
    /// the element it threw on counts as consumed, the rest stay queued, and the exception
    /// propagates.
    /// `f` may instead take `(T&, bool end_of_batch)`: true on the last element of the
    /// claimed run (one-at-a-time claims: `max` reached or the next position not yet ready).
    template <class F>
        requires std::invocable<F&, T&> || std::invocable<F&, T&, bool>
    std::size_t consume(F&& f, std::size_t max) {
        constexpr bool with_flag = std::invocable<F&, T&, bool>;
        constexpr bool nothrow = with_flag ? std::is_nothrow_invocable_v<F&, T&, bool>
                                           : std::is_nothrow_invocable_v<F&, T&>;
        if constexpr (nothrow) {
            const auto [pos, count] = claim_run(head_, max, 1);
            for (std::size_t i = 0; i != count; ++i) {
                slot& s = at(pos + i);
                if constexpr (with_flag) {
                    f(*s.element.get(), i + 1 == count);
                } else {
                    f(*s.element.get());
                }
                release(s, pos + i);
            }
            return count;
        } else {
            std::size_t done = 0;
            for (; done != max; ++done) {
                const auto [pos, count] = claim_run(head_, 1, 1);
                if (count == 0) {
                    break;
                }
                release_on_exit release{*this, pos};
                if constexpr (with_flag) {
                    // Acquire as in claim_run; only a hint of whether the batch goes on.
                    const bool next_ready =
                        at(pos + 1).turn.load(std::memory_order_acquire) == pos + 2;
                    f(*at(pos).element.get(), done + 1 == max || !next_ready);
                } else {
                    f(*at(pos).element.get());
                }
            }
            return done;
        }
    }

    /// Any consumer. Whether the oldest unclaimed position holds a published element now (a
    /// pop would claim it, unless another consumer is faster).
    [[nodiscard]] bool front_ready() const noexcept {
        const auto head = head_.load(std::memory_order_relaxed); // a hint, as in claim_run
        // Acquire as in claim_run: pairs with the producer's release store of the turn.
        return at(head).turn.load(std::memory_order_acquire) == head + 1;
    }

    /// Any thread. Elements queued (or being written/read) at some instant during the call.
    [[nodiscard]] std::size_t size_approx() const noexcept {
        const auto head = head_.load(std::memory_order_acquire);
        const auto tail = tail_.load(std::memory_order_acquire);
        const auto diff = static_cast<std::int64_t>(tail - head);
        return diff <= 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(diff), capacity());
    }

    /// Any thread. Positions producers have claimed so far (pushes finished or under way),
    /// counted from the initial_sequence; a claimed position is always filled (T's
    /// construction cannot fail after the claim). The bus compares it with the positions its
    /// worker consumed to know what is pending.
    [[nodiscard]] std::uint64_t claimed_approx() const noexcept {
        // The claim CAS is relaxed, so this is a snapshot of the claim count only: callers
        // order the elements themselves through the turns (consume).
        return tail_.load(std::memory_order_relaxed);
    }

    /// Any thread. Maximum number of queued elements (a power of two, at least 2).
    [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

private:
    struct slot {
        Atomic<std::uint64_t> turn{0};
        detail::element_storage<T> element;
    };
    struct run {
        std::uint64_t pos;
        std::size_t count;
    };

    [[nodiscard]] slot& at(std::uint64_t pos) const noexcept { return slots_[pos & mask_]; }

    // Claims the next position on `index` when its slot's turn is `pos + ready`, i.e. free
    // for a producer (ready = 0) or filled for a consumer (ready = 1), and up to `n - 1`
    // following positions that are ready too. One CAS for the whole run.
    run claim_run(Atomic<std::uint64_t>& index, std::size_t n, std::uint64_t ready) noexcept {
        n = std::min<std::size_t>(n, capacity());
        if (n == 0) {
            return {0, 0};
        }
        auto pos = index.load(std::memory_order_relaxed); // a hint; the CAS validates it
        for (;;) {
            // Pairs with the release store of turn by the other side: reading "ready" means
            // that side's write (construction or destruction) of the slot is visible.
            const auto turn = at(pos).turn.load(std::memory_order_acquire);
            const auto lag = static_cast<std::int64_t>(turn - (pos + ready));
            if (lag == 0) {
                std::size_t count = 1;
                while (count < n && at(pos + count).turn.load(std::memory_order_acquire) ==
                                        pos + count + ready) {
                    ++count;
                }
                // Relaxed: the CAS only hands out positions; slot contents are ordered by turn.
                if (index.compare_exchange_weak(pos, pos + count, std::memory_order_relaxed,
                                                std::memory_order_relaxed)) {
                    return {pos, count};
                }
            } else if (lag < 0) {
                // Producer: the slot still holds the element of one lap ago (full).
                // Consumer: position not yet written (empty).
                return {pos, 0};
            } else {
                pos = index.load(std::memory_order_relaxed); // another thread took pos
            }
            ADMF_TEST_POINT("mpmc_ring.claim_retry");
        }
    }

    template <class... Args>
    bool claim_and_fill(Args&&... args) noexcept {
        const auto [pos, count] = claim_run(tail_, 1, 0);
        if (count == 0) {
            return false;
        }
        slot& s = at(pos);
        ::new (s.element.raw()) T(std::forward<Args>(args)...);
        // Pairs with the consumer's acquire load of turn: publishes the element.
        s.turn.store(pos + 1, std::memory_order_release);
        return true;
    }

    // Destroys one consumed element and frees its slot for the producer one lap later.
    void release(slot& s, std::uint64_t pos) noexcept {
        s.element.get()->~T();
        // Pairs with the producer's acquire load of turn: the slot is empty again.
        s.turn.store(pos + capacity(), std::memory_order_release);
    }
    struct release_on_exit {
        mpmc_ring& ring;
        std::uint64_t pos;
        ~release_on_exit() { ring.release(ring.at(pos), pos); }
    };

    alignas(false_sharing_range) Atomic<std::uint64_t> tail_{0};
    alignas(false_sharing_range) Atomic<std::uint64_t> head_{0};
    alignas(false_sharing_range) const std::uint64_t mask_;
    detail::slot_array<slot> slots_;
};

static_assert(ring_for<mpmc_ring<int>, int>);

} // namespace admf
