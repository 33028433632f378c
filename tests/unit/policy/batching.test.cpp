// SPDX-License-Identifier: MIT
// The batching policies (include/admf/policy/batching_policy.hpp) on sync_bus and the live
// bus: a batch goes to batch handlers when it holds max_batch events, a partial one once it
// is max_wait old by the bus's clock (replaced here by a manual clock, so the timeout is
// exact and no assertion depends on real time), at flush() and at stop(); a batch handler
// receives every event exactly once, in order per key; no_batching hands over one at a time.
#include <admf/bus.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <stdexcept>
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
    std::uint64_t pad[6]; // 64 bytes, as the benchmark's events
};

struct bar {
    static constexpr admf::domain domain = admf::domain::signal;
    static constexpr std::string_view name = "SIGNAL.BAR";
    std::uint64_t seq;
};

/// A clock the test moves by hand: batch timeouts become exact.
struct manual_clock {
    static inline std::atomic<std::int64_t> ns{0};
    [[nodiscard]] static std::int64_t now() noexcept { return ns.load(std::memory_order_acquire); }
    static void set(std::int64_t t) noexcept { ns.store(t, std::memory_order_release); }
};

struct manual_traits : admf::default_bus_traits {
    using clock = manual_clock;
};
struct one_at_a_time_traits : admf::default_bus_traits {
    using batching_policy = admf::no_batching;
};
struct no_clock_traits : admf::default_bus_traits {
    using clock = admf::no_clock;
};

/// The batches a batch handler received (sizes and the events' seq), thread-safe.
struct batch_log {
    std::mutex m;
    std::vector<std::vector<std::uint64_t>> batches;

    template <class E>
    void add(std::span<const E> events) {
        std::vector<std::uint64_t> seqs;
        for (const E& e : events) {
            seqs.push_back(e.seq);
        }
        std::lock_guard lock{m};
        batches.push_back(std::move(seqs));
    }
    std::size_t count() {
        std::lock_guard lock{m};
        return batches.size();
    }
    std::vector<std::vector<std::uint64_t>> copy() {
        std::lock_guard lock{m};
        return batches;
    }
};

using seqs = std::vector<std::vector<std::uint64_t>>;

/// Waits (yielding) until pred() holds; fails the test after 20 s.
template <class Pred>
void eventually(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::yield();
    }
}

admf::bus_config batch_config(std::size_t max_batch, std::chrono::nanoseconds max_wait) {
    admf::bus_config cfg;
    cfg[admf::domain::signal].max_batch = max_batch;
    cfg[admf::domain::signal].max_wait = max_wait;
    cfg[admf::domain::market_data].max_batch = max_batch;
    cfg[admf::domain::market_data].max_wait = max_wait;
    return cfg;
}

} // namespace

TEST_CASE("sync_bus batching: a batch goes out full at max_batch, partial once max_wait passed "
          "by the bus clock",
          "[policy][batching]") {
    manual_clock::set(0);
    admf::basic_sync_bus<manual_traits, bar> bus{batch_config(4, std::chrono::nanoseconds(1000))};
    batch_log log;
    auto sub = bus.subscribe<bar>([&](std::span<const bar> b) { log.add(b); });
    bus.start();

    for (std::uint64_t i = 0; i != 3; ++i) {
        REQUIRE(bus.publish(bar{i}) == admf::publish_result::accepted);
    }
    CHECK(log.count() == 0); // 3 < max_batch and no time passed
    manual_clock::set(999);
    bus.poll();
    CHECK(log.count() == 0); // 999 ns old: not yet due
    manual_clock::set(1000);
    bus.poll();
    CHECK(log.copy() == seqs{{0, 1, 2}}); // exactly max_wait old: due

    manual_clock::set(2000);
    for (std::uint64_t i = 3; i != 7; ++i) {
        REQUIRE(bus.publish(bar{i}) == admf::publish_result::accepted);
    }
    CHECK(log.copy() == seqs{{0, 1, 2}, {3, 4, 5, 6}}); // full at the 4th: no time needed

    // A due partial batch goes out before the next event joins a batch.
    manual_clock::set(3000);
    REQUIRE(bus.publish(bar{7}) == admf::publish_result::accepted);
    manual_clock::set(4000);
    REQUIRE(bus.publish(bar{8}) == admf::publish_result::accepted);
    CHECK(log.copy() == seqs{{0, 1, 2}, {3, 4, 5, 6}, {7}});

    bus.flush(); // flush hands over the partial batch whatever its age
    CHECK(log.copy() == seqs{{0, 1, 2}, {3, 4, 5, 6}, {7}, {8}});

    REQUIRE(bus.publish(bar{9}) == admf::publish_result::accepted);
    bus.stop();
    CHECK(log.copy() == seqs{{0, 1, 2}, {3, 4, 5, 6}, {7}, {8}, {9}});
    CHECK(bus.stats().total().delivered == 10);
    CHECK(bus.stats().total().level(admf::priority::medium).delivered == 10); // bar's default
}

TEST_CASE("sync_bus batching: with max_wait 0 a batch is what one cascade queued", "[policy][batching]") {
    admf::sync_bus<tick, bar> bus{batch_config(256, {})};
    batch_log log;
    std::vector<std::uint64_t> per_event;
    auto fan_out = bus.subscribe<tick>([&](const tick& t) {
        for (std::uint64_t i = 0; i != 5; ++i) {
            REQUIRE(bus.publish(bar{t.seq * 10 + i}) == admf::publish_result::accepted);
        }
    });
    auto batches = bus.subscribe<bar>([&](std::span<const bar> b) { log.add(b); });
    auto each = bus.subscribe<bar>([&](const bar& b) { per_event.push_back(b.seq); });
    bus.start();
    REQUIRE(bus.publish(tick{1, 1, {}}) == admf::publish_result::accepted);
    REQUIRE(bus.publish(tick{1, 2, {}}) == admf::publish_result::accepted);
    CHECK(log.copy() == seqs{{10, 11, 12, 13, 14}, {20, 21, 22, 23, 24}});
    CHECK(per_event == std::vector<std::uint64_t>{10, 11, 12, 13, 14, 20, 21, 22, 23, 24});
}

TEST_CASE("sync_bus batching: a throwing batch handler counts once per batch, the others still "
          "get it",
          "[policy][batching]") {
    admf::bus_config cfg = batch_config(3, {});
    std::size_t reported = 0;
    cfg.on_error = [&](const admf::handler_error&) { ++reported; };
    admf::sync_bus<bar> bus{cfg};
    batch_log log;
    auto bad = bus.subscribe<bar>([](std::span<const bar>) { throw std::runtime_error("bad batch"); });
    auto good = bus.subscribe<bar>([&](std::span<const bar> b) { log.add(b); });
    bus.start();
    const std::vector<bar> events{{0}, {1}, {2}, {3}, {4}, {5}, {6}};
    REQUIRE(bus.publish_batch(std::span<const bar>(events)) == admf::publish_result::accepted);
    CHECK(log.copy() == seqs{{0, 1, 2}, {3, 4, 5}, {6}});
    CHECK(bus.stats().total().handler_errors == 3);
    CHECK(bad.handler_errors() == 3);
    CHECK(reported == 3);
}

TEST_CASE("no_batching: batch handlers get one event at a time, sync_bus and bus", "[policy][batching]") {
    {
        admf::basic_sync_bus<one_at_a_time_traits, bar> bus{batch_config(64, {})};
        batch_log log;
        auto sub = bus.subscribe<bar>([&](std::span<const bar> b) { log.add(b); });
        bus.start();
        const std::vector<bar> events{{0}, {1}, {2}};
        REQUIRE(bus.publish_batch(std::span<const bar>(events)) == admf::publish_result::accepted);
        CHECK(log.copy() == seqs{{0}, {1}, {2}});
    }
    admf::basic_bus<one_at_a_time_traits, bar> bus{batch_config(64, {})};
    batch_log log;
    std::atomic<std::uint64_t> not_end{0};
    auto sub = bus.subscribe<bar>([&](std::span<const bar> b) { log.add(b); });
    auto each = bus.subscribe<bar>([&](const bar&, const admf::event_info& info) {
        if (!info.end_of_batch) {
            not_end.fetch_add(1);
        }
    });
    std::vector<bar> events;
    for (std::uint64_t i = 0; i != 1000; ++i) {
        events.push_back({i});
    }
    REQUIRE(bus.publish_batch(std::span<const bar>(events)) == admf::publish_result::accepted);
    bus.start(); // all 1000 are queued before the worker starts
    bus.flush();
    const auto got = log.copy();
    REQUIRE(got.size() == 1000);
    for (std::size_t i = 0; i != got.size(); ++i) {
        REQUIRE(got[i] == std::vector<std::uint64_t>{i});
    }
    CHECK(not_end.load() == 0); // every event is its own batch
}

TEST_CASE("bus batching: a partial batch goes out once max_wait passed by the bus clock, also "
          "when no further event comes",
          "[policy][batching]") {
    manual_clock::set(1'000'000);
    admf::basic_bus<manual_traits, bar> bus{batch_config(8, std::chrono::milliseconds(1))};
    batch_log log;
    auto sub = bus.subscribe<bar>([&](std::span<const bar> b) { log.add(b); });
    bus.start();
    for (std::uint64_t i = 0; i != 3; ++i) {
        REQUIRE(bus.publish(bar{i}) == admf::publish_result::accepted);
    }
    // The worker took all three (delivered counts takes) but holds them: the clock stands
    // still, so the batch cannot be due, whatever the scheduling.
    eventually([&] { return bus.stats().total().delivered == 3; });
    // Not synchronisation: the checks below hold at any moment while the clock stands still.
    // The pause only gives a worker that flushed early (a bug) the time to show it.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(log.count() == 0);
    manual_clock::set(1'000'000 + 999'999);
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // as above
    CHECK(log.count() == 0); // 1 ns short of max_wait
    manual_clock::set(2'000'000); // now exactly max_wait old; no event follows
    eventually([&] { return log.count() == 1; });
    CHECK(log.copy() == seqs{{0, 1, 2}});

    // A full batch needs no time.
    for (std::uint64_t i = 3; i != 11; ++i) {
        REQUIRE(bus.publish(bar{i}) == admf::publish_result::accepted);
    }
    eventually([&] { return log.count() == 2; });
    CHECK(log.copy()[1] == std::vector<std::uint64_t>{3, 4, 5, 6, 7, 8, 9, 10});

    // flush() hands over a partial batch at once, with the clock standing still.
    REQUIRE(bus.publish(bar{11}) == admf::publish_result::accepted);
    bus.flush();
    CHECK(log.copy().back() == std::vector<std::uint64_t>{11});

    // stop() too.
    REQUIRE(bus.publish(bar{12}) == admf::publish_result::accepted);
    REQUIRE(bus.publish(bar{13}) == admf::publish_result::accepted);
    bus.stop();
    CHECK(log.copy().back() == std::vector<std::uint64_t>{12, 13});
    CHECK(log.count() == 4);
}

TEST_CASE("bus batching: a batch handler receives every event exactly once, in order per key, "
          "in batches of at most max_batch",
          "[policy][batching]") {
    constexpr std::uint64_t producers = 2;
    constexpr std::uint64_t per_producer = 100'000;
    constexpr std::uint64_t keys = 64;
    admf::bus_config cfg = batch_config(32, {});
    cfg[admf::domain::market_data].lanes = 4;
    cfg[admf::domain::market_data].workers = 2;
    admf::bus<tick> bus{cfg};

    // Per (producer, key): the next seq expected. Lanes of one key share a worker, so per
    // key only one thread writes; a key's slot is written by its lane's worker alone.
    std::vector<std::uint64_t> next(producers * keys, 0);
    std::atomic<std::uint64_t> received{0};
    std::atomic<std::uint64_t> oversized{0};
    std::atomic<std::uint64_t> out_of_order{0};
    std::atomic<std::uint64_t> per_event{0};
    auto sub = bus.subscribe<tick>([&](std::span<const tick> batch) {
        if (batch.size() > 32 || batch.empty()) {
            oversized.fetch_add(1);
        }
        for (const tick& t : batch) {
            const std::uint64_t producer = t.seq >> 32;
            auto& expected = next[producer * keys + t.instrument];
            if ((t.seq & 0xffffffff) != expected) {
                out_of_order.fetch_add(1);
            }
            expected = (t.seq & 0xffffffff) + 1;
        }
        received.fetch_add(batch.size(), std::memory_order_relaxed);
    });
    auto each = bus.subscribe<tick>([&](const tick&) { per_event.fetch_add(1, std::memory_order_relaxed); });
    bus.start();
    std::vector<std::thread> threads;
    for (std::uint64_t p = 0; p != producers; ++p) {
        threads.emplace_back([&, p] {
            std::vector<std::uint64_t> seq(keys, 0);
            for (std::uint64_t i = 0; i != per_producer; ++i) {
                const std::uint64_t k = (i * 7 + p) % keys;
                const tick t{k, (p << 32) | seq[k]++, {}};
                if (bus.publish(t) != admf::publish_result::accepted) {
                    std::abort(); // backpressure::block: nothing may be refused here
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    bus.flush();
    CHECK(received.load() == producers * per_producer);
    CHECK(per_event.load() == producers * per_producer);
    CHECK(oversized.load() == 0);
    CHECK(out_of_order.load() == 0);
    const auto s = bus.stats().total();
    CHECK(s.published == producers * per_producer);
    CHECK(s.delivered == producers * per_producer);
}

TEST_CASE("batching: a configuration that cannot work is refused", "[policy][batching]") {
    using admf::bus;
    CHECK_THROWS_AS((admf::basic_bus<no_clock_traits, bar>{batch_config(8, std::chrono::microseconds(5))}),
                    std::invalid_argument);
    CHECK_THROWS_AS((bus<bar>{batch_config(8, std::chrono::nanoseconds(-1))}), std::invalid_argument);
    CHECK_THROWS_AS((bus<bar>{batch_config(0, {})}), std::invalid_argument);
    CHECK_THROWS_AS((admf::sync_bus<bar>{batch_config(0, {})}), std::invalid_argument);
    CHECK_NOTHROW((admf::basic_bus<no_clock_traits, bar>{batch_config(8, {})}));
}
