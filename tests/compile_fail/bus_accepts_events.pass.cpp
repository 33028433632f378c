// SPDX-License-Identifier: MIT
// Positive control for the bus cases: an event with a domain and a name, published on a bus
// declared with it, and handlers of both accepted shapes (plus a domain-wide one) compile.
// Each bus_rejects_* file differs from this in the one mistake it tests.
#include <admf/bus.hpp>

#include <cstdint>
#include <string_view>

struct tick {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.TICK";
    std::uint64_t seq;
};

void use(admf::bus<tick>& bus, admf::sync_bus<tick>& sync) {
    auto a = bus.subscribe<tick>([](const tick&) {});
    auto b = bus.subscribe<tick>([](const tick&, const admf::event_info&) {});
    auto c = bus.subscribe<admf::domain::market_data>([](const auto&) {});
    auto d = sync.subscribe<tick>([](const tick&) {});
    static_cast<void>(bus.publish(tick{1}));
    static_cast<void>(sync.publish(tick{1}, admf::priority::high));
}
