// SPDX-License-Identifier: MIT
// Test-only: the ring types under test, one "kind" struct each, and the type lists the
// TEMPLATE_LIST_TEST_CASEs run over. A kind names its ring template and states what that
// ring documents (capacity rounding, emplace and exception behaviour), so one test body
// checks every ring against its own documentation.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/mpsc_ring.hpp>
#include <admf/ring/ring_for.hpp>
#include <admf/ring/spsc_ring.hpp>
#if defined(ADMF_TEST_HAVE_BOOST)
#include <admf/ring/boost_spsc_ring.hpp>
#endif
#if defined(ADMF_TEST_HAVE_MOODYCAMEL)
#include <admf/ring/moodycamel_ring.hpp>
#endif

namespace admf_test {

/// How try_emplace builds the element, as each ring documents it.
enum class emplace_style {
    in_place,                   // one constructor call in the slot, no temporary
    in_place_if_nothrow,        // in place when the constructor is noexcept, else temp + move
    temporary_copied,           // builds a temporary and copies it in (Boost 1.74)
    temporary_moved,            // builds a temporary and moves it in (moodycamel)
};

struct spsc_kind {
    static constexpr const char* name = "spsc_ring";
    template <class T>
    using ring = admf::spsc_ring<T>;
    template <class T, template <class> class Atomic>
    using ring_with_atomic = admf::spsc_ring<T, Atomic>;
    static constexpr bool many_producers = false;
    static constexpr bool many_consumers = false;
    static constexpr bool move_only = true;        // accepts std::unique_ptr
    static constexpr bool has_initial_sequence = true;
    static constexpr emplace_style emplace = emplace_style::in_place;
    /// consume(): when f throws, does the element it threw on stay queued?
    static constexpr bool thrown_on_stays_queued = false;
    static std::size_t expected_capacity(std::size_t requested) { return std::bit_ceil(requested); }
};

/// spsc_ring forced to publish through its tail index (the default for elements over 56
/// bytes), so every test covers both of its ready signals whatever the element size.
struct spsc_tail_index_kind : spsc_kind {
    static constexpr const char* name = "spsc_ring<tail_index>";
    template <class T>
    using ring = admf::spsc_ring<T, std::atomic, admf::spsc_ready_signal::tail_index>;
    template <class T, template <class> class Atomic>
    using ring_with_atomic = admf::spsc_ring<T, Atomic, admf::spsc_ready_signal::tail_index>;
};

struct mpmc_kind {
    static constexpr const char* name = "mpmc_ring";
    template <class T>
    using ring = admf::mpmc_ring<T>;
    template <class T, template <class> class Atomic>
    using ring_with_atomic = admf::mpmc_ring<T, Atomic>;
    static constexpr bool many_producers = true;
    static constexpr bool many_consumers = true;
    static constexpr bool move_only = true;
    static constexpr bool has_initial_sequence = true;
    static constexpr emplace_style emplace = emplace_style::in_place_if_nothrow;
    static constexpr bool thrown_on_stays_queued = false;
    static std::size_t expected_capacity(std::size_t requested) {
        return std::bit_ceil(std::max<std::size_t>(requested, 2));
    }
};

/// The bus's multi-producer lane ring: many producers, one consumer.
struct mpsc_kind {
    static constexpr const char* name = "mpsc_ring";
    template <class T>
    using ring = admf::mpsc_ring<T>;
    template <class T, template <class> class Atomic>
    using ring_with_atomic = admf::mpsc_ring<T, Atomic>;
    static constexpr bool many_producers = true;
    static constexpr bool many_consumers = false;
    static constexpr bool move_only = true;
    static constexpr bool has_initial_sequence = true;
    static constexpr emplace_style emplace = emplace_style::in_place_if_nothrow;
    static constexpr bool thrown_on_stays_queued = false;
    static std::size_t expected_capacity(std::size_t requested) { return std::bit_ceil(requested); }
};

#if defined(ADMF_TEST_HAVE_BOOST)
struct boost_spsc_kind {
    static constexpr const char* name = "boost_spsc_ring";
    template <class T>
    using ring = admf::boost_spsc_ring<T>;
    static constexpr bool many_producers = false;
    static constexpr bool many_consumers = false;
    static constexpr bool move_only = false;       // Boost 1.74 copies: T must be copyable
    static constexpr bool has_initial_sequence = false;
    static constexpr emplace_style emplace = emplace_style::temporary_copied;
    static constexpr bool thrown_on_stays_queued = false; // popped also when f throws
    static std::size_t expected_capacity(std::size_t requested) { return requested; }
};
#endif

#if defined(ADMF_TEST_HAVE_MOODYCAMEL)
struct moodycamel_kind {
    static constexpr const char* name = "moodycamel_ring";
    template <class T>
    using ring = admf::moodycamel_ring<T>;
    static constexpr bool many_producers = true;
    static constexpr bool many_consumers = true;
    static constexpr bool move_only = true;
    static constexpr bool has_initial_sequence = false;
    static constexpr emplace_style emplace = emplace_style::temporary_moved;
    static constexpr bool thrown_on_stays_queued = false; // dequeued before f is called
    static std::size_t expected_capacity(std::size_t requested) { return requested; }
};
#endif

/// Every ring this build can test, in a fixed order (the index in a test's name).
using every_ring = std::tuple<spsc_kind, mpmc_kind
#if defined(ADMF_TEST_HAVE_BOOST)
                              , boost_spsc_kind
#endif
#if defined(ADMF_TEST_HAVE_MOODYCAMEL)
                              , moodycamel_kind
#endif
                              , mpsc_kind
                              , spsc_tail_index_kind
                              >;

/// Keeps the kinds of a std::tuple list that satisfy Pred, at compile time.
template <template <class> class Pred, class List>
struct filter;
template <template <class> class Pred, class... Kinds>
struct filter<Pred, std::tuple<Kinds...>> {
    using type = decltype(std::tuple_cat(
        std::declval<std::conditional_t<Pred<Kinds>::value, std::tuple<Kinds>, std::tuple<>>>()...));
};
template <template <class> class Pred, class List>
using filter_t = typename filter<Pred, List>::type;

template <class Kind>
struct takes_move_only : std::bool_constant<Kind::move_only> {};
template <class Kind>
struct takes_initial_sequence : std::bool_constant<Kind::has_initial_sequence> {};
template <class Kind>
struct single_producer : std::bool_constant<!Kind::many_producers> {};
template <class Kind>
struct many_producer : std::bool_constant<Kind::many_producers && Kind::many_consumers> {};
template <class Kind>
struct many_producer_one_consumer
    : std::bool_constant<Kind::many_producers && !Kind::many_consumers> {};

/// Rings that accept move-only elements (all but Boost 1.74's copying queue).
using move_only_rings = filter_t<takes_move_only, every_ring>;
/// admf's own rings: they take admf::initial_sequence, so tests can cross the 2^64 wrap,
/// and their atomic type (Kind::ring_with_atomic), so tests can hook the stores.
using sequenced_rings = filter_t<takes_initial_sequence, every_ring>;
/// One producer, one consumer.
using spsc_rings = filter_t<single_producer, every_ring>;
/// Many producers, many consumers.
using mpmc_rings = filter_t<many_producer, every_ring>;
/// Many producers, one consumer.
using mpsc_rings = filter_t<many_producer_one_consumer, every_ring>;

} // namespace admf_test
