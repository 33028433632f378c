// SPDX-License-Identifier: MIT
// The handler_for and batch_handler_for concepts: the callables subscribe<E>() accepts.
#pragma once

#include <concepts>
#include <span>

#include <admf/core/event_info.hpp>

namespace admf {

/// A handler of events E: callable as `void(const E&)` or `void(const E&, const
/// admf::event_info&)` (the second form is preferred where both work). Semantic
/// requirements: it may run on any worker thread of the bus (never on two at once for one
/// lane); it may publish, subscribe and unsubscribe; it should not block for long, since
/// its lanes wait behind it. An exception it throws is caught, counted and reported.
template <class F, class E>
concept handler_for = std::invocable<F&, const E&, const event_info&> || std::invocable<F&, const E&>;

/// A batch handler of events E: callable as `void(std::span<const E>)`, with up to
/// max_batch events of one lane in publish order (the traits' batching_policy decides how
/// they are gathered). The span is valid only during the call. Same semantic requirements
/// as handler_for; an exception counts once for the whole span.
template <class F, class E>
concept batch_handler_for = std::invocable<F&, std::span<const E>> && !handler_for<F, E>;

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
