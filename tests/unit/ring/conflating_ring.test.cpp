// SPDX-License-Identifier: MIT
// Unit tests of admf::conflating_ring (STYLE.md 2.6), single-threaded: one value per key,
// conflation of repeated writes, key types, key capacity, construction errors, the
// consume / try_pop / try_push_n forms, end_of_batch, a throwing callback, and the counter
// invariant published == delivered + conflated == claimed + merged. Every case runs under
// both producer modes (GENERATE). Multithreaded checks: tests/stress/conflating_ring.stress.cpp.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <admf/ring/conflating_ring.hpp>
#include <admf/ring/ring_for.hpp>

#include "catch.hpp"
#include "seed.hpp"

namespace {

// A quote: key `id` of type `kind`, and a payload.
struct quote {
    std::uint64_t id = 0;
    std::uint32_t kind = 0;
    std::int64_t price = 0;

    quote() noexcept = default;
    quote(std::uint64_t i, std::uint32_t k, std::int64_t p) noexcept : id(i), kind(k), price(p) {}
};

struct quote_key {
    admf::conflation_key operator()(const quote& q) const noexcept { return {q.id, q.kind}; }
};

// Larger than one cache line with the cell's header, and not a multiple of 8 bytes.
struct wide {
    std::uint64_t id = 0;
    std::array<std::uint8_t, 61> bytes{};
};

struct wide_key {
    admf::conflation_key operator()(const wide& w) const noexcept { return {w.id, 0}; }
};

using ring = admf::conflating_ring<quote, quote_key>;

static_assert(admf::ring_for<ring, quote>);
static_assert(ring::consumer_mode == admf::consumers::single);

// What one consume call handed over: the values and their end_of_batch flags.
struct batch {
    std::vector<quote> values;
    std::vector<bool> ends;
    std::size_t positions = 0;
};

batch consume_all(ring& r, std::size_t max = 1024) {
    batch b;
    b.positions = r.consume(
        [&](quote& q, bool end) {
            b.values.push_back(q);
            b.ends.push_back(end);
        },
        max);
    return b;
}

std::string mode_name(admf::producers m) { return m == admf::producers::single ? "single" : "many"; }

} // namespace

TEST_CASE("conflating_ring: each key's value is delivered once", "[conflating_ring]") {
    const auto mode = GENERATE(admf::producers::single, admf::producers::many);
    INFO("producers::" << mode_name(mode));
    ring r(8, mode);
    CHECK(r.capacity() == 8);
    CHECK_FALSE(r.front_ready());
    for (std::uint64_t k = 0; k != 5; ++k) {
        REQUIRE(r.try_push(quote(k, 0, static_cast<std::int64_t>(10 * k))));
    }
    CHECK(r.front_ready());
    CHECK(r.size_approx() == 5);
    const batch b = consume_all(r);
    CHECK(b.positions == 5);
    REQUIRE(b.values.size() == 5);
    for (std::uint64_t k = 0; k != 5; ++k) {
        CHECK(b.values[k].id == k); // one producer, distinct keys: queue order
        CHECK(b.values[k].price == static_cast<std::int64_t>(10 * k));
    }
    CHECK_FALSE(r.front_ready());
    CHECK(consume_all(r).positions == 0);
    CHECK(r.conflated_approx() == 0);
    CHECK(r.merged_approx() == 0);
    CHECK(r.claimed_approx() == 5);
}

TEST_CASE("conflating_ring: two writes of one key before consume deliver only the newest",
          "[conflating_ring]") {
    const auto mode = GENERATE(admf::producers::single, admf::producers::many);
    INFO("producers::" << mode_name(mode));
    ring r(4, mode);
    REQUIRE(r.try_push(quote(7, 0, 100)));
    REQUIRE(r.try_push(quote(7, 0, 101)));
    CHECK(r.merged_approx() == 1);
    CHECK(r.claimed_approx() == 1);
    const batch b = consume_all(r);
    CHECK(b.positions == 1);
    REQUIRE(b.values.size() == 1);
    CHECK(b.values[0].price == 101);
    CHECK(r.conflated_approx() == 1);

    // After delivery the key is queued afresh, and nothing is conflated.
    REQUIRE(r.try_push(quote(7, 0, 102)));
    const batch again = consume_all(r);
    REQUIRE(again.values.size() == 1);
    CHECK(again.values[0].price == 102);
    CHECK(r.conflated_approx() == 1);
    CHECK(r.merged_approx() == 1);
    CHECK(r.claimed_approx() == 2);
}

TEST_CASE("conflating_ring: the same value under different types is two keys",
          "[conflating_ring]") {
    const auto mode = GENERATE(admf::producers::single, admf::producers::many);
    INFO("producers::" << mode_name(mode));
    ring r(2, mode);
    REQUIRE(r.try_push(quote(42, 1, 1)));
    REQUIRE(r.try_push(quote(42, 2, 2)));
    CHECK_FALSE(r.try_push(quote(42, 3, 3))); // a third key: over capacity
    const batch b = consume_all(r);
    REQUIRE(b.values.size() == 2);
    CHECK(b.values[0].kind == 1);
    CHECK(b.values[1].kind == 2);
    CHECK(r.conflated_approx() == 0);
    CHECK(admf::conflation_key{42, 1} != admf::conflation_key{42, 2});
    CHECK(admf::conflation_key{42, 1} == admf::conflation_key{42, 1});
}

TEST_CASE("conflating_ring: once capacity keys are in, a new key is refused and known keys "
          "are still accepted",
          "[conflating_ring]") {
    const auto mode = GENERATE(admf::producers::single, admf::producers::many);
    const std::size_t keys = GENERATE(std::size_t{1}, std::size_t{3}, std::size_t{64}, std::size_t{1000});
    INFO("producers::" << mode_name(mode) << ", " << keys << " keys");
    ring r(keys, mode);
    for (std::uint64_t k = 0; k != keys; ++k) {
        REQUIRE(r.try_push(quote(k * 0x1'0000'0001ULL, 5, 1)));
    }
    CHECK_FALSE(r.try_push(quote(keys * 0x1'0000'0001ULL, 5, 1)));
    CHECK_FALSE(r.try_emplace(std::uint64_t{0}, std::uint32_t{6}, std::int64_t{1})); // new type
    for (std::uint64_t k = 0; k != keys; ++k) {
        REQUIRE(r.try_push(quote(k * 0x1'0000'0001ULL, 5, 2)));
    }
    // A full queue of keys drains in several index batches; all are the newest.
    std::map<std::uint64_t, std::int64_t> seen;
    std::size_t positions = 0;
    for (int round = 0; round != 100 && r.front_ready(); ++round) {
        const batch b = consume_all(r, 100);
        positions += b.positions;
        for (const quote& q : b.values) {
            CHECK(seen.emplace(q.id, q.price).second);
        }
    }
    CHECK(positions == keys);
    REQUIRE(seen.size() == keys);
    for (const auto& [id, price] : seen) {
        CHECK(price == 2);
    }
    CHECK(r.conflated_approx() == keys);
    CHECK(r.merged_approx() == keys);
    CHECK_FALSE(r.try_push(quote(keys * 0x1'0000'0001ULL, 5, 1))); // still full after draining
}

TEST_CASE("conflating_ring: 0 keys throws std::invalid_argument, more than 2^30 "
          "std::length_error",
          "[conflating_ring]") {
    CHECK_THROWS_AS(ring(0), std::invalid_argument);
    CHECK_THROWS_AS(ring(0, admf::producers::single), std::invalid_argument);
    CHECK_THROWS_AS(ring((std::size_t{1} << 30) + 1), std::length_error);
}

TEST_CASE("conflating_ring: end_of_batch is true exactly on the last value of a call",
          "[conflating_ring]") {
    const auto mode = GENERATE(admf::producers::single, admf::producers::many);
    INFO("producers::" << mode_name(mode));
    ring r(16, mode);
    for (std::uint64_t k = 0; k != 10; ++k) {
        REQUIRE(r.try_push(quote(k, 0, 1)));
    }
    const batch first = consume_all(r, 4); // max reached
    CHECK(first.positions == 4);
    CHECK(first.ends == std::vector<bool>{false, false, false, true});
    const batch rest = consume_all(r); // queue emptied
    CHECK(rest.positions == 6);
    CHECK(rest.ends == std::vector<bool>{false, false, false, false, false, true});
    REQUIRE(r.try_push(quote(3, 0, 2)));
    const batch one = consume_all(r, 1);
    CHECK(one.ends == std::vector<bool>{true});
    CHECK(consume_all(r, 0).positions == 0);
}

TEST_CASE("conflating_ring: consume takes f(T&) as well as f(T&, bool)", "[conflating_ring]") {
    ring r(4);
    REQUIRE(r.try_push(quote(1, 0, 1)));
    REQUIRE(r.try_push(quote(2, 0, 2)));
    std::int64_t sum = 0;
    CHECK(r.consume([&](quote& q) noexcept { sum += q.price; }, 8) == 2);
    CHECK(sum == 3);
}

TEST_CASE("conflating_ring: try_pop and try_pop_n hand over each key's newest value",
          "[conflating_ring]") {
    const auto mode = GENERATE(admf::producers::single, admf::producers::many);
    INFO("producers::" << mode_name(mode));
    ring r(8, mode);
    quote out;
    CHECK_FALSE(r.try_pop(out));
    REQUIRE(r.try_push(quote(1, 0, 10)));
    REQUIRE(r.try_push(quote(1, 0, 11)));
    REQUIRE(r.try_push(quote(2, 0, 20)));
    REQUIRE(r.try_push(quote(3, 0, 30)));
    REQUIRE(r.try_pop(out));
    CHECK(out.price == 11);
    std::array<quote, 4> outs{};
    CHECK(r.try_pop_n(outs.begin(), 1) == 1);
    CHECK(outs[0].price == 20);
    CHECK(r.try_pop_n(outs.begin(), 4) == 1);
    CHECK(outs[0].price == 30);
    CHECK_FALSE(r.try_pop(out));
}

TEST_CASE("conflating_ring: try_push_n publishes a prefix, stopping at the first refused key",
          "[conflating_ring]") {
    ring r(3);
    const std::vector<quote> in{quote(1, 0, 1), quote(2, 0, 2), quote(1, 0, 3), quote(3, 0, 4),
                                quote(4, 0, 5), quote(2, 0, 6)};
    CHECK(r.try_push_n(in.begin(), in.size()) == 4); // quote 4 is a fourth key
    const batch b = consume_all(r);
    REQUIRE(b.values.size() == 3);
    CHECK(b.values[0].price == 3);
    CHECK(b.values[1].price == 2);
    CHECK(b.values[2].price == 4);
    CHECK(r.try_push_n(in.data(), 0) == 0);
}

TEST_CASE("conflating_ring: try_emplace builds the value from its arguments", "[conflating_ring]") {
    ring r(2);
    REQUIRE(r.try_emplace(std::uint64_t{9}, std::uint32_t{1}, std::int64_t{-5}));
    quote out;
    REQUIRE(r.try_pop(out));
    CHECK(out.id == 9);
    CHECK(out.kind == 1);
    CHECK(out.price == -5);
}

TEST_CASE("conflating_ring: values wider than a word survive intact", "[conflating_ring]") {
    admf::conflating_ring<wide, wide_key> r(4);
    for (std::uint8_t round = 0; round != 3; ++round) {
        for (std::uint64_t k = 0; k != 4; ++k) {
            wide w;
            w.id = k;
            for (std::size_t i = 0; i != w.bytes.size(); ++i) {
                w.bytes[i] = static_cast<std::uint8_t>(k * 31 + i + round);
            }
            REQUIRE(r.try_push(w));
        }
    }
    std::size_t got = 0;
    static_cast<void>(r.consume(
        [&](wide& w) {
            ++got;
            for (std::size_t i = 0; i != w.bytes.size(); ++i) {
                CHECK(w.bytes[i] == static_cast<std::uint8_t>(w.id * 31 + i + 2));
            }
        },
        16));
    CHECK(got == 4);
    CHECK(r.conflated_approx() == 8);
}

TEST_CASE("conflating_ring: when f throws, its value counts as delivered and the value read "
          "ahead comes first in the next call",
          "[conflating_ring]") {
    const auto mode = GENERATE(admf::producers::single, admf::producers::many);
    INFO("producers::" << mode_name(mode));
    ring r(8, mode);
    for (std::uint64_t k = 0; k != 4; ++k) {
        REQUIRE(r.try_push(quote(k, 0, static_cast<std::int64_t>(k))));
    }
    std::vector<std::uint64_t> seen;
    CHECK_THROWS_AS(r.consume(
                        [&](quote& q) {
                            seen.push_back(q.id);
                            if (q.id == 1) {
                                throw std::runtime_error("handler failed");
                            }
                        },
                        8),
                    std::runtime_error);
    CHECK(seen == std::vector<std::uint64_t>{0, 1});
    CHECK(r.front_ready()); // key 2 is held, key 3 still queued
    // A call with max 0 still hands over the held value, alone.
    batch held = consume_all(r, 0);
    CHECK(held.positions == 0);
    REQUIRE(held.values.size() == 1);
    CHECK(held.values[0].id == 2);
    CHECK(held.ends == std::vector<bool>{true});
    const batch rest = consume_all(r);
    REQUIRE(rest.values.size() == 1);
    CHECK(rest.values[0].id == 3);
    CHECK_FALSE(r.front_ready());
}

TEST_CASE("conflating_ring: published == delivered + conflated == claimed + merged over a "
          "random run",
          "[conflating_ring]") {
    const auto mode = GENERATE(admf::producers::single, admf::producers::many);
    INFO("producers::" << mode_name(mode) << ", ADMF_SEED=" << admf_test::run_seed());
    admf_test::rng rng(admf_test::stream_seed(0xc0f1, mode == admf::producers::single ? 1 : 2));
    constexpr std::size_t keys = 37;
    ring r(keys, mode);
    std::map<std::uint64_t, std::int64_t> last_published;
    std::map<std::uint64_t, std::int64_t> last_delivered;
    std::uint64_t published = 0;
    std::uint64_t delivered = 0;
    std::uint64_t positions = 0;
    const auto drain = [&](std::size_t max) {
        positions += r.consume(
            [&](quote& q, bool) {
                ++delivered;
                auto [it, fresh] = last_delivered.emplace(q.id, q.price);
                if (!fresh) {
                    CHECK(q.price > it->second); // newer values only
                    it->second = q.price;
                }
            },
            max);
    };
    for (std::int64_t step = 1; step != 20'000; ++step) {
        if (rng.below(4) != 0) {
            const std::uint64_t id = rng.below(keys);
            REQUIRE(r.try_push(quote(id, 0, step)));
            last_published[id] = step;
            ++published;
        } else {
            drain(1 + rng.below(8));
        }
    }
    while (r.front_ready()) {
        drain(1000);
    }
    CHECK(last_delivered == last_published);
    CHECK(published == delivered + r.conflated_approx());
    CHECK(published == r.claimed_approx() + r.merged_approx());
    CHECK(positions == r.claimed_approx());
}
