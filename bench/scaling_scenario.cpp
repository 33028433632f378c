// SPDX-License-Identifier: MIT
// admf-scaling-scenario: the adaptive worker controller under a step load (bench/README.md).
//
// One partition (market_data: 4 lanes, 1..4 workers, starting at 1) whose handler costs a
// fixed amount of CPU (busy loop on steady_clock, default 2 µs). A publisher offers load on
// a schedule: event i has an intended send time, it is published at or after that time
// (never paced by measuring sleeps), and its latency is taken from the intended time to the
// handler's start, so a publisher held back by a full lane or a late wake-up shows in the
// numbers instead of hiding (coordinated omission). Phases: low rate, a step to a rate one
// worker cannot serve but two can, low again. A worker_controller with
// latency_target_scaling steps every --interval-ms; each of its decisions on market_data
// becomes one JSON row {t, workers, p99_queue_ns, backlog, arrival_rate, ...} (--out) and
// one TSV line (--tsv, what docs/plots/scaling.gp plots). Exit status 1 if an accepted event
// was not delivered exactly once.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <admf/bus.hpp>
#include <admf/control/latency_target_scaling.hpp>
#include <admf/control/worker_controller.hpp>
#include <admf/metrics/latency_histogram.hpp>

#include "support/machine.hpp"

namespace {

struct tick {
    std::uint64_t key;
    std::int64_t intended_ns; // since the scenario's start, steady_clock
};

} // namespace

template <>
struct admf::event_traits<tick> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.TICK";
    static std::uint64_t key(const tick& t) noexcept { return t.key; }
};

namespace {

using steady = std::chrono::steady_clock;
using bus_type = admf::bus<tick>;
using controller_type = admf::worker_controller<bus_type, admf::latency_target_scaling>;

struct settings {
    double low_rate = 10'000;   // events/s: a few % of one worker
    double high_rate = 600'000; // one 2 µs worker serves ~430 k/s here; two ~800 k/s
    double low1_s = 2.0;
    double high_s = 3.0;
    double low2_s = 3.0;
    std::int64_t work_ns = 2'000;
    std::int64_t interval_ms = 50;
    std::int64_t target_p99_us = 1'000;
    std::int64_t max_workers = 4; // 1: calibrate what one worker serves
    std::string wait = "blocking";
    /// spin: the handler's cost is CPU time (scaling helps only up to the free cores);
    /// sleep: it waits work_ns (an I/O call, a remote check), so workers add capacity
    /// beyond the cores, as on this 2-vCPU machine.
    std::string handler = "spin";
    std::string out;
    std::string tsv;
};

struct row {
    double t = 0;
    std::size_t workers = 0;          // during the interval
    std::size_t next_workers = 0;     // decided for the next one
    std::int64_t p99_queue_ns = 0;    // the controller's sample: publish -> dequeue
    std::int64_t p99_intended_ns = 0; // intended send time -> handler start, same interval
    std::uint64_t backlog = 0;
    double arrival_rate = 0;
    double service_rate = 0;
    std::string_view reason;
    int phase = 0;
};

[[nodiscard]] std::int64_t since(steady::time_point t0) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0).count();
}

bool parse(int argc, char** argv, settings& s) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        // --name=value into `field`, parsed as the field's type.
        const auto take = [&](std::string_view name, auto& field) {
            if (a.size() <= name.size() || a.substr(0, name.size()) != name || a[name.size()] != '=') {
                return false;
            }
            const char* v = argv[i] + name.size() + 1;
            using T = std::remove_reference_t<decltype(field)>;
            if constexpr (std::is_same_v<T, double>) {
                field = std::atof(v);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                field = std::atoll(v);
            } else {
                field = v;
            }
            return true;
        };
        if (!(take("--low-rate", s.low_rate) || take("--high-rate", s.high_rate) ||
              take("--low1-s", s.low1_s) || take("--high-s", s.high_s) ||
              take("--low2-s", s.low2_s) || take("--work-ns", s.work_ns) ||
              take("--interval-ms", s.interval_ms) || take("--target-p99-us", s.target_p99_us) ||
              take("--max-workers", s.max_workers) || take("--wait", s.wait) || take("--handler", s.handler) || take("--out", s.out) || take("--tsv", s.tsv))) {
            std::cerr << "usage: admf-scaling-scenario [--low-rate=N] [--high-rate=N] [--low1-s=S]"
                         " [--high-s=S] [--low2-s=S] [--work-ns=N] [--interval-ms=N]"
                         " [--target-p99-us=N] [--max-workers=1..4]"
                         " [--wait=blocking|yielding|backoff|busy_spin] [--handler=spin|sleep]"
                         " [--out=file.json] [--tsv=file.tsv]\n";
            return false;
        }
    }
    return true;
}

admf::wait_kind wait_of(std::string_view w) {
    if (w == "blocking") {
        return admf::wait_kind::blocking;
    }
    if (w == "backoff") {
        return admf::wait_kind::backoff;
    }
    if (w == "busy_spin") {
        return admf::wait_kind::busy_spin;
    }
    return admf::wait_kind::yielding;
}

/// The median over a phase's intervals of the controller's interval p99 queue time.
[[nodiscard]] std::int64_t median_p99(const std::vector<row>& rows, int phase) {
    std::vector<std::int64_t> v;
    for (const row& r : rows) {
        if (r.phase == phase) {
            v.push_back(r.p99_queue_ns);
        }
    }
    if (v.empty()) {
        return 0;
    }
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    if (!parse(argc, argv, s)) {
        return 2;
    }
    constexpr std::size_t lanes = 4;
    admf::bus_config cfg;
    auto& md = cfg[admf::domain::market_data];
    md.lanes = lanes;
    md.workers = 1;
    md.min_workers = 1;
    md.max_workers = static_cast<std::size_t>(std::clamp<std::int64_t>(s.max_workers, 1, 4));
    // Room for a few hundred ms of overload, so the step shows as latency, not as a
    // publisher blocked on a full lane (which the intended times would still count).
    md.capacity = 1 << 16;
    // Takes of 32: `delivered` (the controller's service rate) is counted per take, and a
    // take of 256 slow events would span several 50 ms intervals.
    md.max_batch = 32;
    md.wait = wait_of(s.wait);
    bus_type bus(cfg);

    const std::string load_at_start = admf::bench::load_average();
    const steady::time_point t0 = steady::now();
    // One histogram per lane: a lane runs on one worker at a time (the bus hands it over
    // with the ordering a single-writer histogram needs), so each has one writer at a time.
    std::vector<admf::latency_histogram> intended(lanes);
    std::atomic<std::uint64_t> handled{0};
    const bool sleeping = s.handler == "sleep";
    auto sub = bus.subscribe<tick>([&](const tick& t, const admf::event_info& info) {
        const std::int64_t start = since(t0);
        intended[info.lane].record(start - t.intended_ns);
        if (sleeping) {
            // the handler waits (I/O): the OS rounds up to its timer slack, ~50 µs
            std::this_thread::sleep_for(std::chrono::nanoseconds(s.work_ns));
        } else {
            while (since(t0) - start < s.work_ns) {
                // the handler's fixed cost: CPU time, as a real handler would spend
            }
        }
        handled.fetch_add(1, std::memory_order_relaxed); // a count only: join orders the read
    });

    std::vector<row> rows;
    std::int64_t schedule_start = 0; // set before the controller's thread starts, then read-only
    std::mutex rows_mutex; // the controller's thread appends, main reads after stop()
    std::atomic<int> phase{0}; // relaxed: a label for the rows, no data hangs on it
    admf::latency_histogram previous(intended[0]); // empty: the layout of the lanes' ones
    // Each phase's intervals merged: the phase's p99 over every event, from intended times.
    std::vector<admf::latency_histogram> by_phase(3);
    controller_type::options opts;
    opts.interval = std::chrono::milliseconds(s.interval_ms);
    opts.on_decision = [&](admf::domain, const admf::partition_sample& smp,
                           const admf::scaling_decision& dec) {
        admf::latency_histogram now(intended[0]);
        for (std::size_t i = 1; i < lanes; ++i) {
            now.merge(intended[i]);
        }
        admf::latency_histogram interval(now);
        interval.subtract(previous);
        previous.reset();
        previous.merge(now);
        const int ph = phase.load(std::memory_order_relaxed);
        by_phase[static_cast<std::size_t>(ph)].merge(interval);
        const std::lock_guard lock(rows_mutex);
        rows.push_back({.t = static_cast<double>(since(t0) - schedule_start) / 1e9,
                        .workers = smp.workers,
                        .next_workers = dec.workers,
                        .p99_queue_ns = smp.p99_queue_time,
                        .p99_intended_ns = interval.value_at_percentile(99.0),
                        .backlog = smp.backlog,
                        .arrival_rate = smp.arrival_rate,
                        .service_rate = smp.service_rate,
                        .reason = dec.reason,
                        .phase = ph});
    };
    const admf::latency_target_scaling policy{.target_p99 = s.target_p99_us * 1'000};
    controller_type controller(bus, policy, opts);

    bus.start();
    // Warm-up, before the controller's baseline: twice the rings' slots, so every ring page
    // is touched (a first touch faults into the hypervisor on a VM: ~0.5 ms p99 otherwise)
    // and the workers' first wake-ups are start-up, not load.
    std::uint64_t warm_published = 0;
    for (std::uint64_t k = 0; k != 2 * lanes * md.capacity; ++k) {
        warm_published += bus.publish(tick{k, since(t0)}) == admf::publish_result::accepted ? 1 : 0;
    }
    bus.flush();
    for (auto& h : intended) {
        h.reset(); // nobody records: the bus is flushed and the publisher is this thread
    }
    const std::uint64_t warm = handled.load(std::memory_order_relaxed);
    schedule_start = since(t0); // t = 0 of the rows: the schedule, after the warm-up
    controller.start();
    std::uint64_t published = 0;
    std::uint64_t not_accepted = 0;
    std::int64_t phase_start = schedule_start;
    const std::array<std::pair<double, double>, 3> phases = {
        {{s.low_rate, s.low1_s}, {s.high_rate, s.high_s}, {s.low_rate, s.low2_s}}};
    for (std::size_t p = 0; p != phases.size(); ++p) {
        phase.store(static_cast<int>(p), std::memory_order_relaxed);
        const double period_ns = 1e9 / phases[p].first;
        const auto n = static_cast<std::uint64_t>(phases[p].first * phases[p].second);
        for (std::uint64_t k = 0; k != n; ++k) {
            const auto due = phase_start + static_cast<std::int64_t>(static_cast<double>(k) * period_ns);
            // Ahead of schedule: sleep most of the way (timer slack is ~50 µs), then yield
            // until due. Yield, not spin: on 2 vCPUs a spinning publisher takes the core a
            // worker needs. Behind schedule (the step): publish at once, as fast as accepted.
            if (const std::int64_t ahead = due - since(t0); ahead > 100'000) {
                std::this_thread::sleep_for(std::chrono::nanoseconds(ahead - 60'000));
            }
            while (since(t0) < due) {
                std::this_thread::yield();
            }
            const auto r = bus.publish(tick{published + not_accepted, due});
            (r == admf::publish_result::accepted ? published : not_accepted) += 1;
        }
        phase_start += static_cast<std::int64_t>(phases[p].second * 1e9);
    }
    bus.flush();
    controller.stop();
    const auto stats = bus.stats();
    bus.stop();

    const auto& ps = stats.partition(admf::domain::market_data);
    std::size_t max_workers = 0;
    for (const row& r : rows) {
        max_workers = std::max({max_workers, r.workers, r.next_workers});
    }
    const std::uint64_t delivered = ps.delivered - warm_published;
    const bool exact = ps.published == warm_published + published &&
                       ps.delivered == ps.published && handled.load() - warm == published &&
                       not_accepted == 0;

    if (!s.out.empty()) {
        std::ofstream f(s.out);
        f << "{\n  \"benchmark\": \"admf-scaling-scenario\",\n"
          << "  \"cpu\": \"" << admf::bench::cpu_model() << "\",\n"
          << "  \"cpus\": " << std::thread::hardware_concurrency() << ",\n"
          << "  \"load_average_at_start\": \"" << load_at_start << "\",\n"
          << "  \"settings\": {\"low_rate\": " << s.low_rate << ", \"high_rate\": " << s.high_rate
          << ", \"low1_s\": " << s.low1_s << ", \"high_s\": " << s.high_s
          << ", \"low2_s\": " << s.low2_s << ", \"work_ns\": " << s.work_ns
          << ", \"interval_ms\": " << s.interval_ms << ", \"target_p99_ns\": "
          << s.target_p99_us * 1'000 << ", \"wait\": \"" << s.wait
          << "\", \"handler\": \"" << s.handler << "\", \"max_batch\": 32, \"lanes\": 4, \"min_workers\": 1, \"max_workers\": " << md.max_workers
          << "},\n"
          << "  \"published\": " << published << ", \"delivered\": " << delivered
          << ", \"ups\": " << controller.ups(admf::domain::market_data)
          << ", \"downs\": " << controller.downs(admf::domain::market_data)
          << ", \"handovers\": " << ps.handovers << ", \"max_workers_reached\": " << max_workers
          << ",\n  \"p99_intended_ns_by_phase\": [" << by_phase[0].value_at_percentile(99.0) << ", "
          << by_phase[1].value_at_percentile(99.0) << ", " << by_phase[2].value_at_percentile(99.0)
          << "],\n  \"intervals\": [\n";
        for (std::size_t i = 0; i != rows.size(); ++i) {
            const row& r = rows[i];
            f << "    {\"t\": " << r.t << ", \"phase\": " << r.phase << ", \"workers\": " << r.workers
              << ", \"next_workers\": " << r.next_workers << ", \"p99_queue_ns\": " << r.p99_queue_ns
              << ", \"p99_intended_ns\": " << r.p99_intended_ns << ", \"backlog\": " << r.backlog
              << ", \"arrival_rate\": " << r.arrival_rate << ", \"service_rate\": " << r.service_rate
              << ", \"reason\": \"" << r.reason << "\"}" << (i + 1 != rows.size() ? ",\n" : "\n");
        }
        f << "  ]\n}\n";
    }
    if (!s.tsv.empty()) {
        std::ofstream f(s.tsv);
        f << "# t_s\tphase\tworkers\tnext_workers\tp99_queue_ns\tp99_intended_ns\tbacklog"
             "\tarrival_rate\tservice_rate\n";
        for (const row& r : rows) {
            f << r.t << '\t' << r.phase << '\t' << r.workers << '\t' << r.next_workers << '\t'
              << r.p99_queue_ns << '\t' << r.p99_intended_ns << '\t' << r.backlog << '\t'
              << r.arrival_rate << '\t' << r.service_rate << '\n';
        }
    }
    const auto us = [](std::int64_t ns) { return static_cast<double>(ns) / 1e3; };
    std::printf("admf-scaling-scenario: %zu intervals; workers max %zu (ups %llu, downs %llu, "
                "lane handovers %llu); p99 from intended send time over each phase, us: "
                "before %.1f, during %.1f, after %.1f; median interval p99 queue time, us: "
                "before %.1f, during %.1f, after %.1f; published %llu, delivered %llu%s\n",
                rows.size(), max_workers,
                static_cast<unsigned long long>(controller.ups(admf::domain::market_data)),
                static_cast<unsigned long long>(controller.downs(admf::domain::market_data)),
                static_cast<unsigned long long>(ps.handovers),
                us(by_phase[0].value_at_percentile(99.0)), us(by_phase[1].value_at_percentile(99.0)),
                us(by_phase[2].value_at_percentile(99.0)), us(median_p99(rows, 0)),
                us(median_p99(rows, 1)), us(median_p99(rows, 2)),
                static_cast<unsigned long long>(published),
                static_cast<unsigned long long>(delivered), exact ? "" : " MISMATCH");
    return exact ? 0 : 1;
}
