// SPDX-License-Identifier: MIT
// admf::threshold_scaling: the seed's rule, scale on backlog and service rate.
#pragma once

#include <cstdint>

#include <admf/control/scaling_policy.hpp>

namespace admf {

/// The seed's AdaptiveEventBus rule, every threshold configurable: a worker more when the
/// backlog is above `up_backlog` while the partition serves fewer than `up_below_rate`
/// events/s (it is behind and not merely busy), a worker less when the backlog is below
/// `down_backlog`. A change needs `hysteresis` consecutive intervals asking for it and
/// `cooldown` intervals since the last change. Cost: a few comparisons per interval.
struct threshold_scaling {
    std::uint64_t up_backlog = 1000;
    double up_below_rate = 5000;
    std::uint64_t down_backlog = 10;
    std::uint32_t hysteresis = 2;
    std::uint32_t cooldown = 3;

    [[nodiscard]] scaling_decision decide(const partition_sample& s, const scaling_bounds& b,
                                          scaling_state& st) const noexcept {
        int want = 0;
        if (s.backlog > up_backlog && s.service_rate < up_below_rate) {
            want = 1;
        } else if (s.backlog < down_backlog) {
            want = -1;
        }
        return detail::apply_scaling_step(want, "backlog above up_backlog at a low service rate",
                                          "backlog below down_backlog", s, b, st, hysteresis,
                                          cooldown);
    }
};

static_assert(scaling_policy<threshold_scaling>);

} // namespace admf
