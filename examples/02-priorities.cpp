// SPDX-License-Identifier: MIT
// 02: priorities within a partition. weighted_priority (deficit round robin, 8:4:1 by
// default) takes urgent events first without starving routine ones; strict_priority is the
// seed's rule (high always first, low may starve); no_priority (the default) is plain FIFO.
#include <admf/bus.hpp>

#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

struct risk_check { std::uint64_t id; bool cancel; };

template <> struct admf::event_traits<risk_check> {
    static constexpr admf::domain domain = admf::domain::signal;
    static constexpr std::string_view name = "SIGNAL.RISK_CHECK";
    static constexpr admf::priority priority = admf::priority::low; // routine by default
};

struct engine_traits : admf::default_bus_traits {
    using priority_policy = admf::weighted_priority;
};

int main() {
    admf::bus_config cfg;
    cfg[admf::domain::signal].weights = {1, 4, 8}; // low, medium, high (the default)
    admf::basic_bus<engine_traits, risk_check> bus{cfg};
    std::vector<risk_check> order; // one worker: no lock needed
    auto sub = bus.subscribe<risk_check>([&](const risk_check& r) { order.push_back(r); });

    // Queued before start(), so the worker sees all of them at once: 1,000 routine checks
    // and then 10 cancels, published at high priority.
    for (std::uint64_t i = 0; i != 1000; ++i) {
        if (bus.publish(risk_check{i, false}) != admf::publish_result::accepted) return 1;
    }
    for (std::uint64_t i = 0; i != 10; ++i) {
        if (bus.publish(risk_check{1000 + i, true}, admf::priority::high) !=
            admf::publish_result::accepted) return 1;
    }
    bus.start();
    bus.flush();
    bus.stop();

    // Each round high may take 8, medium 4, low 1: 8 cancels, 1 routine check, 2 cancels.
    std::size_t last_cancel = 0;
    for (std::size_t i = 0; i != order.size(); ++i) if (order[i].cancel) last_cancel = i + 1;
    const auto s = bus.stats().partition(admf::domain::signal);
    std::printf("all 10 cancels handled within the first %zu of %zu\n", last_cancel, order.size());
    std::printf("delivered low=%llu high=%llu\n",
                static_cast<unsigned long long>(s.level(admf::priority::low).delivered),
                static_cast<unsigned long long>(s.level(admf::priority::high).delivered));
}
