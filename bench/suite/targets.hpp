// SPDX-License-Identifier: MIT
// admf-bench: the events, the consumer-side sink and the targets (buses and baselines) a
// scenario drives. See bench/README.md, section admf-bench.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <admf/bus.hpp>
#include <admf/metrics/latency_histogram.hpp>
#include <admf/ring/spsc_ring.hpp>

#if ADMF_BENCH_WITH_BOOST
#include <admf/ring/boost_spsc_ring.hpp>
#endif
#if ADMF_BENCH_WITH_MOODYCAMEL
#include <admf/ring/moodycamel_ring.hpp>
#endif

#include "support/backoff.hpp"
#include "support/naive_bus.hpp"

namespace admf_bench {

inline constexpr unsigned max_types = 5;
inline constexpr unsigned max_producers = 8;
/// Producer id of warm-up events: counted apart, never checked or recorded.
inline constexpr std::uint32_t warm_producer = 255;

/// Event type I lives in domain I (0 market_data, 1 signal, 2 order, 3 fill, 4 system), so a
/// bus over ev<0>..ev<4> has five partitions, one type each. 32 bytes, trivially copyable.
template <int I>
struct ev {
    std::uint64_t seq;         // per producer, from 0, over all the types it publishes
    std::int64_t intended_ns;  // intended send time (steady_clock ns); 0 under max load
    std::uint32_t producer;    // 0..max_producers-1, or warm_producer
    std::uint32_t branch;      // diamond: which branch (B = 0, C = 1) forwarded it
    double px;
};
static_assert(sizeof(ev<0>) == 32);

inline constexpr std::array<std::string_view, max_types> type_names = {
    "MARKET_DATA.EV", "SIGNAL.EV", "ORDER.EV", "FILL.EV", "SYSTEM.EV"};

} // namespace admf_bench

template <int I>
struct admf::event_traits<admf_bench::ev<I>> {
    static constexpr admf::domain domain = static_cast<admf::domain>(I);
    static constexpr std::string_view name = admf_bench::type_names[I];
    static std::uint64_t key(const admf_bench::ev<I>& e) noexcept { return e.producer; }
};

namespace admf_bench {

[[nodiscard]] inline std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// What a handler does with an event that reached the end of its topology: one slot per
/// event type, each written by one thread only (the one worker of that type's partition,
/// the raw ring's consumer, or the sync_bus caller), read by the harness.
/// Work per event: a clock read and a histogram record (fixed-rate loads only), a per-producer
/// order check (sequence numbers must increase), a sum, a release-store of the count.
struct alignas(128) sink_slot {
    std::atomic<std::uint64_t> received{0};
    std::atomic<std::uint64_t> warm{0};
    std::array<std::uint64_t, max_producers> next{}; // next acceptable seq per producer
    std::uint64_t violations = 0;
    double sum = 0;
    admf::latency_histogram hist; // intended send time -> handler start, ns

    template <class E>
    ADMF_ALWAYS_INLINE void on(const E& e, bool timed, bool ordered) noexcept {
        if (e.producer == warm_producer) {
            warm.store(warm.load(std::memory_order_relaxed) + 1, std::memory_order_release);
            return;
        }
        if (timed) {
            hist.record(now_ns() - e.intended_ns);
        }
        if (ordered) {
            auto& n = next[e.producer % max_producers];
            violations += e.seq < n ? 1 : 0;
            n = e.seq + 1;
        }
        sum += e.px;
        received.store(received.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
};

struct sink {
    bool timed = false;   // record latency from intended send times
    bool ordered = true;  // check per-producer order (off with mixed priority levels)
    std::array<sink_slot, max_types> slots;

    template <int K>
    ADMF_ALWAYS_INLINE void on(const ev<K>& e) noexcept {
        slots[K].on(e, timed, ordered);
    }
    [[nodiscard]] std::uint64_t received() const noexcept {
        std::uint64_t n = 0;
        for (const auto& s : slots) {
            n += s.received.load(std::memory_order_acquire);
        }
        return n;
    }
    [[nodiscard]] std::uint64_t warm() const noexcept {
        std::uint64_t n = 0;
        for (const auto& s : slots) {
            n += s.warm.load(std::memory_order_acquire);
        }
        return n;
    }
};

// ---- traits ----------------------------------------------------------------------------------

struct weighted_traits : admf::default_bus_traits {
    using priority_policy = admf::weighted_priority;
};
struct no_batching_traits : admf::default_bus_traits {
    using batching_policy = admf::no_batching;
};
// The bus over the third-party ring adapters as its lane rings (the bus wraps a ring that
// models only ring_for: bus/detail/lane.hpp, lane_ring_adapter).
#if ADMF_BENCH_WITH_BOOST
struct boost_lane_traits : admf::default_bus_traits {
    template <class Slot>
    using single_producer_ring = admf::boost_spsc_ring<Slot>;
};
#endif
#if ADMF_BENCH_WITH_MOODYCAMEL
struct moodycamel_lane_traits : admf::default_bus_traits {
    template <class Slot>
    using multi_producer_ring = admf::moodycamel_ring<Slot>;
};
#endif

template <class Traits, class Seq>
struct bus_of;
template <class Traits, int... I>
struct bus_of<Traits, std::integer_sequence<int, I...>> {
    using type = admf::basic_bus<Traits, ev<I>...>;
    using sync_type = admf::basic_sync_bus<Traits, ev<I>...>;
};

/// How the bus's handlers are wired (the Disruptor's topologies on our bus).
enum class wiring {
    direct,   // each type's handler is the sink (unicast; multicast with fanout)
    pipeline, // ev<0> handler publishes ev<1>, its handler ev<2>, which reaches the sink
    diamond,  // A: ev<0> -> B: ev<1> and C: ev<2> in parallel -> both publish ev<3> -> D joins
};

/// Run-time choices of a bus target.
struct bus_options {
    admf::producers mode = admf::producers::many; // of the entry partitions
    admf::wait_kind wait = admf::wait_kind::blocking;
    std::size_t capacity = 4096;
    bool mixed_levels = false; // publish low/medium/high round-robin (priority configs)
};

/// admf::basic_bus<Traits, ev<0>..ev<BusTypes-1>>, one lane and one worker per partition,
/// backpressure::block (nothing is dropped; a full lane holds the publisher).
template <class Traits, int BusTypes, wiring W = wiring::direct>
class bus_target {
public:
    using bus_type = typename bus_of<Traits, std::make_integer_sequence<int, BusTypes>>::type;
    /// Types the producers publish (entry types); the rest are published by handlers.
    static constexpr unsigned entry_types = W == wiring::direct ? BusTypes : 1;

    explicit bus_target(const bus_options& o) : opts_(o), bus_(config(o)) {}

    void wire(sink& s) {
        sink_ = &s;
        if constexpr (W == wiring::direct) {
            [&]<int... K>(std::integer_sequence<int, K...>) {
                (subs_.push_back(bus_.template subscribe<ev<K>>([&s](const ev<K>& e) { s.on(e); })), ...);
            }(std::make_integer_sequence<int, BusTypes>{});
        } else if constexpr (W == wiring::pipeline) {
            static_assert(BusTypes == 3);
            subs_.push_back(bus_.template subscribe<ev<0>>([this](const ev<0>& e) {
                forward(ev<1>{e.seq, e.intended_ns, e.producer, 0, e.px});
            }));
            subs_.push_back(bus_.template subscribe<ev<1>>([this](const ev<1>& e) {
                forward(ev<2>{e.seq, e.intended_ns, e.producer, 0, e.px});
            }));
            subs_.push_back(bus_.template subscribe<ev<2>>([&s](const ev<2>& e) { s.on(e); }));
        } else {
            static_assert(BusTypes == 4);
            subs_.push_back(bus_.template subscribe<ev<0>>([this](const ev<0>& e) {
                forward(ev<1>{e.seq, e.intended_ns, e.producer, 0, e.px});
                forward(ev<2>{e.seq, e.intended_ns, e.producer, 1, e.px});
            }));
            subs_.push_back(bus_.template subscribe<ev<1>>([this](const ev<1>& e) {
                forward(ev<3>{e.seq, e.intended_ns, e.producer, 0, e.px});
            }));
            subs_.push_back(bus_.template subscribe<ev<2>>([this](const ev<2>& e) {
                forward(ev<3>{e.seq, e.intended_ns, e.producer, 1, e.px});
            }));
            // D: the k-th arrival of each branch is seq k (each branch is FIFO), so an event
            // is joined by whichever branch delivers it second: that arrival is the sink's.
            subs_.push_back(bus_.template subscribe<ev<3>>([this, &s](const ev<3>& e) {
                if (e.producer == warm_producer) {
                    s.on(e);
                    return;
                }
                const unsigned b = e.branch & 1U;
                ++joined_[b];
                if (joined_[b] <= joined_[1 - b]) {
                    s.on(e);
                }
            }));
        }
    }

    void start() { bus_.start(); }
    /// Per-producer order holds unless levels are mixed (a priority lane reorders them).
    [[nodiscard]] bool ordered() const noexcept { return !opts_.mixed_levels; }

    template <int K>
    ADMF_ALWAYS_INLINE bool publish(const ev<K>& e) noexcept {
        if constexpr (K < BusTypes) {
            const auto level = opts_.mixed_levels ? static_cast<admf::priority>(e.seq % 3)
                                                  : admf::priority::medium;
            return bus_.publish(e, level) == admf::publish_result::accepted;
        } else {
            return false;
        }
    }

    /// Final deliveries the sink sees per warm-up event published per entry type.
    [[nodiscard]] static constexpr std::uint64_t warm_finals() noexcept {
        return W == wiring::diamond ? 2 : 1;
    }

    void finish() {
        bus_.flush();
        const auto t = bus_.stats().total();
        lost_ = t.rejected + t.timed_out + t.refused + t.dropped + t.discarded + t.conflated +
                t.handler_errors;
        bus_.stop();
    }
    /// Events the bus itself counted as not delivered (bus.stats()).
    [[nodiscard]] std::uint64_t bus_lost() const noexcept { return lost_; }

private:
    static admf::bus_config config(const bus_options& o) {
        admf::bus_config cfg;
        for (int d = 0; d != BusTypes; ++d) {
            auto& p = cfg[static_cast<admf::domain>(d)];
            p.capacity = o.capacity;
            p.lanes = 1;
            p.workers = 1;
            p.on_full = admf::backpressure::block;
            p.wait = o.wait;
            // Entry partitions: as configured. Inner ones: one publishing worker each,
            // except the diamond's join (two branches publish into it).
            p.producer_mode = d < static_cast<int>(entry_types) ? o.mode
                              : (W == wiring::diamond && d == 3) ? admf::producers::many
                                                                 : admf::producers::single;
        }
        return cfg;
    }

    template <class E>
    void forward(const E& e) noexcept {
        static_cast<void>(bus_.publish(e)); // block: accepted unless stopping (counted)
    }

    bus_options opts_;
    bus_type bus_;
    std::vector<admf::subscription> subs_;
    sink* sink_ = nullptr;
    std::array<std::uint64_t, 2> joined_{}; // D's worker only
    std::uint64_t lost_ = 0;
};

/// admf::basic_sync_bus over ev<0>: the handler runs on the publisher's thread.
template <class Traits = admf::default_bus_traits>
class sync_target {
public:
    using bus_type = typename bus_of<Traits, std::make_integer_sequence<int, 1>>::sync_type;
    static constexpr unsigned entry_types = 1;
    explicit sync_target(const bus_options&) {}
    void wire(sink& s) {
        sub_ = bus_.template subscribe<ev<0>>([&s](const ev<0>& e) { s.on(e); });
    }
    void start() { bus_.start(); }
    template <int K>
    ADMF_ALWAYS_INLINE bool publish(const ev<K>& e) noexcept {
        if constexpr (K == 0) {
            return bus_.publish(e) == admf::publish_result::accepted;
        } else {
            return false;
        }
    }
    [[nodiscard]] static constexpr std::uint64_t warm_finals() noexcept { return 1; }
    void finish() {
        bus_.flush();
        const auto t = bus_.stats().total();
        lost_ = t.rejected + t.timed_out + t.refused + t.dropped + t.discarded + t.handler_errors;
        bus_.stop();
    }
    [[nodiscard]] std::uint64_t bus_lost() const noexcept { return lost_; }

private:
    bus_type bus_;
    admf::subscription sub_;
    std::uint64_t lost_ = 0;
};

/// Baseline: a raw ring (admf::spsc_ring, or an adapter), producers try_push (backoff while
/// full), one consumer thread try_pop (backoff while empty) calling the same sink. One
/// producer unless the ring takes many (moodycamel_ring).
template <class Ring>
class raw_ring_target {
public:
    static constexpr unsigned entry_types = 1;
    explicit raw_ring_target(const bus_options& o) : ring_(o.capacity) {}
    ~raw_ring_target() { finish(); }
    void wire(sink& s) { sink_ = &s; }
    void start() {
        consumer_ = std::thread([this] {
            admf::bench::backoff wait;
            ev<0> e{};
            for (;;) {
                if (ring_.try_pop(e)) {
                    sink_->on(e);
                    wait.reset();
                } else if (stop_.load(std::memory_order_acquire)) {
                    if (!ring_.try_pop(e)) {
                        return;
                    }
                    sink_->on(e);
                } else {
                    wait.pause();
                }
            }
        });
    }
    template <int K>
    ADMF_ALWAYS_INLINE bool publish(const ev<K>& e) noexcept {
        if constexpr (K == 0) {
            admf::bench::backoff wait;
            while (!ring_.try_push(e)) {
                wait.pause();
            }
            return true;
        } else {
            return false;
        }
    }
    [[nodiscard]] static constexpr std::uint64_t warm_finals() noexcept { return 1; }
    void finish() {
        stop_.store(true, std::memory_order_release);
        if (consumer_.joinable()) {
            consumer_.join();
        }
    }
    [[nodiscard]] std::uint64_t bus_lost() const noexcept { return 0; }

private:
    Ring ring_;
    sink* sink_ = nullptr;
    std::atomic<bool> stop_{false};
    std::thread consumer_;
};

/// Baseline: the naive mutex + condition variable bus (support/naive_bus.hpp), unbounded.
class naive_target {
public:
    static constexpr unsigned entry_types = 1;
    explicit naive_target(const bus_options&) {}
    void wire(sink& s) {
        bus_.subscribe<ev<0>>([&s](const ev<0>& e) { s.on(e); });
    }
    void start() { bus_.start(); }
    template <int K>
    ADMF_ALWAYS_INLINE bool publish(const ev<K>& e) noexcept {
        if constexpr (K == 0) {
            return bus_.publish(e);
        } else {
            return false;
        }
    }
    [[nodiscard]] static constexpr std::uint64_t warm_finals() noexcept { return 1; }
    void finish() { bus_.stop(); }
    [[nodiscard]] std::uint64_t bus_lost() const noexcept { return 0; }

private:
    admf::bench::naive_bus<ev<0>> bus_;
};

using raw_spsc_target = raw_ring_target<admf::spsc_ring<ev<0>>>;
#if ADMF_BENCH_WITH_BOOST
using raw_boost_target = raw_ring_target<admf::boost_spsc_ring<ev<0>>>;
#endif
#if ADMF_BENCH_WITH_MOODYCAMEL
using raw_moodycamel_target = raw_ring_target<admf::moodycamel_ring<ev<0>>>;
#endif

using raw_spsc_target = raw_ring_target<admf::spsc_ring<ev<0>>>;
#if ADMF_BENCH_WITH_BOOST
using raw_boost_target = raw_ring_target<admf::boost_spsc_ring<ev<0>>>;
#endif
#if ADMF_BENCH_WITH_MOODYCAMEL
using raw_moodycamel_target = raw_ring_target<admf::moodycamel_ring<ev<0>>>;
#endif

} // namespace admf_bench
