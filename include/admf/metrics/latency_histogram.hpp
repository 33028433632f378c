// SPDX-License-Identifier: MIT
// admf::latency_histogram: HDR-style log-linear histogram, one lock-free writer, any readers.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

#include <admf/core/platform.hpp>
#include <admf/metrics/detail/histogram_layout.hpp>

namespace admf {

// Design: HdrHistogram's model and vocabulary (hdr_histogram.h), our own code. Values in
// [lowest_discernible_value, highest_trackable_value] are counted in log-linear buckets
// (detail::histogram_layout) with a relative error below 10^-significant_figures. All memory
// (one array of counts) is allocated by the constructor; nothing allocates afterwards except
// snapshot() and the copy constructor, which make a new histogram.
// Ownership: one writer thread owns every field: it alone calls record*, merge and reset,
// and it updates each count and the totals (count_, sum_, min_, max_, saturated_) with a
// relaxed load and a relaxed store (no read-modify-write: nobody else writes them).
// Readers: any number of threads may call the const queries concurrently with the writer.
// Each count they read is exact at some instant (an atomic load); a query is a snapshot that
// may include part of a record in flight: count()/min()/max()/mean() read the totals, which
// can be a few records ahead of or behind the counts that value_at_percentile()/stddev()
// scan. Those scans derive their total from the counts they read, so a percentile is always
// consistent with itself.
// Progress: record* is wait-free, O(1). Queries are wait-free, O(counts) for percentiles.
// Memory order: relaxed throughout; the histogram publishes no other data. Whoever hands a
// histogram between threads (e.g. admf::interval_recorder) supplies the ordering.
class latency_histogram {
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                      std::atomic<double>::is_always_lock_free,
                  "record() must not take a lock: counts and totals must be lock-free atomics");

public:
    /// Allocates the counts for [lowest, highest] at `significant_figures` (1..5). Throws
    /// std::invalid_argument on lowest < 1, highest < 2 * lowest or figures outside 1..5,
    /// and std::bad_alloc. The defaults track 1 ns to 1 h at 0.1%.
    explicit latency_histogram(std::int64_t lowest_discernible_value = 1,
                               std::int64_t highest_trackable_value = 3'600'000'000'000,
                               int significant_figures = 3)
        : layout_(detail::histogram_layout::make(lowest_discernible_value,
                                                 highest_trackable_value, significant_figures)),
          counts_(new std::atomic<std::uint64_t>[layout_.counts_len]) {
        reset();
    }

    /// A snapshot of `other` (see snapshot()); allocates. Safe while other's writer records.
    latency_histogram(const latency_histogram& other)
        : layout_(other.layout_), counts_(new std::atomic<std::uint64_t>[layout_.counts_len]) {
        reset();
        merge(other);
    }
    latency_histogram& operator=(const latency_histogram&) = delete;
    ~latency_histogram() = default;

    /// Writer only. Counts `value` once; see record(value, count).
    ADMF_ALWAYS_INLINE void record(std::int64_t value) noexcept { record(value, 1); }

    /// Writer only. Counts `value` `count` times. O(1), wait-free, no allocation. A value
    /// above highest_trackable_value() is counted as that value and in saturated(); a value
    /// below lowest_discernible_value() (0 and negatives too) is counted as the lowest.
    ADMF_ALWAYS_INLINE void record(std::int64_t value, std::uint64_t count) noexcept {
        if (count == 0) {
            return;
        }
        if (value < layout_.lowest) {
            value = layout_.lowest;
        } else if (value > layout_.highest) {
            value = layout_.highest;
            add(saturated_, count);
        }
        add(counts_[layout_.index_of(value)], count);
        add(count_, count);
        put(sum_, get(sum_) + static_cast<double>(value) * static_cast<double>(count));
        if (value < get(min_)) {
            put(min_, value);
        }
        if (value > get(max_)) {
            put(max_, value);
        }
    }

    /// Writer only: records a run of values, updating the totals (count, sum, min, max) once
    /// at the end instead of per value: one bucket increment per record(). For a writer
    /// that records many values in a burst (the bus records one per event of a take).
    /// Readers may meanwhile see the buckets a burst ahead of the totals (see Design).
    class burst {
    public:
        explicit burst(latency_histogram& h) noexcept : h_(h) {}
        burst(const burst&) = delete;
        burst& operator=(const burst&) = delete;
        ~burst() { commit(); }

        ADMF_ALWAYS_INLINE void record(std::int64_t value) noexcept {
            if (value < h_.layout_.lowest) {
                value = h_.layout_.lowest;
            } else if (value > h_.layout_.highest) {
                value = h_.layout_.highest;
                ++saturated_;
            }
            add(h_.counts_[h_.layout_.index_of(value)], 1);
            ++count_;
            sum_ += static_cast<double>(value);
            min_ = value < min_ ? value : min_;
            max_ = value > max_ ? value : max_;
        }

        /// Applies the totals so far (the destructor does too).
        void commit() noexcept {
            if (count_ == 0) {
                return;
            }
            add(h_.count_, count_);
            if (saturated_ != 0) {
                add(h_.saturated_, saturated_);
            }
            put(h_.sum_, get(h_.sum_) + sum_);
            if (min_ < get(h_.min_)) {
                put(h_.min_, min_);
            }
            if (max_ > get(h_.max_)) {
                put(h_.max_, max_);
            }
            count_ = 0;
            saturated_ = 0;
            sum_ = 0.0;
            min_ = std::numeric_limits<std::int64_t>::max();
            max_ = 0;
        }

    private:
        latency_histogram& h_;
        std::uint64_t count_ = 0;
        std::uint64_t saturated_ = 0;
        double sum_ = 0;
        std::int64_t min_ = std::numeric_limits<std::int64_t>::max();
        std::int64_t max_ = 0;
    };

    /// Writer only. Coordinated-omission correction as in HdrHistogram: records `value`,
    /// then value - k * expected_interval for k = 1, 2, ... while that is >= the interval.
    /// Does nothing extra when expected_interval <= 0. O(value / interval).
    void record_corrected(std::int64_t value, std::int64_t expected_interval) noexcept {
        record(value);
        if (expected_interval <= 0) {
            return;
        }
        for (std::int64_t missing = value - expected_interval; missing >= expected_interval;
             missing -= expected_interval) {
            record(missing);
        }
    }

    /// Writer of *this only (hdr_add): adds other's counts. With the same layout counts add
    /// index by index; otherwise each of other's buckets is re-recorded at its median value
    /// (clamped and counted in saturated() as record() does). `other` may be live.
    void merge(const latency_histogram& other) noexcept {
        if (layout_.same_indexing(other.layout_)) {
            std::uint64_t total = 0;
            for (std::size_t i = 0; i < layout_.counts_len; ++i) {
                const std::uint64_t c = get(other.counts_[i]);
                if (c != 0) {
                    add(counts_[i], c);
                    total += c;
                }
            }
            if (total == 0) {
                return;
            }
            add(count_, total);
            add(saturated_, get(other.saturated_));
            put(sum_, get(sum_) + get(other.sum_));
            // other's min/max may trail its counts by a record (Design); keep them in range.
            const std::int64_t lo = std::clamp(get(other.min_), layout_.lowest, layout_.highest);
            const std::int64_t hi = std::clamp(get(other.max_), layout_.lowest, layout_.highest);
            put(min_, std::min(get(min_), lo));
            put(max_, std::max(get(max_), hi));
            return;
        }
        for (std::size_t i = 0; i < other.layout_.counts_len; ++i) {
            const std::uint64_t c = get(other.counts_[i]);
            if (c != 0) {
                record(other.layout_.median_equivalent(other.layout_.value_at_index(i)), c);
            }
        }
    }

    /// Writer of *this only: takes away `earlier`'s counts, index by index, each clamped at 0,
    /// so two cumulative snapshots give the interval between them (now.subtract(before)).
    /// count(), saturated() and the sum behind mean() drop by what was taken (clamped at 0).
    /// min() and max() cannot be recovered from buckets: they stay those of *this, unless
    /// nothing is left, when they read 0 as after reset(). Does nothing unless `earlier` has
    /// the same layout (re-bucketing would not subtract exactly). O(counts), no allocation.
    void subtract(const latency_histogram& earlier) noexcept {
        if (!layout_.same_indexing(earlier.layout_)) {
            return;
        }
        std::uint64_t removed = 0;
        for (std::size_t i = 0; i < layout_.counts_len; ++i) {
            const std::uint64_t theirs = get(earlier.counts_[i]);
            if (theirs != 0) {
                const std::uint64_t mine = get(counts_[i]);
                const std::uint64_t take = std::min(mine, theirs);
                put(counts_[i], mine - take);
                removed += take;
            }
        }
        const std::uint64_t n = get(count_);
        put(count_, n - std::min(n, removed));
        const std::uint64_t sat = get(saturated_);
        put(saturated_, sat - std::min(sat, get(earlier.saturated_)));
        put(sum_, std::max(0.0, get(sum_) - get(earlier.sum_)));
        if (get(count_) == 0) {
            put(sum_, 0.0);
            put(min_, std::numeric_limits<std::int64_t>::max());
            put(max_, std::int64_t{0});
        }
    }

    /// Writer only (or whoever owns the histogram while nobody records): zeroes everything.
    void reset() noexcept {
        for (std::size_t i = 0; i < layout_.counts_len; ++i) {
            put(counts_[i], std::uint64_t{0});
        }
        put(count_, std::uint64_t{0});
        put(saturated_, std::uint64_t{0});
        put(sum_, 0.0);
        put(min_, std::numeric_limits<std::int64_t>::max());
        put(max_, std::int64_t{0});
    }

    /// Any thread. A plain copy to query at leisure; allocates. Counts are each exact at
    /// some instant; its count() is the sum of the counts copied.
    [[nodiscard]] latency_histogram snapshot() const { return latency_histogram(*this); }

    /// Any thread. Values recorded so far (snapshot), saturated ones included.
    [[nodiscard]] std::uint64_t count() const noexcept { return get(count_); }

    /// Any thread. Values recorded above highest_trackable_value() (snapshot).
    [[nodiscard]] std::uint64_t saturated() const noexcept { return get(saturated_); }

    /// Any thread. Smallest value recorded, after clamping; 0 when empty (snapshot).
    [[nodiscard]] std::int64_t min() const noexcept {
        const std::int64_t m = get(min_);
        return m == std::numeric_limits<std::int64_t>::max() ? 0 : m;
    }

    /// Any thread. Largest value recorded, after clamping; 0 when empty (snapshot).
    [[nodiscard]] std::int64_t max() const noexcept { return get(max_); }

    /// Any thread. Exact mean of the (clamped) values recorded; 0 when empty (snapshot).
    [[nodiscard]] double mean() const noexcept {
        const std::uint64_t n = get(count_);
        return n == 0 ? 0.0 : get(sum_) / static_cast<double>(n);
    }

    /// Any thread. Standard deviation from the buckets' median values around mean(), within
    /// the histogram's relative error; 0 when empty. O(counts).
    [[nodiscard]] double stddev() const noexcept {
        const double mu = mean();
        double squares = 0.0;
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < layout_.counts_len; ++i) {
            const std::uint64_t c = get(counts_[i]);
            if (c != 0) {
                const double dev =
                    static_cast<double>(layout_.median_equivalent(layout_.value_at_index(i))) - mu;
                squares += dev * dev * static_cast<double>(c);
                total += c;
            }
        }
        return total == 0 ? 0.0 : std::sqrt(squares / static_cast<double>(total));
    }

    /// Any thread. The highest value equivalent to the bucket where the cumulative count
    /// reaches p% of the total (HdrHistogram); p is clamped to [0, 100], and p = 0 gives the
    /// lowest equivalent of the smallest value. 0 when empty. O(counts), no allocation.
    [[nodiscard]] std::int64_t value_at_percentile(double p) const noexcept {
        p = p > 0.0 ? std::min(p, 100.0) : 0.0; // NaN -> 0
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < layout_.counts_len; ++i) {
            total += get(counts_[i]);
        }
        if (total == 0) {
            return 0;
        }
        const auto wanted = std::max<std::uint64_t>(
            1, static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(total) + 0.5));
        std::uint64_t cumulative = 0;
        std::int64_t last = 0;
        for (std::size_t i = 0; i < layout_.counts_len; ++i) {
            const std::uint64_t c = get(counts_[i]);
            if (c == 0) {
                continue;
            }
            cumulative += c;
            last = layout_.value_at_index(i);
            if (cumulative >= wanted) {
                break;
            }
        }
        // Only a concurrent reset() can leave `cumulative` short; `last` is then the best
        // answer left.
        return p == 0.0 ? layout_.lowest_equivalent(last) : layout_.highest_equivalent(last);
    }

    /// Any thread. Values recorded in buckets whose highest equivalent value is <= `value`
    /// (a Prometheus `le` bucket, cumulative); 0 for a value below every bucket. Derived from
    /// the counts it reads, like value_at_percentile(). O(counts), no allocation.
    [[nodiscard]] std::uint64_t count_at_or_below(std::int64_t value) const noexcept {
        std::uint64_t total = 0;
        // Indices ascend with the values they hold, so the first bucket reaching past
        // `value` ends the scan.
        for (std::size_t i = 0; i < layout_.counts_len; ++i) {
            if (layout_.highest_equivalent(layout_.value_at_index(i)) > value) {
                break;
            }
            total += get(counts_[i]);
        }
        return total;
    }

    /// Any thread. Smallest value counted in the same bucket as `value` (in range).
    [[nodiscard]] std::int64_t lowest_equivalent_value(std::int64_t value) const noexcept {
        return layout_.lowest_equivalent(std::clamp(value, std::int64_t{0}, layout_.highest));
    }

    /// Any thread. Largest value counted in the same bucket as `value` (in range).
    [[nodiscard]] std::int64_t highest_equivalent_value(std::int64_t value) const noexcept {
        return layout_.highest_equivalent(std::clamp(value, std::int64_t{0}, layout_.highest));
    }

    [[nodiscard]] std::int64_t lowest_discernible_value() const noexcept { return layout_.lowest; }
    [[nodiscard]] std::int64_t highest_trackable_value() const noexcept { return layout_.highest; }
    [[nodiscard]] int significant_figures() const noexcept { return layout_.figures; }
    /// Number of counters allocated (memory: 8 bytes each).
    [[nodiscard]] std::size_t counts_length() const noexcept { return layout_.counts_len; }

private:
    // Every access below is relaxed: the writer is the only thread that stores (so its own
    // load+store cannot lose an update), and readers only need each value to be atomic.
    // There is no operation to pair with; see Design for who supplies ordering.
    template <class T>
    [[nodiscard]] static T get(const std::atomic<T>& a) noexcept {
        return a.load(std::memory_order_relaxed); // no pairing: a snapshot of one value
    }
    template <class T>
    static void put(std::atomic<T>& a, T v) noexcept {
        a.store(v, std::memory_order_relaxed); // no pairing: single writer (Design)
    }
    static void add(std::atomic<std::uint64_t>& a, std::uint64_t n) noexcept {
        put(a, get(a) + n);
    }

    detail::histogram_layout layout_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> saturated_{0};
    std::atomic<double> sum_{0.0};
    std::atomic<std::int64_t> min_{std::numeric_limits<std::int64_t>::max()};
    std::atomic<std::int64_t> max_{0};
};

} // namespace admf
