// SPDX-License-Identifier: MIT
// admf::detail::histogram_layout: the log-linear bucket arithmetic of admf::latency_histogram.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace admf::detail {

// Design: HdrHistogram's layout, in our own code. Values are split into buckets of powers of
// two; each bucket holds `sub_bucket_count` linear sub-buckets, of which the lower half
// overlaps the previous bucket and is stored only once, so the counts array has
// (bucket_count + 1) * sub_bucket_half_count entries. sub_bucket_count is the smallest power
// of two >= 2 * 10^figures, so a sub-bucket is never wider than value / 10^figures: the
// relative error of any value read back is below 10^-figures. `unit_magnitude` scales the
// smallest sub-bucket to floor(log2(lowest_discernible_value)). Immutable after make();
// every function is pure and safe from any thread.
struct histogram_layout {
    std::int64_t lowest = 1;
    std::int64_t highest = 2;
    int figures = 1;
    int unit_magnitude = 0;
    int sub_bucket_half_count_magnitude = 0;
    std::int64_t sub_bucket_count = 0;
    std::int64_t sub_bucket_half_count = 0;
    std::int64_t sub_bucket_mask = 0;
    int bucket_count = 0;
    std::size_t counts_len = 0;

    /// Validates the three parameters (std::invalid_argument: lowest < 1, highest <
    /// 2 * lowest, figures outside 1..5, or a layout that cannot be addressed) and derives
    /// the rest.
    [[nodiscard]] static histogram_layout make(std::int64_t lowest, std::int64_t highest,
                                               int figures) {
        if (lowest < 1) {
            throw std::invalid_argument("admf::latency_histogram: lowest_discernible_value < 1");
        }
        if (lowest > std::numeric_limits<std::int64_t>::max() / 2 || highest < 2 * lowest) {
            throw std::invalid_argument(
                "admf::latency_histogram: highest_trackable_value < 2 * lowest_discernible_value");
        }
        if (figures < 1 || figures > 5) {
            throw std::invalid_argument("admf::latency_histogram: significant_figures not in 1..5");
        }
        histogram_layout l;
        l.lowest = lowest;
        l.highest = highest;
        l.figures = figures;
        std::int64_t single_unit = 2;
        for (int i = 0; i < figures; ++i) {
            single_unit *= 10;
        }
        const auto count_magnitude =
            static_cast<int>(std::bit_width(static_cast<std::uint64_t>(single_unit - 1)));
        l.sub_bucket_half_count_magnitude = (count_magnitude > 1 ? count_magnitude : 1) - 1;
        l.unit_magnitude = 63 - std::countl_zero(static_cast<std::uint64_t>(lowest));
        if (l.unit_magnitude + l.sub_bucket_half_count_magnitude > 61) {
            throw std::invalid_argument("admf::latency_histogram: lowest_discernible_value too "
                                        "large for significant_figures");
        }
        l.sub_bucket_count = std::int64_t{1} << (l.sub_bucket_half_count_magnitude + 1);
        l.sub_bucket_half_count = l.sub_bucket_count / 2;
        l.sub_bucket_mask = (l.sub_bucket_count - 1) << l.unit_magnitude;
        // Buckets until the first value that cannot be tracked exceeds `highest`.
        std::int64_t smallest_untrackable = l.sub_bucket_count << l.unit_magnitude;
        int buckets = 1;
        while (smallest_untrackable <= highest) {
            if (smallest_untrackable > std::numeric_limits<std::int64_t>::max() / 2) {
                ++buckets;
                break;
            }
            smallest_untrackable <<= 1;
            ++buckets;
        }
        l.bucket_count = buckets;
        l.counts_len = static_cast<std::size_t>(buckets + 1) *
                       static_cast<std::size_t>(l.sub_bucket_half_count);
        return l;
    }

    /// Bucket (power of two) of a value in [0, highest].
    [[nodiscard]] int bucket_index(std::int64_t v) const noexcept {
        const int pow2_ceiling =
            64 - std::countl_zero(static_cast<std::uint64_t>(v | sub_bucket_mask));
        return pow2_ceiling - unit_magnitude - (sub_bucket_half_count_magnitude + 1);
    }

    /// Index into the counts array of a value in [0, highest]; always < counts_len.
    [[nodiscard]] std::size_t index_of(std::int64_t v) const noexcept {
        const int bucket = bucket_index(v);
        const std::int64_t sub = v >> (bucket + unit_magnitude);
        return static_cast<std::size_t>(
            (static_cast<std::int64_t>(bucket + 1) << sub_bucket_half_count_magnitude) +
            (sub - sub_bucket_half_count));
    }

    /// Lowest value counted at `index` (inverse of index_of).
    [[nodiscard]] std::int64_t value_at_index(std::size_t index) const noexcept {
        const auto i = static_cast<std::int64_t>(index);
        int bucket = static_cast<int>(i >> sub_bucket_half_count_magnitude) - 1;
        std::int64_t sub = (i & (sub_bucket_half_count - 1)) + sub_bucket_half_count;
        if (bucket < 0) {
            sub -= sub_bucket_half_count;
            bucket = 0;
        }
        return sub << (bucket + unit_magnitude);
    }

    /// Width of the sub-bucket holding `v`: all values in it are "equivalent".
    [[nodiscard]] std::int64_t equivalent_range(std::int64_t v) const noexcept {
        const int bucket = bucket_index(v);
        const std::int64_t sub = v >> (bucket + unit_magnitude);
        const int adjusted = sub >= sub_bucket_count ? bucket + 1 : bucket;
        return std::int64_t{1} << (unit_magnitude + adjusted);
    }

    [[nodiscard]] std::int64_t lowest_equivalent(std::int64_t v) const noexcept {
        const int shift = bucket_index(v) + unit_magnitude;
        return (v >> shift) << shift;
    }

    [[nodiscard]] std::int64_t highest_equivalent(std::int64_t v) const noexcept {
        return lowest_equivalent(v) + equivalent_range(v) - 1;
    }

    [[nodiscard]] std::int64_t median_equivalent(std::int64_t v) const noexcept {
        return lowest_equivalent(v) + equivalent_range(v) / 2;
    }

    /// Same value -> index mapping and length, so counts can be added index by index.
    [[nodiscard]] bool same_indexing(const histogram_layout& o) const noexcept {
        return unit_magnitude == o.unit_magnitude &&
               sub_bucket_half_count_magnitude == o.sub_bucket_half_count_magnitude &&
               counts_len == o.counts_len && lowest == o.lowest && highest == o.highest;
    }
};

} // namespace admf::detail
