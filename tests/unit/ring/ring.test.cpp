// SPDX-License-Identifier: MIT
// Unit tests of every ring (STYLE.md 2.6): basic operations, lifetime (ctor/move/dtor
// counting) and edge cases, single-threaded. Each TEMPLATE_LIST_TEST_CASE runs once per
// ring kind of admf_test::every_ring (or a filtered list); Catch2 names the runs
// "<sentence> - <list> - <index>", the index following the order of the list:
// 0 spsc_ring, 1 mpmc_ring, then boost_spsc_ring and moodycamel_ring where this build has
// them, and last spsc_ring<tail_index> (spsc_ring forced to its tail-index ready signal).
// Every assertion's message names the ring (INFO), and each kind states what its
// ring documents (tests/support/ring_kinds.hpp), so one body checks each ring against its
// own contract. Multithreaded checks live in tests/stress.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <admf/ring/ring_for.hpp>

#include "catch.hpp"
#include "hooked_atomic.hpp"
#include "lifetime.hpp"
#include "ring_kinds.hpp"

using admf_test::every_ring;
using admf_test::lifetime_now;
using admf_test::lifetime_snapshot;
using admf_test::move_only_rings;
using admf_test::sequenced_rings;
using admf_test::tracked;
using admf_test::tracked_int;

namespace {

template <class Kind, class T>
using ring_t = typename Kind::template ring<T>;

// ---------------------------------------------------------------------------------------
// Element types that count what a ring does to them.

// Constructor calls counted by emplace_probe.
struct emplace_counts {
    int value_ctor = 0;
    int copy_ctor = 0;
    int move_ctor = 0;
};

// Counts the constructor calls of one emplace. Nothrow selects whether the value
// constructor is noexcept (mpmc_ring builds in place only then).
template <bool Nothrow>
struct emplace_probe {
    static constexpr bool nothrow = Nothrow;
    static inline emplace_counts seen{};

    int a = 0;
    int b = 0;

    emplace_probe() noexcept = default;
    emplace_probe(int x, int y) noexcept(Nothrow) : a(x), b(y) { ++seen.value_ctor; }
    emplace_probe(const emplace_probe& o) noexcept : a(o.a), b(o.b) { ++seen.copy_ctor; }
    emplace_probe(emplace_probe&& o) noexcept : a(o.a), b(o.b) { ++seen.move_ctor; }
    emplace_probe& operator=(const emplace_probe&) noexcept = default;
    emplace_probe& operator=(emplace_probe&&) noexcept = default;
    ~emplace_probe() = default;
};

// A tracked value whose (value, fail) constructor throws when asked to.
struct fragile : tracked {
    int value = 0;

    fragile() noexcept = default;
    fragile(int v, bool fail) : value(v) {
        if (fail) {
            throw std::runtime_error("fragile: constructor failed");
        }
    }
};

// A tracked value whose move assignment throws while `armed` is set (its constructors
// never throw, as mpmc_ring requires).
struct assign_bomb : tracked {
    static inline bool armed = false;
    int value = 0;

    assign_bomb() noexcept = default;
    explicit assign_bomb(int v) noexcept : value(v) {}
    assign_bomb(const assign_bomb&) noexcept = default;
    assign_bomb(assign_bomb&&) noexcept = default;
    assign_bomb& operator=(const assign_bomb& o) {
        if (armed) {
            throw std::runtime_error("assign_bomb: assignment failed");
        }
        tracked::operator=(o);
        value = o.value;
        return *this;
    }
    assign_bomb& operator=(assign_bomb&& o) {
        if (armed) {
            throw std::runtime_error("assign_bomb: assignment failed");
        }
        tracked::operator=(std::move(o));
        value = o.value;
        return *this;
    }
    ~assign_bomb() = default;
};

// A tracked value whose move constructor throws for value == throw_on (spsc_ring only:
// mpmc_ring requires a noexcept move constructor).
struct move_bomb : tracked {
    static inline int throw_on = -1;
    int value = 0;

    move_bomb() noexcept = default;
    explicit move_bomb(int v) noexcept : value(v) {}
    move_bomb(const move_bomb& o) : tracked(o), value(o.value) {}
    move_bomb(move_bomb&& o) : tracked(std::move(o)), value(o.value) {
        if (value == throw_on) {
            throw std::runtime_error("move_bomb: move failed");
        }
    }
    move_bomb& operator=(const move_bomb&) = default;
    move_bomb& operator=(move_bomb&&) = default;
    ~move_bomb() = default;
};

// Pops everything left and returns the values, oldest first.
template <class Ring>
std::vector<int> drain_values(Ring& r) {
    std::vector<int> values;
    typename Ring::value_type out{};
    while (r.try_pop(out)) {
        values.push_back(out.value);
    }
    return values;
}

std::vector<int> iota_values(int first, int last) {
    std::vector<int> v;
    for (int i = first; i != last; ++i) {
        v.push_back(i);
    }
    return v;
}

// Checks that what happened since `before` balanced: every construction destroyed once.
void require_balanced(const lifetime_snapshot& before) {
    const auto d = lifetime_now() - before;
    INFO("constructed " << d.constructed << ", destroyed " << d.destroyed << ", misuse " << d.misuse);
    REQUIRE(d.constructed == d.destroyed);
    REQUIRE(d.misuse == 0);
}

} // namespace

// ---------------------------------------------------------------------------------------
// The concept

TEMPLATE_LIST_TEST_CASE("ring: models admf::ring_for for its element types", "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    STATIC_REQUIRE(admf::ring_for<ring_t<K, int>, int>);
    STATIC_REQUIRE(admf::ring_for<ring_t<K, tracked_int>, tracked_int>);
    STATIC_REQUIRE(admf::ring_for<ring_t<K, fragile>, fragile>);
    if constexpr (K::move_only) {
        STATIC_REQUIRE(admf::ring_for<ring_t<K, std::unique_ptr<int>>, std::unique_ptr<int>>);
    }
    STATIC_REQUIRE(ring_t<K, int>::producer_mode ==
                   (K::many_producers ? admf::producers::many : admf::producers::single));
    STATIC_REQUIRE(ring_t<K, int>::consumer_mode ==
                   (K::many_consumers ? admf::consumers::many : admf::consumers::single));
}

// ---------------------------------------------------------------------------------------
// Capacity

TEMPLATE_LIST_TEST_CASE("ring: capacity is the requested one rounded as documented, and exactly that many elements fit",
                        "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    for (const std::size_t requested : {1, 2, 3, 4, 5, 7, 8, 9, 100, 1000, 1024, 1025}) {
        INFO("requested capacity " << requested);
        ring_t<K, int> r(requested);
        REQUIRE(r.capacity() == K::expected_capacity(requested));
        std::size_t pushed = 0;
        while (pushed <= r.capacity() && r.try_push(static_cast<int>(pushed))) {
            ++pushed;
        }
        REQUIRE(pushed == r.capacity());
        REQUIRE(r.size_approx() == r.capacity());
    }
}

TEMPLATE_LIST_TEST_CASE("ring: capacity 0 throws std::invalid_argument", "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    using R = ring_t<K, int>;
    REQUIRE_THROWS_AS(R(0), std::invalid_argument);
}

TEMPLATE_LIST_TEST_CASE("ring: a capacity beyond the addressable maximum throws std::length_error",
                        "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    constexpr auto max = std::numeric_limits<std::size_t>::max();
    using R = ring_t<K, int>;
    using RT = ring_t<K, tracked_int>;
    REQUIRE_THROWS_AS(R(max), std::length_error);
    REQUIRE_THROWS_AS(R(max / 2 + 1), std::length_error); // 2^63 ints cannot be addressed
    REQUIRE_THROWS_AS(RT(max / 4), std::length_error);
}

#if defined(ADMF_TEST_HAVE_MOODYCAMEL)
TEST_CASE("moodycamel_ring: capacity above max_capacity throws std::length_error", "[ring]") {
    using R = admf::moodycamel_ring<int>;
    REQUIRE_THROWS_AS(R(R::max_capacity + 1), std::length_error);
    R largest(R::max_capacity, 1);
    REQUIRE(largest.capacity() == R::max_capacity);
}

TEST_CASE("moodycamel_ring: zero max_producers throws std::invalid_argument", "[ring]") {
    REQUIRE_THROWS_AS(admf::moodycamel_ring<int>(8, 0), std::invalid_argument);
}

TEST_CASE("moodycamel_ring: a push refused for want of a free block leaves its argument untouched",
          "[ring]") {
    // max_producers 1: moodycamel's pool holds 2 blocks, and each live producer thread
    // keeps one, so the third and fourth threads are refused below capacity (documented).
    // A refused push must leave the caller's element alone, as a full ring does: producers
    // retry with the same object, and a consumed one would be lost.
    admf::moodycamel_ring<tracked_int> r(64, 1);
    constexpr int threads = 4;
    std::atomic<int> turn{0};
    std::atomic<bool> release{false};
    std::array<bool, threads> accepted{};
    std::array<int, threads> value_after{};
    std::vector<std::thread> pool;
    for (int t = 0; t != threads; ++t) {
        pool.emplace_back([&, t] {
            while (turn.load() != t) {
                std::this_thread::yield();
            }
            tracked_int item(t + 1);
            accepted[t] = r.try_push(std::move(item));
            value_after[t] = item.value;
            turn.store(t + 1);
            while (!release.load()) { // stay alive: an exited thread's producer is reused
                std::this_thread::yield();
            }
        });
    }
    while (turn.load() != threads) {
        std::this_thread::yield();
    }
    release.store(true);
    for (auto& t : pool) {
        t.join();
    }
    int refused = 0;
    for (int t = 0; t != threads; ++t) {
        INFO("thread " << t << (accepted[t] ? " accepted" : " refused"));
        if (!accepted[t]) {
            ++refused;
            CHECK(value_after[t] == t + 1);
        }
    }
    REQUIRE(refused > 0); // the scenario under test did happen
    REQUIRE(r.size_approx() == static_cast<std::size_t>(threads - refused));
}
#endif

// ---------------------------------------------------------------------------------------
// Basic operations

TEMPLATE_LIST_TEST_CASE("ring: try_push fails when full and leaves ring and argument unchanged",
                        "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    const auto before = lifetime_now();
    {
        ring_t<K, tracked_int> r(4);
        const int c = static_cast<int>(r.capacity());
        for (int i = 0; i != c; ++i) {
            REQUIRE(r.try_push(tracked_int(i)));
        }
        const tracked_int extra(99);
        REQUIRE_FALSE(r.try_push(extra));
        REQUIRE(extra.value == 99);
        tracked_int keep(100);
        REQUIRE_FALSE(r.try_push(std::move(keep)));
        REQUIRE(keep.value == 100); // a refused push does not consume its argument
        REQUIRE_FALSE(r.try_emplace(101));
        std::array<tracked_int, 3> batch{tracked_int(102), tracked_int(103), tracked_int(104)};
        REQUIRE(r.try_push_n(batch.data(), batch.size()) == 0);
        REQUIRE(r.size_approx() == r.capacity());
        REQUIRE(drain_values(r) == iota_values(0, c));
    }
    require_balanced(before);
}

TEMPLATE_LIST_TEST_CASE("ring: try_pop fails when empty and leaves its output unchanged", "[ring]",
                        every_ring) {
    using K = TestType;
    INFO(K::name);
    ring_t<K, tracked_int> r(4);
    tracked_int out(7);
    REQUIRE_FALSE(r.try_pop(out));
    REQUIRE(out.value == 7);
    REQUIRE(r.try_push(tracked_int(1)));
    REQUIRE(r.try_pop(out));
    REQUIRE(out.value == 1);
    REQUIRE_FALSE(r.try_pop(out));
    REQUIRE(out.value == 1);
    std::array<tracked_int, 2> outs{tracked_int(5), tracked_int(6)};
    REQUIRE(r.try_pop_n(outs.data(), outs.size()) == 0);
    REQUIRE(outs[0].value == 5);
    int calls = 0;
    REQUIRE(r.consume([&calls](tracked_int&) { ++calls; }, 8) == 0);
    REQUIRE(calls == 0);
    REQUIRE(r.size_approx() == 0);
}

TEMPLATE_LIST_TEST_CASE("ring: elements leave in the order they were pushed", "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    ring_t<K, int> r(8);
    const std::size_t c = r.capacity();
    int next_in = 0;
    int next_out = 0;
    // Fill levels vary from one element to a full ring, over many laps of the array.
    for (std::size_t step = 0; step != 200; ++step) {
        const std::size_t pushes = 1 + step % c;
        for (std::size_t k = 0; k != pushes && r.try_push(next_in); ++k) {
            ++next_in;
        }
        const std::size_t pops = 1 + (step * 7) % c;
        int out = -1;
        for (std::size_t k = 0; k != pops && r.try_pop(out); ++k) {
            REQUIRE(out == next_out);
            ++next_out;
        }
        REQUIRE(r.size_approx() == static_cast<std::size_t>(next_in - next_out));
    }
    REQUIRE(next_out > 10 * static_cast<int>(c));
}

TEMPLATE_LIST_TEST_CASE("ring: size_approx counts the queued elements of an idle ring and capacity stays fixed",
                        "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    ring_t<K, int> r(8);
    const std::size_t c = r.capacity();
    REQUIRE(r.size_approx() == 0);
    for (std::size_t i = 0; i != c; ++i) {
        REQUIRE(r.try_push(static_cast<int>(i)));
        REQUIRE(r.size_approx() == i + 1);
    }
    int out = 0;
    for (std::size_t i = c; i != 0; --i) {
        REQUIRE(r.try_pop(out));
        REQUIRE(r.size_approx() == i - 1);
        REQUIRE(r.capacity() == c);
    }
}

// ---------------------------------------------------------------------------------------
// Emplace

// try_emplace(a, b) builds P once and, per the ring's documented emplace style, moves or
// copies it zero or more times; the element then pops intact.
template <class K, class P>
void expect_emplace_as_documented(int a, int b) {
    using style = admf_test::emplace_style;
    ring_t<K, P> r(4);
    P::seen = {};
    REQUIRE(r.try_emplace(a, b));
    const auto seen = P::seen;
    REQUIRE(seen.value_ctor == 1);
    switch (K::emplace) {
    case style::in_place:
        REQUIRE(seen.move_ctor == 0);
        REQUIRE(seen.copy_ctor == 0);
        break;
    case style::in_place_if_nothrow: // builds first when the constructor may throw
        REQUIRE(seen.move_ctor == (P::nothrow ? 0 : 1));
        REQUIRE(seen.copy_ctor == 0);
        break;
    case style::temporary_copied:
        REQUIRE(seen.copy_ctor >= 1);
        REQUIRE(seen.move_ctor == 0);
        break;
    case style::temporary_moved:
        REQUIRE(seen.move_ctor >= 1);
        REQUIRE(seen.copy_ctor == 0);
        break;
    }
    P out;
    REQUIRE(r.try_pop(out));
    REQUIRE((out.a == a && out.b == b));
}

TEMPLATE_LIST_TEST_CASE("ring: try_emplace constructs in place without a temporary, or as the adapter documents",
                        "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    SECTION("with a noexcept constructor") {
        expect_emplace_as_documented<K, emplace_probe<true>>(1, 2);
    }
    SECTION("with a constructor that may throw") {
        expect_emplace_as_documented<K, emplace_probe<false>>(3, 4);
    }
}

TEMPLATE_LIST_TEST_CASE("ring: a throwing constructor in try_emplace leaves the ring unchanged", "[ring]",
                        every_ring) {
    using K = TestType;
    INFO(K::name);
    const auto before = lifetime_now();
    {
        ring_t<K, fragile> r(4);
        const std::size_t c = r.capacity();
        REQUIRE(r.try_emplace(0, false));
        REQUIRE_THROWS_AS(r.try_emplace(1, true), std::runtime_error);
        CHECK(r.size_approx() == 1);
        // The failed emplace took no slot: exactly c - 1 more elements fit.
        std::size_t pushed = 1;
        while (pushed <= c && r.try_emplace(static_cast<int>(pushed + 1), false)) {
            ++pushed;
        }
        CHECK(pushed == c);
        fragile out;
        REQUIRE(r.try_pop(out));
        REQUIRE(out.value == 0);
        REQUIRE(r.try_pop(out));
        REQUIRE(out.value == 2);
    }
    require_balanced(before);
}

// ---------------------------------------------------------------------------------------
// Batches

TEMPLATE_LIST_TEST_CASE("ring: try_push_n and try_pop_n return how many elements moved, partial when nearly full or empty",
                        "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    const auto before = lifetime_now();
    {
        ring_t<K, tracked_int> r(8);
        const std::size_t c = r.capacity();
        std::vector<tracked_int> src;
        for (std::size_t i = 0; i != c + 3; ++i) {
            src.emplace_back(static_cast<int>(i));
        }
        std::vector<tracked_int> dst(c + 3, tracked_int(-1));

        REQUIRE(r.try_push_n(src.data(), 0) == 0);
        REQUIRE(r.try_push_n(src.data(), c + 3) == c);     // empty ring: as many as fit
        REQUIRE(r.try_push_n(src.data() + c, 3) == 0);     // full
        REQUIRE(r.try_pop_n(dst.data(), 0) == 0);
        REQUIRE(r.try_pop_n(dst.data(), 2) == 2);
        REQUIRE(r.try_push_n(src.data() + c, 3) == 2);     // nearly full: the prefix that fits
        REQUIRE(r.size_approx() == c);
        REQUIRE(r.try_pop_n(dst.data() + 2, c + 3) == c);  // fewer queued than asked: all
        REQUIRE(r.try_pop_n(dst.data(), 4) == 0);          // empty
        for (std::size_t i = 0; i != c + 2; ++i) {
            REQUIRE(dst[i].value == static_cast<int>(i));
        }
        REQUIRE(dst[c + 2].value == -1);
    }
    require_balanced(before);
}

TEMPLATE_LIST_TEST_CASE("ring: consume hands the oldest elements to f in order and frees their slots",
                        "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    const auto before = lifetime_now();
    {
        ring_t<K, tracked_int> r(8);
        const int c = static_cast<int>(r.capacity());
        std::vector<int> seen;
        auto record = [&seen](tracked_int& e) { seen.push_back(e.value); };
        auto record_noexcept = [&seen](tracked_int& e) noexcept { seen.push_back(e.value); };

        for (int i = 0; i != c; ++i) {
            REQUIRE(r.try_push(tracked_int(i)));
        }
        REQUIRE(r.consume(record, 0) == 0);
        REQUIRE(seen.empty());
        REQUIRE(r.consume(record, 3) == 3);
        REQUIRE(seen == iota_values(0, 3));
        REQUIRE(r.size_approx() == static_cast<std::size_t>(c - 3));
        REQUIRE(r.consume(record_noexcept, static_cast<std::size_t>(c) + 10) ==
                static_cast<std::size_t>(c - 3));
        REQUIRE(seen == iota_values(0, c));
        REQUIRE(r.size_approx() == 0);
        REQUIRE(r.consume(record, 4) == 0);

        // The consumed slots are free again: the ring takes a full capacity once more.
        for (int i = c; i != 2 * c; ++i) {
            REQUIRE(r.try_push(tracked_int(i)));
        }
        REQUIRE_FALSE(r.try_push(tracked_int(-1)));
        REQUIRE(r.consume(record_noexcept, static_cast<std::size_t>(c)) == static_cast<std::size_t>(c));
        REQUIRE(seen == iota_values(0, 2 * c));
    }
    require_balanced(before);
}

TEMPLATE_LIST_TEST_CASE("ring: consume propagates an exception from f and keeps the rest queued",
                        "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    const auto before = lifetime_now();
    {
        ring_t<K, tracked_int> r(8);
        for (int i = 0; i != 5; ++i) {
            REQUIRE(r.try_push(tracked_int(i)));
        }
        std::vector<int> seen;
        auto throw_on_one = [&seen](tracked_int& e) {
            seen.push_back(e.value);
            if (e.value == 1) {
                throw std::runtime_error("f failed");
            }
        };
        REQUIRE_THROWS_AS(r.consume(throw_on_one, 5), std::runtime_error);
        REQUIRE(seen == std::vector<int>{0, 1});
        // spsc/mpmc/moodycamel: the element f threw on counts as consumed;
        // boost_spsc_ring pops only after f returns, so it stays queued.
        const std::vector<int> rest = K::thrown_on_stays_queued ? std::vector<int>{1, 2, 3, 4}
                                                                : std::vector<int>{2, 3, 4};
        REQUIRE(r.size_approx() == rest.size());
        std::vector<int> later;
        REQUIRE(r.consume([&later](tracked_int& e) { later.push_back(e.value); }, 10) == rest.size());
        REQUIRE(later == rest);
    }
    require_balanced(before);
}

// ---------------------------------------------------------------------------------------
// Move-only elements (Boost 1.74 copies, so boost_spsc_ring is filtered out at compile time)

TEMPLATE_LIST_TEST_CASE("ring: move-only elements go through push, emplace, batches and consume",
                        "[ring]", move_only_rings) {
    using K = TestType;
    INFO(K::name);
    using P = std::unique_ptr<int>;
    ring_t<K, P> r(4);
    const std::size_t c = r.capacity();
    REQUIRE(c == 4);

    auto p = std::make_unique<int>(1);
    REQUIRE(r.try_push(std::move(p)));
    REQUIRE(p == nullptr);
    REQUIRE(r.try_emplace(new int(2)));
    std::array<P, 3> batch{std::make_unique<int>(3), std::make_unique<int>(4), std::make_unique<int>(5)};
    REQUIRE(r.try_push_n(batch.data(), batch.size()) == 2); // room for two: a moved prefix
    REQUIRE(batch[0] == nullptr);
    REQUIRE(batch[1] == nullptr);
    REQUIRE(batch[2] != nullptr);

    auto q = std::make_unique<int>(9);
    REQUIRE_FALSE(r.try_push(std::move(q))); // a failed push leaves the argument alone
    REQUIRE(q != nullptr);
    REQUIRE(*q == 9);

    P out;
    REQUIRE(r.try_pop(out));
    REQUIRE(*out == 1);
    std::array<P, 2> outs;
    REQUIRE(r.try_pop_n(outs.data(), outs.size()) == 2);
    REQUIRE(*outs[0] == 2);
    REQUIRE(*outs[1] == 3);
    REQUIRE(r.try_push(std::move(batch[2])));
    std::vector<int> seen;
    REQUIRE(r.consume([&seen](P& e) { seen.push_back(*e); }, 4) == 2);
    REQUIRE(seen == std::vector<int>{4, 5});
    REQUIRE(r.size_approx() == 0);

    // Destroying a ring that still owns move-only elements frees them (LeakSanitizer).
    REQUIRE(r.try_push(std::make_unique<int>(6)));
}

// ---------------------------------------------------------------------------------------
// Lifetime: every element constructed in a ring is destroyed exactly once

TEMPLATE_LIST_TEST_CASE("ring: every element is constructed and destroyed exactly once, queued ones by the destructor",
                        "[ring]", every_ring) {
    using K = TestType;
    INFO(K::name);
    enum class fill { empty, one, most, full };
    const fill left = GENERATE(fill::empty, fill::one, fill::most, fill::full);
    INFO("fill at destruction: " << static_cast<int>(left));

    const auto before = lifetime_now();
    {
        ring_t<K, tracked_int> r(8);
        const std::size_t c = r.capacity();
        std::size_t queued = 0;
        {
            // Traffic with every operation over several laps of the array.
            std::vector<tracked_int> src(3, tracked_int(7));
            std::vector<tracked_int> dst(3);
            tracked_int one(1);
            int consumed = 0;
            auto count = [&consumed](tracked_int&) noexcept { ++consumed; };
            for (int lap = 0; lap != 5; ++lap) {
                REQUIRE(r.try_push(one));             // copy
                REQUIRE(r.try_push(tracked_int(2)));  // move
                REQUIRE(r.try_emplace(3));            // emplace
                REQUIRE(r.try_push_n(src.data(), 3) == 3);
                REQUIRE(r.try_pop(one));
                REQUIRE(r.try_pop_n(dst.data(), 3) == 3);
                REQUIRE(r.consume(count, 2) == 2);
            }
            REQUIRE(consumed == 10);
            REQUIRE(r.size_approx() == 0);
            const std::size_t target = left == fill::empty ? 0
                                     : left == fill::one   ? 1
                                     : left == fill::most  ? c - 1
                                                           : c;
            for (; queued != target; ++queued) {
                REQUIRE(r.try_emplace(static_cast<int>(queued)));
            }
        }
        // Only the queued elements are alive now.
        REQUIRE((lifetime_now() - before).live() == static_cast<std::int64_t>(queued));
    }
    require_balanced(before);
}

// ---------------------------------------------------------------------------------------
// admf's own rings: sequence wrap-around and exceptions from element operations

TEMPLATE_LIST_TEST_CASE("ring: FIFO, full and empty hold across the 2^64 sequence wrap-around",
                        "[ring]", sequenced_rings) {
    using K = TestType;
    INFO(K::name);
    constexpr std::uint64_t start = std::numeric_limits<std::uint64_t>::max() - 5;

    SECTION("single operations") {
        ring_t<K, int> r(4, admf::initial_sequence{start});
        REQUIRE(r.capacity() == 4);
        int next_in = 0;
        int next_out = 0;
        for (std::size_t step = 0; next_out < 100; ++step) {
            const std::size_t pushes = 1 + step % 5; // sometimes more than fit
            for (std::size_t k = 0; k != pushes && next_in < 100; ++k) {
                const bool room = r.size_approx() < r.capacity();
                REQUIRE(r.try_push(next_in) == room);
                next_in += room ? 1 : 0;
            }
            const std::size_t pops = 1 + step % 3;
            for (std::size_t k = 0; k != pops; ++k) {
                int out = -1;
                const bool any = next_out < next_in;
                REQUIRE(r.try_pop(out) == any);
                if (any) {
                    REQUIRE(out == next_out);
                    ++next_out;
                }
            }
            REQUIRE(r.size_approx() == static_cast<std::size_t>(next_in - next_out));
        }
    }
    SECTION("batches and consume") {
        ring_t<K, int> r(4, admf::initial_sequence{start});
        std::array<int, 6> in{};
        std::array<int, 6> out{};
        int next_in = 0;
        int next_out = 0;
        for (std::size_t step = 0; next_out < 100; ++step) {
            for (int& v : in) {
                v = next_in++;
            }
            const std::size_t want = 1 + step % 6;
            const std::size_t room = r.capacity() - r.size_approx();
            const std::size_t pushed = r.try_push_n(in.data(), want);
            REQUIRE(pushed == std::min(want, room));
            next_in -= static_cast<int>(in.size() - pushed); // unpushed values are reused
            if (step % 2 == 0) {
                const std::size_t got = r.try_pop_n(out.data(), 1 + step % 4);
                for (std::size_t k = 0; k != got; ++k) {
                    REQUIRE(out[k] == next_out++);
                }
            } else {
                r.consume([&next_out](int& v) { REQUIRE(v == next_out++); }, 1 + step % 4);
            }
        }
    }
    SECTION("destruction with elements straddling the wrap") {
        const auto before = lifetime_now();
        {
            ring_t<K, tracked_int> r(4, admf::initial_sequence{std::numeric_limits<std::uint64_t>::max() - 1});
            for (int i = 0; i != 4; ++i) {
                REQUIRE(r.try_push(tracked_int(i)));
            }
            REQUIRE_FALSE(r.try_push(tracked_int(9)));
            tracked_int out;
            REQUIRE(r.try_pop(out));
            REQUIRE(out.value == 0);
        }
        require_balanced(before);
    }
}

TEMPLATE_LIST_TEST_CASE("ring: size_approx never counts more than was queued, even when a pop lands inside a push",
                        "[ring]", sequenced_rings) {
    using K = TestType;
    INFO(K::name);
    // "Elements queued at some instant during the call": after every store a push makes,
    // a consumer pops what is ready and then asks size_approx(). At most one element was
    // ever queued, so any answer above 1 counts elements that were never there.
    using R = typename K::template ring_with_atomic<int, admf_test::hooked_atomic>;
    R r(1024);
    int popped = 0;
    std::size_t largest = 0;
    {
        const admf_test::scoped_store_hook hook([&] {
            int out = 0;
            while (r.try_pop(out)) {
                ++popped;
            }
            largest = std::max(largest, r.size_approx());
        });
        for (int i = 0; i != 10; ++i) {
            REQUIRE(r.try_push(i));
        }
    }
    REQUIRE(popped == 10);
    CHECK(largest <= 1);
}

TEMPLATE_LIST_TEST_CASE("ring: try_pop with a throwing move assignment behaves as documented", "[ring]",
                        sequenced_rings) {
    using K = TestType;
    INFO(K::name);
    // spsc_ring: "If T's move assignment throws, the element stays queued."
    // mpmc_ring: "If T's move assignment throws, the element is destroyed."
    constexpr bool stays_queued = std::is_same_v<K, admf_test::spsc_kind> ||
                                  std::is_same_v<K, admf_test::spsc_tail_index_kind>;
    const auto before = lifetime_now();
    {
        ring_t<K, assign_bomb> r(4);
        REQUIRE(r.try_push(assign_bomb(1)));
        REQUIRE(r.try_push(assign_bomb(2)));
        assign_bomb out(0);
        assign_bomb::armed = true;
        REQUIRE_THROWS_AS(r.try_pop(out), std::runtime_error);
        assign_bomb::armed = false;
        REQUIRE(out.value == 0);
        REQUIRE(r.size_approx() == (stays_queued ? 2U : 1U));
        REQUIRE(r.try_pop(out));
        REQUIRE(out.value == (stays_queued ? 1 : 2));
    }
    require_balanced(before);
}

TEST_CASE("spsc_ring: try_push_n publishes the elements built before a move constructor threw", "[ring]") {
    const auto before = lifetime_now();
    {
        admf::spsc_ring<move_bomb> r(8);
        std::vector<move_bomb> src;
        src.reserve(5);
        for (int i = 0; i != 5; ++i) {
            src.emplace_back(i);
        }
        move_bomb::throw_on = 3;
        REQUIRE_THROWS_AS(r.try_push_n(src.data(), src.size()), std::runtime_error);
        move_bomb::throw_on = -1;
        REQUIRE(r.size_approx() == 3);
        REQUIRE(drain_values(r) == std::vector<int>{0, 1, 2});
        REQUIRE(r.try_push_n(src.data() + 3, 2) == 2); // the ring still works
        REQUIRE(drain_values(r) == std::vector<int>{3, 4});
    }
    require_balanced(before);
}
