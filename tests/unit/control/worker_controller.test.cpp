// SPDX-License-Identifier: MIT
// admf::worker_controller against a fake bus with scripted stats, tagged [control]: interval
// samples (rates, interval p99), decisions applied through set_workers, the thread budget,
// skipped partitions, a bus that refuses (stopped, bad bounds), stall forwarding, and the
// controller's own thread. Steps take explicit times, so every case is deterministic.
#include <admf/bus/bus_config.hpp>
#include <admf/bus/bus_stats.hpp>
#include <admf/control/latency_target_scaling.hpp>
#include <admf/control/threshold_scaling.hpp>
#include <admf/control/worker_controller.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "catch.hpp"

#if defined(ADMF_TEST_CATCH3)
using Catch::Approx;
#endif

namespace {

using admf::domain;
using namespace std::chrono_literals;

/// The members of basic_bus the controller uses, with stats the test scripts. Latency is
/// one live partition_latency per partition, handed out by stats() as the same object each
/// time, so the controller must copy what it keeps.
struct fake_bus {
    using domain_type = domain;
    using config_type = admf::bus_config;
    using stats_type = admf::bus_stats;
    static constexpr std::size_t partition_count = admf::domain_traits<domain>::count;

    config_type cfg;
    stats_type next;
    std::array<std::shared_ptr<admf::partition_latency>, partition_count> latency{};
    std::array<std::size_t, partition_count> running_workers{};
    bool running = true;
    bool reject_bounds = false;
    std::vector<std::pair<domain, std::size_t>> set_calls;
    std::vector<admf::stall_report> stalls_to_report;
    std::vector<std::chrono::nanoseconds> stall_budgets;
    mutable std::mutex m; // the threaded case reads while the controller steps

    /// Partition `d` with event types, `w` workers in [lo, hi] and a queue histogram.
    void add(domain d, std::size_t w, std::size_t lo, std::size_t hi) {
        const auto i = admf::domain_index(d);
        cfg.partitions[i].lanes = 4;
        cfg.partitions[i].workers = w;
        cfg.partitions[i].min_workers = lo;
        cfg.partitions[i].max_workers = hi;
        running_workers[i] = w;
        latency[i] = std::make_shared<admf::partition_latency>();
        next.partitions[i].latency = latency[i];
    }
    admf::partition_stats& at(domain d) { return next.partitions[admf::domain_index(d)]; }
    admf::latency_histogram& queue(domain d) { return latency[admf::domain_index(d)]->queue; }

    [[nodiscard]] const config_type& config() const noexcept { return cfg; }
    [[nodiscard]] stats_type stats() const {
        const std::lock_guard lock(m);
        return next;
    }
    [[nodiscard]] std::size_t workers(domain d) const noexcept {
        const std::lock_guard lock(m);
        return running_workers[admf::domain_index(d)];
    }
    std::size_t set_workers(domain d, std::size_t n) {
        const std::lock_guard lock(m);
        if (reject_bounds) {
            throw std::invalid_argument("fake_bus: outside [min, max]");
        }
        if (!running) {
            throw std::logic_error("fake_bus: not running");
        }
        set_calls.emplace_back(d, n);
        running_workers[admf::domain_index(d)] = n;
        return n;
    }
    std::size_t check_stalls(std::chrono::nanoseconds budget,
                             const std::function<void(const admf::stall_report&)>& report) {
        stall_budgets.push_back(budget);
        for (const auto& r : stalls_to_report) {
            report(r);
        }
        const std::size_t n = stalls_to_report.size();
        stalls_to_report.clear();
        return n;
    }
};

using test_clock = std::chrono::steady_clock;
const test_clock::time_point t0{};

/// One interval of a scripted scenario for market_data: the counters at its end, queue
/// times recorded during it (value, count) and what the controller must then do.
struct interval {
    std::uint64_t published;
    std::uint64_t delivered;
    std::uint64_t backlog;
    std::int64_t queue_ns;
    std::uint64_t queue_count;
    std::size_t expect_workers;
    std::string_view expect_reason;
};

struct decision_seen {
    domain d;
    admf::partition_sample sample;
    admf::scaling_decision decision;
};

/// Steps 100 ms apart: the first step is the baseline, then one per row.
template <class Policy>
std::vector<decision_seen> run(fake_bus& bus, Policy policy, const std::vector<interval>& rows,
                               typename admf::worker_controller<fake_bus, Policy>::options opts = {}) {
    std::vector<decision_seen> seen;
    opts.on_decision = [&](domain d, const admf::partition_sample& s,
                           const admf::scaling_decision& dec) { seen.push_back({d, s, dec}); };
    admf::worker_controller<fake_bus, Policy> ctl(bus, policy, opts);
    ctl.step(t0);
    REQUIRE(seen.empty());
    for (std::size_t k = 0; k != rows.size(); ++k) {
        const interval& r = rows[k];
        auto& ps = bus.at(domain::market_data);
        ps.published = r.published;
        ps.delivered = r.delivered;
        ps.backlog = r.backlog;
        bus.queue(domain::market_data).record(r.queue_ns, r.queue_count);
        const std::size_t before = seen.size();
        ctl.step(t0 + 100ms * static_cast<int>(k + 1));
        REQUIRE(seen.size() == before + 1);
        const auto& last = seen.back();
        INFO("interval " << k << ": " << last.sample.workers << " -> " << last.decision.workers
                         << " (" << last.decision.reason << ")");
        CHECK(last.d == domain::market_data);
        CHECK(last.decision.workers == r.expect_workers);
        CHECK(last.decision.reason == r.expect_reason);
        CHECK(bus.workers(domain::market_data) == r.expect_workers);
    }
    const auto ups = ctl.ups(domain::market_data);
    const auto downs = ctl.downs(domain::market_data);
    const auto holds = ctl.holds(domain::market_data);
    CHECK(ups + downs + holds == rows.size());
    return seen;
}

constexpr std::string_view up = "backlog above up_backlog at a low service rate";
constexpr std::string_view down = "backlog below down_backlog";

} // namespace

TEST_CASE("worker_controller: a rising backlog adds workers through set_workers, an empty one "
          "removes them", "[control]") {
    fake_bus bus;
    bus.add(domain::market_data, 1, 1, 4);
    // 100 ms intervals: 1000 delivered per interval is 10'000/s (above up_below_rate 5000),
    // 300 is 3000/s (behind).
    const auto seen = run(bus, admf::threshold_scaling{.hysteresis = 1, .cooldown = 0},
                          {
                              {1'000, 1'000, 0, 1'000, 1, 1, "at min_workers"},
                              {2'500, 1'300, 1'200, 1'000, 1, 2, up},
                              {4'000, 1'600, 2'400, 1'000, 1, 3, up},
                              {5'500, 1'900, 3'600, 1'000, 1, 4, up},
                              {7'000, 2'200, 4'800, 1'000, 1, 4, "at max_workers"},
                              {7'000, 7'000, 500, 1'000, 1, 4, "hold"},
                              {7'000, 7'500, 0, 1'000, 1, 3, down},
                          });
    const std::vector<std::pair<domain, std::size_t>> calls = {
        {domain::market_data, 2}, {domain::market_data, 3}, {domain::market_data, 4},
        {domain::market_data, 3}};
    CHECK(bus.set_calls == calls);
    // Rates are counter deltas over the 100 ms interval.
    CHECK(seen[1].sample.arrival_rate == Approx(15'000.0));
    CHECK(seen[1].sample.service_rate == Approx(3'000.0));
    CHECK(seen[1].sample.backlog == 1'200);
    CHECK(seen[1].sample.workers == 1);
    CHECK(seen[5].sample.service_rate == Approx(48'000.0));
}

TEST_CASE("worker_controller: p99 queue time is the interval's, not the cumulative one",
          "[control]") {
    fake_bus bus;
    bus.add(domain::market_data, 1, 1, 4);
    const admf::latency_target_scaling policy{.target_p99 = 100'000, .hysteresis = 1,
                                              .cooldown = 0};
    const auto seen = run(bus, policy,
                          {
                              {1'000, 1'000, 0, 2'000, 1'000, 1, "at min_workers"},
                              {2'000, 2'000, 0, 1'000'000, 1'000, 2, "p99 queue time above target"},
                              // Cumulatively half the values are 1 ms; this interval's are 2 µs.
                              {3'000, 3'000, 0, 2'000, 1'000, 1,
                               "p99 queue time well under target, little backlog"},
                              {4'000, 4'000, 0, 50'000, 1'000, 1, "hold"}, // 25..100 µs
                          });
    const admf::latency_histogram h(1, admf::partition_latency::max_ns, 2);
    CHECK(seen[0].sample.p99_queue_time == h.highest_equivalent_value(2'000));
    CHECK(seen[1].sample.p99_queue_time == h.highest_equivalent_value(1'000'000));
    CHECK(seen[2].sample.p99_queue_time == h.highest_equivalent_value(2'000));
    CHECK(seen[3].sample.p99_queue_time == h.highest_equivalent_value(50'000));
}

TEST_CASE("worker_controller: an interval with no events has p99 0, no histogram gives 0",
          "[control]") {
    fake_bus bus;
    bus.add(domain::market_data, 2, 1, 4);
    SECTION("empty interval") {
        bus.queue(domain::market_data).record(500'000, 10); // before the baseline
        run(bus, admf::latency_target_scaling{.hysteresis = 1, .cooldown = 0},
            {{0, 0, 0, 1, 0, 1, "p99 queue time well under target, little backlog"}});
    }
    SECTION("the bus records no latency") {
        bus.at(domain::market_data).latency = nullptr;
        run(bus, admf::latency_target_scaling{.hysteresis = 1, .cooldown = 0},
            {{0, 0, 0, 1, 0, 1, "p99 queue time well under target, little backlog"}});
    }
}

TEST_CASE("worker_controller: the thread budget caps the workers over all partitions",
          "[control]") {
    struct row {
        std::size_t budget;
        std::size_t expect_market_data;
        std::size_t expect_signal;
        std::string_view signal_reason;
    };
    // Three partitions with one worker each (order fixed at 1, so never decided) and both
    // scaled ones behind; market_data is decided first.
    const auto r = GENERATE(row{3, 1, 1, "thread budget spent"}, row{4, 2, 1, "thread budget spent"},
                            row{5, 2, 2, up}, row{0, 2, 2, up});
    INFO("budget " << r.budget);
    fake_bus bus;
    bus.add(domain::market_data, 1, 1, 4);
    bus.add(domain::signal, 1, 1, 4);
    bus.add(domain::order, 1, 1, 1);
    std::vector<decision_seen> seen;
    admf::worker_controller<fake_bus> ctl(
        bus, admf::threshold_scaling{.hysteresis = 1, .cooldown = 0},
        {.thread_budget = r.budget,
         .on_decision = [&](domain d, const admf::partition_sample& s,
                            const admf::scaling_decision& dec) { seen.push_back({d, s, dec}); }});
    ctl.step(t0);
    for (const domain d : {domain::market_data, domain::signal}) {
        bus.at(d).published = 5'000;
        bus.at(d).backlog = 5'000;
    }
    ctl.step(t0 + 100ms);
    REQUIRE(seen.size() == 2); // order has min == max: never decided
    CHECK(seen[0].d == domain::market_data);
    CHECK(seen[1].d == domain::signal);
    CHECK(bus.workers(domain::market_data) == r.expect_market_data);
    CHECK(bus.workers(domain::signal) == r.expect_signal);
    CHECK(seen[1].decision.reason == r.signal_reason);
    CHECK(bus.workers(domain::order) == 1);
    CHECK(ctl.holds(domain::order) == 0);
}

TEST_CASE("worker_controller: partitions without event types or room to scale are skipped",
          "[control]") {
    fake_bus bus;
    bus.add(domain::market_data, 2, 0, 0); // 0 = workers: [2, 2]
    bus.add(domain::fill, 2, 1, 4);
    bus.running_workers[admf::domain_index(domain::fill)] = 0; // no event types
    std::size_t decisions = 0;
    admf::worker_controller<fake_bus> ctl(
        bus, {},
        {.on_decision = [&](domain, const admf::partition_sample&,
                            const admf::scaling_decision&) { ++decisions; }});
    for (int k = 0; k != 5; ++k) {
        bus.at(domain::market_data).backlog = 100'000;
        ctl.step(t0 + 100ms * k);
    }
    CHECK(decisions == 0);
    CHECK(bus.set_calls.empty());
    CHECK(ctl.steps() == 5);
}

TEST_CASE("worker_controller: a bus that refuses set_workers keeps its count and the "
          "controller goes on", "[control]") {
    const bool stopped = GENERATE(true, false);
    fake_bus bus;
    bus.add(domain::market_data, 1, 1, 4);
    bus.running = !stopped;
    bus.reject_bounds = !stopped;
    std::vector<decision_seen> seen;
    admf::worker_controller<fake_bus> ctl(
        bus, admf::threshold_scaling{.hysteresis = 1, .cooldown = 0},
        {.on_decision = [&](domain d, const admf::partition_sample& s,
                            const admf::scaling_decision& dec) { seen.push_back({d, s, dec}); }});
    ctl.step(t0);
    bus.at(domain::market_data).backlog = 5'000;
    REQUIRE_NOTHROW(ctl.step(t0 + 100ms));
    REQUIRE_NOTHROW(ctl.step(t0 + 200ms));
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].decision.workers == 1);
    CHECK(seen[1].decision.reason == (stopped ? "set_workers refused: bus not running"
                                              : "set_workers refused: outside its bounds"));
    CHECK(bus.workers(domain::market_data) == 1);
    CHECK(ctl.refused(domain::market_data) == 2);
    CHECK(ctl.holds(domain::market_data) == 2);
    CHECK(ctl.ups(domain::market_data) == 0);
    const admf::partition_control last = ctl.last(domain::market_data);
    CHECK(last.refused == 2);
    CHECK(last.decision == seen[1].decision);
    CHECK(last.sample.backlog == 5'000);

    // Running again: the next step applies the change.
    bus.running = true;
    bus.reject_bounds = false;
    ctl.step(t0 + 300ms);
    CHECK(bus.workers(domain::market_data) == 2);
    CHECK(ctl.ups(domain::market_data) == 1);
}

TEST_CASE("worker_controller: the watchdog runs each step with the stall budget and forwards "
          "reports", "[control]") {
    fake_bus bus;
    bus.add(domain::market_data, 1, 1, 4);
    std::vector<admf::stall_report> got;
    SECTION("no stall budget: no watchdog") {
        admf::worker_controller<fake_bus> ctl(bus, {}, {.on_stall = [&](const auto& r) {
                                                  got.push_back(r);
                                              }});
        bus.stalls_to_report.push_back({.partition = "market_data"});
        ctl.step(t0);
        ctl.step(t0 + 100ms);
        CHECK(bus.stall_budgets.empty());
        CHECK(got.empty());
        CHECK(ctl.stalls() == 0);
    }
    SECTION("a budget: every step checks, each report is forwarded once") {
        admf::worker_controller<fake_bus> ctl(
            bus, {},
            {.stall_budget = 25ms, .on_stall = [&](const auto& r) { got.push_back(r); }});
        ctl.step(t0); // the baseline step runs the watchdog too
        bus.stalls_to_report.push_back({.partition = "market_data", .worker = 1, .lane = 3,
                                        .subscription = 7, .duration = 40ms, .lanes_moved = 2});
        bus.stalls_to_report.push_back({.partition = "market_data", .worker = 0, .lane = 0});
        ctl.step(t0 + 100ms);
        ctl.step(t0 + 200ms);
        const std::vector<std::chrono::nanoseconds> budgets(3, 25ms);
        CHECK(bus.stall_budgets == budgets);
        REQUIRE(got.size() == 2);
        CHECK(got[0].lane == 3);
        CHECK(got[0].subscription == 7);
        CHECK(got[0].duration == 40ms);
        CHECK(got[0].lanes_moved == 2);
        CHECK(got[1].worker == 0);
        CHECK(ctl.stalls() == 2);
    }
    SECTION("a budget without a callback still counts") {
        admf::worker_controller<fake_bus> ctl(bus, {}, {.stall_budget = 25ms});
        bus.stalls_to_report.push_back({.partition = "market_data"});
        ctl.step(t0);
        CHECK(ctl.stalls() == 1);
    }
}

TEST_CASE("worker_controller: start steps every interval and stop is prompt and idempotent",
          "[control]") {
    fake_bus bus;
    bus.add(domain::market_data, 1, 1, 4);
    {
        admf::worker_controller<fake_bus> ctl(bus, {}, {.interval = 1ms});
        ctl.start();
        ctl.start(); // already started: nothing
        const auto deadline = test_clock::now() + 10s;
        while (ctl.steps() < 5 && test_clock::now() < deadline) {
            std::this_thread::sleep_for(1ms); // polling the counter, not pacing anything
        }
        CHECK(ctl.steps() >= 5);
        ctl.stop();
        const auto n = ctl.steps();
        ctl.stop();
        std::this_thread::sleep_for(5ms); // five intervals: a live thread would step again
        CHECK(ctl.steps() == n);
        ctl.start(); // restartable
        ctl.stop();
        CHECK(ctl.steps() >= n + 1);
    }
    {
        admf::worker_controller<fake_bus> ctl(bus, {}, {.interval = std::chrono::hours(1)});
        ctl.start();
        const auto t = test_clock::now();
        ctl.stop(); // wakes the hour-long wait
        CHECK(test_clock::now() - t < 2s);
    }
    {
        admf::worker_controller<fake_bus> ctl(bus, {}, {.interval = std::chrono::hours(1)});
        ctl.start();
    } // the destructor stops it
    SUCCEED();
}
