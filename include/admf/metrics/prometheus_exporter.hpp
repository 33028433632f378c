// SPDX-License-Identifier: MIT
// admf::write_prometheus: a bus's counters and latency histograms in the Prometheus text
// exposition format.
#pragma once

#include <algorithm>
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

// One metric family: HELP and TYPE once, then a sample per partition (and level).
struct prometheus_family {
    std::string_view name;
    std::string_view type; // "counter", "gauge" or "histogram"
    std::string_view help;
};

inline void write_family_header(std::ostream& out, std::string_view prefix,
                                const prometheus_family& f) {
    out << "# HELP " << prefix << f.name << ' ' << f.help << '\n';
    out << "# TYPE " << prefix << f.name << ' ' << f.type << '\n';
}

// Counts are written exactly (integers); seconds in the shortest form that reads back equal.
inline void write_prometheus_value(std::ostream& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out << std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
}
inline void write_prometheus_value(std::ostream& out, double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out << std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
}

// Label values are domain and priority names (identifiers) and decimal subscription ids,
// so they need no escaping.
inline void write_sample(std::ostream& out, std::string_view prefix, std::string_view name,
                         std::string_view partition, std::string_view level,
                         std::uint64_t count, double scale) {
    out << prefix << name << "{partition=\"" << partition << '"';
    if (!level.empty()) {
        out << ",level=\"" << level << '"';
    }
    out << "} ";
    if (scale == 1.0) {
        write_prometheus_value(out, count);
    } else {
        write_prometheus_value(out, static_cast<double>(count) * scale);
    }
    out << '\n';
}

// The `le` bounds of every latency histogram family, in ns: 1-2.5-5 steps from 100 ns (a
// cache-hot handoff) to 10 s (a stalled handler). Fixed, not derived from the data, so that
// series from different partitions, processes and restarts aggregate bucket by bucket.
inline constexpr std::int64_t prometheus_latency_bounds_ns[] = {
    100,         250,         500,           1'000,         2'500,         5'000,
    10'000,      25'000,      50'000,        100'000,       250'000,       500'000,
    1'000'000,   2'500'000,   5'000'000,     10'000'000,    25'000'000,    50'000'000,
    100'000'000, 250'000'000, 500'000'000,   1'000'000'000, 2'500'000'000, 5'000'000'000,
    10'000'000'000,
};

// ns -> s by division, not by multiplying with 1e-9: the quotient of two exact doubles is
// correctly rounded, so 100 ns prints as 1e-07 rather than 1.0000000000000001e-07.
[[nodiscard]] inline double ns_to_seconds(double ns) noexcept { return ns / 1e9; }

// The labels of one histogram series before `le`: the partition, then at most one more
// (level or subscription); `key` empty for none.
struct prometheus_series {
    std::string_view partition;
    std::string_view key;
    std::string_view value;
};

inline void write_series_labels(std::ostream& out, const prometheus_series& s) {
    out << "partition=\"" << s.partition << '"';
    if (!s.key.empty()) {
        out << ',' << s.key << "=\"" << s.value << '"';
    }
}

// One histogram series: `_bucket` per bound and +Inf (cumulative), `_sum` in seconds and
// `_count`. A bucket counts the values whose histogram bucket lies wholly at or below its
// bound (latency_histogram::count_at_or_below): never a value above the bound, but a value
// within the histogram's resolution below it (1% at 2 figures) may count from the next
// `le` on.
inline void write_histogram_series(std::ostream& out, std::string_view prefix,
                                   std::string_view name, const prometheus_series& s,
                                   const latency_histogram& h) {
    const auto bucket = [&](std::string_view le_text, double le, std::uint64_t n) {
        out << prefix << name << "_bucket{";
        write_series_labels(out, s);
        out << ",le=\"";
        if (le_text.empty()) {
            write_prometheus_value(out, le);
        } else {
            out << le_text;
        }
        out << "\"} ";
        write_prometheus_value(out, n);
        out << '\n';
    };
    // The snapshot in partition_stats does not move, but a live histogram's counts could
    // between the scans below; Prometheus requires buckets that never decrease and a +Inf
    // bucket equal to _count, so each is kept at least the one before.
    std::uint64_t cumulative = 0;
    for (const std::int64_t ns : prometheus_latency_bounds_ns) {
        cumulative = std::max(cumulative, h.count_at_or_below(ns));
        bucket({}, ns_to_seconds(static_cast<double>(ns)), cumulative);
    }
    const std::uint64_t count = std::max(cumulative, h.count());
    bucket("+Inf", 0.0, count);
    out << prefix << name << "_sum{";
    write_series_labels(out, s);
    out << "} ";
    write_prometheus_value(out, ns_to_seconds(h.mean() * static_cast<double>(count)));
    out << '\n' << prefix << name << "_count{";
    write_series_labels(out, s);
    out << "} ";
    write_prometheus_value(out, count);
    out << '\n';
}

template <domain_set D>
void write_prometheus_latency(std::ostream& out, const basic_bus_stats<D>& stats,
                              std::string_view prefix) {
    const auto has_latency = [](const partition_stats& p) { return p.latency != nullptr; };
    if (std::ranges::none_of(stats.partitions, has_latency)) {
        return; // latency metrics compiled out: no empty families
    }
    // Per-level queue latency is its own family, not a `level` label on the partition
    // family, so that sum() over a family never counts an event twice.
    using histogram_of = const latency_histogram partition_latency::*;
    struct histogram_metric {
        prometheus_family family;
        histogram_of field;
    };
    static constexpr histogram_metric histogram_metrics[] = {
        {{"queue_latency_seconds", "histogram", "Publish to dequeue time, every event."}, &partition_latency::queue},
        {{"end_to_end_latency_seconds", "histogram", "Publish to last handler returned, sampled (see latency_sample_every)."}, &partition_latency::end_to_end},
    };
    for (const auto& m : histogram_metrics) {
        write_family_header(out, prefix, m.family);
        for (const partition_stats& p : stats.partitions) {
            if (p.latency) {
                write_histogram_series(out, prefix, m.family.name, {p.name, {}, {}}, (*p.latency).*(m.field));
            }
        }
    }
    constexpr prometheus_family by_level{"level_queue_latency_seconds", "histogram",
                                         "Publish to dequeue time, every event, per priority level."};
    write_family_header(out, prefix, by_level);
    for (const partition_stats& p : stats.partitions) {
        if (p.latency) {
            for (std::size_t l = 0; l != priority_levels; ++l) {
                write_histogram_series(out, prefix, by_level.name,
                                       {p.name, "level", priority_name(static_cast<priority>(l))},
                                       p.latency->queue_by_level[l]);
            }
        }
    }
    const bool any_handler = std::ranges::any_of(stats.partitions, [](const partition_stats& p) {
        return p.latency && !p.latency->handlers.empty();
    });
    if (any_handler) {
        constexpr prometheus_family handler{"handler_time_seconds", "histogram",
                                            "Time in a subscription's handler per call, sampled (see latency_sample_every)."};
        write_family_header(out, prefix, handler);
        for (const partition_stats& p : stats.partitions) {
            if (p.latency) {
                for (const handler_latency& h : p.latency->handlers) {
                    char id[24];
                    const auto r = std::to_chars(id, id + sizeof id, h.subscription);
                    write_histogram_series(
                        out, prefix, handler.name,
                        {p.name, "subscription", std::string_view(id, static_cast<std::size_t>(r.ptr - id))},
                        h.time);
                }
            }
        }
    }
    constexpr prometheus_family sample_every{"latency_sample_every", "gauge",
                                             "One event in this many per lane is timed end to end and per handler."};
    write_family_header(out, prefix, sample_every);
    for (const partition_stats& p : stats.partitions) {
        if (p.latency) {
            write_sample(out, prefix, sample_every.name, p.name, {}, p.latency->sample_every, 1.0);
        }
    }
}

} // namespace detail

/// Writes `stats` as Prometheus text exposition (version 0.0.4): counters as `_total`,
/// backlog and workers as gauges, per priority level delivered, backlog, queue time total
/// (seconds, counter) and max (seconds, gauge); every sample labelled with its partition
/// (and level). Where partitions carry latency histograms (partition_stats::latency), also
/// Prometheus histograms in seconds over fixed bounds (100 ns .. 10 s, +Inf): queue latency
/// per partition and per level, end-to-end latency, and handler time per subscription, with
/// the sampling rate as a gauge. Partitions without histograms have no series there, and no
/// histogram family is written when none has. `prefix` starts every metric name. Does not
/// throw beyond what the stream does.
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
        {{"handovers_total", "counter", "Lanes moved from one worker to another."}, &partition_stats::handovers},
        {{"stalls_total", "counter", "Handler calls reported past the stall budget."}, &partition_stats::stalls},
        {{"backlog", "gauge", "Events queued or in their handlers."}, &partition_stats::backlog},
    };
    for (const auto& m : partition_metrics) {
        detail::write_family_header(out, prefix, m.family);
        for (const partition_stats& p : stats.partitions) {
            detail::write_sample(out, prefix, m.family.name, p.name, {}, p.*(m.field), 1.0);
        }
    }
    // workers is a std::size_t, so it cannot share the table's member pointer type.
    constexpr prometheus_family workers{"workers", "gauge", "Workers running lanes."};
    detail::write_family_header(out, prefix, workers);
    for (const partition_stats& p : stats.partitions) {
        detail::write_sample(out, prefix, workers.name, p.name, {}, static_cast<std::uint64_t>(p.workers), 1.0);
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
    detail::write_prometheus_latency(out, stats, prefix);
}

} // namespace admf
