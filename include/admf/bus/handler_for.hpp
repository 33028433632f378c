// SPDX-License-Identifier: MIT
// The handler_for concept: the callables subscribe<E>() accepts.
#pragma once

#include <concepts>

#include <admf/core/event_info.hpp>

namespace admf {

/// A handler of events E: callable as `void(const E&)` or `void(const E&, const
/// admf::event_info&)` (the second form is preferred where both work). Semantic
/// requirements: it may run on any worker thread of the bus (never on two at once for one
/// lane); it may publish, subscribe and unsubscribe; it should not block for long, since
/// its lanes wait behind it. An exception it throws is caught, counted and reported.
template <class F, class E>
concept handler_for = std::invocable<F&, const E&, const event_info&> || std::invocable<F&, const E&>;

namespace detail {
template <class E, class F>
void invoke_handler(F& f, const E& e, const event_info& info) {
    if constexpr (std::invocable<F&, const E&, const event_info&>) {
        f(e, info);
    } else {
        f(e);
    }
}
} // namespace detail

} // namespace admf
