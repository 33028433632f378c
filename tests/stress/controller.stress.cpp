// SPDX-License-Identifier: MIT
// The adaptive worker controller on a live bus (issue [4/7]): a step load raises the worker
// count and the interval p99 queue latency recovers under the same load; idle lowers it.
//
// The handler models a slow, mostly waiting one (an I/O call, a remote risk check): it
// sleeps 100 µs, so one worker serves at most ~10 k events/s however fast the CPU, and
// more workers serve more even on 2 cores. Both capacities are measured first, in the same
// run: one worker's and four workers'. The load is 2.5x one worker's, but at most 0.6x
// four workers' (each event also costs CPU, and 2 cores cap what 4 workers serve: CI's
// TSan run measured 4.2 k/s for one worker and a fixed 2.5x was more than four could
// drain; a loaded machine measured four at 14 k/s, and 0.75x of that did not drain within
// 3 s), and at least 1.3x one worker's, or the case fails as unable to show scaling. The
// load is paced by an intended-time schedule for 4 s (6 s under sanitizers); then nothing
// for up to 3 s. latency_target_scaling keeps the interval p99 under 5 ms.
// Judged by: the count rose (>= 3 of the 4 allowed); while the load still ran, a later
// interval's p99 was under the target after an earlier one above it; after the load, the
// count went back to 1; every event was delivered; decisions reached the callback and the
// counters agree with them.

#include <admf/bus.hpp>
#include <admf/control/latency_target_scaling.hpp>
#include <admf/control/worker_controller.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "seed.hpp"

namespace {

using namespace std::chrono_literals;
using admf::domain;
using steady = std::chrono::steady_clock;

struct job {
    std::uint64_t id;
};

} // namespace

template <>
struct admf::event_traits<job> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.JOB";
    static std::uint64_t key(const job& j) noexcept { return j.id; }
};

namespace {

struct interval_row {
    steady::time_point at;
    std::size_t workers;
    std::int64_t p99;
    std::uint64_t backlog;
};

// Publishes `rate` events/s for `length` at intended send times (no sleep-paced rate: a
// late publisher catches up on its schedule). Returns how many it published.
std::uint64_t offer(admf::bus<job>& bus, double rate, steady::duration length, std::uint64_t& next_id) {
    const auto start = steady::now();
    const auto gap = std::chrono::duration<double>(1.0 / rate);
    std::uint64_t sent = 0;
    for (;;) {
        const auto due = start + std::chrono::duration_cast<steady::duration>(gap * static_cast<double>(sent));
        if (due - start >= length) {
            return sent;
        }
        while (steady::now() < due) {
            std::this_thread::sleep_for(50us); // the schedule, not the bus, waits here
        }
        REQUIRE(bus.publish(job{next_id++}) == admf::publish_result::accepted);
        ++sent;
    }
}

} // namespace

TEST_CASE("controller: a step load raises the worker count, p99 recovers under the load, idle "
          "lowers it",
          "[stress][controller]") {
    admf::bus_config cfg;
    auto& md = cfg[domain::market_data];
    md.lanes = 4;
    md.workers = 1;
    md.min_workers = 1;
    md.max_workers = 4;
    md.capacity = 1 << 16; // the step's backlog fits: publishers never block
    admf::bus<job> bus{cfg};
    std::atomic<std::uint64_t> handled{0};
    auto sub = bus.subscribe<job>([&](const job&) {
        std::this_thread::sleep_for(100us); // a slow handler that waits (see the top)
        handled.fetch_add(1, std::memory_order_relaxed);
    });
    bus.start();

    // One worker's and four workers' capacity, in this run: a burst each, timed.
    std::uint64_t next_id = 0;
    const auto burst_rate = [&](int n) {
        const auto t0 = steady::now();
        for (int i = 0; i != n; ++i) {
            REQUIRE(bus.publish(job{next_id++}) == admf::publish_result::accepted);
        }
        bus.flush();
        return n / std::chrono::duration<double>(steady::now() - t0).count();
    };
    const double one_worker_rate = burst_rate(2000);
    bus.set_workers(domain::market_data, 4);
    const double four_worker_rate = burst_rate(4000);
    bus.set_workers(domain::market_data, 1);
    const double load = std::min(2.5 * one_worker_rate, 0.6 * four_worker_rate);
    INFO("one worker serves " << one_worker_rate << " events/s, four " << four_worker_rate
                              << "; load " << load);
    REQUIRE(one_worker_rate > 500);
    REQUIRE(load >= 1.3 * one_worker_rate);
    const auto step_length =
        admf_test::current_stress_scale() == admf_test::stress_scale::rel ? 4s : 6s;

    std::mutex rows_mutex;
    std::vector<interval_row> rows;
    std::atomic<std::uint64_t> decided{0};
    admf::latency_target_scaling policy;
    policy.target_p99 = 5'000'000; // 5 ms
    // The default hysteresis (2 intervals) and cooldown (3): 1 -> 4 takes ~0.5 s.
    using controller_type = admf::worker_controller<admf::bus<job>, admf::latency_target_scaling>;
    controller_type::options opts;
    opts.interval = 50ms;
    opts.on_decision = [&](domain d, const admf::partition_sample& s, const admf::scaling_decision&) {
        if (d == domain::market_data) {
            decided.fetch_add(1, std::memory_order_relaxed);
            std::lock_guard lock{rows_mutex};
            rows.push_back({steady::now(), s.workers, s.p99_queue_time, s.backlog});
        }
    };
    controller_type controller{bus, policy, opts};
    controller.start();

    const auto step_start = steady::now();
    const std::uint64_t stepped = offer(bus, load, step_length, next_id);
    const auto step_end = steady::now();
    // Idle: the count must come back down.
    const auto idle_deadline = steady::now() + 3s;
    while (bus.workers(domain::market_data) != 1 && steady::now() < idle_deadline) {
        std::this_thread::sleep_for(10ms); // polling the outcome, bounded
    }
    const std::size_t after_idle = bus.workers(domain::market_data);
    controller.stop();
    bus.flush();

    std::size_t max_workers = 0;
    bool above = false;
    bool recovered = false;
    std::int64_t peak = 0;
    {
        std::lock_guard lock{rows_mutex};
        for (const auto& r : rows) {
            if (r.at < step_start || r.at > step_end) {
                continue;
            }
            max_workers = std::max(max_workers, r.workers);
            peak = std::max(peak, r.p99);
            if (r.p99 > policy.target_p99) {
                above = true;
            } else if (above && r.p99 < policy.target_p99 && r.p99 > 0) {
                recovered = true;
            }
        }
    }
    const auto pc = controller.last(domain::market_data);
    std::printf("controller stress: one worker %.0f/s, four %.0f/s; step %llu events at %.0f/s; "
                "peak p99 %lld ns; max workers %zu; after idle %zu; ups %llu downs %llu\n",
                one_worker_rate, four_worker_rate, static_cast<unsigned long long>(stepped), load,
                static_cast<long long>(peak), max_workers, after_idle,
                static_cast<unsigned long long>(pc.ups), static_cast<unsigned long long>(pc.downs));
    INFO("step: " << stepped << " events at " << load << "/s; peak p99 " << peak
                  << " ns; max workers " << max_workers << "; after idle " << after_idle
                  << "; ups " << pc.ups << " downs " << pc.downs);
    CHECK(max_workers >= 3);
    CHECK(above);
    CHECK(recovered);
    CHECK(after_idle == 1);
    CHECK(pc.ups >= 2);
    CHECK(pc.downs >= 2);
    CHECK(decided.load() == pc.ups + pc.downs + pc.holds);
    CHECK(handled.load() == next_id);
    const auto s = bus.stats().partition(domain::market_data);
    CHECK(s.delivered == next_id);
    CHECK(s.handovers >= 4);
}
