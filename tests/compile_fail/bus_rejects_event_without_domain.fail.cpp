// SPDX-License-Identifier: MIT
// Must not compile: an event type that declares a name but no domain cannot be on a bus
// (the diagnostic says "this event type has no domain" and how to declare one).
#include <admf/bus.hpp>

#include <cstdint>
#include <string_view>

struct tick {
    static constexpr std::string_view name = "MD.TICK";
    std::uint64_t seq;
};

void use(admf::bus<tick>& bus) {
    static_cast<void>(bus.publish(tick{1}));
}
