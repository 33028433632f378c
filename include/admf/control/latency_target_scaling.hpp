// SPDX-License-Identifier: MIT
// admf::latency_target_scaling: keep a partition's interval p99 queue latency under a target.
#pragma once

#include <algorithm>
#include <cstdint>

#include <admf/control/scaling_policy.hpp>

namespace admf {

/// Scales on what users feel: a worker more while the interval p99 queue latency (publish ->
/// dequeue) is above `target_p99` ns, a worker less while it is below `target_p99 *
/// down_fraction` and the backlog is below `down_backlog` (a partition that is quick only
/// because it is empty) — unless one worker fewer could not serve the arrival rate: the
/// policy remembers what one worker served in intervals that ended with a backlog over
/// `down_backlog` (scaling_state::per_worker_capacity, a decaying maximum) and holds while arrivals exceed
/// `down_headroom` of what workers - 1 would serve. Without that, a load between two
/// counts makes the count oscillate (down into overload, up again). Between the two it
/// holds. Hysteresis and cooldown as threshold_scaling. Cost: a few comparisons per
/// interval (the p99 comes from the bus's histograms).
struct latency_target_scaling {
    std::int64_t target_p99 = 100'000; // 100 µs
    double down_fraction = 0.25;
    std::uint64_t down_backlog = 100;
    double down_headroom = 0.8;
    std::uint32_t hysteresis = 2;
    std::uint32_t cooldown = 3;

    [[nodiscard]] scaling_decision decide(const partition_sample& s, const scaling_bounds& b,
                                          scaling_state& st) const noexcept {
        if (s.backlog > down_backlog && s.workers != 0 && s.service_rate > 0) {
            // Saturated: what one worker serves. A burst at an interval's end can make it
            // read low, so an older, higher figure only decays (10% per such interval).
            st.per_worker_capacity = std::max(s.service_rate / static_cast<double>(s.workers),
                                              st.per_worker_capacity * 0.9);
        }
        int want = 0;
        if (s.p99_queue_time > target_p99) {
            want = 1;
        } else if (static_cast<double>(s.p99_queue_time) < static_cast<double>(target_p99) * down_fraction &&
                   s.backlog < down_backlog) {
            const double fewer = st.per_worker_capacity * static_cast<double>(s.workers - 1);
            if (st.per_worker_capacity == 0 || s.arrival_rate < fewer * down_headroom) {
                want = -1;
            } else {
                // Quick, but one worker fewer was measured too slow for these arrivals.
                auto d = detail::apply_scaling_step(0, "", "", s, b, st, hysteresis, cooldown);
                if (d.reason == "hold") {
                    d.reason = "one worker fewer could not keep up";
                }
                return d;
            }
        }
        return detail::apply_scaling_step(want, "p99 queue time above target",
                                          "p99 queue time well under target, little backlog", s,
                                          b, st, hysteresis, cooldown);
    }
};

static_assert(scaling_policy<latency_target_scaling>);

} // namespace admf
