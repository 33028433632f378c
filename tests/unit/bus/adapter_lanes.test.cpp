// SPDX-License-Identifier: MIT
// admf::bus over the Boost.Lockfree and moodycamel ring adapters as lane rings (the traits'
// single_producer_ring / multi_producer_ring): they model only ring_for, and the bus wraps
// them (detail::lane_ring_adapter). Checked: every event delivered once, per-key order,
// end_of_batch on the last event of each take, flush, stop, stats, lane hand-overs.
#include <admf/bus.hpp>

#if ADMF_TEST_HAVE_BOOST
#include <admf/ring/boost_spsc_ring.hpp>
#endif
#if ADMF_TEST_HAVE_MOODYCAMEL
#include <admf/ring/moodycamel_ring.hpp>
#endif

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {

struct tick {
    std::uint32_t producer;
    std::uint32_t key;
    std::uint64_t seq;
};

} // namespace

template <>
struct admf::event_traits<tick> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.TICK";
    static std::uint64_t key(const tick& t) noexcept { return (std::uint64_t{t.producer} << 32) | t.key; }
};

namespace {

constexpr std::uint32_t keys = 16;

#if ADMF_TEST_HAVE_BOOST
struct boost_lanes : admf::default_bus_traits {
    template <class Slot>
    using single_producer_ring = admf::boost_spsc_ring<Slot>;
};
#endif
#if ADMF_TEST_HAVE_MOODYCAMEL
struct moodycamel_lanes : admf::default_bus_traits {
    template <class Slot>
    using multi_producer_ring = admf::moodycamel_ring<Slot>;
};
#endif

// `producers` threads each publish `per_producer` events over `keys` keys; two lanes, and
// the worker count moves 1 -> 2 -> 1 meanwhile.
template <class Traits>
void run(admf::producers mode, std::uint32_t producers, std::uint64_t per_producer) {
    admf::bus_config cfg;
    auto& md = cfg[admf::domain::market_data];
    md.producer_mode = mode;
    md.lanes = 2;
    md.max_workers = 2;
    md.capacity = 64; // small: publishers block, takes end at the ring's end
    admf::basic_bus<Traits, tick> bus{cfg};

    std::vector<std::array<std::uint64_t, keys>> next(producers, std::array<std::uint64_t, keys>{});
    std::atomic<std::uint64_t> received{0}, out_of_order{0}, batch_ends{0}, refused{0};
    auto sub = bus.template subscribe<tick>([&](const tick& t, const admf::event_info& info) {
        auto& expected = next[t.producer][t.key];
        if (t.seq != expected) {
            out_of_order.fetch_add(1, std::memory_order_relaxed);
        }
        expected = t.seq + 1;
        received.fetch_add(1, std::memory_order_relaxed);
        if (info.end_of_batch) {
            batch_ends.fetch_add(1, std::memory_order_relaxed);
        }
    });
    bus.start();
    std::vector<std::thread> threads;
    for (std::uint32_t p = 0; p != producers; ++p) {
        threads.emplace_back([&, p] {
            std::array<std::uint64_t, keys> seq{};
            for (std::uint64_t i = 0; i != per_producer; ++i) {
                const auto k = static_cast<std::uint32_t>(i % keys);
                if (bus.publish(tick{p, k, seq[k]++}) != admf::publish_result::accepted) {
                    refused.fetch_add(1, std::memory_order_relaxed); // Catch2 asserts on one thread
                }
                if (p == 0 && i == per_producer / 3) {
                    bus.set_workers(admf::domain::market_data, 2);
                } else if (p == 0 && i == 2 * per_producer / 3) {
                    bus.set_workers(admf::domain::market_data, 1);
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(refused.load() == 0);
    bus.flush();
    const std::uint64_t total = per_producer * producers;
    CHECK(received.load() == total); // flush saw every claimed position through the adapter
    bus.stop();
    const auto s = bus.stats().partition(admf::domain::market_data);
    CHECK(out_of_order.load() == 0);
    CHECK(s.published == total);
    CHECK(s.delivered == total);
    CHECK(s.backlog == 0);
    CHECK(s.handovers >= 2);
    CHECK(batch_ends.load() >= 1);
    CHECK(batch_ends.load() <= total);
}

} // namespace

#if ADMF_TEST_HAVE_BOOST
TEST_CASE("bus over boost_spsc_ring lanes: one producer, every event once and in key order",
          "[bus][adapters]") {
    run<boost_lanes>(admf::producers::single, 1, 200'000);
}
#endif

#if ADMF_TEST_HAVE_MOODYCAMEL
TEST_CASE("bus over moodycamel_ring lanes: three producers, every event once and in key order",
          "[bus][adapters]") {
    run<moodycamel_lanes>(admf::producers::many, 3, 100'000);
}
#endif

TEST_CASE("bus over adapter lanes: a bus with admf's own rings needs no adapter", "[bus][adapters]") {
    using native = admf::detail::lane_ring_for<admf::default_bus_traits::multi_producer_ring, int>::type;
    STATIC_REQUIRE(std::is_same_v<native, admf::mpsc_ring<int>>);
#if ADMF_TEST_HAVE_MOODYCAMEL
    using adapted = admf::detail::lane_ring_for<moodycamel_lanes::multi_producer_ring, int>::type;
    STATIC_REQUIRE(std::is_same_v<adapted, admf::detail::lane_ring_adapter<moodycamel_lanes::multi_producer_ring, int>>);
#endif
}
