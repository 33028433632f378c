// SPDX-License-Identifier: MIT
// Writes Prometheus exposition on stdout for `promtool check metrics` (the ctests
// metrics.prometheus.promtool*). With no argument: a live bus's stats, with or without latency
// histograms (its traits decide). With `histograms`: a hand-made snapshot whose partitions
// carry recorded histograms of every family (queue, per level, end to end, per handler), so
// the histogram families are checked whatever the bus records. Exit 1 on failure.
#include <admf/bus.hpp>
#include <admf/metrics/prometheus_exporter.hpp>

#include <cstddef>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string_view>
#include <utility>

namespace {
struct quote {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.QUOTE";
    std::uint64_t seq;
};
struct order {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.NEW";
    std::uint64_t seq;
};

int expose_live_bus() {
    admf::bus<quote, order> bus;
    auto s1 = bus.subscribe<quote>([](const quote&) {});
    auto s2 = bus.subscribe<order>([](const order&) {});
    bus.start();
    for (std::uint64_t i = 0; i != 1000; ++i) {
        if (bus.publish(quote{i}) != admf::publish_result::accepted ||
            bus.publish(order{i}, admf::priority::high) != admf::publish_result::accepted) {
            return 1;
        }
    }
    bus.flush();
    admf::write_prometheus(std::cout, bus.stats());
    return std::cout.good() ? 0 : 1;
}

int expose_histograms() {
    admf::bus_stats stats;
    for (std::size_t i = 0; i != stats.partitions.size(); ++i) {
        stats.partitions[i].name = admf::domain_traits<admf::domain>::names[i];
    }
    // Two partitions with histograms (one with two handlers), the others without: series
    // per partition, per level and per subscription, and partitions with none.
    for (const admf::domain d : {admf::domain::market_data, admf::domain::order}) {
        auto latency = std::make_shared<admf::partition_latency>();
        latency->sample_every = 64;
        for (std::int64_t i = 1; i <= 1000; ++i) {
            const std::int64_t ns = i * i * 10; // 10 ns .. 10 ms
            latency->queue.record(ns);
            latency->queue_by_level[static_cast<std::size_t>(i % 3)].record(ns);
            latency->end_to_end.record(ns * 2);
        }
        const std::uint64_t first_id = d == admf::domain::order ? 7 : 1;
        for (std::uint64_t id = first_id; id != first_id + (d == admf::domain::order ? 2 : 1); ++id) {
            latency->handlers.push_back({id, admf::latency_histogram(1, admf::partition_latency::max_ns, 2)});
            latency->handlers.back().time.record(static_cast<std::int64_t>(id) * 300, 50);
        }
        auto& p = stats.partitions[admf::domain_index(d)];
        p.latency = std::move(latency);
        p.workers = 2;
        p.handovers = 3;
        p.stalls = 1;
    }
    admf::write_prometheus(std::cout, stats);
    return std::cout.good() ? 0 : 1;
}
} // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "histograms") {
        return expose_histograms();
    }
    return expose_live_bus();
}
