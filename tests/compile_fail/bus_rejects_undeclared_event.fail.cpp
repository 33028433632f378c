// SPDX-License-Identifier: MIT
// Must not compile: publishing an event type the bus was not declared with (a valid event,
// just not in admf::bus<...>'s list).
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

void use(admf::bus<tick>& bus) {
    static_cast<void>(bus.publish(other{1}));
}
