// SPDX-License-Identifier: MIT
// The scaling_policy concept and what a policy decides from: one partition's interval sample.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace admf {

/// What the controller measured of one partition over one sampling interval.
struct partition_sample {
    std::size_t workers = 1;          ///< worker count during the interval
    std::uint64_t backlog = 0;        ///< events queued at the end of the interval
    double arrival_rate = 0;          ///< events published per second over the interval
    double service_rate = 0;          ///< events dispatched per second over the interval
    std::int64_t p99_queue_time = 0;  ///< interval p99 of publish -> dequeue, ns
};

/// The bounds a decision must respect: the partition's [min_workers, max_workers] and the
/// threads the global budget has left for it (added workers come out of it).
struct scaling_bounds {
    std::size_t min_workers = 1;
    std::size_t max_workers = 1;
    std::size_t spare_threads = 0;
};

/// A policy's answer for one interval: the worker count to run next, and why.
struct scaling_decision {
    std::size_t workers = 1;
    std::string_view reason = "hold";

    friend bool operator==(const scaling_decision&, const scaling_decision&) = default;
};

/// Per-partition memory of a policy between intervals (owned by the controller): how many
/// consecutive intervals asked for a change each way (hysteresis), and the intervals since
/// the last change (cooldown).
struct scaling_state {
    std::uint32_t up_streak = 0;
    std::uint32_t down_streak = 0;
    std::uint32_t since_change = ~std::uint32_t{0} >> 1; // "long ago": the first change may come at once
    /// Events/s one worker served in the last interval that ended with a backlog (so it
    /// was saturated); 0 before one was seen. latency_target_scaling does not scale down
    /// below what this says the arrival rate needs.
    double per_worker_capacity = 0;
};

/// How the adaptive controller sets a partition's worker count. `p.decide(sample, bounds,
/// state)` is a pure function of its arguments and `state` (which it updates), so it can
/// be tested table-driven on synthetic metrics.
/// Semantic requirements the compiler cannot check:
/// - the result lies in [bounds.min_workers, bounds.max_workers] and never adds more than
///   bounds.spare_threads workers;
/// - it changes the count only after the policy's hysteresis and cooldown are satisfied;
/// - it does not allocate or throw.
template <class P>
concept scaling_policy = requires(const P& p, const partition_sample& s, const scaling_bounds& b,
                                  scaling_state& st) {
    { p.decide(s, b, st) } noexcept -> std::same_as<scaling_decision>;
};

namespace detail {

/// The step shared by the policies: count the streak of the wanted direction, and change
/// by one worker once `hysteresis` consecutive intervals wanted it and `cooldown` intervals
/// passed since the last change, within the bounds.
[[nodiscard]] constexpr scaling_decision apply_scaling_step(int want, std::string_view why_up,
                                                            std::string_view why_down,
                                                            const partition_sample& s,
                                                            const scaling_bounds& b,
                                                            scaling_state& st,
                                                            std::uint32_t hysteresis,
                                                            std::uint32_t cooldown) noexcept {
    st.up_streak = want > 0 ? st.up_streak + 1 : 0;
    st.down_streak = want < 0 ? st.down_streak + 1 : 0;
    if (st.since_change < ~std::uint32_t{0} >> 1) {
        ++st.since_change;
    }
    // Out of bounds (bounds changed meanwhile): move inside at once.
    std::size_t workers = s.workers;
    if (workers < b.min_workers) {
        st.since_change = 0;
        return {b.min_workers, "below min_workers"};
    }
    if (workers > b.max_workers) {
        st.since_change = 0;
        return {b.max_workers, "above max_workers"};
    }
    if (st.since_change < cooldown) {
        return {workers, "cooldown"};
    }
    if (want > 0 && st.up_streak >= hysteresis) {
        if (workers == b.max_workers) {
            return {workers, "at max_workers"};
        }
        if (b.spare_threads == 0) {
            return {workers, "thread budget spent"};
        }
        st.up_streak = 0;
        st.since_change = 0;
        return {workers + 1, why_up};
    }
    if (want < 0 && st.down_streak >= hysteresis) {
        if (workers == b.min_workers) {
            return {workers, "at min_workers"};
        }
        st.down_streak = 0;
        st.since_change = 0;
        return {workers - 1, why_down};
    }
    return {workers, "hold"};
}

} // namespace detail

} // namespace admf
