// SPDX-License-Identifier: MIT
// The exporters (write_prometheus, write_json, write_text): exact output for known snapshots
// (expose_metrics.cpp writes a live bus's exposition for `promtool check metrics`).
#include <admf/bus/bus_stats.hpp>
#include <admf/metrics/json_exporter.hpp>
#include <admf/metrics/prometheus_exporter.hpp>
#include <admf/metrics/text_exporter.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "catch.hpp"

namespace {

bool contains(const std::string& text, std::string_view line) {
    return text.find(std::string(line) + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("write_prometheus: counters as _total, exact integers, seconds for queue times",
          "[metrics][prometheus]") {
    admf::bus_stats stats;
    for (std::size_t i = 0; i != stats.partitions.size(); ++i) {
        stats.partitions[i].name = admf::domain_traits<admf::domain>::names[i];
    }
    auto& md = stats.partitions[admf::domain_index(admf::domain::market_data)];
    md.published = 12'345'678'901'234;
    md.delivered = 12'345'678'900'000;
    md.conflated = 1234;
    md.backlog = 7;
    md.levels[1].delivered = 5;
    md.levels[1].queue_time_total = 2'500'000'000; // 2.5 s
    md.levels[1].queue_time_max = 1'500;           // 1.5 µs
    std::ostringstream out;
    admf::write_prometheus(out, stats);
    const std::string text = out.str();
    CHECK(contains(text, "# TYPE admf_published_total counter"));
    CHECK(contains(text, "admf_published_total{partition=\"market_data\"} 12345678901234"));
    CHECK(contains(text, "admf_delivered_total{partition=\"market_data\"} 12345678900000"));
    CHECK(contains(text, "admf_conflated_total{partition=\"market_data\"} 1234"));
    CHECK(contains(text, "# TYPE admf_backlog gauge"));
    CHECK(contains(text, "admf_backlog{partition=\"market_data\"} 7"));
    CHECK(contains(text, "admf_published_total{partition=\"order\"} 0"));
    CHECK(contains(text, "admf_level_delivered_total{partition=\"market_data\",level=\"medium\"} 5"));
    CHECK(contains(text, "admf_level_queue_time_seconds_total{partition=\"market_data\",level=\"medium\"} 2.5"));
    CHECK(contains(text, "admf_level_queue_time_max_seconds{partition=\"market_data\",level=\"medium\"} 1.5e-06"));
    // Every family once, with HELP before TYPE.
    CHECK(text.find("# HELP admf_published_total ") < text.find("# TYPE admf_published_total "));
    CHECK(text.find("# TYPE admf_published_total", text.find("# TYPE admf_published_total") + 1) ==
          std::string::npos);
}

TEST_CASE("write_prometheus: a prefix names every metric", "[metrics][prometheus]") {
    admf::bus_stats stats;
    std::ostringstream out;
    admf::write_prometheus(out, stats, "engine_bus_");
    const std::string text = out.str();
    CHECK(text.find("engine_bus_published_total") != std::string::npos);
    CHECK(text.find("admf_") == std::string::npos);
}

TEST_CASE("write_json: one object, exact integers, every partition and the total",
          "[metrics][json]") {
    admf::bus_stats stats;
    for (std::size_t i = 0; i != stats.partitions.size(); ++i) {
        stats.partitions[i].name = admf::domain_traits<admf::domain>::names[i];
    }
    stats.partitions[admf::domain_index(admf::domain::order)].published = 18'446'744'073'709'551'615ULL;
    stats.partitions[admf::domain_index(admf::domain::fill)].levels[2].queue_time_max = 42;
    std::ostringstream out;
    admf::write_json(out, stats);
    const std::string text = out.str();
    CHECK(text.rfind("{\"partitions\":[{\"name\":\"market_data\",\"published\":0,", 0) == 0);
    CHECK(text.find("{\"name\":\"order\",\"published\":18446744073709551615,") != std::string::npos);
    CHECK(text.find("\"high\":{\"delivered\":0,\"backlog\":0,\"queue_time_total_ns\":0,\"queue_time_max_ns\":42}") !=
          std::string::npos);
    CHECK(text.find("],\"total\":{\"name\":\"total\",\"published\":18446744073709551615,") != std::string::npos);
    // Balanced braces and brackets: one well-formed object.
    long depth = 0;
    for (const char c : text) {
        depth += (c == '{' || c == '[') ? 1 : (c == '}' || c == ']') ? -1 : 0;
        REQUIRE(depth >= 0);
    }
    CHECK(depth == 0);
    CHECK(text.back() == '\n');
}

TEST_CASE("write_text: a row per partition and the total", "[metrics][text]") {
    admf::bus_stats stats;
    for (std::size_t i = 0; i != stats.partitions.size(); ++i) {
        stats.partitions[i].name = admf::domain_traits<admf::domain>::names[i];
    }
    auto& md = stats.partitions[0];
    md.published = 100;
    md.delivered = 90;
    md.conflated = 10;
    std::ostringstream out;
    admf::write_text(out, stats);
    const std::string text = out.str();
    CHECK(text.find("partition") == 0);
    CHECK(text.find("market_data                100              90             10") != std::string::npos);
    CHECK(text.find("total                      100              90             10") != std::string::npos);
}
