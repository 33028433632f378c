// SPDX-License-Identifier: MIT
// 06: adaptive scaling. A worker_controller watches the market_data partition every 50 ms
// and moves it between 1 and 4 workers to keep the p99 queue time (publish -> a worker takes
// the event) under 5 ms, through a step load: low, high, low again. Per-key order holds
// across every change: a lane moves between workers whole, never in two at once.
#include <admf/bus.hpp>
#include <admf/control/latency_target_scaling.hpp>
#include <admf/control/worker_controller.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct request { std::uint64_t id; };

template <> struct admf::event_traits<request> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.REQUEST";
    static std::uint64_t key(const request& r) noexcept { return r.id; } // spread over lanes
};

using bus_type = admf::bus<request>;
using controller_type = admf::worker_controller<bus_type, admf::latency_target_scaling>;

int main() {
    admf::bus_config cfg;
    auto& md = cfg[admf::domain::market_data];
    md.lanes = 4;          // the unit of hand-over: at most 4 workers can share the partition
    md.workers = 1;        // at start
    md.min_workers = 1;    // the range the controller moves in
    md.max_workers = 4;
    md.capacity = 1 << 14; // room for the backlog before scaling catches up: no blocking
    bus_type bus{cfg};

    // The handler waits ~100 µs, as one calling a remote risk service or a database would.
    // A waiting handler leaves its core free, so more workers serve more even on a machine
    // with fewer cores than workers; a CPU-bound handler scales only up to the free cores.
    std::atomic<std::uint64_t> handled{0};
    auto sub = bus.subscribe<request>([&](const request&) {
        std::this_thread::sleep_for(100us);
        handled.fetch_add(1, std::memory_order_relaxed);
    });
    bus.start();

    admf::latency_target_scaling policy;
    policy.target_p99 = 5'000'000; // ns: 5 ms
    controller_type::options opts;
    opts.interval = 50ms;
    const auto t0 = steady::now();
    std::size_t max_workers = 1; // written only on the controller's thread, read after stop()
    opts.on_decision = [&](admf::domain, const admf::partition_sample& s,
                           const admf::scaling_decision& d) {
        max_workers = std::max(max_workers, d.workers);
        if (d.workers == s.workers) return; // a hold: nothing to report
        std::printf("%5.2f s: workers %zu -> %zu: %.*s (p99 %.2f ms, backlog %llu)\n",
                    std::chrono::duration<double>(steady::now() - t0).count(), s.workers,
                    d.workers, static_cast<int>(d.reason.size()), d.reason.data(),
                    static_cast<double>(s.p99_queue_time) / 1e6,
                    static_cast<unsigned long long>(s.backlog));
    };
    controller_type controller{bus, policy, opts};
    controller.start();

    // The step load. Each event's send time comes from the schedule, not from sleeping a
    // fixed gap after each send: a publisher that oversleeps catches up, so the offered rate
    // is the one intended, whatever the timer's granularity.
    struct phase { double rate; std::chrono::milliseconds length; };
    constexpr phase load[] = {{1'000, 750ms}, {15'000, 1500ms}, {1'000, 750ms}};
    std::uint64_t published = 0;
    for (const phase& p : load) {
        const auto start = steady::now();
        const double seconds = std::chrono::duration<double>(p.length).count();
        const auto count = static_cast<std::uint64_t>(p.rate * seconds);
        for (std::uint64_t i = 0; i != count; ++i) {
            const std::chrono::duration<double> offset{static_cast<double>(i) / p.rate};
            const auto due = start + std::chrono::duration_cast<steady::duration>(offset);
            while (steady::now() < due) std::this_thread::sleep_for(50us);
            if (bus.publish(request{published++}) != admf::publish_result::accepted) return 1;
        }
        std::printf("%5.2f s: sent %llu at %.0f/s\n",
                    std::chrono::duration<double>(steady::now() - t0).count(),
                    static_cast<unsigned long long>(count), p.rate);
    }
    // The last low phase usually brings it back to 1 worker; give it at most 2 s more.
    const auto deadline = steady::now() + 2s;
    while (bus.workers(admf::domain::market_data) != 1 && steady::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    const bool back_to_one = bus.workers(admf::domain::market_data) == 1;
    controller.stop();
    bus.flush();
    bus.stop();

    const auto s = bus.stats().partition(admf::domain::market_data);
    std::printf("hand-overs %llu, scaled up %llu times, down %llu times\n",
                static_cast<unsigned long long>(s.handovers),
                static_cast<unsigned long long>(controller.ups(admf::domain::market_data)),
                static_cast<unsigned long long>(controller.downs(admf::domain::market_data)));
    std::printf("max workers reached: %zu\n", max_workers);
    std::printf("back to 1 worker: %s\n", back_to_one ? "yes" : "no");
    std::printf("delivered == published: %s\n",
                s.delivered == published && handled.load() == published ? "yes" : "NO");
}
