// SPDX-License-Identifier: MIT
// Must not compile: the traits name a batching policy without `gathers` and `limits`.
#include <admf/bus.hpp>

#include <cstdint>
#include <string_view>

struct tick {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.TICK";
    std::uint64_t seq;
};

struct not_a_policy {};

struct bad_traits : admf::default_bus_traits {
    using batching_policy = not_a_policy;
};

admf::basic_bus<bad_traits, tick>* make() { return new admf::basic_bus<bad_traits, tick>{}; }
