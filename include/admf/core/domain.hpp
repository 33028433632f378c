// SPDX-License-Identifier: MIT
// admf::domain, the seed's five partitions, and domain_traits for user-defined domain sets.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>

namespace admf {

/// The default domain set: one bus partition each (the seed's partitions).
enum class domain : unsigned char { market_data, signal, order, fill, system };

/// Describes a domain set to the bus. Specialize it for your own enum to use your own
/// partitions: `count` enumerators numbered 0..count-1, a printable name for each, and which
/// of them are critical (hold orders or fills: a bus refuses to configure them with
/// backpressure::drop_oldest, so their events are never dropped to make room).
template <class Domain>
struct domain_traits;

template <>
struct domain_traits<domain> {
    static constexpr std::size_t count = 5;
    static constexpr std::array<std::string_view, count> names = {"market_data", "signal",
                                                                  "order", "fill", "system"};
    static constexpr bool critical(domain d) noexcept {
        return d == domain::order || d == domain::fill;
    }
};

/// An enum usable as a bus's domain set: it has a complete domain_traits specialization.
/// Semantic requirement: enumerators are 0..count-1 with no gaps.
template <class D>
concept domain_set = std::is_enum_v<D> && requires(D d) {
    { domain_traits<D>::count } -> std::convertible_to<std::size_t>;
    { domain_traits<D>::names[0] } -> std::convertible_to<std::string_view>;
    { domain_traits<D>::critical(d) } -> std::same_as<bool>;
};

static_assert(domain_set<domain>);

/// The position of `d` in its set: the index of its partition.
template <domain_set D>
[[nodiscard]] constexpr std::size_t domain_index(D d) noexcept {
    return static_cast<std::size_t>(d);
}

/// The printable name of `d` ("market_data").
template <domain_set D>
[[nodiscard]] constexpr std::string_view domain_name(D d) noexcept {
    return domain_traits<D>::names[domain_index(d)];
}

} // namespace admf
