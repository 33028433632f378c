// SPDX-License-Identifier: MIT
// Compile-time lists of event types: membership, index, and the filter by domain.
#pragma once

#include <cstddef>
#include <type_traits>

#include <admf/core/event_traits.hpp>

namespace admf::detail {

template <class... Ts>
struct type_list {
    static constexpr std::size_t size = sizeof...(Ts);
};

template <class T, class... Ts>
inline constexpr bool one_of_v = (std::is_same_v<T, Ts> || ...);

/// Position of T in Ts (T must occur).
template <class T, class... Ts>
consteval std::size_t index_of() {
    constexpr bool match[] = {std::is_same_v<T, Ts>..., false};
    std::size_t i = 0;
    while (i != sizeof...(Ts) && !match[i]) {
        ++i;
    }
    return i;
}

template <class List, class T>
struct push_back;
template <class... Ts, class T>
struct push_back<type_list<Ts...>, T> {
    using type = type_list<Ts..., T>;
};

/// The types of Es whose domain is D, in declaration order.
template <auto D, class Acc, class... Es>
struct filter_domain {
    using type = Acc;
};
template <auto D, class Acc, class E, class... Es>
struct filter_domain<D, Acc, E, Es...> {
    using next = std::conditional_t<event_domain_v<E> == D, typename push_back<Acc, E>::type, Acc>;
    using type = typename filter_domain<D, next, Es...>::type;
};
template <auto D, class... Es>
using domain_types_t = typename filter_domain<D, type_list<>, Es...>::type;

/// Rebinds a type_list's types into a template: apply_t<std::variant, type_list<A, B>>.
template <template <class...> class Tmpl, class List>
struct apply;
template <template <class...> class Tmpl, class... Ts>
struct apply<Tmpl, type_list<Ts...>> {
    using type = Tmpl<Ts...>;
};
template <template <class...> class Tmpl, class List>
using apply_t = typename apply<Tmpl, List>::type;

template <class T, class... Ts>
inline constexpr std::size_t count_v = (std::size_t{std::is_same_v<T, Ts>} + ... + 0);

/// True when no type occurs twice in Ts.
template <class... Ts>
inline constexpr bool distinct_v = ((count_v<Ts, Ts...> == 1) && ...);

} // namespace admf::detail
