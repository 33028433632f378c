// SPDX-License-Identifier: MIT
// admf::write_json: a bus's counters as one JSON object.
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
inline void write_json_number(std::ostream& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out << std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
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
    out << "}}";
}
} // namespace detail

/// Writes `stats` as one JSON object: {"partitions":[{name, counters..., levels:{low,
/// medium, high}}...], "total":{...}}. Counts are exact integers, times in ns.
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
