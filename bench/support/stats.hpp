// SPDX-License-Identifier: MIT
// Latency samples with nearest-rank percentiles, and median/min/max over repetitions.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace admf::bench {

/// Every round-trip time of one run, in ns, kept whole (HdrHistogram's vocabulary, but no
/// buckets: a run holds at most a few tens of thousands of samples, so exact percentiles
/// of a sorted vector cost nothing worth saving). Single writer; not thread-safe.
class latency_samples {
public:
    /// Reserves room for `expected` samples, so record() does not allocate up to there.
    explicit latency_samples(std::size_t expected) { values_.reserve(expected); }

    void record(std::uint64_t value_ns) {
        values_.push_back(value_ns);
        sorted_ = false;
    }

    /// Nearest-rank percentile (0 < percentile <= 100): the smallest recorded value that at
    /// least `percentile`% of samples do not exceed. 0 when nothing was recorded.
    [[nodiscard]] std::uint64_t value_at_percentile(double percentile) {
        if (values_.empty()) {
            return 0;
        }
        sort();
        const double rank = std::ceil(percentile / 100.0 * static_cast<double>(values_.size()));
        const auto index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
        return values_[std::min(index, values_.size() - 1)];
    }

    [[nodiscard]] std::uint64_t max() { return values_.empty() ? 0 : (sort(), values_.back()); }
    [[nodiscard]] std::size_t count() const noexcept { return values_.size(); }

private:
    void sort() {
        if (!sorted_) {
            std::sort(values_.begin(), values_.end());
            sorted_ = true;
        }
    }

    std::vector<std::uint64_t> values_;
    bool sorted_ = true;
};

/// Median, minimum and maximum of one figure over the repetitions of a row.
struct summary {
    double median = 0;
    double min = 0;
    double max = 0;
};

/// The median of an even count is the mean of the two middle values.
[[nodiscard]] inline summary summarize(std::vector<double> values) {
    if (values.empty()) {
        return {};
    }
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    const double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    return {median, values.front(), values.back()};
}

} // namespace admf::bench
