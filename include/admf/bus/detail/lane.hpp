// SPDX-License-Identifier: MIT
// One lane of a partition: its ring, its counters and the worker that owns it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include <admf/bus/bus_config.hpp>
#include <admf/bus/detail/any_wait.hpp>
#include <admf/bus/detail/quiescence.hpp>
#include <admf/core/platform.hpp>
#include <admf/core/priority.hpp>
#include <admf/wait/blocking_wait.hpp>

namespace admf::detail {

/// What publish_batch hands the ring per event: the slot is built from it in place (a
/// temporary slot would be copied once more, through a store-forwarding stall).
template <class E>
struct slot_args {
    std::int64_t time;
    priority level;
    const E* event;
};

/// A ring slot: a small header and one event of the partition's types.
template <class... Es>
struct event_slot {
    template <class E>
    event_slot(std::int64_t time, priority level_, const E& e) noexcept
        : publish_time(time), level(level_), event(std::in_place_type<E>, e) {}
    template <class E>
    explicit event_slot(const slot_args<E>& args) noexcept
        : publish_time(args.time), level(args.level), event(std::in_place_type<E>, *args.event) {}

    std::int64_t publish_time;
    priority level;
    std::variant<Es...> event;
};

/// Spreads keys over lanes (the splitmix64 finaliser): consecutive instrument ids land on
/// different lanes.
[[nodiscard]] constexpr std::uint64_t mix_key(std::uint64_t k) noexcept {
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    k ^= k >> 31;
    return k;
}

/// An input iterator over a batch of events, giving each as slot_args (for try_push_n).
template <class E>
struct slot_maker {
    using iterator_concept = std::input_iterator_tag;
    using value_type = slot_args<E>;
    using difference_type = std::ptrdiff_t;

    const E* event;
    std::int64_t time;
    priority level;

    slot_args<E> operator*() const noexcept { return {time, level, event}; }
    slot_maker& operator++() noexcept {
        ++event;
        return *this;
    }
    void operator++(int) noexcept { ++event; }
};

// Design: the producer-side counters share a line that only publishers write; the owner's
// counters have their own line. Every publish counts one `attempts` (the publisher's half of
// the handshake with stop(): see basic_bus) and then exactly one
// outcome: accepted (no counter: it is a claimed ring position), rejected, timed_out or
// refused. Every claimed position leaves as delivered, discarded (owner) or dropped
// (drop_oldest). Outcome counters are written with release and read with acquire before
// `attempts`, so "outcomes == attempts" means nothing is in flight.
template <class Slot, class Traits>
class lane {
public:
    using spsc_type = typename Traits::template single_producer_ring<Slot>;
    using mpsc_type = typename Traits::template multi_producer_ring<Slot>;
    using mpmc_type = typename Traits::template shared_consumer_ring<Slot>;

    lane(const partition_config& config, std::uint32_t index_) : index(index_) {
        if (config.producer_mode == producers::single) {
            spsc_.emplace(config.capacity);
        } else if (config.on_full == backpressure::drop_oldest) {
            mpmc_.emplace(config.capacity); // publishers pop from it to make room
        } else {
            mpsc_.emplace(config.capacity);
        }
    }

    template <class... Args>
    [[nodiscard]] ADMF_ALWAYS_INLINE bool try_emplace(Args&&... args) noexcept {
        return with_ring([&](auto& r) ADMF_ALWAYS_INLINE_LAMBDA {
            return r.try_emplace(std::forward<Args>(args)...);
        });
    }

    template <class It>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) noexcept {
        return with_ring([&](auto& r) { return r.try_push_n(first, n); });
    }

    template <class F>
    std::size_t consume(F&& f, std::size_t max) {
        return with_ring([&](auto& r) { return r.consume(f, max); });
    }

    /// Producer side, on the shared-consumer ring only: removes the oldest event. Counts it.
    bool drop_oldest() noexcept {
        const auto n = mpmc_->consume([](Slot&) noexcept {}, 1);
        if (n != 0) {
            dropped.fetch_add(1, std::memory_order_release); // read by resolved()/stats
        }
        return n != 0;
    }

    /// Owner only: whether a consume would find an event now.
    [[nodiscard]] bool front_ready() noexcept {
        return with_ring([](auto& r) { return r.front_ready(); });
    }

    [[nodiscard]] std::size_t size_approx() const noexcept {
        return with_ring([](const auto& r) { return r.size_approx(); });
    }
    [[nodiscard]] std::size_t capacity() const noexcept {
        return with_ring([](const auto& r) { return r.capacity(); });
    }
    [[nodiscard]] std::uint64_t claimed_approx() const noexcept {
        return with_ring([](const auto& r) { return r.claimed_approx(); });
    }

    /// Ring positions consumed so far (dispatched, discarded or dropped).
    [[nodiscard]] std::uint64_t consumed() const noexcept {
        // Acquire pairs with the release updates: the handlers of what is counted returned.
        return delivered.load(std::memory_order_acquire) +
               discarded.load(std::memory_order_acquire) +
               dropped.load(std::memory_order_acquire);
    }

    /// True when every publish that started is decided and every accepted event has left.
    [[nodiscard]] bool resolved() const noexcept {
        const auto outcomes = consumed() + rejected.load(std::memory_order_acquire) +
                              timed_out.load(std::memory_order_acquire) +
                              refused.load(std::memory_order_acquire);
        // Read after the outcomes (see Design); attempts made before a publisher saw
        // `stopping` are visible once stop() set `drain` (basic_bus).
        return outcomes == attempts.load(std::memory_order_acquire);
    }

    /// Owner side: adds to a counter only the owner writes.
    static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
        // Release pairs with consumed()'s acquire (flush/stop read it to know handlers ran).
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }

    const std::uint32_t index;

    // Publishers' line.
    alignas(false_sharing_range) std::atomic<std::uint64_t> attempts{0};
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> timed_out{0};
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::uint64_t> dropped{0};
    // Set before the workers start, read-only after.
    any_wait* owner_wait = nullptr;
    const dispatch_sync* owner = nullptr;

    /// Publishers blocked for room (backpressure::block) wait here; the owner notifies it
    /// after each batch it frees. 2000 checks (a few µs) before parking: a full lane usually
    /// drains sooner than a futex round trip.
    blocking_wait room{2000};

    // The owner's line.
    alignas(false_sharing_range) std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> discarded{0};
    std::uint64_t next_sequence = 0;

private:
    // Two predictable branches: the partition's config never changes.
    template <class F>
    ADMF_ALWAYS_INLINE decltype(auto) with_ring(F&& f) {
        if (spsc_) {
            return f(*spsc_);
        }
        if (mpsc_) {
            return f(*mpsc_);
        }
        return f(*mpmc_);
    }
    template <class F>
    decltype(auto) with_ring(F&& f) const {
        if (spsc_) {
            return f(*spsc_);
        }
        if (mpsc_) {
            return f(*mpsc_);
        }
        return f(*mpmc_);
    }

    std::optional<spsc_type> spsc_;
    std::optional<mpsc_type> mpsc_;
    std::optional<mpmc_type> mpmc_;
};

} // namespace admf::detail
