// SPDX-License-Identifier: MIT
// The exporters (write_prometheus, write_json, write_text): exact output for known snapshots,
// and for hand-recorded histograms structure checked against the histogram's own answers
// (expose_metrics.cpp writes a live bus's exposition for `promtool check metrics`).
#include <admf/bus/bus_stats.hpp>
#include <admf/metrics/json_exporter.hpp>
#include <admf/metrics/latency_histogram.hpp>
#include <admf/metrics/prometheus_exporter.hpp>
#include <admf/metrics/text_exporter.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "catch.hpp"

namespace {

bool contains(const std::string& text, std::string_view line) {
    return text.find(std::string(line) + "\n") != std::string::npos;
}

admf::bus_stats named_stats() {
    admf::bus_stats stats;
    for (std::size_t i = 0; i != stats.partitions.size(); ++i) {
        stats.partitions[i].name = admf::domain_traits<admf::domain>::names[i];
    }
    return stats;
}

admf::partition_stats& of(admf::bus_stats& stats, admf::domain d) {
    return stats.partitions[admf::domain_index(d)];
}

// One `_bucket` sample: its `le` as written and its count.
struct bucket_sample {
    std::string le;
    std::uint64_t count;
};

// The `_bucket` samples of one series, in the order written; `labels` is what precedes
// `,le=` inside the braces.
std::vector<bucket_sample> buckets_of(const std::string& text, std::string_view metric,
                                      std::string_view labels) {
    const std::string start = std::string(metric) + "_bucket{" + std::string(labels) + ",le=\"";
    std::vector<bucket_sample> found;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(start, 0) != 0) {
            continue;
        }
        const std::size_t le_end = line.find('"', start.size());
        const std::size_t value = line.find("} ", le_end);
        REQUIRE(le_end != std::string::npos);
        REQUIRE(value != std::string::npos);
        found.push_back({line.substr(start.size(), le_end - start.size()),
                         std::stoull(line.substr(value + 2))});
    }
    return found;
}

// The value of the sample written as exactly `series` (name and labels), or -1 when absent.
double sample_of(const std::string& text, std::string_view series) {
    const std::string start = std::string(series) + " ";
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(start, 0) == 0) {
            return std::stod(line.substr(start.size()));
        }
    }
    return -1.0;
}

// The bounds write_prometheus documents, as it must print them.
constexpr std::string_view expected_le[] = {
    "1e-07", "2.5e-07", "5e-07", "1e-06", "2.5e-06", "5e-06", "1e-05", "2.5e-05", "5e-05",
    "1e-04", "0.00025", "5e-04", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
};

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

TEST_CASE("write_prometheus: workers, handovers and stalls", "[metrics][prometheus]") {
    auto stats = named_stats();
    auto& order = of(stats, admf::domain::order);
    order.workers = 3;
    order.handovers = 12;
    order.stalls = 2;
    std::ostringstream out;
    admf::write_prometheus(out, stats);
    const std::string text = out.str();
    CHECK(contains(text, "# TYPE admf_workers gauge"));
    CHECK(contains(text, "admf_workers{partition=\"order\"} 3"));
    CHECK(contains(text, "# TYPE admf_handovers_total counter"));
    CHECK(contains(text, "admf_handovers_total{partition=\"order\"} 12"));
    CHECK(contains(text, "# TYPE admf_stalls_total counter"));
    CHECK(contains(text, "admf_stalls_total{partition=\"order\"} 2"));
    // No histograms anywhere (latency compiled out): no histogram family, not even empty.
    CHECK(text.find("histogram") == std::string::npos);
    CHECK(text.find("_bucket") == std::string::npos);
    CHECK(text.find("latency_sample_every") == std::string::npos);
}

TEST_CASE("write_prometheus: a histogram's buckets, exactly, for values inside them",
          "[metrics][prometheus]") {
    auto stats = named_stats();
    auto latency = std::make_shared<admf::partition_latency>();
    // Each value well inside one `le` interval, so every bucket count is known by hand.
    latency->queue.record(150, 10);
    latency->queue.record(700, 20);
    latency->queue.record(3'000, 30);
    latency->queue.record(40'000, 40);
    latency->queue.record(2'000'000, 50);
    of(stats, admf::domain::market_data).latency = latency;
    std::ostringstream out;
    admf::write_prometheus(out, stats);
    const std::string text = out.str();
    CHECK(contains(text, "# TYPE admf_queue_latency_seconds histogram"));
    const auto b = buckets_of(text, "admf_queue_latency_seconds", "partition=\"market_data\"");
    REQUIRE(b.size() == std::size(expected_le));
    const std::uint64_t expected[] = {0,  10, 10, 30, 30, 60, 60, 60, 100, 100, 100, 100, 100,
                                      150, 150, 150, 150, 150, 150, 150, 150, 150, 150, 150, 150, 150};
    for (std::size_t i = 0; i != b.size(); ++i) {
        INFO("le=" << b[i].le);
        CHECK(b[i].le == expected_le[i]);
        CHECK(b[i].count == expected[i]);
    }
    CHECK(contains(text, "admf_queue_latency_seconds_count{partition=\"market_data\"} 150"));
    const double sum_ns = 150.0 * 10 + 700.0 * 20 + 3'000.0 * 30 + 40'000.0 * 40 + 2'000'000.0 * 50;
    CHECK(sample_of(text, "admf_queue_latency_seconds_sum{partition=\"market_data\"}") ==
          Approx(sum_ns / 1e9).epsilon(1e-12));
    // The other partitions carry no histograms, so they have no series.
    CHECK(text.find("admf_queue_latency_seconds_count{partition=\"order\"}") == std::string::npos);
    // Empty histograms still write every bucket (all 0), as Prometheus expects of a series.
    CHECK(contains(text, "admf_end_to_end_latency_seconds_bucket{partition=\"market_data\",le=\"+Inf\"} 0"));
    CHECK(contains(text, "admf_end_to_end_latency_seconds_sum{partition=\"market_data\"} 0"));
    CHECK(contains(text, "admf_level_queue_latency_seconds_count{partition=\"market_data\",level=\"high\"} 0"));
    CHECK(contains(text, "admf_latency_sample_every{partition=\"market_data\"} 1"));
    // No subscription has a histogram: no handler family.
    CHECK(text.find("admf_handler_time_seconds") == std::string::npos);
}

TEST_CASE("write_prometheus: 1000 spread values: cumulative, monotone, +Inf == _count, _sum",
          "[metrics][prometheus]") {
    auto stats = named_stats();
    auto latency = std::make_shared<admf::partition_latency>();
    latency->sample_every = 64;
    // i^2 * 10 ns for i = 1..1000: 10 ns .. 10 ms, denser at the short end, many values on
    // bucket edges (1'000 ns, 250'000 ns, 10 ms ...).
    std::vector<std::int64_t> values;
    double sum_ns = 0.0;
    for (std::int64_t i = 1; i <= 1000; ++i) {
        values.push_back(i * i * 10);
        sum_ns += static_cast<double>(i * i * 10);
    }
    for (const std::int64_t v : values) {
        latency->end_to_end.record(v);
        latency->queue_by_level[static_cast<std::size_t>(admf::priority::medium)].record(v);
    }
    latency->handlers.push_back({17, admf::latency_histogram(1, admf::partition_latency::max_ns, 2)});
    for (const std::int64_t v : values) {
        latency->handlers.back().time.record(v / 2);
    }
    of(stats, admf::domain::order).latency = latency;
    std::ostringstream out;
    admf::write_prometheus(out, stats);
    const std::string text = out.str();

    const auto check_series = [&](std::string_view metric, std::string_view labels,
                                  const admf::latency_histogram& h, double divisor) {
        INFO(metric << '{' << labels << '}');
        const auto b = buckets_of(text, metric, labels);
        REQUIRE(b.size() == std::size(expected_le));
        for (std::size_t i = 0; i + 1 < b.size(); ++i) {
            INFO("le=" << b[i].le);
            CHECK(b[i].le == expected_le[i]);
            CHECK(b[i].count <= b[i + 1].count);
            // A value counts at `le` when its whole histogram bucket lies at or below it.
            const double le = std::stod(b[i].le) * 1e9;
            std::uint64_t at_or_below = 0;
            for (const std::int64_t v : values) {
                const auto recorded = static_cast<std::int64_t>(static_cast<double>(v) / divisor);
                at_or_below += static_cast<double>(h.highest_equivalent_value(recorded)) <= le + 0.5 ? 1 : 0;
            }
            CHECK(b[i].count == at_or_below);
        }
        CHECK(b.back().le == "+Inf");
        CHECK(b.back().count == 1000);
        const std::string series = std::string(metric) + "_count{" + std::string(labels) + "}";
        CHECK(sample_of(text, series) == 1000.0);
        const std::string sum = std::string(metric) + "_sum{" + std::string(labels) + "}";
        CHECK(sample_of(text, sum) == Approx(h.mean() * 1000.0 / 1e9).epsilon(1e-12));
    };
    check_series("admf_end_to_end_latency_seconds", "partition=\"order\"", latency->end_to_end, 1.0);
    CHECK(sample_of(text, "admf_end_to_end_latency_seconds_sum{partition=\"order\"}") ==
          Approx(sum_ns / 1e9).epsilon(1e-12));
    check_series("admf_level_queue_latency_seconds", "partition=\"order\",level=\"medium\"",
                 latency->queue_by_level[1], 1.0);
    CHECK(contains(text, "# TYPE admf_handler_time_seconds histogram"));
    check_series("admf_handler_time_seconds", "partition=\"order\",subscription=\"17\"",
                 latency->handlers[0].time, 2.0);
    CHECK(contains(text, "admf_latency_sample_every{partition=\"order\"} 64"));
    // Each histogram family once, HELP before TYPE, and a series' lines together.
    for (const std::string_view family : {"queue_latency_seconds", "level_queue_latency_seconds",
                                          "end_to_end_latency_seconds", "handler_time_seconds"}) {
        const std::string type = "# TYPE admf_" + std::string(family) + " histogram\n";
        const std::size_t at = text.find(type);
        REQUIRE(at != std::string::npos);
        CHECK(text.find(type, at + 1) == std::string::npos);
        CHECK(text.find("# HELP admf_" + std::string(family) + " ") < at);
    }
}

TEST_CASE("write_json: workers, handovers, stalls, and latency null without histograms",
          "[metrics][json]") {
    auto stats = named_stats();
    auto& fill = of(stats, admf::domain::fill);
    fill.backlog = 4;
    fill.workers = 2;
    fill.handovers = 9;
    fill.stalls = 1;
    std::ostringstream out;
    admf::write_json(out, stats);
    const std::string text = out.str();
    CHECK(text.find("\"name\":\"fill\",") != std::string::npos);
    CHECK(text.find("\"backlog\":4,\"workers\":2,\"handovers\":9,\"stalls\":1,\"levels\":{") !=
          std::string::npos);
    CHECK(text.find("\"queue_time_max_ns\":0}},\"latency\":null}") != std::string::npos);
    CHECK(text.find("\"latency\":{") == std::string::npos);
}

TEST_CASE("write_json: each histogram as count, min, mean, percentiles and max in ns",
          "[metrics][json]") {
    auto stats = named_stats();
    auto latency = std::make_shared<admf::partition_latency>();
    latency->sample_every = 8;
    for (std::int64_t i = 1; i <= 1000; ++i) {
        latency->queue.record(i * 1'000); // 1 us .. 1 ms, mean 500.5 us
        latency->queue_by_level[2].record(i * 1'000);
    }
    latency->end_to_end.record(5'000, 3);
    latency->handlers.push_back({42, admf::latency_histogram(1, admf::partition_latency::max_ns, 2)});
    latency->handlers.back().time.record(777);
    of(stats, admf::domain::order).latency = latency;
    std::ostringstream out;
    admf::write_json(out, stats);
    const std::string text = out.str();

    const auto summary = [](const admf::latency_histogram& h, std::string_view mean) {
        std::string s = "{\"count\":" + std::to_string(h.count()) + ",\"min\":" +
                        std::to_string(h.min()) + ",\"mean\":" + std::string(mean);
        const std::pair<std::string_view, double> percentiles[] = {
            {"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p999", 99.9}, {"p9999", 99.99}};
        for (const auto& [key, p] : percentiles) {
            s += ",\"" + std::string(key) + "\":" + std::to_string(h.value_at_percentile(p));
        }
        return s + ",\"max\":" + std::to_string(h.max()) + "}";
    };
    const std::string queue = summary(latency->queue, "500500");
    CHECK(queue.rfind("{\"count\":1000,\"min\":1000,\"mean\":500500,\"p50\":", 0) == 0);
    CHECK(latency->queue.value_at_percentile(50.0) >= 500'000); // the summary reads sensibly
    CHECK(latency->queue.value_at_percentile(50.0) <= 510'000);
    const std::string empty = "{\"count\":0,\"min\":0,\"mean\":0,\"p50\":0,\"p90\":0,\"p99\":0,"
                              "\"p999\":0,\"p9999\":0,\"max\":0}";
    const std::string expected =
        "\"latency\":{\"sample_every\":8,\"queue\":" + queue +
        ",\"end_to_end\":" + summary(latency->end_to_end, "5000") + ",\"levels\":{\"low\":" + empty +
        ",\"medium\":" + empty + ",\"high\":" + summary(latency->queue_by_level[2], "500500") +
        "},\"handlers\":[{\"subscription\":42,\"time\":" + summary(latency->handlers[0].time, "777") +
        "}]}}";
    INFO(text);
    const std::size_t order_at = text.find("{\"name\":\"order\",");
    REQUIRE(order_at != std::string::npos);
    CHECK(text.find(expected, order_at) != std::string::npos);
    // The total merges the partitions' histograms: the same counts here, one partition.
    const std::size_t total_at = text.find("\"total\":{\"name\":\"total\",");
    REQUIRE(total_at != std::string::npos);
    CHECK(text.find("\"latency\":{\"sample_every\":8,\"queue\":{\"count\":1000,", total_at) !=
          std::string::npos);
    CHECK(text.find("\"handlers\":[{\"subscription\":42,", total_at) != std::string::npos);
    // Partitions without histograms say so.
    CHECK(text.find("{\"name\":\"market_data\",") < text.find("\"latency\":null"));
    long depth = 0;
    for (const char c : text) {
        depth += (c == '{' || c == '[') ? 1 : (c == '}' || c == ']') ? -1 : 0;
        REQUIRE(depth >= 0);
    }
    CHECK(depth == 0);
}

TEST_CASE("write_text: durations in three figures with a unit", "[metrics][text]") {
    using admf::detail::format_text_duration;
    CHECK(std::string_view(format_text_duration(0).text) == "0ns");
    CHECK(std::string_view(format_text_duration(850).text) == "850ns");
    CHECK(std::string_view(format_text_duration(999.7).text) == "1.00us");
    CHECK(std::string_view(format_text_duration(12'345).text) == "12.3us");
    CHECK(std::string_view(format_text_duration(999'700).text) == "1.00ms");
    CHECK(std::string_view(format_text_duration(4'500'000).text) == "4.50ms");
    CHECK(std::string_view(format_text_duration(123'400'000).text) == "123ms");
    CHECK(std::string_view(format_text_duration(2e9).text) == "2.00s");
    CHECK(std::string_view(format_text_duration(3.6e12).text) == "3600s");
}

TEST_CASE("write_text: new counters, and a latency table where there are histograms",
          "[metrics][text]") {
    auto stats = named_stats();
    auto& order = of(stats, admf::domain::order);
    order.published = 3;
    order.delivered = 3;
    order.workers = 2;
    order.handovers = 5;
    order.stalls = 1;
    {
        std::ostringstream out;
        admf::write_text(out, stats);
        const std::string text = out.str();
        CHECK(text.find("backlog  workers  handovers   stalls\n") != std::string::npos);
        CHECK(text.find("order                        3               3              0              0           0        2          5        1\n") !=
              std::string::npos);
        CHECK(text.find("p99") == std::string::npos); // no histograms: no latency table
    }
    auto latency = std::make_shared<admf::partition_latency>();
    latency->sample_every = 64;
    latency->queue.record(850, 100);
    latency->end_to_end.record(12'000, 10);
    order.latency = latency;
    std::ostringstream out;
    admf::write_text(out, stats);
    const std::string text = out.str();
    INFO(text);
    CHECK(text.find("\n\npartition     latency        timed       count       min      mean       p50       p90       p99     p99.9    p99.99       max\n") !=
          std::string::npos);
    CHECK(text.find("order         queue            all         100     850ns     850ns     851ns     851ns     851ns     851ns     851ns     850ns\n") !=
          std::string::npos);
    CHECK(text.find("order         end_to_end      1/64          10    12.0us    12.0us") != std::string::npos);
    CHECK(text.find("total         queue            all         100") != std::string::npos);
    CHECK(text.find("market_data   queue") == std::string::npos); // no histograms there
}
