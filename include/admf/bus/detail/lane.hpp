// SPDX-License-Identifier: MIT
// One lane of a partition: its ring, its counters and the worker that owns it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <concepts>
#include <optional>
#include <array>
#include <type_traits>
#include <utility>
#include <variant>

#include <admf/bus/bus_config.hpp>
#include <admf/bus/detail/any_wait.hpp>
#include <admf/bus/detail/quiescence.hpp>
#include <admf/core/asymmetric_fence.hpp>
#include <admf/core/platform.hpp>
#include <admf/core/event_traits.hpp>
#include <admf/core/priority.hpp>
#include <admf/ring/conflating_ring.hpp>
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

/// What a conflating lane conflates on: (the event's type, its key).
template <class Slot>
struct slot_key;
template <class... Es>
struct slot_key<event_slot<Es...>> {
    [[nodiscard]] conflation_key operator()(const event_slot<Es...>& s) const noexcept {
        const auto type = static_cast<std::uint32_t>(s.event.index());
        return std::visit(
            [&](const auto& e) noexcept {
                if constexpr (event_has_key_v<std::decay_t<decltype(e)>>) {
                    return conflation_key{static_cast<std::uint64_t>(event_key(e)), type};
                } else {
                    return conflation_key{0, type}; // refused by validate(): every type needs a key
                }
            },
            s.event);
    }
};

/// Whether a partition of slots Slot may use backpressure::conflate (its events are copied
/// under a seqlock).
template <class Slot>
inline constexpr bool conflatable_v = std::is_trivially_copyable_v<Slot>;

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

/// Whether ring template Ring offers what a lane needs of its ring: admf's own rings do
/// (front_ready, claimed_approx, consume with an end-of-batch flag). Probed on a plain
/// element, so that an adapter whose element needs a default constructor is not
/// instantiated with a slot that has none.
struct lane_probe {
    int value = 0;
};
template <template <class> class Ring>
concept lane_native_ring = requires(Ring<lane_probe>& r, const Ring<lane_probe>& cr) {
    { r.front_ready() } -> std::convertible_to<bool>;
    { cr.claimed_approx() } -> std::convertible_to<std::uint64_t>;
};

// Design: a ring that models only ring_for (the Boost.Lockfree and moodycamel adapters) as
// a lane's ring. Its elements are std::optional<Slot> (Boost needs a default constructor).
// The consumer keeps one element popped ahead (`ahead_`), which answers front_ready() and
// tells consume() whether an element ends the batch; it is consumer state and moves with
// the lane at a hand-over (the holder's release/acquire orders it like the ring's own
// indexes). `claimed_` counts accepted pushes for flush() and the backlog, after the push
// (so a consumer may count an element consumed before it is counted claimed: readers
// clamp). Publishers may not pop (no drop_oldest over it: ahead_ is the consumer's).
template <template <class> class Ring, class Slot>
class lane_ring_adapter {
public:
    using ring_type = Ring<std::optional<Slot>>;
    static constexpr producers producer_mode = ring_type::producer_mode;
    static constexpr consumers consumer_mode = consumers::single; // see Design

    explicit lane_ring_adapter(std::size_t capacity) : ring_(capacity) {}

    template <class... Args>
    [[nodiscard]] bool try_emplace(Args&&... args) {
        if (!ring_.try_emplace(std::in_place, std::forward<Args>(args)...)) {
            return false;
        }
        count_claim();
        return true;
    }

    template <class It>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) {
        std::size_t done = 0;
        for (; done != n && try_emplace(*first); ++done, ++first) {
        }
        return done;
    }

    /// Consumer only.
    [[nodiscard]] bool front_ready() { return ahead_.has_value() || ring_.try_pop(ahead_); }

    /// Consumer only: up to `max` elements through f(slot, end_of_batch).
    template <class F>
    std::size_t consume(F&& f, std::size_t max) {
        std::size_t n = 0;
        while (n != max && front_ready()) {
            std::optional<Slot> current = std::move(ahead_);
            ahead_.reset();
            ++n;
            const bool last = n == max || !front_ready();
            f(*current, last);
        }
        return n;
    }

    [[nodiscard]] std::uint64_t claimed_approx() const noexcept {
        return claimed_.load(std::memory_order_acquire); // pairs with count_claim's release
    }

private:
    void count_claim() noexcept {
        if constexpr (producer_mode == producers::single) {
            // One producer: a plain increment, no locked instruction.
            claimed_.store(claimed_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        } else {
            claimed_.fetch_add(1, std::memory_order_release); // read by claimed_approx
        }
    }

    ring_type ring_;
    std::optional<Slot> ahead_; // consumer only
    alignas(false_sharing_range) std::atomic<std::uint64_t> claimed_{0};
};

/// The lane ring for ring template Ring: Ring<Slot> itself, or the adapter above.
template <template <class> class Ring, class Slot>
struct lane_ring_for {
    using type = Ring<Slot>;
};
template <template <class> class Ring, class Slot>
    requires(!lane_native_ring<Ring>)
struct lane_ring_for<Ring, Slot> {
    using type = lane_ring_adapter<Ring, Slot>;
};

/// One ring of a lane, of the kind the partition's config selects. Two predictable branches
/// per call: the config never changes.
template <class Slot, class Traits>
class lane_ring {
public:
    using spsc_type = typename lane_ring_for<Traits::template single_producer_ring, Slot>::type;
    using mpsc_type = typename lane_ring_for<Traits::template multi_producer_ring, Slot>::type;
    using mpmc_type = typename Traits::template shared_consumer_ring<Slot>;
    static_assert(lane_native_ring<Traits::template shared_consumer_ring>,
                  "admf: Traits::shared_consumer_ring is popped by publishers too "
                  "(drop_oldest): it must be one of admf's rings (mpmc_ring)");
    using conflate_type = conflating_ring<Slot, slot_key<Slot>>;

    explicit lane_ring(const partition_config& config) {
        if constexpr (conflatable_v<Slot>) {
            if (config.on_full == backpressure::conflate) {
                conflate_.emplace(config.capacity, config.producer_mode);
                return;
            }
        }
        if (config.producer_mode == producers::single) {
            spsc_.emplace(config.capacity);
        } else if (config.on_full == backpressure::drop_oldest) {
            mpmc_.emplace(config.capacity); // publishers pop from it to make room
        } else {
            mpsc_.emplace(config.capacity);
        }
    }

    template <class F>
    ADMF_ALWAYS_INLINE decltype(auto) visit(F&& f) {
        if constexpr (conflatable_v<Slot>) {
            if (conflate_) {
                return f(*conflate_);
            }
        }
        if (spsc_) {
            return f(*spsc_);
        }
        if (mpsc_) {
            return f(*mpsc_);
        }
        return f(*mpmc_);
    }
    template <class F>
    decltype(auto) visit(F&& f) const {
        if constexpr (conflatable_v<Slot>) {
            if (conflate_) {
                return f(*conflate_);
            }
        }
        if (spsc_) {
            return f(*spsc_);
        }
        if (mpsc_) {
            return f(*mpsc_);
        }
        return f(*mpmc_);
    }
    /// The multi-consumer ring (drop_oldest partitions only).
    [[nodiscard]] mpmc_type& shared() noexcept { return *mpmc_; }

    /// Events replaced by a newer one of their key (conflate partitions; 0 otherwise).
    [[nodiscard]] std::uint64_t conflated() const noexcept {
        if constexpr (conflatable_v<Slot>) {
            return conflate_ ? conflate_->conflated_approx() : 0;
        }
        return 0;
    }
    /// Publishes that merged into their key's queued event (conflate partitions; else 0).
    [[nodiscard]] std::uint64_t merged() const noexcept {
        if constexpr (conflatable_v<Slot>) {
            return conflate_ ? conflate_->merged_approx() : 0;
        }
        return 0;
    }

private:
    struct none {};
    [[no_unique_address]] std::conditional_t<conflatable_v<Slot>, std::optional<conflate_type>, none>
        conflate_{};
    std::optional<spsc_type> spsc_;
    std::optional<mpsc_type> mpsc_;
    std::optional<mpmc_type> mpmc_;
};

// Design: a lane keeps one ring per priority level of its partition's priority_policy (one
// for no_priority). The producer-side counters share a line that only publishers write; the
// owner's counters have their own line. Every publish counts one `attempts` (the publisher's
// half of the handshake with stop(): see basic_bus) and then exactly one outcome: accepted
// (no counter: it is a claimed ring position), rejected, timed_out or refused. Every claimed
// position leaves as delivered, discarded (owner) or dropped (drop_oldest), counted per level
// so flush() can compare each ring's claims with what left it. Outcome counters are written
// with release and read with acquire before `attempts`, so "outcomes == attempts" means
// nothing is in flight.
template <class Slot, class Traits, std::size_t Levels>
class lane {
public:
    using ring_type = lane_ring<Slot, Traits>;
    using mpmc_type = typename ring_type::mpmc_type;
    static constexpr std::size_t levels = Levels;

    lane(const partition_config& config, std::uint32_t index_)
        : lane(config, index_, std::make_index_sequence<Levels>{}) {}

    template <class... Args>
    [[nodiscard]] ADMF_ALWAYS_INLINE bool try_emplace(std::size_t level, Args&&... args) noexcept {
        return queues_[level].ring.visit([&](auto& r) ADMF_ALWAYS_INLINE_LAMBDA {
            return r.try_emplace(std::forward<Args>(args)...);
        });
    }

    template <class It>
    [[nodiscard]] std::size_t try_push_n(std::size_t level, It first, std::size_t n) noexcept {
        return queues_[level].ring.visit([&](auto& r) {
            if constexpr (requires { r.merged_approx(); }) {
                // A conflating ring takes values one key at a time: build each slot here.
                std::size_t done = 0;
                for (; done != n && r.try_emplace(*first); ++done, ++first) {
                }
                return done;
            } else {
                return r.try_push_n(first, n);
            }
        });
    }

    /// Owner only: up to `max` events of one level's ring through f(slot, end_of_batch).
    template <class F>
    std::size_t consume(std::size_t level, F&& f, std::size_t max) {
        return queues_[level].ring.visit([&](auto& r) { return r.consume(f, max); });
    }

    /// Producer side, multi-consumer rings only: removes the oldest event of the lowest
    /// priority level that has one. Counts it. False when nothing could be dropped.
    bool drop_oldest() noexcept {
        for (auto& q : queues_) {
            if (q.ring.shared().consume([](Slot&) noexcept {}, 1) != 0) {
                q.dropped.fetch_add(1, std::memory_order_release); // read by resolved()/stats
                return true;
            }
        }
        return false;
    }

    /// Owner only: whether a consume of `level` would find an event now.
    [[nodiscard]] bool front_ready(std::size_t level) noexcept {
        return queues_[level].ring.visit([](auto& r) { return r.front_ready(); });
    }
    /// Owner only: whether any level would.
    [[nodiscard]] bool front_ready() noexcept {
        for (std::size_t l = 0; l != Levels; ++l) {
            if (front_ready(l)) {
                return true;
            }
        }
        return false;
    }

    [[nodiscard]] std::uint64_t claimed_approx(std::size_t level) const noexcept {
        return queues_[level].ring.visit([](const auto& r) { return r.claimed_approx(); });
    }

    /// Positions of one level's ring consumed so far (dispatched, discarded or dropped).
    [[nodiscard]] std::uint64_t consumed(std::size_t level) const noexcept {
        // Acquire pairs with the release updates: the handlers of what is counted returned.
        return queues_[level].taken.load(std::memory_order_acquire) +
               queues_[level].dropped.load(std::memory_order_acquire);
    }
    [[nodiscard]] std::uint64_t dropped() const noexcept {
        std::uint64_t n = 0;
        for (const auto& q : queues_) {
            n += q.dropped.load(std::memory_order_acquire);
        }
        return n;
    }

    /// Events conflated away (conflate partitions), all levels.
    [[nodiscard]] std::uint64_t conflated() const noexcept {
        std::uint64_t n = 0;
        for (const auto& q : queues_) {
            n += q.ring.conflated();
        }
        return n;
    }

    /// True when every publish that started is decided and every accepted event has left.
    [[nodiscard]] bool resolved() const noexcept {
        std::uint64_t outcomes = rejected.load(std::memory_order_acquire) +
                                 timed_out.load(std::memory_order_acquire) +
                                 refused.load(std::memory_order_acquire);
        for (std::size_t l = 0; l != Levels; ++l) {
            // A conflated publish either claimed a position (consumed later) or merged into
            // its key's queued one (counted by the publisher after its write).
            outcomes += consumed(l) + queues_[l].ring.merged();
        }
        // Read after the outcomes (see Design); attempts made before a publisher saw
        // `stopping` are visible once stop() set `drain` (basic_bus).
        return outcomes == attempts.load(std::memory_order_acquire);
    }

    /// Owner side: counts `n` positions taken from `level`, of which `delivered_n` events
    /// were dispatched and `discarded_n` discarded (a conflating ring's position may carry
    /// no event: its key's newest value went out already).
    void count_taken(std::size_t level, std::size_t n, std::size_t delivered_n,
                     std::size_t discarded_n) noexcept {
        bump(delivered, delivered_n);
        bump(discarded, discarded_n);
        bump(queues_[level].taken, n); // last: flush() reads it, then the other two
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
    // The owner's wait and dispatch_sync, stored by each new owner when it takes the lane
    // (partition::rebalance). Relaxed: see notify_owner().
    std::atomic<any_wait*> owner_wait{nullptr};
    std::atomic<const dispatch_sync*> owner{nullptr};

    /// Publisher side, after a push: wakes the lane's owner. The light_fence orders the push
    /// before the load of `owner_wait`; a worker taking the lane stores its own wait there,
    /// then heavy_fence()s before it drains, so either this load sees the new owner or the
    /// new owner's drain sees the event (Dekker, split asymmetrically as in blocking_wait).
    /// The same fence serves the owner's blocking_wait handshake, hence notify_fenced().
    ADMF_ALWAYS_INLINE void notify_owner() noexcept {
        light_fence();
        owner_wait.load(std::memory_order_relaxed)->notify_fenced();
    }

    /// Lane hand-over (partition::rebalance): the worker index the lane should run on, and
    /// the worker that runs it now: a worker index, `releasing` (its owner is handing it
    /// over) or `in_transit` (no one: the assigned worker may take it).
    static constexpr std::uint32_t in_transit = ~std::uint32_t{0};
    static constexpr std::uint32_t releasing = in_transit - 1;
    std::atomic<std::uint32_t> assigned{0};
    std::atomic<std::uint32_t> holder{0};

    /// Publishers blocked for room (backpressure::block) wait here; the owner notifies it
    /// after each batch it frees. 2000 checks (a few µs) before parking: a full lane usually
    /// drains sooner than a futex round trip.
    blocking_wait room{2000};

    // The owner's line.
    alignas(false_sharing_range) std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> discarded{0};
    std::uint64_t next_sequence = 0;
    /// Owner-written, per event priority level: dispatched, queue time sum and max (ns).
    struct level_counters {
        std::atomic<std::uint64_t> delivered{0};
        std::atomic<std::uint64_t> queue_time_total{0};
        std::atomic<std::uint64_t> queue_time_max{0};
    };
    std::array<level_counters, priority_levels> by_level{};
    /// Owner only: the priority policy's per-lane state (weighted_priority's deficits).
    typename Traits::priority_policy::lane_state policy_state{};

private:
    struct queue {
        explicit queue(const partition_config& config) : ring(config) {}
        ring_type ring;
        std::atomic<std::uint64_t> taken{0};   // owner: delivered + discarded from this ring
        std::atomic<std::uint64_t> dropped{0}; // publishers (drop_oldest)
    };

    template <std::size_t... I>
    lane(const partition_config& config, std::uint32_t index_, std::index_sequence<I...>)
        : index(index_), queues_{((void)I, queue(config))...} {}

    std::array<queue, Levels> queues_;
};

} // namespace admf::detail
