// SPDX-License-Identifier: MIT
// admf::interval_recorder: per-interval latency_histogram snapshots without stopping the writer.
#pragma once

#include <atomic>
#include <cstdint>

#include <admf/core/asymmetric_fence.hpp>
#include <admf/core/platform.hpp>
#include <admf/metrics/latency_histogram.hpp>

namespace admf {

// Design: HdrHistogram's hdr_interval_recorder idea, our own handshake. Two histograms of
// one layout; the writer records into `hist_[active_]`, the sampler reads the other.
// Ownership: the single writer thread owns `in_record_` (a counter, odd while the writer is
// inside a record) and writes the active histogram; one sampler thread at a time owns
// `active_` (stores it) and the inactive histogram.
// Handshake (Dekker, split with admf::light_fence/heavy_fence): the writer stores an odd
// `in_record_`, light_fence(), loads `active_`, records, stores the next even value. The
// sampler resets the inactive histogram, stores `active_` to point at it, heavy_fence(), then
// loads `in_record_`: even means the writer is between records, and any later record sees
// the new `active_` (the fence pair guarantees one side sees the other's store); odd means
// one record may still be writing the old histogram, so the sampler spins until the counter
// changes. An idle writer leaves it even, so sample() never waits for the writer to come back.
// Progress: record* is wait-free (two plain stores and a compiler barrier around the
// histogram's own O(1) record where membarrier works, a full fence otherwise). sample()
// waits for at most one in-flight record, then is O(counts) for the reset, plus one
// membarrier system call.
// Memory order: the writer's release store of the even counter pairs with the sampler's
// acquire load, making every count of that record visible before the sampler reads the
// histogram; the sampler's release store of `active_` pairs with the writer's acquire load,
// so the reset of a recycled histogram happens before the writer records into it.
class interval_recorder {
public:
    /// Two histograms of this layout (see latency_histogram's constructor; same throws).
    explicit interval_recorder(std::int64_t lowest_discernible_value = 1,
                               std::int64_t highest_trackable_value = 3'600'000'000'000,
                               int significant_figures = 3)
        : hist_{latency_histogram(lowest_discernible_value, highest_trackable_value,
                                  significant_figures),
                latency_histogram(lowest_discernible_value, highest_trackable_value,
                                  significant_figures)} {}

    interval_recorder(const interval_recorder&) = delete;
    interval_recorder& operator=(const interval_recorder&) = delete;

    /// Writer only. latency_histogram::record into the current interval. Wait-free, O(1).
    ADMF_ALWAYS_INLINE void record(std::int64_t value, std::uint64_t count = 1) noexcept {
        enter().record(value, count);
        leave();
    }

    /// Writer only. latency_histogram::record_corrected into the current interval.
    void record_corrected(std::int64_t value, std::int64_t expected_interval) noexcept {
        enter().record_corrected(value, expected_interval);
        leave();
    }

    /// Sampler only (one thread at a time). Ends the current interval and returns its
    /// histogram, which stays unchanged until the next sample(); that call resets it and
    /// gives it back to the writer. Waits for at most one in-flight record; no allocation.
    [[nodiscard]] const latency_histogram& sample() noexcept {
        // Only the sampler stores active_, so its own relaxed load is exact.
        const std::uint32_t old_index = active_.load(std::memory_order_relaxed);
        const std::uint32_t new_index = old_index ^ 1U;
        hist_[new_index].reset();
        // Pairs with the writer's acquire load in enter(): the reset is visible first.
        active_.store(new_index, std::memory_order_release);
        heavy_fence(); // pairs with light_fence() in enter()
        // Pairs with the writer's release store in leave(): its counts are visible.
        const std::uint64_t seen = in_record_.load(std::memory_order_acquire);
        if ((seen & 1U) != 0) {
            // Pairs with leave()'s release store, as above.
            while (in_record_.load(std::memory_order_acquire) == seen) {
                cpu_relax();
            }
        }
        return hist_[old_index];
    }

    /// Any thread. The histogram being recorded into now (for live queries; see
    /// latency_histogram's Design for what a concurrent reader sees).
    [[nodiscard]] const latency_histogram& active_approx() const noexcept {
        // Pairs with sample()'s release store; the index alone is what we need.
        return hist_[active_.load(std::memory_order_acquire)];
    }

private:
    latency_histogram& enter() noexcept {
        // Only the writer stores in_record_: its own relaxed load is exact.
        const std::uint64_t s = in_record_.load(std::memory_order_relaxed);
        // Ordered before the load of active_ by light_fence() (pairs with heavy_fence()).
        in_record_.store(s + 1, std::memory_order_relaxed);
        light_fence();
        // Pairs with sample()'s release store: a recycled histogram's reset is visible.
        return hist_[active_.load(std::memory_order_acquire)];
    }

    void leave() noexcept {
        const std::uint64_t s = in_record_.load(std::memory_order_relaxed); // writer's own
        // Pairs with sample()'s acquire loads: this record's counts are visible there.
        in_record_.store(s + 1, std::memory_order_release);
    }

    latency_histogram hist_[2];
    alignas(false_sharing_range) std::atomic<std::uint64_t> in_record_{0};
    alignas(false_sharing_range) std::atomic<std::uint32_t> active_{0};
};

} // namespace admf
