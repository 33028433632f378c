// SPDX-License-Identifier: MIT
// admf::latency_target_scaling: keep a partition's interval p99 queue latency under a target.
#pragma once

#include <cstdint>

#include <admf/control/scaling_policy.hpp>

namespace admf {

/// Scales on what users feel: a worker more while the interval p99 queue latency (publish ->
/// dequeue) is above `target_p99` ns, a worker less while it is below `target_p99 *
/// down_fraction` and the backlog is below `down_backlog` (a partition that is quick only
/// because it is empty). Between the two it holds, so the count does not oscillate around
/// the target. Hysteresis and cooldown as threshold_scaling. Cost: a few comparisons per
/// interval (the p99 comes from the bus's histograms).
struct latency_target_scaling {
    std::int64_t target_p99 = 100'000; // 100 µs
    double down_fraction = 0.25;
    std::uint64_t down_backlog = 100;
    std::uint32_t hysteresis = 2;
    std::uint32_t cooldown = 3;

    [[nodiscard]] scaling_decision decide(const partition_sample& s, const scaling_bounds& b,
                                          scaling_state& st) const noexcept {
        int want = 0;
        if (s.p99_queue_time > target_p99) {
            want = 1;
        } else if (static_cast<double>(s.p99_queue_time) < static_cast<double>(target_p99) * down_fraction &&
                   s.backlog < down_backlog) {
            want = -1;
        }
        return detail::apply_scaling_step(want, "p99 queue time above target",
                                          "p99 queue time well under target, little backlog", s,
                                          b, st, hysteresis, cooldown);
    }
};

static_assert(scaling_policy<latency_target_scaling>);

} // namespace admf
