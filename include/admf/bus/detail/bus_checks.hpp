// SPDX-License-Identifier: MIT
// Compile-time checks of a bus's event list, with messages that say what to fix.
#pragma once

#include <concepts>
#include <type_traits>

#include <admf/bus/detail/type_list.hpp>
#include <admf/bus/handler_for.hpp>
#include <admf/core/domain.hpp>
#include <admf/core/event_traits.hpp>

namespace admf::detail {

template <class... Es>
struct first_type;
template <class E, class... Es>
struct first_type<E, Es...> {
    using type = E;
};

/// The domain set of a bus: that of its first event type.
template <class... Events>
using bus_domain_t = event_domain_t<typename first_type<Events...>::type>;

template <class E>
consteval bool event_ok() {
    static_assert(!std::is_const_v<E> && !std::is_volatile_v<E> && !std::is_reference_v<E>,
                  "admf: list event types without const, volatile or references");
    static_assert(event_domain_v<E> == event_domain_v<E>); // names the fix if E has no domain
    static_assert(!event_name_v<E>.empty(), "admf: an event type's name must not be empty");
    static_assert(std::is_nothrow_copy_constructible_v<E> && std::is_nothrow_destructible_v<E>,
                  "admf: event types must be nothrow copy-constructible and destructible "
                  "(they are copied into ring slots, where a constructor cannot fail)");
    return true;
}

template <class... Events>
consteval bool bus_events_ok() {
    static_assert(sizeof...(Events) != 0, "admf: a bus needs at least one event type");
    static_assert((event_ok<Events>() && ...));
    static_assert(distinct_v<Events...>, "admf: an event type is listed twice");
    using D = bus_domain_t<Events...>;
    static_assert(domain_set<D>,
                  "admf: the events' domain enum has no admf::domain_traits specialization");
    static_assert((std::same_as<event_domain_t<Events>, D> && ...),
                  "admf: all event types of one bus must use the same domain enum");
    return true;
}

/// Fails to compile, naming the fix, when E is not one of the bus's event types.
template <class E, class... Events>
consteval void check_declared() {
    static_assert(one_of_v<E, Events...>,
                  "admf: this event type is not one of the bus's event types: add it to "
                  "admf::bus<...> (or admf::sync_bus<...>)");
}

template <class F, class... Es>
consteval bool handles_all(type_list<Es...>) {
    return (handler_for<F, Es> && ...);
}

} // namespace admf::detail
