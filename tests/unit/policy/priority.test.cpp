// SPDX-License-Identifier: MIT
// The priority policies (include/admf/policy/priority_policy.hpp) on a live admf::bus lane:
// no_priority keeps FIFO whatever the level; strict_priority never takes a lower event
// while a higher one is queued; weighted_priority (8:4:1) gives low 1/13 of a saturated
// lane and never starves it. Each test holds the lane's worker inside the handler of a first
// event (a gate the test opens), publishes a known mix while it waits, then releases it and
// checks the dispatch order: deterministic, no timing involved.
#include <admf/bus.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {

struct job {
    static constexpr admf::domain domain = admf::domain::signal;
    static constexpr std::string_view name = "SIGNAL.JOB";
    std::uint64_t seq;
};

template <class Policy>
struct traits_with : admf::default_bus_traits {
    using priority_policy = Policy;
};

/// Holds the worker in the handler of event 0 until opened (gives up after 30 s).
class gate {
public:
    void wait() {
        entered_.store(true, std::memory_order_release);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!open_.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
    }
    void await_entered() const {
        while (!entered_.load(std::memory_order_acquire)) {
            std::this_thread::yield();
        }
    }
    void open() { open_.store(true, std::memory_order_release); }

private:
    std::atomic<bool> entered_{false};
    std::atomic<bool> open_{false};
};

struct dispatched {
    std::uint64_t seq;
    admf::priority level;
};

/// Runs: event 0 holds the worker; `publish_all(bus)` queues the rest; then release and
/// return the dispatch order after event 0.
template <class Policy, class Publish>
std::vector<dispatched> run_held(std::size_t capacity, Publish publish_all) {
    admf::bus_config cfg;
    cfg[admf::domain::signal].capacity = capacity;
    cfg[admf::domain::signal].on_full = admf::backpressure::reject;
    admf::basic_bus<traits_with<Policy>, job> bus{cfg};
    gate g;
    std::vector<dispatched> order;
    order.reserve(capacity * 3);
    auto sub = bus.template subscribe<job>([&](const job& j, const admf::event_info& info) {
        if (j.seq == 0) {
            g.wait();
            return;
        }
        order.push_back({j.seq, info.level}); // one worker: no lock needed
    });
    bus.start();
    REQUIRE(bus.publish(job{0}, admf::priority::low) == admf::publish_result::accepted);
    g.await_entered();
    publish_all(bus);
    g.open();
    bus.flush();
    bus.stop();
    const auto s = bus.stats().partition(admf::domain::signal);
    REQUIRE(s.rejected == 0);
    REQUIRE(s.delivered == s.published);
    return order;
}

} // namespace

TEST_CASE("no_priority: one FIFO queue, whatever the priority", "[policy][priority]") {
    const auto order = run_held<admf::no_priority>(1024, [](auto& bus) {
        for (std::uint64_t i = 1; i <= 300; ++i) {
            const auto level = static_cast<admf::priority>(i % 3);
            REQUIRE(bus.publish(job{i}, level) == admf::publish_result::accepted);
        }
    });
    REQUIRE(order.size() == 300);
    for (std::size_t i = 0; i != order.size(); ++i) {
        REQUIRE(order[i].seq == i + 1);
    }
}

TEST_CASE("strict_priority: no event is taken while a higher one is queued", "[policy][priority]") {
    const auto order = run_held<admf::strict_priority>(1024, [](auto& bus) {
        for (std::uint64_t i = 1; i <= 900; ++i) {
            const auto level = static_cast<admf::priority>(i % 3);
            REQUIRE(bus.publish(job{i}, level) == admf::publish_result::accepted);
        }
    });
    REQUIRE(order.size() == 900);
    // Everything was queued before the worker looked: all high, then medium, then low, each
    // in publish order.
    for (std::size_t i = 0; i != order.size(); ++i) {
        const auto expected = i < 300 ? admf::priority::high
                              : i < 600 ? admf::priority::medium
                                        : admf::priority::low;
        INFO("dispatch " << i << " seq " << order[i].seq);
        REQUIRE(order[i].level == expected);
        if (i % 300 != 0) {
            REQUIRE(order[i].seq > order[i - 1].seq);
        }
    }
}

TEST_CASE("weighted_priority 8:4:1: low gets 1/13 of every saturated 10,000-dispatch window",
          "[policy][priority]") {
    constexpr std::uint64_t per_level = 30'000;
    const auto order = run_held<admf::weighted_priority>(32'768, [](auto& bus) {
        for (std::uint64_t i = 0; i != 3 * per_level; ++i) {
            const auto level = static_cast<admf::priority>(i % 3);
            REQUIRE(bus.publish(job{i + 1}, level) == admf::publish_result::accepted);
        }
    });
    REQUIRE(order.size() == 3 * per_level);
    // High (8/13 of each pass) runs out after ~48,750 dispatches: windows 0-3 are saturated.
    for (std::size_t w = 0; w != 4; ++w) {
        std::size_t counts[3] = {0, 0, 0};
        for (std::size_t i = w * 10'000; i != (w + 1) * 10'000; ++i) {
            ++counts[static_cast<std::size_t>(order[i].level)];
        }
        const double low_share = static_cast<double>(counts[0]) / 10'000.0;
        INFO("window " << w << ": high " << counts[2] << " medium " << counts[1] << " low " << counts[0]);
        REQUIRE(low_share >= (1.0 / 13) * 0.75);
        REQUIRE(low_share <= (1.0 / 13) * 1.25);
        REQUIRE(counts[2] > counts[1]);
        REQUIRE(counts[1] > counts[0]);
    }
    // Each level in its own publish order.
    std::uint64_t last[3] = {0, 0, 0};
    for (const auto& d : order) {
        auto& l = last[static_cast<std::size_t>(d.level)];
        REQUIRE(d.seq > l);
        l = d.seq;
    }
}

TEST_CASE("weighted_priority: weights come from the config, a zero weight is refused",
          "[policy][priority]") {
    admf::bus_config cfg;
    cfg[admf::domain::signal].weights = {1, 0, 8};
    using bus_t = admf::basic_bus<traits_with<admf::weighted_priority>, job>;
    REQUIRE_THROWS_AS(bus_t{cfg}, std::invalid_argument);
    try {
        bus_t b{cfg};
    } catch (const std::invalid_argument& e) {
        REQUIRE(std::string(e.what()).find("signal") != std::string::npos);
    }
}

TEST_CASE("priority policies: flush, stop and stats count every level", "[policy][priority]") {
    admf::basic_bus<traits_with<admf::weighted_priority>, job> bus;
    std::atomic<std::uint64_t> seen{0};
    auto sub = bus.subscribe<job>([&](const job&) { seen.fetch_add(1, std::memory_order_relaxed); });
    bus.start();
    std::vector<job> batch(64);
    for (std::uint64_t i = 0; i != 64; ++i) {
        batch[i].seq = i;
    }
    for (int round = 0; round != 50; ++round) {
        REQUIRE(bus.publish(job{1}, admf::priority::high) == admf::publish_result::accepted);
        REQUIRE(bus.publish(job{2}, admf::priority::low) == admf::publish_result::accepted);
        REQUIRE(bus.publish_batch(std::span<const job>(batch)) == admf::publish_result::accepted);
    }
    bus.flush();
    REQUIRE(seen.load() == 50 * 66);
    bus.stop();
    const auto s = bus.stats().total();
    REQUIRE(s.published == 50 * 66);
    REQUIRE(s.delivered == s.published);
    REQUIRE(s.backlog == 0);
}

TEST_CASE("priority policies: backlog and queue time are kept per level", "[policy][priority]") {
    admf::bus_config cfg;
    cfg[admf::domain::signal].capacity = 1024;
    admf::basic_bus<traits_with<admf::strict_priority>, job> bus{cfg};
    gate g;
    auto sub = bus.subscribe<job>([&](const job& j) {
        if (j.seq == 0) {
            g.wait();
        }
    });
    bus.start();
    REQUIRE(bus.publish(job{0}, admf::priority::high) == admf::publish_result::accepted);
    g.await_entered();
    // While the worker is held: 10 low, 20 medium, 30 high queued, each in its level's queue.
    for (std::uint64_t i = 1; i <= 10; ++i) {
        REQUIRE(bus.publish(job{i}, admf::priority::low) == admf::publish_result::accepted);
    }
    for (std::uint64_t i = 1; i <= 20; ++i) {
        REQUIRE(bus.publish(job{i}, admf::priority::medium) == admf::publish_result::accepted);
    }
    for (std::uint64_t i = 1; i <= 30; ++i) {
        REQUIRE(bus.publish(job{i}) == admf::publish_result::accepted); // job's default: medium
        REQUIRE(bus.publish(job{i}, admf::priority::high) == admf::publish_result::accepted);
    }
    const auto held = bus.stats().partition(admf::domain::signal);
    CHECK(held.level(admf::priority::low).backlog == 10);
    CHECK(held.level(admf::priority::medium).backlog == 50);
    CHECK(held.level(admf::priority::high).backlog == 31); // + job 0, in its handler
    CHECK(held.backlog == 91);
    g.open();
    bus.flush();
    const auto s = bus.stats().partition(admf::domain::signal);
    CHECK(s.level(admf::priority::low).delivered == 10);
    CHECK(s.level(admf::priority::medium).delivered == 50);
    CHECK(s.level(admf::priority::high).delivered == 31);
    for (const auto& level : s.levels) {
        CHECK(level.backlog == 0);
        // Each of these waited behind the held event: published before the worker took it.
        CHECK(level.queue_time_max > 0);
        CHECK(level.queue_time_total >= level.queue_time_max);
        CHECK(level.mean_queue_time() <= static_cast<double>(level.queue_time_max));
    }
    CHECK(bus.stats().total().level(admf::priority::medium).delivered == 50);
}

TEST_CASE("strict_priority: low's starvation is exposed in its per-level queue time and backlog",
          "[policy][priority]") {
    admf::bus_config cfg;
    cfg[admf::domain::signal].capacity = 4096;
    admf::basic_bus<traits_with<admf::strict_priority>, job> bus{cfg};
    gate g;
    std::atomic<std::uint64_t> highs{0};
    admf::partition_stats while_high{};
    std::atomic<bool> sampled{false};
    auto sub = bus.subscribe<job>([&](const job& j, const admf::event_info& info) {
        if (j.seq == 0) {
            g.wait();
            return;
        }
        if (info.level == admf::priority::high && highs.fetch_add(1) == 1000 && !sampled.load()) {
            while_high = bus.stats().partition(admf::domain::signal); // mid-flow of highs
            sampled.store(true);
        }
    });
    bus.start();
    REQUIRE(bus.publish(job{0}, admf::priority::high) == admf::publish_result::accepted);
    g.await_entered();
    REQUIRE(bus.publish(job{1}, admf::priority::low) == admf::publish_result::accepted); // first in
    for (std::uint64_t i = 2; i != 3000; ++i) {
        REQUIRE(bus.publish(job{i}, admf::priority::high) == admf::publish_result::accepted);
    }
    g.open();
    bus.flush();
    REQUIRE(sampled.load());
    // While highs flowed, the low event (published before all of them) was still queued.
    CHECK(while_high.level(admf::priority::low).backlog == 1);
    CHECK(while_high.level(admf::priority::low).delivered == 0);
    const auto s = bus.stats().partition(admf::domain::signal);
    // Published first, taken last: it waited at least as long as any high event did.
    CHECK(s.level(admf::priority::low).delivered == 1);
    CHECK(s.level(admf::priority::low).queue_time_max >= s.level(admf::priority::high).queue_time_max);
}
