// SPDX-License-Identifier: MIT
// admf::event_traits: how an event type declares its domain, name, key and priority.
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include <admf/core/domain.hpp>
#include <admf/core/priority.hpp>

namespace admf {

/// Specialize for each event type E (non-intrusive), with
///   static constexpr <domain enum> domain;              required: the partition
///   static constexpr std::string_view name;             required: stable name, "ORDER.NEW"
///   static std::uint64_t key(const E&) noexcept;        optional: lane affinity
///   static constexpr admf::priority priority;           optional: default medium
/// or leave it unspecialized and give E the same members as statics (intrusive).
/// The bus reads these only through event_domain_v, event_name_v, event_priority_v and
/// event_key, which look in event_traits<E> first, then in E.
template <class E>
struct event_traits {};

namespace detail {
template <class E>
using traits_t = event_traits<std::remove_cvref_t<E>>;

template <class E>
concept traits_have_domain = requires { traits_t<E>::domain; };
template <class E>
concept type_has_domain = requires { std::remove_cvref_t<E>::domain; };
template <class E>
concept traits_have_name = requires { std::string_view{traits_t<E>::name}; };
template <class E>
concept type_has_name = requires { std::string_view{std::remove_cvref_t<E>::name}; };
template <class E>
concept traits_have_key = requires(const std::remove_cvref_t<E>& e) {
    { traits_t<E>::key(e) } -> std::convertible_to<std::uint64_t>;
};
template <class E>
concept type_has_key = requires(const std::remove_cvref_t<E>& e) {
    { std::remove_cvref_t<E>::key(e) } -> std::convertible_to<std::uint64_t>;
};
template <class E>
concept traits_have_priority = requires {
    { traits_t<E>::priority } -> std::convertible_to<priority>;
};
template <class E>
concept type_has_priority = requires {
    { std::remove_cvref_t<E>::priority } -> std::convertible_to<priority>;
};

template <class E>
consteval auto find_domain() {
    if constexpr (traits_have_domain<E>) {
        return traits_t<E>::domain;
    } else if constexpr (type_has_domain<E>) {
        return std::remove_cvref_t<E>::domain;
    } else {
        static_assert(traits_have_domain<E>,
                      "admf: this event type has no domain. Specialize admf::event_traits<E> "
                      "with `static constexpr admf::domain domain = ...;` (or give E that "
                      "static member).");
        return domain::system;
    }
}

template <class E>
consteval std::string_view find_name() {
    if constexpr (traits_have_name<E>) {
        return traits_t<E>::name;
    } else if constexpr (type_has_name<E>) {
        return std::remove_cvref_t<E>::name;
    } else {
        static_assert(traits_have_name<E>,
                      "admf: this event type has no name. Specialize admf::event_traits<E> "
                      "with `static constexpr std::string_view name = \"DOMAIN.TYPE\";` (or "
                      "give E that static member).");
        return {};
    }
}

template <class E>
consteval priority find_priority() {
    if constexpr (traits_have_priority<E>) {
        return traits_t<E>::priority;
    } else if constexpr (type_has_priority<E>) {
        return std::remove_cvref_t<E>::priority;
    } else {
        return priority::medium;
    }
}
} // namespace detail

/// An event type: it declares a domain (of some domain set) and a name.
template <class E>
concept event = std::is_object_v<E> && (detail::traits_have_domain<E> || detail::type_has_domain<E>) &&
                (detail::traits_have_name<E> || detail::type_has_name<E>);

/// E's domain (a compile error naming the fix if E declares none).
template <class E>
inline constexpr auto event_domain_v = detail::find_domain<E>();

/// E's domain set: the enum type of its domain.
template <class E>
using event_domain_t = std::remove_cv_t<decltype(event_domain_v<E>)>;

/// E's stable name, e.g. "ORDER.NEW".
template <class E>
inline constexpr std::string_view event_name_v = detail::find_name<E>();

/// E's default priority (medium unless declared).
template <class E>
inline constexpr priority event_priority_v = detail::find_priority<E>();

/// Whether E declares a key (lane affinity).
template <class E>
inline constexpr bool event_has_key_v = detail::traits_have_key<E> || detail::type_has_key<E>;

/// E's key: the declared key, or 0 for types without one (they all go to lane 0).
template <class E>
[[nodiscard]] constexpr std::uint64_t event_key(const E& e) noexcept {
    if constexpr (detail::traits_have_key<E>) {
        return static_cast<std::uint64_t>(detail::traits_t<E>::key(e));
    } else if constexpr (detail::type_has_key<E>) {
        return static_cast<std::uint64_t>(E::key(e));
    } else {
        return 0;
    }
}

} // namespace admf
