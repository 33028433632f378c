// SPDX-License-Identifier: MIT
// admf::write_prometheus: exact exposition for a known snapshot (expose_metrics.cpp writes a
// live bus's for `promtool check metrics`).
#include <admf/bus.hpp>
#include <admf/metrics/prometheus_exporter.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "catch.hpp"

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
