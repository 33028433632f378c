// SPDX-License-Identifier: MIT
// admf::write_prometheus: a bus's counters in the Prometheus text exposition format.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

#include <admf/bus/bus_stats.hpp>
#include <admf/core/domain.hpp>
#include <admf/core/priority.hpp>

namespace admf {

namespace detail {

// One metric family: HELP and TYPE once, then a sample per partition (and level).
struct prometheus_family {
    std::string_view name;
    std::string_view type; // "counter" or "gauge"
    std::string_view help;
};

inline void write_family_header(std::ostream& out, std::string_view prefix,
                                const prometheus_family& f) {
    out << "# HELP " << prefix << f.name << ' ' << f.help << '\n';
    out << "# TYPE " << prefix << f.name << ' ' << f.type << '\n';
}

// Label values are domain and priority names (identifiers), so they need no escaping.
// Counts are written exactly (integers); seconds in the shortest form that reads back equal.
inline void write_sample(std::ostream& out, std::string_view prefix, std::string_view name,
                         std::string_view partition, std::string_view level,
                         std::uint64_t count, double scale) {
    out << prefix << name << "{partition=\"" << partition << '"';
    if (!level.empty()) {
        out << ",level=\"" << level << '"';
    }
    char buf[32];
    const auto r = scale == 1.0 ? std::to_chars(buf, buf + sizeof buf, count)
                                : std::to_chars(buf, buf + sizeof buf, static_cast<double>(count) * scale);
    out << "} " << std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)) << '\n';
}

} // namespace detail

/// Writes `stats` as Prometheus text exposition (version 0.0.4): counters as `_total`,
/// backlog as a gauge, per priority level delivered, backlog, queue time total (seconds,
/// counter) and max (seconds, gauge); every sample labelled with its partition (and level).
/// `prefix` starts every metric name. Does not throw beyond what the stream does.
template <domain_set D>
void write_prometheus(std::ostream& out, const basic_bus_stats<D>& stats,
                      std::string_view prefix = "admf_") {
    using detail::prometheus_family;
    using counter_of = std::uint64_t partition_stats::*;
    struct partition_metric {
        prometheus_family family;
        counter_of field;
    };
    static constexpr partition_metric partition_metrics[] = {
        {{"published_total", "counter", "Publishes accepted."}, &partition_stats::published},
        {{"delivered_total", "counter", "Events dispatched to their handlers."}, &partition_stats::delivered},
        {{"rejected_total", "counter", "Publishes answered full."}, &partition_stats::rejected},
        {{"timed_out_total", "counter", "Publishes answered timed_out."}, &partition_stats::timed_out},
        {{"refused_total", "counter", "Publishes answered stopped."}, &partition_stats::refused},
        {{"dropped_total", "counter", "Queued events dropped by drop_oldest."}, &partition_stats::dropped},
        {{"discarded_total", "counter", "Queued events discarded by stop(discard)."}, &partition_stats::discarded},
        {{"conflated_total", "counter", "Events replaced by a newer event of their key."}, &partition_stats::conflated},
        {{"handler_errors_total", "counter", "Exceptions thrown by handlers."}, &partition_stats::handler_errors},
        {{"backlog", "gauge", "Events queued or in their handlers."}, &partition_stats::backlog},
    };
    for (const auto& m : partition_metrics) {
        detail::write_family_header(out, prefix, m.family);
        for (const partition_stats& p : stats.partitions) {
            detail::write_sample(out, prefix, m.family.name, p.name, {}, p.*(m.field), 1.0);
        }
    }
    using level_of = std::uint64_t level_stats::*;
    struct level_metric {
        prometheus_family family;
        level_of field;
        double scale; // ns -> s for the queue times
    };
    static constexpr level_metric level_metrics[] = {
        {{"level_delivered_total", "counter", "Events dispatched, per priority level."}, &level_stats::delivered, 1.0},
        {{"level_backlog", "gauge", "Events queued, per priority level (policies with a queue per level)."}, &level_stats::backlog, 1.0},
        {{"level_queue_time_seconds_total", "counter", "Publish to dequeue time summed over delivered events, per priority level."}, &level_stats::queue_time_total, 1e-9},
        {{"level_queue_time_max_seconds", "gauge", "Longest publish to dequeue time seen, per priority level."}, &level_stats::queue_time_max, 1e-9},
    };
    for (const auto& m : level_metrics) {
        detail::write_family_header(out, prefix, m.family);
        for (const partition_stats& p : stats.partitions) {
            for (std::size_t l = 0; l != priority_levels; ++l) {
                detail::write_sample(out, prefix, m.family.name, p.name,
                                     priority_name(static_cast<priority>(l)), p.levels[l].*(m.field),
                                     m.scale);
            }
        }
    }
}

} // namespace admf
