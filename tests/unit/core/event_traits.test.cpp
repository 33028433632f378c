// SPDX-License-Identifier: MIT
// Unit tests of admf::event_traits (include/admf/core/event_traits.hpp) and of user-defined
// domain sets (domain.hpp): how an event type declares its domain, name, key and priority,
// what the defaults are, and that a bus and a sync_bus work over a domain enum of the user's.
#include <admf/bus.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "catch.hpp"

namespace {

// Non-intrusive: declared through an event_traits specialization (below).
struct quote {
    std::uint32_t instrument;
    double bid;
};

// Intrusive: the same members as statics of the type itself.
struct intrusive_order {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.INTRUSIVE";
    static constexpr admf::priority priority = admf::priority::high;
    static std::uint64_t key(const intrusive_order& o) noexcept { return o.instrument; }
    std::uint64_t instrument;
};

// Only the required members: no key, no priority.
struct bare_event {
    static constexpr admf::domain domain = admf::domain::system;
    static constexpr std::string_view name = "SYSTEM.BARE";
    std::uint64_t n;
};

// Both: event_traits is looked at first, so it wins over the type's own members.
struct both_ways {
    static constexpr admf::domain domain = admf::domain::signal;
    static constexpr std::string_view name = "FROM.TYPE";
    static constexpr admf::priority priority = admf::priority::low;
    std::uint64_t n;
};

// A type declaring nothing: not an event.
struct not_an_event {
    int x;
};

} // namespace

template <>
struct admf::event_traits<quote> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.QUOTE";
    static std::uint64_t key(const quote& q) noexcept { return q.instrument; }
};

template <>
struct admf::event_traits<both_ways> {
    static constexpr admf::domain domain = admf::domain::fill;
    static constexpr std::string_view name = "FROM.TRAITS";
    static constexpr admf::priority priority = admf::priority::high;
};

// ---- a user-defined domain set ---------------------------------------------------------

namespace venue {

enum class part : unsigned char { quotes, orders, audit };

struct px {
    static constexpr part domain = part::quotes;
    static constexpr std::string_view name = "VENUE.PX";
    static std::uint64_t key(const px& p) noexcept { return p.symbol; }
    std::uint64_t symbol;
    std::uint64_t seq;
};

struct ord {
    static constexpr part domain = part::orders;
    static constexpr std::string_view name = "VENUE.ORD";
    static constexpr admf::priority priority = admf::priority::high;
    std::uint64_t id;
};

} // namespace venue

template <>
struct admf::domain_traits<venue::part> {
    static constexpr std::size_t count = 3;
    static constexpr std::array<std::string_view, count> names = {"quotes", "orders", "audit"};
    static constexpr bool critical(venue::part d) noexcept { return d == venue::part::orders; }
};

// ---- compile-time declarations ---------------------------------------------------------

// Non-intrusive.
static_assert(admf::event<quote>);
static_assert(admf::event_domain_v<quote> == admf::domain::market_data);
static_assert(admf::event_name_v<quote> == "MARKET_DATA.QUOTE");
static_assert(admf::event_has_key_v<quote>);
static_assert(admf::event_priority_v<quote> == admf::priority::medium); // default
static_assert(std::is_same_v<admf::event_domain_t<quote>, admf::domain>);

// Intrusive.
static_assert(admf::event<intrusive_order>);
static_assert(admf::event_domain_v<intrusive_order> == admf::domain::order);
static_assert(admf::event_name_v<intrusive_order> == "ORDER.INTRUSIVE");
static_assert(admf::event_priority_v<intrusive_order> == admf::priority::high);
static_assert(admf::event_has_key_v<intrusive_order>);

// Defaults.
static_assert(admf::event<bare_event>);
static_assert(!admf::event_has_key_v<bare_event>);
static_assert(admf::event_priority_v<bare_event> == admf::priority::medium);

// Traits first.
static_assert(admf::event_domain_v<both_ways> == admf::domain::fill);
static_assert(admf::event_name_v<both_ways> == "FROM.TRAITS");
static_assert(admf::event_priority_v<both_ways> == admf::priority::high);

// cv-ref qualified forms name the same event.
static_assert(admf::event_domain_v<const quote&> == admf::domain::market_data);
static_assert(!admf::event<not_an_event>);

// The user's domain set.
static_assert(admf::domain_set<venue::part>);
static_assert(!admf::domain_set<int>);
static_assert(admf::event<venue::px> && admf::event<venue::ord>);
static_assert(std::is_same_v<admf::event_domain_t<venue::px>, venue::part>);
static_assert(admf::domain_index(venue::part::audit) == 2);
static_assert(admf::domain_name(venue::part::orders) == "orders");
static_assert(admf::domain_traits<venue::part>::critical(venue::part::orders));
static_assert(!admf::domain_traits<venue::part>::critical(venue::part::quotes));
static_assert(admf::domain_name(admf::domain::market_data) == "market_data");

TEST_CASE("event_traits: event_key reads the declared key, non-intrusive and intrusive", "[core]") {
    REQUIRE(admf::event_key(quote{42, 1.5}) == 42);
    REQUIRE(admf::event_key(intrusive_order{7}) == 7);
}

TEST_CASE("event_traits: a type without a key has key 0", "[core]") {
    REQUIRE(admf::event_key(bare_event{123}) == 0);
}

TEST_CASE("event_traits: keyless events go to lane 0 with medium priority, declared "
          "priority reaches event_info",
          "[core]") {
    // Four lanes in each partition: a keyless event must still land on lane 0, and a key
    // must be able to land elsewhere (or the lane check would prove nothing).
    admf::bus_config cfg;
    for (auto& p : cfg.partitions) {
        p.lanes = 4;
        p.workers = 1;
        p.capacity = 64;
    }
    admf::bus<quote, intrusive_order, bare_event> bus(cfg);
    std::vector<admf::event_info> bare_infos;
    std::vector<admf::event_info> order_infos;
    std::vector<std::uint32_t> quote_lanes;
    auto s1 = bus.subscribe<bare_event>(
        [&](const bare_event&, const admf::event_info& i) { bare_infos.push_back(i); });
    auto s2 = bus.subscribe<intrusive_order>(
        [&](const intrusive_order&, const admf::event_info& i) { order_infos.push_back(i); });
    auto s3 = bus.subscribe<quote>(
        [&](const quote&, const admf::event_info& i) { quote_lanes.push_back(i.lane); });
    bus.start();
    for (std::uint64_t n = 0; n != 32; ++n) {
        REQUIRE(bus.publish(bare_event{n}) == admf::publish_result::accepted);
        REQUIRE(bus.publish(intrusive_order{n}) == admf::publish_result::accepted);
        REQUIRE(bus.publish(quote{static_cast<std::uint32_t>(n), 1.0}) ==
                admf::publish_result::accepted);
    }
    // An explicit priority overrides the declared one.
    REQUIRE(bus.publish(bare_event{99}, admf::priority::low) == admf::publish_result::accepted);
    bus.flush();
    bus.stop();

    REQUIRE(bare_infos.size() == 33);
    for (std::size_t i = 0; i != 32; ++i) {
        CHECK(bare_infos[i].lane == 0);
        CHECK(bare_infos[i].level == admf::priority::medium);
    }
    CHECK(bare_infos.back().level == admf::priority::low);
    REQUIRE(order_infos.size() == 32);
    for (const auto& i : order_infos) {
        CHECK(i.level == admf::priority::high);
    }
    REQUIRE(quote_lanes.size() == 32);
    bool other_lane = false;
    for (auto l : quote_lanes) {
        other_lane = other_lane || l != 0;
    }
    CHECK(other_lane); // 32 keys over 4 lanes: the lane field is not always 0
}

TEST_CASE("domain_traits: a bus over a user-defined domain set partitions, names and "
          "validates by that set",
          "[core]") {
    admf::basic_bus_config<venue::part> cfg;
    cfg[venue::part::quotes].lanes = 2;
    cfg[venue::part::quotes].workers = 2;
    std::vector<std::string> errors;
    cfg.on_error = [&](const admf::handler_error& e) {
        errors.push_back(std::string(e.partition) + "/" + std::string(e.event));
    };
    admf::bus<venue::px, venue::ord> bus(cfg);
    static_assert(decltype(bus)::partition_count == 3);
    static_assert(std::is_same_v<decltype(bus)::domain_type, venue::part>);

    std::atomic<std::uint64_t> px_seen{0};
    std::vector<admf::priority> ord_levels;
    auto s1 = bus.subscribe<venue::px>([&](const venue::px&) { px_seen.fetch_add(1); });
    auto s2 = bus.subscribe<venue::ord>([&](const venue::ord& o, const admf::event_info& i) {
        ord_levels.push_back(i.level);
        if (o.id == 3) {
            throw std::runtime_error("reject");
        }
    });
    auto s3 = bus.subscribe<venue::part::orders>([](const venue::ord&) {}); // domain-wide
    bus.start();
    for (std::uint64_t i = 0; i != 100; ++i) {
        REQUIRE(bus.publish(venue::px{i % 7, i}) == admf::publish_result::accepted);
    }
    for (std::uint64_t i = 0; i != 5; ++i) {
        REQUIRE(bus.publish(venue::ord{i}) == admf::publish_result::accepted);
    }
    bus.flush();
    const auto st = bus.stats();
    bus.stop();

    CHECK(px_seen.load() == 100);
    REQUIRE(ord_levels.size() == 5);
    CHECK(ord_levels[0] == admf::priority::high);
    CHECK(st.partition(venue::part::quotes).name == "quotes");
    CHECK(st.partition(venue::part::quotes).delivered == 100);
    CHECK(st.partition(venue::part::orders).name == "orders");
    CHECK(st.partition(venue::part::orders).delivered == 5);
    CHECK(st.partition(venue::part::orders).handler_errors == 1);
    CHECK(st.partition(venue::part::audit).name == "audit");
    CHECK(st.partition(venue::part::audit).published == 0);
    CHECK(st.total().published == 105);
    REQUIRE(errors == std::vector<std::string>{"orders/VENUE.ORD"});

    // Validation names the user's partition.
    admf::basic_bus_config<venue::part> bad;
    bad[venue::part::orders].lanes = 3;
    try {
        admf::bus<venue::px, venue::ord> b(bad);
        FAIL("lanes = 3 was accepted");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("orders") != std::string::npos);
    }
}

TEST_CASE("domain_traits: a sync_bus over a user-defined domain set dispatches and counts "
          "per partition",
          "[core]") {
    admf::sync_bus<venue::px, venue::ord> bus;
    std::vector<std::string> trace;
    auto s1 = bus.subscribe<venue::px>([&](const venue::px& p) {
        trace.push_back("px" + std::to_string(p.seq));
        if (p.seq == 1) {
            (void)bus.publish(venue::ord{10}); // queued: dispatched after this handler
        }
    });
    auto s2 = bus.subscribe<venue::part::orders>(
        [&](const venue::ord& o) { trace.push_back("ord" + std::to_string(o.id)); });
    bus.start();
    REQUIRE(bus.publish(venue::px{1, 1}) == admf::publish_result::accepted);
    REQUIRE(bus.publish(venue::px{1, 2}) == admf::publish_result::accepted);
    bus.stop();
    REQUIRE(trace == std::vector<std::string>{"px1", "ord10", "px2"});
    const auto st = bus.stats();
    CHECK(st.partition(venue::part::quotes).delivered == 2);
    CHECK(st.partition(venue::part::orders).delivered == 1);
    CHECK(st.partition(venue::part::orders).name == "orders");
    CHECK(st.partition(venue::part::audit).delivered == 0);
}
