// SPDX-License-Identifier: MIT
// admf::conflation_key: what a conflating_ring conflates on, and its hash.
#pragma once

#include <cstdint>

namespace admf {

/// What a conflating_ring conflates on: values with equal keys replace each other. `type`
/// keeps event types apart, so one ring can carry several without merging key 7 of one
/// type with key 7 of another.
struct conflation_key {
    std::uint64_t value = 0;
    std::uint32_t type = 0;
    friend bool operator==(const conflation_key&, const conflation_key&) = default;
};

namespace detail {
/// The splitmix64 finaliser of the key's value mixed with its type.
[[nodiscard]] constexpr std::uint64_t conflation_hash(conflation_key k) noexcept {
    std::uint64_t z = k.value ^ (std::uint64_t{k.type} * 0x9e37'79b9'7f4a'7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11ebULL;
    return z ^ (z >> 31);
}
} // namespace detail

} // namespace admf
