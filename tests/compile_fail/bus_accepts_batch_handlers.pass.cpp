// SPDX-License-Identifier: MIT
// Must compile: batch handlers void(std::span<const E>) on bus and sync_bus, with both
// batching policies (the control of bus_rejects_bad_batching_policy).
#include <admf/bus.hpp>

#include <cstdint>
#include <span>
#include <string_view>

struct tick {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.TICK";
    std::uint64_t seq;
};

struct one_at_a_time : admf::default_bus_traits {
    using batching_policy = admf::no_batching;
};

void use(admf::bus<tick>& bus, admf::sync_bus<tick>& backtest, admf::basic_bus<one_at_a_time, tick>& single) {
    auto a = bus.subscribe<tick>([](std::span<const tick>) {});
    auto b = backtest.subscribe<tick>([](std::span<const tick>) {});
    auto c = single.subscribe<tick>([](std::span<const tick>) {});
}
