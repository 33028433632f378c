// SPDX-License-Identifier: MIT
// The ring concept every partition queue models, and the vocabulary rings share.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace admf {

/// How many threads may use one side of a ring at the same time.
enum class producers { single, many };
enum class consumers { single, many };

/// Test-only: the sequence number a ring starts counting from, so a test can cross the
/// 2^64 wrap-around in a few million operations. Production code never needs it.
struct initial_sequence {
    std::uint64_t value = 0;
};

namespace detail {
/// Callable archetype used only to spell the consume() requirement.
template <class T>
struct consume_archetype {
    void operator()(T&) const noexcept {}
};
} // namespace detail

/// A bounded queue of T.
/// Semantic requirements the compiler cannot check:
/// - try_push/try_emplace/try_push_n only from threads allowed by R::producer_mode,
///   try_pop/try_pop_n/consume only from threads allowed by R::consumer_mode;
/// - no try_ operation blocks or allocates; a full ring makes pushes fail, an empty one pops;
/// - an element pushed by a thread is popped at most once, and elements of one producer
///   leave in the order it pushed them; a successful push happens-before its pop;
/// - every element constructed in the ring is destroyed exactly once, by pop or by ~R().
template <class R, class T>
concept ring_for =
    std::same_as<typename R::value_type, T> && std::constructible_from<R, std::size_t> &&
    requires(R& r, const R& cr, T& out, T&& in, T* ptr, std::size_t n,
             detail::consume_archetype<T> f) {
        { R::producer_mode } -> std::convertible_to<producers>;
        { R::consumer_mode } -> std::convertible_to<consumers>;
        { r.try_push(static_cast<T&&>(in)) } -> std::same_as<bool>;
        { r.try_emplace(static_cast<T&&>(in)) } -> std::same_as<bool>;
        { r.try_pop(out) } -> std::same_as<bool>;
        { r.try_push_n(ptr, n) } -> std::same_as<std::size_t>;
        { r.try_pop_n(ptr, n) } -> std::same_as<std::size_t>;
        { r.consume(f, n) } -> std::same_as<std::size_t>;
        { cr.size_approx() } -> std::same_as<std::size_t>;
        { cr.capacity() } -> std::same_as<std::size_t>;
    };

} // namespace admf
