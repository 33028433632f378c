// SPDX-License-Identifier: MIT
// Unit tests of admf::latency_histogram and admf::interval_recorder, tagged [metrics]:
// accuracy against exact (sorted) percentiles over seeded distributions, merge, subtract,
// count_at_or_below, reset, saturation, constructor errors, record(value, count),
// record_corrected, and the threaded cases (concurrent queries, interval sampling), which CI
// also runs under TSan.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <admf/metrics/interval_recorder.hpp>
#include <admf/metrics/latency_histogram.hpp>

#include "catch.hpp"
#include "seed.hpp"

#if defined(ADMF_TEST_CATCH3)
using Catch::Approx;
#endif

namespace {

using admf::interval_recorder;
using admf::latency_histogram;

// 10 M samples in rel, 1 M under sanitizers (ADMF_STRESS_SCALE).
std::size_t sample_count() { return admf_test::by_scale<std::size_t>(10'000'000, 1'000'000, 1'000'000); }

enum class distribution { uniform, exponential, bimodal };

const char* name_of(distribution d) {
    switch (d) {
    case distribution::uniform:
        return "uniform";
    case distribution::exponential:
        return "exponential";
    case distribution::bimodal:
        return "bimodal-with-outliers";
    }
    return "?";
}

// Latencies in ns, all within the default range [1, 1 h].
std::vector<std::int64_t> make_samples(distribution d, std::size_t n, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::vector<std::int64_t> v;
    v.reserve(n);
    std::uniform_int_distribution<std::int64_t> uniform(1, 1'000'000'000);
    std::exponential_distribution<double> exponential(1.0 / 100'000.0); // mean 100 µs
    std::normal_distribution<double> fast(20'000.0, 2'000.0);           // 20 µs
    std::normal_distribution<double> slow(500'000.0, 50'000.0);         // 500 µs
    std::uniform_int_distribution<std::int64_t> outlier(1'000'000'000, 3'000'000'000'000);
    std::uniform_int_distribution<int> pick(0, 9'999);
    for (std::size_t i = 0; i < n; ++i) {
        double x = 0.0;
        switch (d) {
        case distribution::uniform:
            x = static_cast<double>(uniform(gen));
            break;
        case distribution::exponential:
            x = exponential(gen);
            break;
        case distribution::bimodal: {
            const int k = pick(gen);
            x = k < 2 ? static_cast<double>(outlier(gen)) : k < 1'000 ? slow(gen) : fast(gen);
            break;
        }
        }
        v.push_back(std::max<std::int64_t>(1, std::llround(x)));
    }
    return v;
}

// The exact value at percentile p of sorted data, ranked as HdrHistogram ranks it.
std::int64_t exact_percentile(const std::vector<std::int64_t>& sorted, double p) {
    const auto n = static_cast<double>(sorted.size());
    auto rank = static_cast<std::size_t>(p / 100.0 * n + 0.5);
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

} // namespace

TEST_CASE("latency_histogram: percentiles are within the relative error of exact values",
          "[metrics]") {
    const auto d = GENERATE(distribution::uniform, distribution::exponential,
                            distribution::bimodal);
    const std::uint64_t seed = admf_test::stream_seed(0x4d48, static_cast<std::uint64_t>(d));
    INFO("distribution " << name_of(d) << ", ADMF_SEED=" << admf_test::run_seed()
                         << " (stream seed " << seed << ")");
    const std::size_t n = sample_count();
    std::vector<std::int64_t> samples = make_samples(d, n, seed);

    latency_histogram h; // 1 ns .. 1 h, 3 figures
    double sum = 0.0;
    for (const std::int64_t v : samples) {
        h.record(v);
        sum += static_cast<double>(v);
    }
    std::sort(samples.begin(), samples.end());

    REQUIRE(h.count() == n);
    CHECK(h.saturated() == 0);
    CHECK(h.min() == samples.front());
    CHECK(h.max() == samples.back());
    CHECK(std::abs(h.mean() - sum / static_cast<double>(n)) <= 1e-9 * (sum / static_cast<double>(n)));

    double squares = 0.0;
    const double mu = sum / static_cast<double>(n);
    for (const std::int64_t v : samples) {
        squares += (static_cast<double>(v) - mu) * (static_cast<double>(v) - mu);
    }
    const double exact_stddev = std::sqrt(squares / static_cast<double>(n));
    CHECK(std::abs(h.stddev() - exact_stddev) <= 1e-3 * exact_stddev);

    const double relative_error = 1e-3; // 10^-significant_figures
    for (const double p : {0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
        const std::int64_t exact = exact_percentile(samples, p);
        const std::int64_t got = h.value_at_percentile(p);
        INFO("p" << p << ": exact " << exact << ", histogram " << got);
        // The histogram answers with a bound of the exact value's own bucket...
        CHECK(got == (p == 0.0 ? h.lowest_equivalent_value(exact) : h.highest_equivalent_value(exact)));
        // ...whose width is below 10^-figures of the value.
        CHECK(std::abs(static_cast<double>(got - exact)) <=
              std::max(1.0, relative_error * static_cast<double>(exact)));
    }
}

TEST_CASE("latency_histogram: merging two histograms equals recording all samples in one",
          "[metrics]") {
    const std::uint64_t seed = admf_test::stream_seed(0x4d45, 0);
    INFO("ADMF_SEED=" << admf_test::run_seed());
    const auto samples = make_samples(distribution::bimodal, sample_count() / 10, seed);
    latency_histogram all;
    latency_histogram a;
    latency_histogram b;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        all.record(samples[i]);
        (i % 3 == 0 ? a : b).record(samples[i]);
    }
    a.merge(b);
    REQUIRE(a.count() == all.count());
    CHECK(a.min() == all.min());
    CHECK(a.max() == all.max());
    CHECK(a.mean() == Approx(all.mean()).epsilon(1e-12));
    for (const double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
        INFO("p" << p);
        CHECK(a.value_at_percentile(p) == all.value_at_percentile(p));
    }

    SECTION("a different layout re-buckets within both relative errors") {
        latency_histogram coarse(1'000, 3'600'000'000'000, 2);
        coarse.merge(all);
        REQUIRE(coarse.count() == all.count());
        for (const double p : {50.0, 90.0, 99.0, 99.9}) {
            const auto fine = static_cast<double>(all.value_at_percentile(p));
            INFO("p" << p);
            CHECK(std::abs(static_cast<double>(coarse.value_at_percentile(p)) - fine) <=
                  0.011 * fine + 1'000.0);
        }
    }
}

TEST_CASE("latency_histogram: reset empties it and it records again", "[metrics]") {
    latency_histogram h(1, 1'000'000, 3);
    for (std::int64_t v = 1; v <= 1000; ++v) {
        h.record(v);
    }
    h.record(2'000'000);
    h.reset();
    CHECK(h.count() == 0);
    CHECK(h.saturated() == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
    CHECK(h.mean() == 0.0);
    CHECK(h.stddev() == 0.0);
    CHECK(h.value_at_percentile(50) == 0);
    h.record(42);
    CHECK(h.count() == 1);
    CHECK(h.min() == 42);
    CHECK(h.max() == 42);
    CHECK(h.value_at_percentile(50) == 42);
}

TEST_CASE("latency_histogram: values out of range are clamped, high ones counted as saturated",
          "[metrics]") {
    latency_histogram h(10, 10'000, 3);
    h.record(20'000);
    h.record(10'001, 4);
    h.record(10'000); // the highest trackable value itself is not saturated
    h.record(0);
    h.record(-5);
    h.record(3);
    CHECK(h.count() == 9);
    CHECK(h.saturated() == 5);
    CHECK(h.max() == 10'000);
    CHECK(h.min() == 10);
    CHECK(h.value_at_percentile(100) == h.highest_equivalent_value(10'000));
    CHECK(h.value_at_percentile(0) == h.lowest_equivalent_value(10));
}

TEST_CASE("latency_histogram: constructor rejects invalid layouts", "[metrics]") {
    CHECK_THROWS_AS(latency_histogram(0, 100, 3), std::invalid_argument);
    CHECK_THROWS_AS(latency_histogram(-1, 100, 3), std::invalid_argument);
    CHECK_THROWS_AS(latency_histogram(10, 19, 3), std::invalid_argument);
    CHECK_THROWS_AS(latency_histogram(1, 100, 0), std::invalid_argument);
    CHECK_THROWS_AS(latency_histogram(1, 100, 6), std::invalid_argument);
    CHECK_NOTHROW(latency_histogram(10, 20, 1));
    CHECK_NOTHROW(latency_histogram(1, std::numeric_limits<std::int64_t>::max(), 5));
    const latency_histogram h(7, 1'000, 2);
    CHECK(h.lowest_discernible_value() == 7);
    CHECK(h.highest_trackable_value() == 1'000);
    CHECK(h.significant_figures() == 2);
}

TEST_CASE("latency_histogram: every value maps to a bucket that contains it", "[metrics]") {
    const int figures = GENERATE(1, 2, 3, 4, 5);
    const std::int64_t lowest = GENERATE(1, 1000);
    const latency_histogram h(lowest, 3'600'000'000'000, figures);
    admf_test::rng r(admf_test::stream_seed(0x4d42, static_cast<std::uint64_t>(figures)));
    for (int i = 0; i < 100'000; ++i) {
        const auto v = static_cast<std::int64_t>(r.below(3'600'000'000'000) + 1);
        const auto lo = h.lowest_equivalent_value(v);
        const auto hi = h.highest_equivalent_value(v);
        INFO("value " << v << " in [" << lo << ", " << hi << "]");
        REQUIRE(lo <= v);
        REQUIRE(v <= hi);
        // Bucket width bounds the relative error (values below lowest share one unit).
        REQUIRE(static_cast<double>(hi - lo) <=
                std::max(static_cast<double>(v) * std::pow(10.0, -figures),
                         static_cast<double>(lowest)));
    }
}

TEST_CASE("latency_histogram: record(value, count) equals count single records", "[metrics]") {
    latency_histogram bulk;
    latency_histogram single;
    bulk.record(1'500, 1'000);
    bulk.record(7, 3);
    bulk.record(9, 0); // nothing
    for (int i = 0; i < 1'000; ++i) {
        single.record(1'500);
    }
    for (int i = 0; i < 3; ++i) {
        single.record(7);
    }
    CHECK(bulk.count() == 1'003);
    CHECK(bulk.min() == 7);
    CHECK(bulk.max() == 1'500);
    CHECK(bulk.mean() == Approx((1'500.0 * 1'000 + 21.0) / 1'003.0));
    for (const double p : {0.0, 0.2, 0.3, 50.0, 100.0}) {
        CHECK(bulk.value_at_percentile(p) == single.value_at_percentile(p));
    }
}

TEST_CASE("latency_histogram: a burst records exactly what single records would", "[metrics]") {
    latency_histogram by_burst(1, 3'600'000'000'000, 2);
    latency_histogram single(1, 3'600'000'000'000, 2);
    std::mt19937_64 rng{admf_test::run_seed()};
    std::uniform_int_distribution<std::int64_t> value(-5, 5'000'000);
    std::vector<std::int64_t> values(10'000);
    for (auto& v : values) {
        v = value(rng);
    }
    values.push_back(std::numeric_limits<std::int64_t>::max()); // saturates in both
    {
        latency_histogram::burst b{by_burst};
        for (std::size_t i = 0; i != values.size(); ++i) {
            b.record(values[i]);
            if (i == 5'000) {
                b.commit(); // mid-way: the totals so far, then the rest at the end
                CHECK(by_burst.count() == 5'001);
            }
        }
        CHECK(by_burst.count() == 5'001); // the rest is not committed yet
    }
    for (const auto v : values) {
        single.record(v);
    }
    CHECK(by_burst.count() == single.count());
    CHECK(by_burst.saturated() == single.saturated());
    CHECK(by_burst.saturated() == 1);
    CHECK(by_burst.min() == single.min());
    CHECK(by_burst.max() == single.max());
    CHECK(by_burst.mean() == Approx(single.mean()));
    for (const double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
        CHECK(by_burst.value_at_percentile(p) == single.value_at_percentile(p));
    }
}

TEST_CASE("latency_histogram: record_corrected fills in coordinated omission", "[metrics]") {
    latency_histogram h;
    h.record_corrected(1'000, 100); // 1000, 900, ..., 100
    CHECK(h.count() == 10);
    CHECK(h.min() == 100);
    CHECK(h.max() == 1'000);
    CHECK(h.mean() == 550.0);
    CHECK(h.value_at_percentile(50) == 500);
    h.record_corrected(250, 100); // 250, 150 (50 < interval: stop)
    CHECK(h.count() == 12);
    h.record_corrected(50, 100); // shorter than the interval: only itself
    h.record_corrected(70, 0);   // no interval: only itself
    h.record_corrected(70, -3);
    CHECK(h.count() == 15);
    CHECK(h.min() == 50);
    CHECK(h.mean() == Approx((5'500.0 + 400.0 + 50.0 + 140.0) / 15.0));
}

TEST_CASE("latency_histogram: snapshot is an independent copy", "[metrics]") {
    latency_histogram h;
    h.record(10, 5);
    const latency_histogram s = h.snapshot();
    h.record(20, 5);
    CHECK(s.count() == 5);
    CHECK(s.max() == 10);
    CHECK(h.count() == 10);
    CHECK(s.value_at_percentile(100) == 10);
}

TEST_CASE("latency_histogram: subtract leaves the interval between two cumulative snapshots",
          "[metrics]") {
    const std::uint64_t seed = admf_test::stream_seed(0x4d53, 0);
    INFO("ADMF_SEED=" << admf_test::run_seed());
    const auto samples = make_samples(distribution::bimodal, 200'000, seed);
    const std::size_t half = samples.size() / 2;
    latency_histogram cumulative(1, 1'000'000'000, 3); // saturates the bimodal outliers
    latency_histogram second_half(1, 1'000'000'000, 3);
    for (std::size_t i = 0; i < half; ++i) {
        cumulative.record(samples[i]);
    }
    const latency_histogram before = cumulative.snapshot();
    for (std::size_t i = half; i < samples.size(); ++i) {
        cumulative.record(samples[i]);
        second_half.record(samples[i]);
    }
    latency_histogram interval = cumulative.snapshot();
    interval.subtract(before);
    REQUIRE(interval.count() == second_half.count());
    CHECK(interval.saturated() == second_half.saturated());
    CHECK(interval.mean() == Approx(second_half.mean()).epsilon(1e-9));
    for (const double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
        INFO("p" << p);
        CHECK(interval.value_at_percentile(p) == second_half.value_at_percentile(p));
    }
    // min/max cannot be taken apart: they stay the cumulative ones.
    CHECK(interval.min() == cumulative.min());
    CHECK(interval.max() == cumulative.max());

    SECTION("subtracting itself empties it, as reset() would") {
        interval.subtract(interval.snapshot());
        CHECK(interval.count() == 0);
        CHECK(interval.saturated() == 0);
        CHECK(interval.min() == 0);
        CHECK(interval.max() == 0);
        CHECK(interval.mean() == 0.0);
        CHECK(interval.value_at_percentile(99) == 0);
    }
    SECTION("counts are clamped at zero when `earlier` holds more") {
        latency_histogram small(1, 1'000'000'000, 3);
        small.record(100, 2);
        small.record(5'000, 1);
        latency_histogram big(1, 1'000'000'000, 3);
        big.record(100, 5);
        small.subtract(big);
        CHECK(small.count() == 1);
        CHECK(small.count_at_or_below(small.highest_equivalent_value(100)) == 0);
        CHECK(small.value_at_percentile(50) == small.highest_equivalent_value(5'000));
        CHECK(small.mean() >= 0.0);
    }
    SECTION("a different layout is left alone") {
        const std::uint64_t n = interval.count();
        latency_histogram other(1, 3'600'000'000'000, 2);
        other.record(100, 10);
        interval.subtract(other);
        CHECK(interval.count() == n);
    }
}

TEST_CASE("latency_histogram: count_at_or_below counts whole buckets up to a bound",
          "[metrics]") {
    latency_histogram h; // 3 figures: buckets of width 1 up to 2047, then 2, 4, ...
    CHECK(h.count_at_or_below(1'000'000) == 0);
    h.record(5, 3);
    h.record(1'000, 2);
    h.record(10'000, 4); // bucket [10'000, 10'007]
    h.record(3'600'000'000'000);
    CHECK(h.count_at_or_below(-1) == 0);
    CHECK(h.count_at_or_below(0) == 0);
    CHECK(h.count_at_or_below(4) == 0);
    CHECK(h.count_at_or_below(5) == 3);
    CHECK(h.count_at_or_below(999) == 3);
    CHECK(h.count_at_or_below(1'000) == 5);
    const std::int64_t hi = h.highest_equivalent_value(10'000);
    REQUIRE(hi > 10'000);
    // A bound inside a bucket does not count it: its values may lie above the bound.
    CHECK(h.count_at_or_below(10'000) == 5);
    CHECK(h.count_at_or_below(hi - 1) == 5);
    CHECK(h.count_at_or_below(hi) == 9);
    CHECK(h.count_at_or_below(std::numeric_limits<std::int64_t>::max()) == h.count());

    SECTION("agrees with exact counts over seeded samples, within one bucket") {
        const std::uint64_t seed = admf_test::stream_seed(0x4d43, 0);
        INFO("ADMF_SEED=" << admf_test::run_seed());
        auto samples = make_samples(distribution::exponential, 100'000, seed);
        latency_histogram e;
        for (const std::int64_t v : samples) {
            e.record(v);
        }
        std::sort(samples.begin(), samples.end());
        for (const std::int64_t le : {1'000, 10'000, 50'000, 100'000, 250'000, 1'000'000}) {
            // Exact when `le` ends a bucket; in general between the counts up to the bucket
            // below `le` and those up to `le` itself.
            const auto exact_le = static_cast<std::uint64_t>(
                std::upper_bound(samples.begin(), samples.end(), le) - samples.begin());
            const std::int64_t below = e.lowest_equivalent_value(le) - 1;
            const auto exact_below = static_cast<std::uint64_t>(
                std::upper_bound(samples.begin(), samples.end(), below) - samples.begin());
            const std::uint64_t got = e.count_at_or_below(le);
            INFO("le " << le << ": histogram " << got << ", exact " << exact_le);
            CHECK(got <= exact_le);
            CHECK(got >= exact_below);
            CHECK(e.count_at_or_below(e.highest_equivalent_value(le)) ==
                  static_cast<std::uint64_t>(std::upper_bound(samples.begin(), samples.end(),
                                                              e.highest_equivalent_value(le)) -
                                             samples.begin()));
        }
    }
}

TEST_CASE("latency_histogram: queries from another thread while the writer records",
          "[metrics][stress]") {
    const std::uint64_t n = admf_test::by_scale<std::uint64_t>(5'000'000, 300'000, 300'000);
    constexpr std::uint64_t min_reads = 50;
    latency_histogram h;
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> reads{0};
    std::uint64_t recorded = 0; // read after join()
    std::thread writer([&] {
        // At least n records, and on until the reader has overlapped a few of its reads.
        // Relaxed: only a progress hint; join() orders everything else.
        while (recorded < n || reads.load(std::memory_order_relaxed) < min_reads) {
            h.record(static_cast<std::int64_t>(1'000 + recorded % 1'000));
            ++recorded;
        }
        done.store(true, std::memory_order_release); // pairs with the reader's acquire load
    });
    // Per-atomic coherence makes each of these non-decreasing; count() and a snapshot's
    // sum of counts may differ by the records in flight (Design), so they are not compared.
    std::uint64_t last_count = 0;
    std::uint64_t last_snapshot_count = 0;
    bool ok = true;
    while (!done.load(std::memory_order_acquire)) { // pairs with the writer's release store
        const latency_histogram s = h.snapshot();
        const std::uint64_t c = h.count();
        const std::int64_t p99 = h.value_at_percentile(99);
        ok = ok && c >= last_count && s.count() >= last_snapshot_count;
        ok = ok && (s.count() == 0 || (s.value_at_percentile(50) >= 1'000 &&
                                       s.value_at_percentile(100) <= 2'000));
        ok = ok && (p99 == 0 || (p99 >= 1'000 && p99 <= 2'000));
        last_count = c;
        last_snapshot_count = s.count();
        reads.fetch_add(1, std::memory_order_relaxed); // a hint only, see the writer
    }
    writer.join();
    INFO(reads.load() << " concurrent reads, " << recorded << " records");
    CHECK(ok);
    CHECK(reads.load() >= min_reads);
    CHECK(h.count() == recorded);
    CHECK(h.snapshot().count() == recorded);
}

TEST_CASE("interval_recorder: interval counts add up to every record, none lost or doubled",
          "[metrics][stress]") {
    const std::uint64_t n = admf_test::by_scale<std::uint64_t>(20'000'000, 1'000'000, 1'000'000);
    interval_recorder rec;
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (std::uint64_t i = 0; i < n; ++i) {
            rec.record(static_cast<std::int64_t>(1 + i % 1'000));
        }
        done.store(true, std::memory_order_release); // pairs with the sampler's acquire load
    });
    std::uint64_t total = 0;
    double sum = 0.0;
    std::uint64_t intervals = 0;
    std::uint64_t non_empty = 0;
    latency_histogram merged;
    for (;;) {
        const bool last = done.load(std::memory_order_acquire); // pairs with the writer
        const latency_histogram& interval = rec.sample();
        total += interval.count();
        sum += interval.mean() * static_cast<double>(interval.count());
        non_empty += interval.count() != 0 ? 1 : 0;
        merged.merge(interval);
        ++intervals;
        if (last) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1)); // the sampling interval: the
        // totals checked below hold for any interval (the last sample follows `done`)
    }
    writer.join();
    // One more interval after the writer is gone: empty.
    CHECK(rec.sample().count() == 0);
    INFO(intervals << " intervals, " << non_empty << " non-empty");
    CHECK(total == n);
    CHECK(merged.count() == n);
    // Each value 1..1000 recorded n / 1000 times: exact sum (integers below 2^53).
    CHECK(sum == Approx(static_cast<double>(n / 1'000) * 500'500.0).epsilon(1e-12));
    CHECK(merged.min() == 1);
    CHECK(merged.max() == 1'000);
}

TEST_CASE("interval_recorder: sample does not wait for an idle writer", "[metrics]") {
    interval_recorder rec(1, 1'000'000, 2);
    rec.record(5);
    rec.record_corrected(300, 100);
    CHECK(rec.sample().count() == 4);
    CHECK(rec.sample().count() == 0);
    rec.record(7, 2);
    CHECK(rec.active_approx().count() == 2);
    const latency_histogram& s = rec.sample();
    CHECK(s.count() == 2);
    CHECK(s.max() == 7);
}
