// SPDX-License-Identifier: MIT
// admf-bench: one scenario run = a target (suite/targets.hpp) under one load: producers,
// pacing from intended send times, draining, counting, latency summaries.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <admf/metrics/latency_histogram.hpp>

#include "suite/targets.hpp"
#include "support/backoff.hpp"

namespace admf_bench {

enum class load_kind { max, rate };

/// The load half of a scenario.
struct load_spec {
    load_kind kind = load_kind::max;
    double rate = 0;          // offered events/s over all producers (rate loads)
    unsigned producers = 1;
    std::int64_t duration_ms = 400;
    bool fanout = false;      // each logical event is published once per entry type (multicast)
};

struct latency_summary {
    std::string type;
    std::uint64_t count = 0;
    std::int64_t min = 0, p50 = 0, p95 = 0, p99 = 0, p999 = 0, p9999 = 0, max = 0;
    double mean = 0;
};

[[nodiscard]] inline latency_summary summarize(std::string type, const admf::latency_histogram& h) {
    latency_summary s;
    s.type = std::move(type);
    s.count = h.count();
    if (s.count != 0) {
        s.min = h.min();
        s.max = h.max();
        s.mean = h.mean();
        s.p50 = h.value_at_percentile(50);
        s.p95 = h.value_at_percentile(95);
        s.p99 = h.value_at_percentile(99);
        s.p999 = h.value_at_percentile(99.9);
        s.p9999 = h.value_at_percentile(99.99);
    }
    return s;
}

struct result {
    std::string name, config, topology;
    load_spec load;
    std::uint64_t published = 0;  // logical events accepted by the target
    std::uint64_t refused = 0;    // publishes not accepted (block: 0 unless stopping)
    std::uint64_t expected = 0;   // final deliveries the sink should see
    std::uint64_t received = 0;   // final deliveries the sink saw
    std::uint64_t lost = 0;       // expected - received + refused + bus-counted losses
    std::uint64_t bus_lost = 0;   // from bus.stats(): rejected, timed out, dropped, ...
    std::uint64_t violations = 0; // per-producer order broken
    double seconds = 0;           // start of publishing -> last final delivery seen
    double events_per_s = 0;      // logical events received per second
    bool stalled = false;         // deliveries stopped short (waited 5 s)
    std::vector<latency_summary> latency; // rate loads: per final type, then "all"
    std::vector<std::pair<double, std::int64_t>> spectrum; // (percentile, ns) of "all"
    [[nodiscard]] bool ok() const noexcept { return lost == 0 && violations == 0 && !stalled; }
};

/// The percentiles of the spectrum plot: 0, 50, 75, 87.5, ... towards 99.999.
[[nodiscard]] inline std::vector<double> spectrum_points() {
    std::vector<double> v;
    for (double tail = 1.0; tail >= 1e-5; tail /= 1.4142135623730951) {
        v.push_back(100.0 * (1.0 - tail));
    }
    v.push_back(99.999);
    return v;
}

/// Runs target `t` (constructed by the caller) under `ld`. Threads: `ld.producers` producers,
/// the target's own (workers, consumer), and the caller, which sleeps in join and then
/// waits with the backoff for the last delivery.
template <class T>
result run_target(T& t, const load_spec& ld, std::uint64_t finals_per_event,
                  const std::vector<int>& final_types) {
    auto s = std::make_unique<sink>();
    s->timed = ld.kind == load_kind::rate;
    if constexpr (requires { t.ordered(); }) {
        s->ordered = t.ordered();
    }
    t.wire(*s);
    t.start();

    // Publishes `e` (as every entry type under fanout, else as type seq % entry_types).
    const auto emit = [&t, &ld](std::uint64_t seq, std::int64_t intended, std::uint32_t producer) {
        bool ok = true;
        const auto one = [&]<int K>(std::integral_constant<int, K>) {
            if constexpr (K < static_cast<int>(T::entry_types)) {
                ok = t.template publish<K>(ev<K>{seq, intended, producer, 0, static_cast<double>(seq)}) && ok;
            }
        };
        if constexpr (T::entry_types == 1) {
            one(std::integral_constant<int, 0>{});
        } else if (ld.fanout) {
            one(std::integral_constant<int, 0>{});
            one(std::integral_constant<int, 1>{});
            one(std::integral_constant<int, 2>{});
            one(std::integral_constant<int, 3>{});
            one(std::integral_constant<int, 4>{});
        } else {
            switch (seq % T::entry_types) {
            case 0: one(std::integral_constant<int, 0>{}); break;
            case 1: one(std::integral_constant<int, 1>{}); break;
            case 2: one(std::integral_constant<int, 2>{}); break;
            case 3: one(std::integral_constant<int, 3>{}); break;
            default: one(std::integral_constant<int, 4>{}); break;
            }
        }
        return ok;
    };
    const std::uint64_t copies = ld.fanout ? T::entry_types : 1;

    // Warm-up, not measured: twice a ring's slots through every entry type, so ring pages
    // are touched and workers are awake; then wait for all of it.
    const std::uint64_t warm_n = 2 * 4096 * T::entry_types;
    for (std::uint64_t k = 0; k != warm_n; ++k) {
        emit(k, 0, warm_producer);
    }
    const std::uint64_t warm_expected = warm_n * copies * T::warm_finals();
    result r;
    r.stalled = !admf::bench::await(std::chrono::milliseconds(5000),
                                    [&] { return s->warm() >= warm_expected; });

    struct alignas(128) counts {
        std::uint64_t published = 0;
        std::uint64_t refused = 0;
    };
    std::vector<counts> per(ld.producers);
    std::atomic<bool> go{false};
    std::atomic<std::int64_t> t0{0};
    std::vector<std::thread> producers;
    for (unsigned p = 0; p != ld.producers; ++p) {
        producers.emplace_back([&, p] {
            admf::bench::backoff wait;
            while (!go.load(std::memory_order_acquire)) {
                wait.pause();
            }
            const std::int64_t start = t0.load(std::memory_order_relaxed);
            std::uint64_t seq = 0, published = 0, refused = 0;
            if (ld.kind == load_kind::max) {
                const std::int64_t deadline = start + ld.duration_ms * 1'000'000;
                do {
                    for (int i = 0; i != 64; ++i, ++seq) {
                        (emit(seq, 0, p) ? published : refused) += 1;
                    }
                } while (now_ns() < deadline);
            } else {
                // Producer p's k-th event is due at start + (k * P + p) / rate: the producers
                // interleave on one schedule of `rate` events/s. Ahead of schedule: sleep most
                // of the way, then yield until due (never spin: threads outnumber cores).
                // Behind (a full lane, a late wake-up): publish at once; the event keeps its
                // intended time, so the delay shows in its latency (no coordinated omission).
                const double period = 1e9 * ld.producers / ld.rate;
                const double offset = 1e9 * p / ld.rate;
                const auto n = static_cast<std::uint64_t>(ld.rate * static_cast<double>(ld.duration_ms) / 1e3 / ld.producers);
                for (; seq != n; ++seq) {
                    const auto due = start + static_cast<std::int64_t>(offset + static_cast<double>(seq) * period);
                    std::int64_t now = now_ns();
                    // 150 us margin: a VM's sleep often overshoots by 50-100 us.
                    if (due - now > 250'000) {
                        std::this_thread::sleep_for(std::chrono::nanoseconds(due - now - 150'000));
                    }
                    while (now_ns() < due) {
                        std::this_thread::yield();
                    }
                    (emit(seq, due, p) ? published : refused) += 1;
                }
            }
            per[p].published = published;
            per[p].refused = refused;
        });
    }
    t0.store(now_ns() + 1'000'000, std::memory_order_relaxed); // 1 ms: producers are ready
    while (now_ns() < t0.load(std::memory_order_relaxed)) {
        std::this_thread::yield();
    }
    go.store(true, std::memory_order_release);
    for (auto& th : producers) {
        th.join();
    }
    for (const auto& c : per) {
        r.published += c.published;
        r.refused += c.refused;
    }
    r.expected = r.published * copies * finals_per_event;
    r.stalled = !admf::bench::await(std::chrono::milliseconds(5000),
                                    [&] { return s->received() >= r.expected; }) ||
                r.stalled;
    const std::int64_t t_end = now_ns();
    t.finish();
    r.received = s->received();
    r.bus_lost = t.bus_lost();
    r.lost = (r.expected > r.received ? r.expected - r.received : 0) + r.refused + r.bus_lost;
    r.seconds = static_cast<double>(t_end - t0.load()) / 1e9;
    r.events_per_s = static_cast<double>(r.received) / static_cast<double>(copies * finals_per_event) / r.seconds;
    for (const auto& slot : s->slots) {
        r.violations += slot.violations;
    }
    if (s->timed) {
        admf::latency_histogram all;
        for (int k : final_types) {
            r.latency.push_back(summarize(std::string(type_names[static_cast<std::size_t>(k)]), s->slots[static_cast<std::size_t>(k)].hist));
            all.merge(s->slots[static_cast<std::size_t>(k)].hist);
        }
        r.latency.push_back(summarize("all", all));
        if (all.count() != 0) {
            for (double p : spectrum_points()) {
                r.spectrum.emplace_back(p, all.value_at_percentile(p));
            }
        }
    }
    return r;
}

} // namespace admf_bench
