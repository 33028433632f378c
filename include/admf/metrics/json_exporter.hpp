// SPDX-License-Identifier: MIT
// admf::write_json: a bus's counters and latency summaries as one JSON object.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

#include <admf/bus/bus_stats.hpp>
#include <admf/core/domain.hpp>
#include <admf/core/priority.hpp>
#include <admf/metrics/latency_histogram.hpp>

namespace admf {

namespace detail {
// to_chars: exact integers, and doubles in the shortest form that reads back equal (never
// NaN or infinity here: a histogram's mean is 0 when it is empty).
template <class Number>
void write_json_number(std::ostream& out, Number v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out << std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
}

// The percentiles each histogram reports, as HdrHistogram's summaries name them.
struct json_percentile {
    std::string_view key;
    double p;
};
inline constexpr json_percentile json_percentiles[] = {
    {"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p999", 99.9}, {"p9999", 99.99},
};

// {count, min, mean, p50 .. p9999, max}, in ns; percentiles are value_at_percentile (the
// highest value of the bucket reached), so they read as upper bounds within its resolution.
inline void write_json_histogram(std::ostream& out, const latency_histogram& h) {
    out << "{\"count\":";
    write_json_number(out, h.count());
    out << ",\"min\":";
    write_json_number(out, h.min());
    out << ",\"mean\":";
    write_json_number(out, h.mean());
    for (const json_percentile& q : json_percentiles) {
        out << ",\"" << q.key << "\":";
        write_json_number(out, h.value_at_percentile(q.p));
    }
    out << ",\"max\":";
    write_json_number(out, h.max());
    out << '}';
}

inline void write_json_latency(std::ostream& out, const partition_latency& l) {
    out << "{\"sample_every\":";
    write_json_number(out, l.sample_every);
    out << ",\"queue\":";
    write_json_histogram(out, l.queue);
    out << ",\"end_to_end\":";
    write_json_histogram(out, l.end_to_end);
    out << ",\"levels\":{";
    for (std::size_t i = 0; i != priority_levels; ++i) {
        out << (i == 0 ? "" : ",") << '"' << priority_name(static_cast<priority>(i)) << "\":";
        write_json_histogram(out, l.queue_by_level[i]);
    }
    out << "},\"handlers\":[";
    bool first = true;
    for (const handler_latency& h : l.handlers) {
        out << (first ? "" : ",") << "{\"subscription\":";
        first = false;
        write_json_number(out, h.subscription);
        out << ",\"time\":";
        write_json_histogram(out, h.time);
        out << '}';
    }
    out << "]}";
}

inline void write_json_partition(std::ostream& out, const partition_stats& p) {
    // Names are domain names (identifiers): no escaping needed.
    out << "{\"name\":\"" << p.name << '"';
    const auto field = [&](std::string_view key, std::uint64_t v) {
        out << ",\"" << key << "\":";
        write_json_number(out, v);
    };
    field("published", p.published);
    field("delivered", p.delivered);
    field("rejected", p.rejected);
    field("timed_out", p.timed_out);
    field("refused", p.refused);
    field("dropped", p.dropped);
    field("discarded", p.discarded);
    field("conflated", p.conflated);
    field("handler_errors", p.handler_errors);
    field("backlog", p.backlog);
    field("workers", p.workers);
    field("handovers", p.handovers);
    field("stalls", p.stalls);
    out << ",\"levels\":{";
    for (std::size_t l = 0; l != priority_levels; ++l) {
        const level_stats& s = p.levels[l];
        out << (l == 0 ? "" : ",") << '"' << priority_name(static_cast<priority>(l)) << "\":{";
        out << "\"delivered\":";
        write_json_number(out, s.delivered);
        out << ",\"backlog\":";
        write_json_number(out, s.backlog);
        out << ",\"queue_time_total_ns\":";
        write_json_number(out, s.queue_time_total);
        out << ",\"queue_time_max_ns\":";
        write_json_number(out, s.queue_time_max);
        out << '}';
    }
    // null rather than absent, so that every partition object has the same keys.
    out << "},\"latency\":";
    if (p.latency) {
        write_json_latency(out, *p.latency);
    } else {
        out << "null";
    }
    out << '}';
}
} // namespace detail

/// Writes `stats` as one JSON object: {"partitions":[{name, counters..., levels:{low,
/// medium, high}, latency}...], "total":{...}}. Counts are exact integers, times in ns.
/// `latency` is null when the partition has no histograms (partition_stats::latency), else
/// {sample_every, queue, end_to_end, levels:{low, medium, high}, handlers:[{subscription,
/// time}]}, each histogram as {count, min, mean, p50, p90, p99, p999, p9999, max}; the
/// total's histograms are the partitions' merged.
template <domain_set D>
void write_json(std::ostream& out, const basic_bus_stats<D>& stats) {
    out << "{\"partitions\":[";
    bool first = true;
    for (const partition_stats& p : stats.partitions) {
        out << (first ? "" : ",");
        first = false;
        detail::write_json_partition(out, p);
    }
    out << "],\"total\":";
    detail::write_json_partition(out, stats.total());
    out << "}\n";
}

} // namespace admf
