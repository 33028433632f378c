// SPDX-License-Identifier: MIT
// The assertion every clean scenario makes (ring, batch and wait scenarios): explore finds
// no failing schedule, and in rel the <= 2-preemption search finishes (under TSan and ASan,
// with 10x smaller limits, it is reported, not required).
#pragma once

#include <string>

#include "catch.hpp"
#include "explore.hpp"
#include "seed.hpp"

namespace admf_test::dsched {

template <class State>
void require_clean(const std::string& name) {
    const auto r = explore<State>(name);
    INFO(r.summary());
    REQUIRE_FALSE(r.found.has_value());
    if (!r.replayed && current_stress_scale() == stress_scale::rel) {
        REQUIRE(r.exhaustive_complete);
    }
}

} // namespace admf_test::dsched
