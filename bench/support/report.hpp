// SPDX-License-Identifier: MIT
// Rows of the ring benchmark, their repetitions, and the printed table and JSON made of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "support/stats.hpp"

namespace admf::bench {

enum class row_kind { throughput, round_trip };

/// One (queue, scenario, payload, mode) and every repetition measured for it.
struct bench_row {
    std::string id;        // Google Benchmark name: BM_<queue key>_<scenario>/<payload>/<mode>
    std::string key;       // queue key, the <component> of the name: spsc_ring, boost_queue...
    std::string queue;     // display name
    bool ours = false;     // one of admf's rings (or adapters)
    std::string scenario;  // "1p1c", "2p1c" or "rtt"
    unsigned payload = 0;  // bytes
    std::string mode;      // "single", "batched"; "-" for the ping-pong
    std::string batch_api; // what "batched" calls for this queue
    row_kind kind = row_kind::throughput;

    // One entry per repetition.
    std::vector<double> mitems_per_s;        // throughput rows
    std::vector<double> p50, p99, p999, max; // round-trip rows, ns
    std::vector<std::uint64_t> counts;       // elements moved / round trips recorded
    std::vector<double> seconds;
    // Further figures a benchmark reports per repetition, by JSON key (written as summaries).
    std::map<std::string, std::vector<double>> extra;
    std::uint64_t violations = 0; // summed over repetitions
    std::vector<std::string> problems;

    [[nodiscard]] std::size_t repetitions() const noexcept { return seconds.size(); }
    [[nodiscard]] bool failed() const noexcept { return violations != 0 || !problems.empty(); }
};

/// One line of the ratio section. The figure is the median over rounds of ours/theirs taken
/// within each round: both rows of a round ran seconds apart, so a machine that changed speed
/// between rounds (a VM whose vCPUs moved) cancels out of each round's ratio, which it does
/// not from a ratio of the two medians. Both medians are shown beside it.
struct ratio {
    std::string what;    // "spsc_ring / best SPSC peer"
    std::string context; // "1P->1C, 8 B, single"
    std::string ours_id, theirs_id;
    std::string theirs_queue;
    double ours = 0, theirs = 0;   // medians over rounds
    std::vector<double> per_round; // ours_r / theirs_r
    std::string unit;              // "M items/s" or "ns p50"
    [[nodiscard]] summary value() const { return summarize(per_round); }
};

inline constexpr std::size_t queue_width = 38;

[[nodiscard]] inline std::string scenario_label(const std::string& scenario) {
    if (scenario == "1p1c") {
        return "1P->1C";
    }
    if (scenario == "2p1c") {
        return "2P->1C";
    }
    return "round trip";
}

[[nodiscard]] inline std::string format(const char* fmt, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

inline std::string pad(std::string s, std::size_t width, bool right = false) {
    if (s.size() >= width) {
        return s;
    }
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

[[nodiscard]] inline std::string violations_cell(const bench_row& r) {
    std::string cell = std::to_string(r.violations);
    if (!r.problems.empty()) {
        cell += " (" + r.problems.front() + ")";
    }
    return cell;
}

/// Throughput table: queue | scenario | payload | mode | median | min | max | violations.
inline void print_throughput_table(std::ostream& out, const std::vector<const bench_row*>& rows) {
    out << pad("queue", queue_width) << pad("scenario", 9) << pad("payload", 8) << pad("mode", 8)
        << pad("median M/s", 11, true) << pad("min", 9, true) << pad("max", 9, true)
        << pad("reps", 5, true) << "  violations\n";
    out << std::string(queue_width + 9 + 8 + 8 + 11 + 9 + 9 + 5 + 12, '-') << '\n';
    std::string last_group;
    for (const bench_row* r : rows) {
        const std::string group = r->scenario + std::to_string(r->payload) + r->mode;
        if (!last_group.empty() && group != last_group) {
            out << '\n';
        }
        last_group = group;
        const summary s = summarize(r->mitems_per_s);
        out << pad(r->queue, queue_width) << pad(scenario_label(r->scenario), 9)
            << pad(std::to_string(r->payload) + " B", 8) << pad(r->mode, 8)
            << pad(format("%.1f", s.median), 11, true) << pad(format("%.1f", s.min), 9, true)
            << pad(format("%.1f", s.max), 9, true) << pad(std::to_string(r->repetitions()), 5, true)
            << "  " << violations_cell(*r) << '\n';
    }
}

/// Round-trip table: medians of p50/p99/p99.9 over repetitions, and p50's min..max.
inline void print_round_trip_table(std::ostream& out, const std::vector<const bench_row*>& rows) {
    out << pad("queue", queue_width) << pad("payload", 8) << pad("p50 ns", 8, true)
        << pad("p50 min..max", 16, true) << pad("p99 ns", 9, true) << pad("p99.9 ns", 10, true)
        << pad("samples", 9, true) << pad("reps", 5, true) << "  violations\n";
    out << std::string(queue_width + 8 + 8 + 16 + 9 + 10 + 9 + 5 + 12, '-') << '\n';
    unsigned last_payload = 0;
    for (const bench_row* r : rows) {
        if (last_payload != 0 && r->payload != last_payload) {
            out << '\n';
        }
        last_payload = r->payload;
        const summary p50 = summarize(r->p50);
        std::vector<double> counts(r->counts.begin(), r->counts.end());
        out << pad(r->queue, queue_width) << pad(std::to_string(r->payload) + " B", 8)
            << pad(format("%.0f", p50.median), 8, true)
            << pad(format("%.0f", p50.min) + ".." + format("%.0f", p50.max), 16, true)
            << pad(format("%.0f", summarize(r->p99).median), 9, true)
            << pad(format("%.0f", summarize(r->p999).median), 10, true)
            << pad(format("%.0f", summarize(counts).median), 9, true)
            << pad(std::to_string(r->repetitions()), 5, true) << "  " << violations_cell(*r)
            << '\n';
    }
}

/// One line per ratio: what, where, median of per-round ratios [min..max], both medians.
inline void print_ratios(std::ostream& out, const std::vector<ratio>& ratios) {
    for (const ratio& q : ratios) {
        const char* fmt = q.unit == "M items/s" ? "%.1f" : "%.0f";
        const summary v = q.value();
        out << "  " << pad(q.what, 37) << pad(q.context, 22)
            << pad(format("%.2fx", v.median), 7, true)
            << pad("[" + format("%.2f", v.min) + ".." + format("%.2f", v.max) + "]", 14, true)
            << "   " << format(fmt, q.ours) << " vs " << format(fmt, q.theirs) << " " << q.unit
            << "  (" << q.theirs_queue << ")\n";
    }
}

// ---- JSON ----------------------------------------------------------------------------------

[[nodiscard]] inline std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

[[nodiscard]] inline std::string json_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

template <class Range>
[[nodiscard]] std::string json_array(const Range& values) {
    std::string out = "[";
    for (const auto& v : values) {
        out += (out.size() > 1 ? ", " : "") + json_number(static_cast<double>(v));
    }
    return out + "]";
}

[[nodiscard]] inline std::string json_summary(const std::vector<double>& values) {
    const summary s = summarize(values);
    return "{\"median\": " + json_number(s.median) + ", \"min\": " + json_number(s.min) +
           ", \"max\": " + json_number(s.max) + ", \"samples\": " + json_array(values) + "}";
}

/// Writes {"context": {...}, "rows": [...], "ratios": [...]}. `context` values are written
/// as JSON strings, except those whose key starts with '#', written raw (numbers).
inline void write_json(std::ostream& out,
                       const std::vector<std::pair<std::string, std::string>>& context,
                       const std::vector<const bench_row*>& rows,
                       const std::vector<ratio>& ratios) {
    out << "{\n  \"context\": {";
    bool first = true;
    for (const auto& [key, value] : context) {
        const bool raw = !key.empty() && key[0] == '#';
        out << (first ? "\n" : ",\n") << "    " << json_string(raw ? key.substr(1) : key) << ": "
            << (raw ? value : json_string(value));
        first = false;
    }
    out << "\n  },\n  \"rows\": [";
    first = true;
    for (const bench_row* r : rows) {
        out << (first ? "\n" : ",\n") << "    {\"name\": " << json_string(r->id)
            << ", \"queue\": " << json_string(r->queue) << ", \"key\": " << json_string(r->key)
            << ", \"ours\": " << (r->ours ? "true" : "false")
            << ", \"scenario\": " << json_string(r->scenario)
            << ", \"payload_bytes\": " << r->payload << ", \"mode\": " << json_string(r->mode);
        if (r->mode == "batched") {
            out << ", \"batch_api\": " << json_string(r->batch_api);
        }
        out << ", \"repetitions\": " << r->repetitions();
        if (r->kind == row_kind::throughput) {
            out << ", \"m_items_per_s\": " << json_summary(r->mitems_per_s)
                << ", \"items\": " << json_array(r->counts);
        } else {
            out << ", \"p50_ns\": " << json_summary(r->p50)
                << ", \"p99_ns\": " << json_summary(r->p99)
                << ", \"p999_ns\": " << json_summary(r->p999)
                << ", \"max_ns\": " << json_summary(r->max)
                << ", \"round_trips\": " << json_array(r->counts);
        }
        for (const auto& [name, values] : r->extra) {
            out << ", " << json_string(name) << ": " << json_summary(values);
        }
        out << ", \"seconds\": " << json_array(r->seconds) << ", \"violations\": " << r->violations
            << ", \"problems\": [";
        for (std::size_t i = 0; i < r->problems.size(); ++i) {
            out << (i ? ", " : "") << json_string(r->problems[i]);
        }
        out << "]}";
        first = false;
    }
    out << "\n  ],\n  \"ratios\": [";
    first = true;
    for (const ratio& q : ratios) {
        out << (first ? "\n" : ",\n") << "    {\"what\": " << json_string(q.what)
            << ", \"context\": " << json_string(q.context)
            << ", \"ours\": " << json_string(q.ours_id)
            << ", \"theirs\": " << json_string(q.theirs_id) << ", \"unit\": " << json_string(q.unit)
            << ", \"ours_median\": " << json_number(q.ours)
            << ", \"theirs_median\": " << json_number(q.theirs)
            << ", \"ratio\": " << json_summary(q.per_round) << "}";
        first = false;
    }
    out << "\n  ]\n}\n";
}

} // namespace admf::bench
