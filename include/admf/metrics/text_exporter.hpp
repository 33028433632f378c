// SPDX-License-Identifier: MIT
// admf::write_text: a bus's counters and latency percentiles as tables for people.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <string_view>

#include <admf/bus/bus_stats.hpp>
#include <admf/core/domain.hpp>
#include <admf/metrics/latency_histogram.hpp>

namespace admf {

namespace detail {

// A duration in ns with three significant figures and the unit that keeps it below 1000:
// "850ns", "12.3us", "4.50ms", "2.00s". ASCII "us", so that setw (which counts bytes) aligns.
struct text_duration {
    char text[16];
};
[[nodiscard]] inline text_duration format_text_duration(double ns) noexcept {
    struct unit {
        double scale;
        const char* name;
    };
    static constexpr unit units[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}};
    text_duration d{};
    for (const unit& u : units) {
        // From 0.9995 of the unit up, so that 999.7us reads 1.00ms, not 1000us.
        if (ns >= u.scale * 0.9995) {
            const double v = ns / u.scale;
            // 1 ms reads 1.00ms, 12.3 ms 12.3ms, 123 ms 123ms: three figures throughout.
            const int decimals = v >= 100.0 ? 0 : v >= 10.0 ? 1 : 2;
            std::snprintf(d.text, sizeof d.text, "%.*f%s", decimals, v, u.name);
            return d;
        }
    }
    std::snprintf(d.text, sizeof d.text, "%.0fns", ns);
    return d;
}

// One row of the latency table; the columns follow write_json's histogram summary.
inline void write_text_latency_row(std::ostream& out, std::string_view partition,
                                   std::string_view which, std::string_view sampled,
                                   const latency_histogram& h) {
    out << std::left << std::setw(14) << partition << std::setw(12) << which << std::right
        << std::setw(8) << sampled << std::setw(12) << h.count();
    const auto cell = [&](double ns) { out << std::setw(10) << format_text_duration(ns).text; };
    cell(static_cast<double>(h.min()));
    cell(h.mean());
    for (const double p : {50.0, 90.0, 99.0, 99.9, 99.99}) {
        cell(static_cast<double>(h.value_at_percentile(p)));
    }
    cell(static_cast<double>(h.max()));
    out << '\n';
}

} // namespace detail

/// Writes `stats` as an aligned table, a row per partition and the total: published,
/// delivered, not delivered (rejected + timed out + refused + dropped + discarded +
/// conflated), handler errors, backlog, workers, handovers, stalls. Where partitions carry
/// latency histograms (partition_stats::latency), a second table follows after a blank
/// line: per partition and the total, queue and end-to-end latency as count, min, mean,
/// p50, p90, p99, p99.9, p99.99 and max, with the share of events timed ("all" or "1/N").
template <domain_set D>
void write_text(std::ostream& out, const basic_bus_stats<D>& stats) {
    const auto row = [&](std::string_view name, std::uint64_t published, std::uint64_t delivered,
                         std::uint64_t lost, std::uint64_t errors, std::uint64_t backlog,
                         std::uint64_t workers, std::uint64_t handovers, std::uint64_t stalls) {
        out << std::left << std::setw(14) << name << std::right << std::setw(16) << published
            << std::setw(16) << delivered << std::setw(15) << lost << std::setw(15) << errors
            << std::setw(12) << backlog << std::setw(9) << workers << std::setw(11) << handovers
            << std::setw(9) << stalls << '\n';
    };
    out << std::left << std::setw(14) << "partition" << std::right << std::setw(16) << "published"
        << std::setw(16) << "delivered" << std::setw(15) << "not delivered" << std::setw(15)
        << "handler errors" << std::setw(12) << "backlog" << std::setw(9) << "workers"
        << std::setw(11) << "handovers" << std::setw(9) << "stalls" << '\n';
    const partition_stats total = stats.total();
    const auto emit = [&](const partition_stats& p) {
        row(p.name, p.published, p.delivered, p.not_delivered(), p.handler_errors, p.backlog,
            p.workers, p.handovers, p.stalls);
    };
    for (const partition_stats& p : stats.partitions) {
        emit(p);
    }
    emit(total);

    if (!total.latency) {
        return; // no partition has histograms
    }
    out << '\n'
        << std::left << std::setw(14) << "partition" << std::setw(12) << "latency" << std::right
        << std::setw(8) << "timed" << std::setw(12) << "count";
    for (const char* h : {"min", "mean", "p50", "p90", "p99", "p99.9", "p99.99", "max"}) {
        out << std::setw(10) << h;
    }
    out << '\n';
    const auto emit_latency = [&](const partition_stats& p) {
        if (!p.latency) {
            return;
        }
        char sampled[16];
        std::snprintf(sampled, sizeof sampled, "1/%u", static_cast<unsigned>(p.latency->sample_every));
        detail::write_text_latency_row(out, p.name, "queue", "all", p.latency->queue);
        detail::write_text_latency_row(out, p.name, "end_to_end",
                                       p.latency->sample_every <= 1 ? "all" : sampled,
                                       p.latency->end_to_end);
    };
    for (const partition_stats& p : stats.partitions) {
        emit_latency(p);
    }
    emit_latency(total);
}

} // namespace admf
