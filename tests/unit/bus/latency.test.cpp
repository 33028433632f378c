// SPDX-License-Identifier: MIT
// The live bus's latency histograms (Traits::latency_metrics, partition_stats::latency) and
// worker scaling (set_workers, workers, handovers; config validation of the worker range).
// The bus clock is replaced by a manual one: events are published before start() at t0 and
// the clock is then moved to t0 + 5000 and left standing, so every queue time is exactly
// 5000 ns and every count and percentile below is exact, not a real-time measurement.
// Waits poll a condition with a deadline (eventually); nothing sleeps to let threads run.
#include <admf/bus.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {

struct tick {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.TICK";
    static std::uint64_t key(const tick& t) noexcept { return t.instrument; }
    std::uint64_t instrument;
    std::uint64_t seq;
};

struct bar {
    static constexpr admf::domain domain = admf::domain::signal;
    static constexpr std::string_view name = "SIGNAL.BAR";
    static std::uint64_t key(const bar& b) noexcept { return b.instrument; }
    std::uint64_t instrument;
};

/// A clock the test moves by hand (one per file: the traits name it by type).
struct manual_clock {
    static inline std::atomic<std::int64_t> ns{0};
    [[nodiscard]] static std::int64_t now() noexcept { return ns.load(std::memory_order_acquire); }
    static void set(std::int64_t t) noexcept { ns.store(t, std::memory_order_release); }
    static void advance(std::int64_t d) noexcept { ns.fetch_add(d, std::memory_order_acq_rel); }
};

struct manual_traits : admf::default_bus_traits {
    using clock = manual_clock;
};
struct unrecorded_traits : admf::default_bus_traits {
    using clock = manual_clock;
    using latency_metrics = admf::no_latency_metrics;
};

constexpr auto md = admf::domain::market_data;
constexpr auto sig = admf::domain::signal;
constexpr std::int64_t t0 = 1'000'000;
constexpr std::int64_t waited = 5'000;
constexpr std::uint32_t sample_every = admf::record_latency::sample_every;

/// Waits (yielding) until pred() holds; fails the test after 20 s.
template <class Pred>
void eventually(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::yield();
    }
}

/// The lane an event of key k goes to (the partition's hash: detail/lane.hpp).
std::size_t lane_of(std::uint64_t k, std::size_t lanes) {
    return static_cast<std::size_t>(admf::detail::mix_key(k) & (lanes - 1));
}

/// Events a lane with n events samples: sequences 0, 64, 128, ... (one in sample_every).
std::uint64_t sampled_of(std::uint64_t n) { return (n + sample_every - 1) / sample_every; }

/// p50 and p99 within the histogram's 1% (significant_figures 2) of `expected`.
void check_near(const admf::latency_histogram& h, std::int64_t expected) {
    const auto lo = static_cast<double>(expected) * 0.99;
    const auto hi = static_cast<double>(expected) * 1.01;
    for (const double p : {50.0, 99.0}) {
        INFO("p" << p << " = " << h.value_at_percentile(p));
        CHECK(static_cast<double>(h.value_at_percentile(p)) >= lo);
        CHECK(static_cast<double>(h.value_at_percentile(p)) <= hi);
    }
}

admf::bus_config lanes_config(std::size_t lanes) {
    admf::bus_config cfg;
    cfg[md].lanes = lanes;
    cfg[md].workers = lanes;
    cfg[md].capacity = 4096; // every event fits before start(): no publish blocks
    return cfg;
}

} // namespace

TEST_CASE("bus latency: queue time is recorded for every event, per level, and end-to-end and "
          "handler time for one event in sample_every per lane",
          "[latency]") {
    constexpr std::size_t lanes = 4;
    constexpr std::uint64_t keys = 16;
    // Per level a count that is not a multiple of anything: 700 low, 301 medium, 99 high.
    constexpr std::array<std::uint64_t, admf::priority_levels> per_level{700, 301, 99};
    admf::basic_bus<manual_traits, tick> bus{lanes_config(lanes)};

    std::array<std::atomic<std::uint64_t>, lanes> seen_by_lane{};
    std::atomic<bool> wrong_lane{false};
    auto first = bus.subscribe<tick>([&](const tick& t, const admf::event_info& info) {
        seen_by_lane[info.lane].fetch_add(1, std::memory_order_relaxed);
        if (info.lane != lane_of(t.instrument, lanes)) {
            wrong_lane.store(true, std::memory_order_relaxed);
        }
    });
    std::atomic<std::uint64_t> second_calls{0};
    auto second = bus.subscribe<tick>(
        [&](const tick&) { second_calls.fetch_add(1, std::memory_order_relaxed); });

    manual_clock::set(t0);
    std::array<std::uint64_t, lanes> expected_by_lane{};
    std::uint64_t seq = 0;
    for (std::size_t level = 0; level != admf::priority_levels; ++level) {
        for (std::uint64_t i = 0; i != per_level[level]; ++i, ++seq) {
            const tick t{seq % keys, seq};
            REQUIRE(bus.publish(t, static_cast<admf::priority>(level)) ==
                    admf::publish_result::accepted);
            ++expected_by_lane[lane_of(t.instrument, lanes)];
        }
    }
    manual_clock::set(t0 + waited); // the clock now stands still: every take reads this
    bus.start();
    bus.flush();

    const std::uint64_t n = seq;
    std::uint64_t expected_sampled = 0;
    for (std::size_t l = 0; l != lanes; ++l) {
        INFO("lane " << l);
        CHECK(seen_by_lane[l].load() == expected_by_lane[l]);
        expected_sampled += sampled_of(expected_by_lane[l]);
    }
    CHECK_FALSE(wrong_lane.load());
    // The 16 keys spread over the 4 lanes unevenly enough that sampling per lane, not per
    // partition, decides the count (otherwise the check below could not tell them apart).
    REQUIRE(expected_sampled != sampled_of(n));

    const admf::partition_stats s = bus.stats().partition(md);
    REQUIRE(s.delivered == n);
    REQUIRE(s.latency != nullptr);
    const admf::partition_latency& lat = *s.latency;
    CHECK(lat.sample_every == sample_every);
    CHECK(lat.queue.count() == n);
    check_near(lat.queue, waited);
    for (std::size_t level = 0; level != admf::priority_levels; ++level) {
        INFO("level " << level);
        const auto& h = lat.queue_at(static_cast<admf::priority>(level));
        CHECK(h.count() == per_level[level]);
        check_near(h, waited);
        CHECK(s.levels[level].delivered == per_level[level]);
        CHECK(s.levels[level].queue_time_total ==
              per_level[level] * static_cast<std::uint64_t>(waited));
    }
    // The last handler returns with the clock still at t0 + 5000.
    CHECK(lat.end_to_end.count() == expected_sampled);
    check_near(lat.end_to_end, waited);
    REQUIRE(lat.handlers.size() == 2);
    for (const auto& h : lat.handlers) {
        INFO("subscription " << h.subscription);
        CHECK((h.subscription == first.id() || h.subscription == second.id()));
        CHECK(h.time.count() == expected_sampled);
    }
    CHECK(lat.handlers[0].subscription != lat.handlers[1].subscription);
    CHECK(second_calls.load() == n);
    bus.stop();
}

TEST_CASE("bus latency: handler time is attributed to the subscription that took it",
          "[latency]") {
    admf::basic_bus<manual_traits, tick> bus{lanes_config(1)};
    // The slow handler moves the clock by 700 ns per call, the other not at all. Both run
    // on the one worker, in subscription order, so each sees only its own time.
    constexpr std::int64_t slow_ns = 700;
    auto slow = bus.subscribe<tick>([](const tick&) { manual_clock::advance(slow_ns); });
    auto fast = bus.subscribe<tick>([](const tick&) {});
    manual_clock::set(t0);
    constexpr std::uint64_t n = 2 * sample_every + 1; // sequences 0, 64 and 128 are sampled
    for (std::uint64_t i = 0; i != n; ++i) {
        REQUIRE(bus.publish(tick{3, i}) == admf::publish_result::accepted);
    }
    bus.start();
    bus.flush();
    const auto s = bus.stats().partition(md);
    REQUIRE(s.latency != nullptr);
    REQUIRE(s.latency->handlers.size() == 2);
    for (const auto& h : s.latency->handlers) {
        CHECK(h.time.count() == 3);
        if (h.subscription == slow.id()) {
            check_near(h.time, slow_ns);
        } else {
            CHECK(h.subscription == fast.id());
            CHECK(h.time.max() <= 1); // 0 ns, counted as the lowest discernible value
        }
    }
    CHECK(s.latency->end_to_end.count() == 3);
    bus.stop();
}

TEST_CASE("bus latency: no_latency_metrics records no histogram, the counters still count",
          "[latency]") {
    admf::basic_bus<unrecorded_traits, tick, bar> bus{lanes_config(2)};
    std::atomic<std::uint64_t> calls{0};
    auto sub = bus.subscribe<tick>([&](const tick&) { calls.fetch_add(1, std::memory_order_relaxed); });
    manual_clock::set(t0);
    constexpr std::uint64_t n = 200;
    for (std::uint64_t i = 0; i != n; ++i) {
        REQUIRE(bus.publish(tick{i % 5, i}, admf::priority::high) == admf::publish_result::accepted);
    }
    manual_clock::set(t0 + waited);
    bus.start();
    bus.flush();
    const auto stats = bus.stats();
    const auto& s = stats.partition(md);
    CHECK(s.latency == nullptr);
    CHECK(stats.partition(sig).latency == nullptr);
    CHECK(stats.total().latency == nullptr);
    CHECK(calls.load() == n);
    CHECK(s.published == n);
    CHECK(s.delivered == n);
    CHECK(s.level(admf::priority::high).delivered == n);
    // The clock is still there: queue time is summed without histograms.
    CHECK(s.level(admf::priority::high).queue_time_total == n * static_cast<std::uint64_t>(waited));
    CHECK(s.level(admf::priority::high).queue_time_max == static_cast<std::uint64_t>(waited));
    bus.stop();
}

TEST_CASE("bus latency: stats().total() merges the histograms of every partition", "[latency]") {
    admf::bus_config cfg = lanes_config(2);
    cfg[sig].lanes = 1;
    cfg[sig].workers = 1;
    admf::basic_bus<manual_traits, tick, bar> bus{cfg};
    auto on_tick = bus.subscribe<tick>([](const tick&) {});
    auto on_bar = bus.subscribe<bar>([](const bar&) {});
    auto on_bar_too = bus.subscribe<bar>([](const bar&) {});
    manual_clock::set(t0);
    constexpr std::uint64_t ticks = 150; // keys 0 and 1 only: see below
    constexpr std::uint64_t bars = 70;
    std::array<std::uint64_t, 2> tick_lanes{};
    for (std::uint64_t i = 0; i != ticks; ++i) {
        REQUIRE(bus.publish(tick{i % 2, i}, admf::priority::low) == admf::publish_result::accepted);
        ++tick_lanes[lane_of(i % 2, 2)];
    }
    for (std::uint64_t i = 0; i != bars; ++i) {
        REQUIRE(bus.publish(bar{i}, admf::priority::high) == admf::publish_result::accepted);
    }
    manual_clock::set(t0 + waited);
    bus.start();
    bus.flush();
    const auto stats = bus.stats();
    const auto& p_md = stats.partition(md);
    const auto& p_sig = stats.partition(sig);
    REQUIRE(p_md.latency != nullptr);
    REQUIRE(p_sig.latency != nullptr);
    CHECK(stats.partition(admf::domain::order).latency == nullptr); // no event types there
    const auto total = stats.total();
    REQUIRE(total.latency != nullptr);
    const admf::partition_latency& lat = *total.latency;
    CHECK(lat.queue.count() == ticks + bars);
    CHECK(lat.queue.count() == p_md.latency->queue.count() + p_sig.latency->queue.count());
    CHECK(lat.queue_at(admf::priority::low).count() == ticks);
    CHECK(lat.queue_at(admf::priority::medium).count() == 0);
    CHECK(lat.queue_at(admf::priority::high).count() == bars);
    check_near(lat.queue, waited);
    const std::uint64_t md_sampled = sampled_of(tick_lanes[0]) + sampled_of(tick_lanes[1]);
    CHECK(p_md.latency->end_to_end.count() == md_sampled);
    CHECK(p_sig.latency->end_to_end.count() == sampled_of(bars));
    CHECK(lat.end_to_end.count() == md_sampled + sampled_of(bars));
    // Handler lists are concatenated: one tick subscription, two bar subscriptions.
    REQUIRE(lat.handlers.size() == 3);
    std::uint64_t handler_samples = 0;
    for (const auto& h : lat.handlers) {
        handler_samples += h.time.count();
    }
    CHECK(handler_samples == md_sampled + 2 * sampled_of(bars));
    CHECK(lat.sample_every == sample_every);
    bus.stop();
}

TEST_CASE("bus set_workers: refuses a count outside [min_workers, max_workers], a domain "
          "without event types, and any call after stop()",
          "[latency][scaling]") {
    admf::bus_config cfg;
    cfg[md].lanes = 4;
    cfg[md].workers = 2;
    cfg[md].min_workers = 1;
    cfg[md].max_workers = 3;
    admf::basic_bus<manual_traits, tick> bus{cfg};
    CHECK(bus.workers(md) == 2);
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(bus.set_workers(md, 0),
                      Contains("set_workers(0) outside [min_workers 1, max_workers 3]"));
    CHECK_THROWS_AS(bus.set_workers(md, 0), std::invalid_argument);
    CHECK_THROWS_WITH(bus.set_workers(md, 4),
                      Contains("set_workers(4) outside [min_workers 1, max_workers 3]"));
    CHECK_THROWS_AS(bus.set_workers(md, 4), std::invalid_argument);
    CHECK_THROWS_WITH(bus.set_workers(admf::domain::order, 1), Contains("no event types"));
    CHECK_THROWS_AS(bus.set_workers(admf::domain::order, 1), std::invalid_argument);
    CHECK(bus.workers(md) == 2); // refused calls change nothing
    bus.start();
    CHECK(bus.set_workers(md, 3) == 3);
    CHECK(bus.workers(md) == 3);
    CHECK(bus.stats().partition(md).workers == 3);
    CHECK(bus.set_workers(md, 1) == 1);
    CHECK(bus.workers(md) == 1);
    bus.stop();
    CHECK_THROWS_AS(bus.set_workers(md, 2), std::logic_error);
    CHECK_THROWS_WITH(bus.set_workers(md, 2), Contains("after stop()"));
}

TEST_CASE("bus set_workers: the worker range is validated at construction", "[latency][scaling]") {
    using Catch::Matchers::Contains;
    const auto make = [](std::size_t lanes, std::size_t workers, std::size_t min, std::size_t max) {
        admf::bus_config cfg;
        cfg[md].lanes = lanes;
        cfg[md].workers = workers;
        cfg[md].min_workers = min;
        cfg[md].max_workers = max;
        return admf::basic_bus<manual_traits, tick>{cfg};
    };
    const char* range = "min_workers <= workers <= max_workers must hold";
    CHECK_THROWS_WITH(make(4, 2, 3, 4), Contains(range)); // min_workers > workers
    CHECK_THROWS_AS(make(4, 2, 3, 4), std::invalid_argument);
    CHECK_THROWS_WITH(make(4, 3, 1, 2), Contains(range)); // workers > max_workers
    CHECK_THROWS_WITH(make(4, 2, 1, 8), Contains("max_workers must not exceed lanes"));
    CHECK_THROWS_AS(make(4, 2, 1, 8), std::invalid_argument);
    CHECK_THROWS_WITH(make(4, 2, 1, 8),
                      Contains("partition " + std::string(admf::domain_name(md)) + ":"));
    CHECK_NOTHROW(make(4, 2, 1, 4));
    CHECK_NOTHROW(make(4, 2, 0, 0)); // 0: the range is just `workers`
}

TEST_CASE("bus set_workers: 1 -> 4 -> 2 workers under load keeps per-key order, delivers "
          "every event and counts each lane moved",
          "[latency][scaling]") {
    constexpr std::size_t lanes = 4;
    constexpr std::uint64_t keys = 16;
    constexpr std::uint64_t per_burst = 2000;
    admf::bus_config cfg;
    cfg[md].lanes = lanes;
    cfg[md].workers = 1;
    cfg[md].min_workers = 1;
    cfg[md].max_workers = lanes;
    cfg[md].capacity = 1024; // smaller than a burst: publishes may block while lanes move
    cfg[md].max_batch = 16;  // many rounds per burst, so moves land between rounds mid-stream
    admf::basic_bus<manual_traits, tick> bus{cfg};

    std::mutex m;
    std::array<std::vector<std::uint64_t>, keys> got{};
    auto sub = bus.subscribe<tick>([&](const tick& t) {
        std::lock_guard lock{m};
        got[t.instrument].push_back(t.seq);
    });
    std::array<std::uint64_t, keys> next_seq{};
    std::uint64_t published = 0;
    const auto burst = [&] {
        for (std::uint64_t i = 0; i != per_burst; ++i, ++published) {
            const std::uint64_t k = published % keys;
            REQUIRE(bus.publish(tick{k, next_seq[k]++}) == admf::publish_result::accepted);
        }
    };
    const auto handovers = [&] { return bus.stats().partition(md).handovers; };

    bus.start();
    burst();
    CHECK(handovers() == 0);
    bus.set_workers(md, 4); // lanes 1, 2, 3 leave worker 0, with events still queued
    burst();
    // Waited for before the next change, so each lane moves exactly once per change.
    eventually([&] { return handovers() >= 3; });
    burst();
    bus.set_workers(md, 2); // lane 2 goes to worker 0, lane 3 to worker 1
    burst();
    bus.flush();
    eventually([&] { return handovers() >= 5; });

    const auto s = bus.stats().partition(md);
    CHECK(s.handovers == 5);
    CHECK(s.workers == 2);
    CHECK(bus.workers(md) == 2);
    CHECK(s.published == published);
    CHECK(s.delivered == published);
    CHECK(s.not_delivered() == 0);
    std::lock_guard lock{m};
    for (std::uint64_t k = 0; k != keys; ++k) {
        INFO("key " << k);
        REQUIRE(got[k].size() == next_seq[k]);
        for (std::uint64_t i = 0; i != got[k].size(); ++i) {
            if (got[k][i] != i) {
                FAIL("key " << k << ": position " << i << " holds seq " << got[k][i]);
            }
        }
    }
    bus.stop();
}
