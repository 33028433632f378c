// SPDX-License-Identifier: MIT
// Must not compile: a handler that takes the wrong event type is not callable as
// void(const E&) or void(const E&, const admf::event_info&).
#include <admf/bus.hpp>

#include <cstdint>
#include <string_view>

struct tick {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.TICK";
    std::uint64_t seq;
};
struct other {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.OTHER";
    std::uint64_t seq;
};

void use(admf::bus<tick, other>& bus) {
    auto s = bus.subscribe<tick>([](const other&) {});
}
