// SPDX-License-Identifier: MIT
// The scaling policies' decisions (include/admf/control/) as pure functions, table-driven on
// synthetic interval samples: thresholds, hysteresis, cooldown, bounds and the thread budget.
#include <admf/control/latency_target_scaling.hpp>
#include <admf/control/threshold_scaling.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "catch.hpp"

namespace {

/// One interval of a scenario: what was measured, the bounds, and the expected decision.
struct step {
    std::uint64_t backlog;
    double service_rate;
    std::int64_t p99;
    std::size_t expect_workers;
    std::string_view expect_reason;
};

/// Runs a scenario from `workers`, applying each decision to the next sample.
template <class Policy>
void run(const Policy& policy, std::size_t workers, const admf::scaling_bounds& bounds,
         const std::vector<step>& steps) {
    admf::scaling_state state;
    for (std::size_t i = 0; i != steps.size(); ++i) {
        const step& s = steps[i];
        const admf::partition_sample sample{workers, s.backlog, s.service_rate, s.service_rate, s.p99};
        const auto d = policy.decide(sample, bounds, state);
        INFO("interval " << i << ": workers " << workers << " -> " << d.workers << " (" << d.reason << ")");
        REQUIRE(d.workers == s.expect_workers);
        REQUIRE(d.reason == s.expect_reason);
        workers = d.workers;
    }
}

constexpr std::string_view up = "backlog above up_backlog at a low service rate";
constexpr std::string_view down = "backlog below down_backlog";

} // namespace

TEST_CASE("threshold_scaling: the seed's rule with hysteresis 2 and cooldown 3", "[control]") {
    const admf::threshold_scaling policy{}; // 1000 / 5000 / 10, hysteresis 2, cooldown 3
    run(policy, 1, {.min_workers = 1, .max_workers = 4, .spare_threads = 8},
        {
            {5000, 1000, 0, 1, "hold"},   // behind, first interval: hysteresis
            {5000, 1000, 0, 2, up},       // second in a row: up
            {5000, 1000, 0, 2, "cooldown"},
            {5000, 1000, 0, 2, "cooldown"},
            {5000, 1000, 0, 3, up},       // cooldown over, the streak held throughout
            {5000, 9000, 0, 3, "cooldown"}, // fast enough now: would hold anyway
            {500, 9000, 0, 3, "cooldown"},
            {500, 9000, 0, 3, "hold"},    // between the thresholds
            {5, 9000, 0, 3, "hold"},      // nearly empty, first interval
            {5, 9000, 0, 2, down},
        });
}

TEST_CASE("threshold_scaling: a busy partition that keeps up is not scaled up", "[control]") {
    run(admf::threshold_scaling{}, 1, {.min_workers = 1, .max_workers = 4, .spare_threads = 8},
        {
            {5000, 50'000, 0, 1, "hold"}, // backlog high but served fast: not behind
            {5000, 50'000, 0, 1, "hold"},
            {5000, 50'000, 0, 1, "hold"},
        });
}

TEST_CASE("threshold_scaling: bounds and the thread budget cap every change", "[control]") {
    const admf::threshold_scaling policy{.hysteresis = 1, .cooldown = 0};
    run(policy, 2, {.min_workers = 1, .max_workers = 2, .spare_threads = 8},
        {{5000, 0, 0, 2, "at max_workers"}});
    run(policy, 1, {.min_workers = 1, .max_workers = 4, .spare_threads = 0},
        {{5000, 0, 0, 1, "thread budget spent"}});
    run(policy, 1, {.min_workers = 1, .max_workers = 4, .spare_threads = 8},
        {{0, 0, 0, 1, "at min_workers"}});
    // Bounds changed under a running partition: moved inside at once, hysteresis or not.
    run(admf::threshold_scaling{}, 6, {.min_workers = 1, .max_workers = 4, .spare_threads = 8},
        {{500, 0, 0, 4, "above max_workers"}});
    run(admf::threshold_scaling{}, 1, {.min_workers = 2, .max_workers = 4, .spare_threads = 0},
        {{500, 0, 0, 2, "below min_workers"}});
}

TEST_CASE("threshold_scaling: every threshold is configurable", "[control]") {
    const admf::threshold_scaling policy{.up_backlog = 10, .up_below_rate = 1e9, .down_backlog = 2,
                                         .hysteresis = 1, .cooldown = 0};
    run(policy, 1, {.min_workers = 1, .max_workers = 3, .spare_threads = 8},
        {
            {11, 1e6, 0, 2, up},
            {11, 1e6, 0, 3, up},
            {1, 1e6, 0, 2, down},
            {5, 1e6, 0, 2, "hold"},
        });
}

TEST_CASE("threshold_scaling: a streak broken by one interval starts over", "[control]") {
    run(admf::threshold_scaling{.hysteresis = 3, .cooldown = 0}, 1,
        {.min_workers = 1, .max_workers = 4, .spare_threads = 8},
        {
            {5000, 0, 0, 1, "hold"},
            {5000, 0, 0, 1, "hold"},
            {500, 0, 0, 1, "hold"}, // in between: both streaks reset
            {5000, 0, 0, 1, "hold"},
            {5000, 0, 0, 1, "hold"},
            {5000, 0, 0, 2, up},
        });
}

TEST_CASE("latency_target_scaling: up above the target, down well under it with little "
          "backlog, hold between",
          "[control]") {
    constexpr std::string_view lat_up = "p99 queue time above target";
    constexpr std::string_view lat_down = "p99 queue time well under target, little backlog";
    const admf::latency_target_scaling policy{.target_p99 = 100'000, .down_fraction = 0.25,
                                              .down_backlog = 100, .hysteresis = 2, .cooldown = 2};
    run(policy, 1, {.min_workers = 1, .max_workers = 4, .spare_threads = 8},
        {
            {0, 0, 150'000, 1, "hold"},
            {0, 0, 150'000, 2, lat_up},
            {0, 0, 150'000, 2, "cooldown"},
            {0, 0, 150'000, 3, lat_up}, // the streak kept counting through the cooldown
            {0, 0, 60'000, 3, "cooldown"},
            {0, 0, 60'000, 3, "hold"},  // under the target but not well under: hold
            {0, 0, 10'000, 3, "hold"},
            {0, 0, 10'000, 2, lat_down},
            {500, 0, 10'000, 2, "cooldown"},
            {500, 0, 10'000, 2, "hold"}, // quick but not empty: hold
        });
}

TEST_CASE("latency_target_scaling: does not scale down into an arrival rate one worker fewer "
          "was measured too slow for",
          "[control]") {
    const admf::latency_target_scaling policy{.target_p99 = 100'000, .down_fraction = 0.25,
                                              .down_backlog = 100, .down_headroom = 0.8,
                                              .hysteresis = 1, .cooldown = 0};
    const admf::scaling_bounds bounds{.min_workers = 1, .max_workers = 4, .spare_threads = 8};
    admf::scaling_state state;
    const auto decide = [&](std::size_t workers, std::uint64_t backlog, double arrivals,
                            double served, std::int64_t p99) {
        return policy.decide(admf::partition_sample{workers, backlog, arrivals, served, p99},
                             bounds, state);
    };
    // Saturated at 2 workers serving 20 k/s in all: 10 k/s per worker learned; up.
    CHECK(decide(2, 5000, 25'000, 20'000, 900'000) == admf::scaling_decision{3, "p99 queue time above target"});
    CHECK(state.per_worker_capacity == Approx(10'000));
    // At 3 workers, quick and empty, 25 k/s arriving: 2 workers would serve 20 k/s, hold.
    CHECK(decide(3, 0, 25'000, 25'000, 5'000) ==
          admf::scaling_decision{3, "one worker fewer could not keep up"});
    // 15 k/s arriving: under 0.8 x 20 k/s, so one worker fewer is enough: down.
    CHECK(decide(3, 0, 15'000, 15'000, 5'000) ==
          admf::scaling_decision{2, "p99 queue time well under target, little backlog"});
    // A burst at an interval's end that reads low (backlog, 2 k/s served) only decays it.
    decide(2, 500, 2'000, 2'000, 50'000);
    CHECK(state.per_worker_capacity == Approx(9'000));
    // Idle: nothing arrives, down to min_workers.
    CHECK(decide(2, 0, 0, 0, 0).workers == 1);
}
