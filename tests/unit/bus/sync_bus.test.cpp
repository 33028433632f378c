// SPDX-License-Identifier: MIT
// Unit tests of admf::sync_bus (include/admf/bus/sync_bus.hpp), the deterministic
// single-threaded bus: run-to-completion order (events published inside a handler are
// dispatched after it returns, high before medium before low, FIFO within a level), the
// lifecycle (publish before start, stop inside a handler), the capacity * lanes bound,
// handler exceptions, subscribe/unsubscribe inside handlers, and determinism: a random
// workload replayed with the same seed produces the same handler call trace.
#include <admf/bus.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "seed.hpp"

namespace {

struct ev_a {
    std::uint64_t key;
    std::uint64_t v;
};
struct ev_b {
    std::uint64_t v;
};
struct ev_c {
    static constexpr admf::domain domain = admf::domain::system;
    static constexpr std::string_view name = "SYS.C";
    std::uint64_t v;
};

} // namespace

template <>
struct admf::event_traits<ev_a> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.A";
    static std::uint64_t key(const ev_a& e) noexcept { return e.key; }
};
template <>
struct admf::event_traits<ev_b> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.B";
};

namespace {

using test_bus = admf::sync_bus<ev_a, ev_b, ev_c>;
using admf::priority;
using admf::publish_result;
constexpr auto md = admf::domain::market_data;
constexpr auto ord = admf::domain::order;
constexpr auto sys = admf::domain::system;

} // namespace

TEST_CASE("sync_bus: events published inside a handler run after it returns, high before "
          "medium before low, FIFO within a level",
          "[sync_bus]") {
    test_bus bus;
    std::vector<std::string> trace;
    std::vector<admf::event_info> infos;
    auto sa = bus.subscribe<ev_a>([&](const ev_a& e) {
        trace.push_back("a" + std::to_string(e.v) + "{");
        REQUIRE(bus.publish(ev_b{1}, priority::low) == publish_result::accepted);
        REQUIRE(bus.publish(ev_b{2}, priority::medium) == publish_result::accepted);
        REQUIRE(bus.publish(ev_b{3}, priority::high) == publish_result::accepted);
        REQUIRE(bus.publish(ev_b{4}) == publish_result::accepted); // medium by default
        REQUIRE(bus.publish(ev_c{5}, priority::high) == publish_result::accepted);
        trace.push_back("}");
    });
    auto sb = bus.subscribe<ev_b>([&](const ev_b& e, const admf::event_info& info) {
        trace.push_back("b" + std::to_string(e.v));
        infos.push_back(info);
        if (e.v == 3) {
            REQUIRE(bus.publish(ev_c{30}) == publish_result::accepted); // after b2, b4
        }
    });
    auto sc = bus.subscribe<ev_c>([&](const ev_c& e) { trace.push_back("c" + std::to_string(e.v)); });
    bus.start();
    REQUIRE(bus.publish(ev_a{0, 1}) == publish_result::accepted);
    // The cascade ran to completion inside publish().
    REQUIRE(trace == std::vector<std::string>{"a1{", "}", "b3", "c5", "b2", "b4", "c30", "b1"});
    REQUIRE(infos.size() == 4);
    CHECK(infos[0].level == priority::high);
    CHECK(infos[1].level == priority::medium);
    CHECK(infos[2].level == priority::medium);
    CHECK(infos[3].level == priority::low);
    // Sequence numbers count per partition in dispatch order; only the last event of the
    // cascade ends the batch (nothing left queued).
    for (std::uint64_t i = 0; i != infos.size(); ++i) {
        CHECK(infos[i].sequence == i);
        CHECK(infos[i].end_of_batch == (i == 3));
    }
    const auto s = bus.stats();
    CHECK(s.partition(md).delivered == 1);
    CHECK(s.partition(ord).delivered == 4);
    CHECK(s.partition(sys).delivered == 2);
    CHECK(s.total().backlog == 0);
}

TEST_CASE("sync_bus: events published before start are queued, and start() dispatches them in "
          "order",
          "[sync_bus]") {
    test_bus bus;
    std::vector<std::uint64_t> seen;
    auto sub = bus.subscribe<ev_b>([&](const ev_b& e) { seen.push_back(e.v); });
    REQUIRE_THROWS_AS(bus.flush(), std::logic_error);
    for (std::uint64_t i = 0; i != 5; ++i) {
        REQUIRE(bus.publish(ev_b{i}) == publish_result::accepted);
    }
    REQUIRE(bus.publish(ev_b{99}, priority::high) == publish_result::accepted);
    REQUIRE(seen.empty());
    REQUIRE(bus.stats().partition(ord).backlog == 6);
    REQUIRE_FALSE(bus.running());
    bus.start();
    REQUIRE(bus.running());
    REQUIRE(seen == std::vector<std::uint64_t>{99, 0, 1, 2, 3, 4});
    REQUIRE(bus.stats().partition(ord).backlog == 0);
    REQUIRE(bus.stats().partition(ord).delivered == 6);
    bus.flush(); // started: a no-op
    bus.start(); // running: a no-op
    bus.stop();
    bus.stop();
    REQUIRE_THROWS_AS(bus.start(), std::logic_error);
}

TEST_CASE("sync_bus: stop() inside a handler refuses later publishes and drains what was queued",
          "[sync_bus]") {
    test_bus bus;
    std::vector<std::string> trace;
    std::optional<publish_result> after_stop;
    auto sa = bus.subscribe<ev_a>([&](const ev_a&) {
        REQUIRE(bus.publish(ev_b{1}) == publish_result::accepted);
        bus.stop();
        after_stop = bus.publish(ev_b{2});
        trace.push_back("a");
    });
    auto sb = bus.subscribe<ev_b>([&](const ev_b& e) {
        trace.push_back("b" + std::to_string(e.v));
        REQUIRE(bus.publish(ev_c{1}) == publish_result::stopped);
    });
    bus.start();
    REQUIRE(bus.publish(ev_a{0, 0}) == publish_result::accepted);
    REQUIRE(after_stop == publish_result::stopped);
    REQUIRE(trace == std::vector<std::string>{"a", "b1"}); // drained after the handler
    REQUIRE_FALSE(bus.running());
    REQUIRE(bus.publish(ev_a{0, 1}) == publish_result::stopped);
    const auto s = bus.stats();
    CHECK(s.partition(ord).refused == 1);
    CHECK(s.partition(sys).refused == 1);
    CHECK(s.partition(md).refused == 1);
    CHECK(s.partition(ord).delivered == 1);
    CHECK(s.total().published == s.total().delivered);
}

TEST_CASE("sync_bus: stop(discard) inside a handler counts the queued events as discarded",
          "[sync_bus]") {
    test_bus bus;
    int b_calls = 0;
    auto sa = bus.subscribe<ev_a>([&](const ev_a&) {
        REQUIRE(bus.publish(ev_b{1}) == publish_result::accepted);
        REQUIRE(bus.publish(ev_b{2}) == publish_result::accepted);
        bus.stop(admf::stop_mode::discard);
    });
    auto sb = bus.subscribe<ev_b>([&](const ev_b&) { ++b_calls; });
    bus.start();
    REQUIRE(bus.publish(ev_a{0, 0}) == publish_result::accepted);
    REQUIRE(b_calls == 0);
    const auto s = bus.stats().partition(ord);
    CHECK(s.discarded == 2);
    CHECK(s.delivered == 0);
    CHECK(s.published == s.delivered + s.discarded);
    CHECK(s.backlog == 0);
}

TEST_CASE("sync_bus: a partition holds at most capacity * lanes queued events, more answer full",
          "[sync_bus]") {
    admf::bus_config cfg;
    cfg[ord].capacity = 2;
    cfg[ord].lanes = 2;
    test_bus bus(cfg);
    std::vector<publish_result> results;
    int b_calls = 0;
    auto sa = bus.subscribe<ev_a>([&](const ev_a&) {
        for (std::uint64_t i = 0; i != 10; ++i) {
            results.push_back(bus.publish(ev_b{i}));
        }
        // Another partition has its own bound.
        REQUIRE(bus.publish(ev_c{0}) == publish_result::accepted);
    });
    auto sb = bus.subscribe<ev_b>([&](const ev_b&) { ++b_calls; });
    bus.start();
    REQUIRE(bus.publish(ev_a{0, 0}) == publish_result::accepted);
    std::vector<publish_result> expected(4, publish_result::accepted);
    expected.resize(10, publish_result::full);
    REQUIRE(results == expected);
    REQUIRE(b_calls == 4);
    auto s = bus.stats().partition(ord);
    CHECK(s.rejected == 6);
    CHECK(s.published == 4);
    CHECK(s.delivered == 4);
    // The bound is on what is queued: once drained, there is room again.
    results.clear();
    REQUIRE(bus.publish(ev_a{0, 1}) == publish_result::accepted);
    REQUIRE(results == expected);

    // publish_batch from outside: each event dispatched at once, so the bound never bites;
    // inside a handler the batch stops at the first full one.
    std::vector<ev_b> batch(6, ev_b{7});
    std::size_t accepted = 0;
    REQUIRE(bus.publish_batch(std::span<const ev_b>(batch), &accepted) == publish_result::accepted);
    REQUIRE(accepted == 6);
    auto sc = bus.subscribe<ev_c>([&](const ev_c&) {
        std::size_t n = 99;
        REQUIRE(bus.publish_batch(std::span<const ev_b>(batch), &n) == publish_result::full);
        REQUIRE(n == 4);
    });
    const auto rejected_before = bus.stats().partition(ord).rejected;
    REQUIRE(bus.publish(ev_c{1}) == publish_result::accepted);
    CHECK(bus.stats().partition(ord).rejected == rejected_before + 2);

    admf::bus_config bad;
    bad[sys].capacity = 0;
    REQUIRE_THROWS_AS(test_bus(bad), std::invalid_argument);
}

TEST_CASE("sync_bus: a throwing handler is counted and reported, the others still run",
          "[sync_bus]") {
    std::vector<std::string> reports;
    admf::bus_config cfg;
    cfg.on_error = [&](const admf::handler_error& e) {
        std::string what;
        try {
            std::rethrow_exception(e.exception);
        } catch (const std::exception& ex) {
            what = ex.what();
        }
        reports.push_back(std::string(e.partition) + "|" + std::string(e.event) + "|" +
                          std::to_string(e.subscription) + "|" + what);
    };
    test_bus bus(cfg);
    int others = 0;
    auto thrower = bus.subscribe<ev_b>([](const ev_b& e) {
        if (e.v == 1) {
            throw std::runtime_error("bad b");
        }
    });
    auto other = bus.subscribe<ev_b>([&](const ev_b&) { ++others; });
    bus.start();
    REQUIRE(bus.publish(ev_b{0}) == publish_result::accepted);
    REQUIRE(bus.publish(ev_b{1}) == publish_result::accepted);
    REQUIRE(bus.publish(ev_b{2}) == publish_result::accepted);
    REQUIRE(others == 3);
    REQUIRE(thrower.handler_errors() == 1);
    REQUIRE(other.handler_errors() == 0);
    REQUIRE(bus.stats().partition(ord).handler_errors == 1);
    REQUIRE(reports ==
            std::vector<std::string>{"order|ORDER.B|" + std::to_string(thrower.id()) + "|bad b"});
}

TEST_CASE("sync_bus: handlers may subscribe, unsubscribe others and unsubscribe themselves",
          "[sync_bus]") {
    test_bus bus;
    std::vector<std::string> trace;
    admf::subscription victim;
    admf::subscription self;
    std::optional<admf::subscription> late;
    auto boss = bus.subscribe<ev_b>([&](const ev_b& e) {
        trace.push_back("boss" + std::to_string(e.v));
        if (e.v == 1) {
            late = bus.subscribe<ev_b>(
                [&](const ev_b& u) { trace.push_back("late" + std::to_string(u.v)); });
        }
        if (e.v == 2) {
            victim.unsubscribe(); // subscribed after boss: not called for this event either
        }
    });
    victim = bus.subscribe<ev_b>([&](const ev_b& e) { trace.push_back("victim" + std::to_string(e.v)); });
    self = bus.subscribe<ev_b>([&](const ev_b& e) {
        trace.push_back("self" + std::to_string(e.v));
        self.unsubscribe();
    });
    bus.start();
    for (std::uint64_t i = 0; i != 4; ++i) {
        REQUIRE(bus.publish(ev_b{i}) == publish_result::accepted);
    }
    // "late" joins while event 1 is being dispatched: from event 2 on.
    REQUIRE(trace == std::vector<std::string>{"boss0", "victim0", "self0", "boss1", "victim1",
                                              "boss2", "late2", "boss3", "late3"});
    REQUIRE_FALSE(victim.active());
    REQUIRE_FALSE(self.active());
}

TEST_CASE("sync_bus: flush inside a handler throws std::logic_error", "[sync_bus]") {
    test_bus bus;
    int threw = 0;
    auto sub = bus.subscribe<ev_c>([&](const ev_c&) {
        try {
            bus.flush();
        } catch (const std::logic_error&) {
            ++threw;
        }
    });
    bus.start();
    REQUIRE(bus.publish(ev_c{0}) == publish_result::accepted);
    REQUIRE(threw == 1);
}

// ---- determinism --------------------------------------------------------------------------

namespace {

// A random workload: outside publishes of three types at random priorities, and handlers
// that publish (queued), subscribe new handlers and unsubscribe existing ones (themselves
// included), all decided by one PRNG seeded per run. The trace hash is FNV-1a over every
// handler call: handler id, event type, payload, sequence, level, end_of_batch, plus the
// result of every publish.
class workload {
public:
    explicit workload(std::uint64_t seed) : bus_(config()), rng_(seed) {}

    std::uint64_t run(std::uint64_t outer_publishes) {
        for (std::size_t i = 0; i != 3; ++i) {
            subscribe_slot(i);
        }
        bus_.start();
        for (std::uint64_t i = 0; i != outer_publishes; ++i) {
            switch (rng_.below(10)) {
            case 0:
                subscribe_slot(rng_.below(slots));
                break;
            case 1:
                slot_[rng_.below(slots)].reset();
                break;
            default:
                publish_random();
                break;
            }
        }
        bus_.stop();
        mix(calls_);
        return hash_;
    }

    [[nodiscard]] std::uint64_t calls() const noexcept { return calls_; }

private:
    static constexpr std::size_t slots = 8;

    static admf::bus_config config() {
        admf::bus_config cfg;
        cfg[ord].capacity = 4; // cascades into order sometimes hit `full`
        cfg[ord].lanes = 2;
        return cfg;
    }

    void mix(std::uint64_t x) noexcept {
        for (int i = 0; i != 8; ++i) {
            hash_ ^= (x >> (8 * i)) & 0xff;
            hash_ *= 0x100000001b3ULL;
        }
    }

    priority random_priority() { return static_cast<priority>(rng_.below(3)); }

    void publish_random() {
        const auto v = rng_.next() & 0xffff;
        publish_result r{};
        switch (rng_.below(3)) {
        case 0:
            r = bus_.publish(ev_a{v % 5, v}, random_priority());
            break;
        case 1:
            r = bus_.publish(ev_b{v}, random_priority());
            break;
        default:
            r = bus_.publish(ev_c{v}, random_priority());
            break;
        }
        mix(static_cast<std::uint64_t>(r) + 100);
    }

    void on_event(std::uint64_t handler, std::uint64_t type, std::uint64_t payload,
                  const admf::event_info& info) {
        ++calls_;
        mix(handler);
        mix(type);
        mix(payload);
        mix(info.sequence);
        mix(static_cast<std::uint64_t>(info.level));
        mix(info.end_of_batch ? 1 : 0);
        if (budget_ == 0) {
            return;
        }
        --budget_;
        const auto action = rng_.below(16);
        if (action < 7) {
            publish_random(); // inside a handler: queued
        } else if (action < 9) {
            publish_random();
            publish_random();
        } else if (action == 9) {
            subscribe_slot(rng_.below(slots)); // may replace (unsubscribe) the running one
        } else if (action == 10) {
            slot_[rng_.below(slots)].reset();
        }
    }

    void subscribe_slot(std::size_t i) {
        const std::uint64_t id = ++next_handler_;
        switch (rng_.below(4)) {
        case 0:
            slot_[i] = bus_.subscribe<ev_a>([this, id](const ev_a& e, const admf::event_info& info) {
                on_event(id, 1, e.v, info);
            });
            break;
        case 1:
            slot_[i] = bus_.subscribe<ev_b>([this, id](const ev_b& e, const admf::event_info& info) {
                on_event(id, 2, e.v, info);
            });
            break;
        case 2:
            slot_[i] = bus_.subscribe<ev_c>([this, id](const ev_c& e, const admf::event_info& info) {
                on_event(id, 3, e.v, info);
            });
            break;
        default:
            slot_[i] = bus_.subscribe<ord>([this, id](const ev_b& e, const admf::event_info& info) {
                on_event(id, 4, e.v, info);
            });
            break;
        }
        mix(id);
    }

    test_bus bus_;
    admf_test::rng rng_;
    std::array<std::optional<admf::subscription>, slots> slot_{};
    std::uint64_t next_handler_ = 0;
    std::uint64_t budget_ = 4000; // handler actions per run: bounds the cascades
    std::uint64_t calls_ = 0;
    std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

} // namespace

TEST_CASE("sync_bus: the same seed gives the same handler call trace (100 seeds, each run "
          "twice)",
          "[sync_bus]") {
    const std::uint64_t base = admf_test::run_seed();
    std::set<std::uint64_t> distinct;
    std::uint64_t min_calls = ~std::uint64_t{0};
    for (std::uint64_t s = 0; s != 100; ++s) {
        const std::uint64_t seed = admf_test::rng(base + s).next();
        INFO("workload seed " << seed << " (run seed " << base << ", index " << s << ")");
        workload first(seed);
        workload second(seed);
        const auto h1 = first.run(1000);
        const auto h2 = second.run(1000);
        REQUIRE(h1 == h2);
        REQUIRE(first.calls() == second.calls());
        min_calls = std::min(min_calls, first.calls());
        distinct.insert(h1);
    }
    // The hash sees the workload: different seeds give different traces, and every run
    // called handlers many times (cascades included).
    REQUIRE(distinct.size() >= 95);
    REQUIRE(min_calls >= 100);
}
