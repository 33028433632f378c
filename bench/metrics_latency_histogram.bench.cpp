// SPDX-License-Identifier: MIT
// admf-metrics-bench: cost of admf::latency_histogram::record and interval_recorder::record
// on one thread, over values precomputed so the loop measures the histogram, not a PRNG.

#include <cstddef>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <admf/metrics/interval_recorder.hpp>
#include <admf/metrics/latency_histogram.hpp>

namespace {

// 64 Ki log-uniform latencies from 100 ns to 10 ms: touches many buckets, fits in L2.
const std::vector<std::int64_t>& values() {
    static const std::vector<std::int64_t> v = [] {
        std::mt19937_64 gen(42);
        std::uniform_real_distribution<double> exponent(2.0, 7.0);
        std::vector<std::int64_t> out(std::size_t{1} << 16);
        for (auto& x : out) {
            x = static_cast<std::int64_t>(std::pow(10.0, exponent(gen)));
        }
        return out;
    }();
    return v;
}

void BM_latency_histogram_record(benchmark::State& state) {
    const auto& v = values();
    const std::size_t mask = v.size() - 1;
    admf::latency_histogram h(1, 3'600'000'000'000, static_cast<int>(state.range(0)));
    std::size_t i = 0;
    for (auto _ : state) {
        h.record(v[i++ & mask]);
    }
    benchmark::DoNotOptimize(h.count());
    state.SetItemsProcessed(state.iterations());
    state.counters["counts_kib"] = static_cast<double>(h.counts_length() * 8) / 1024.0;
}
BENCHMARK(BM_latency_histogram_record)->Arg(2)->Arg(3)->Arg(4);

void BM_latency_histogram_record_same_value(benchmark::State& state) {
    admf::latency_histogram h;
    for (auto _ : state) {
        h.record(12'345);
    }
    benchmark::DoNotOptimize(h.count());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_latency_histogram_record_same_value);

void BM_interval_recorder_record(benchmark::State& state) {
    const auto& v = values();
    const std::size_t mask = v.size() - 1;
    admf::interval_recorder rec;
    std::size_t i = 0;
    for (auto _ : state) {
        rec.record(v[i++ & mask]);
    }
    benchmark::DoNotOptimize(rec.sample().count());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_interval_recorder_record);

void BM_latency_histogram_value_at_percentile(benchmark::State& state) {
    admf::latency_histogram h;
    for (const auto x : values()) {
        h.record(x);
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(h.value_at_percentile(99.0));
    }
}
BENCHMARK(BM_latency_histogram_value_at_percentile);

} // namespace

BENCHMARK_MAIN();
