// SPDX-License-Identifier: MIT
// backpressure::conflate on a live admf::bus (include/admf/ring/conflating_ring.hpp as the
// lane ring): while a lane is behind, only the newest event per (type, key) is kept; the
// consumer always ends with the latest value of every key; published == delivered +
// conflated; a new key beyond `capacity` is answered full; misconfigurations are refused.
#include <admf/bus.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {

struct quote {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.QUOTE";
    static std::uint64_t key(const quote& q) noexcept { return q.instrument; }
    std::uint64_t instrument;
    std::uint64_t version; // per instrument, from 1
    std::uint64_t check;   // instrument ^ version ^ magic: a torn copy shows
};
constexpr std::uint64_t magic = 0x5bd1e9955bd1e995ULL;

struct trade {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.TRADE";
    static std::uint64_t key(const trade& t) noexcept { return t.instrument; }
    std::uint64_t instrument;
    std::uint64_t version;
};

struct keyless {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.STATUS";
    int code;
};

struct heavy { // nothrow copyable, but not trivially
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.NEWS";
    static std::uint64_t key(const heavy&) noexcept { return 0; }
    heavy() = default;
    heavy(const heavy& o) noexcept : id(o.id) {}
    heavy& operator=(const heavy& o) noexcept {
        id = o.id;
        return *this;
    }
    std::uint64_t id = 0;
};

struct order {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.NEW";
    static std::uint64_t key(const order& o) noexcept { return o.id; }
    std::uint64_t id;
};

quote make_quote(std::uint64_t instrument, std::uint64_t version) {
    return {instrument, version, instrument ^ version ^ magic};
}

admf::bus_config conflate_config(std::size_t keys, std::size_t lanes = 1, std::size_t workers = 1) {
    admf::bus_config cfg;
    auto& md = cfg[admf::domain::market_data];
    md.on_full = admf::backpressure::conflate;
    md.capacity = keys;
    md.lanes = lanes;
    md.workers = workers;
    return cfg;
}

/// Holds the worker in a handler until opened (gives up after 30 s).
struct gate {
    std::atomic<bool> entered{false};
    std::atomic<bool> open{false};
    void wait() {
        entered.store(true);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!open.load() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
    }
};

} // namespace

TEST_CASE("conflate: while the lane is behind only each key's newest event is kept, the "
          "consumer ends with the latest of every key",
          "[policy][conflate]") {
    constexpr std::uint64_t keys = 50;
    constexpr std::uint64_t versions = 100;
    admf::bus<quote, trade> bus{conflate_config(128)}; // 51 quote keys + 50 trade keys
    gate g;
    std::vector<std::uint64_t> last(keys + 1, 0);
    std::vector<std::uint64_t> last_trade(keys + 1, 0);
    std::uint64_t regressions = 0;
    std::uint64_t torn = 0;
    auto s1 = bus.subscribe<quote>([&](const quote& q) {
        if (q.instrument == keys) { // the holding event
            g.wait();
            return;
        }
        torn += q.check != (q.instrument ^ q.version ^ magic);
        regressions += q.version <= last[q.instrument];
        last[q.instrument] = q.version;
    });
    auto s2 = bus.subscribe<trade>([&](const trade& t) { last_trade[t.instrument] = t.version; });
    bus.start();
    REQUIRE(bus.publish(make_quote(keys, 1)) == admf::publish_result::accepted);
    while (!g.entered.load()) {
        std::this_thread::yield();
    }
    // The worker is held: every key gets 100 versions, and trades of the same keys, which
    // must not merge with the quotes.
    for (std::uint64_t v = 1; v <= versions; ++v) {
        for (std::uint64_t k = 0; k != keys; ++k) {
            REQUIRE(bus.publish(make_quote(k, v)) == admf::publish_result::accepted);
            REQUIRE(bus.publish(trade{k, v}) == admf::publish_result::accepted);
        }
    }
    g.open.store(true);
    bus.flush();
    for (std::uint64_t k = 0; k != keys; ++k) {
        INFO("key " << k);
        REQUIRE(last[k] == versions);
        REQUIRE(last_trade[k] == versions);
    }
    CHECK(torn == 0);
    CHECK(regressions == 0);
    const auto s = bus.stats().partition(admf::domain::market_data);
    CHECK(s.published == 1 + 2 * keys * versions);
    // Held: each (type, key) kept one event, the newest.
    CHECK(s.delivered == 1 + 2 * keys);
    CHECK(s.conflated == 2 * keys * (versions - 1));
    CHECK(s.published == s.delivered + s.conflated);
    CHECK(s.backlog == 0);
    CHECK(s.rejected == 0);
}

TEST_CASE("conflate: a new key beyond capacity is answered full and counted, known keys are "
          "still accepted",
          "[policy][conflate]") {
    admf::bus<quote> bus{conflate_config(4)};
    for (std::uint64_t k = 0; k != 4; ++k) {
        REQUIRE(bus.publish(make_quote(k, 1)) == admf::publish_result::accepted);
    }
    CHECK(bus.publish(make_quote(4, 1)) == admf::publish_result::full);
    const std::vector<quote> more{make_quote(0, 2), make_quote(9, 1), make_quote(1, 2)};
    std::size_t accepted = 0;
    CHECK(bus.publish_batch(std::span<const quote>(more), &accepted) == admf::publish_result::full);
    CHECK(accepted == 1);
    REQUIRE(bus.publish(make_quote(3, 2)) == admf::publish_result::accepted);
    bus.start();
    bus.flush();
    bus.stop();
    const auto s = bus.stats().total();
    CHECK(s.rejected == 3); // key 4, key 9 and the event after it in the batch
    CHECK(s.published == 6);
    CHECK(s.published == s.delivered + s.conflated);
    CHECK(s.conflated == 2); // keys 0 and 3 were published twice before the worker started
}

TEST_CASE("conflate: under load from two producers every key ends at its latest value and "
          "published == delivered + conflated",
          "[policy][conflate][stress]") {
    constexpr std::uint64_t keys = 64;
    constexpr std::uint64_t per_key = 20'000;
    admf::bus<quote> bus{conflate_config(keys, 2, 2)};
    // Keys of one lane are handled by one worker: each slot has one writer.
    std::vector<std::uint64_t> last(keys, 0);
    std::atomic<std::uint64_t> bad{0};
    auto sub = bus.subscribe<quote>([&](const quote& q) {
        if (q.check != (q.instrument ^ q.version ^ magic) || q.version <= last[q.instrument]) {
            bad.fetch_add(1);
        }
        last[q.instrument] = q.version;
        for (int spin = 0; spin != 50; ++spin) { // a consumer slower than the feed
            admf::cpu_relax();
        }
    });
    bus.start();
    std::vector<std::thread> producers;
    for (std::uint64_t p = 0; p != 2; ++p) {
        producers.emplace_back([&, p] {
            // Producer p owns the keys of its parity, so versions per key rise.
            for (std::uint64_t v = 1; v <= per_key; ++v) {
                for (std::uint64_t k = p; k < keys; k += 2) {
                    if (bus.publish(make_quote(k, v)) != admf::publish_result::accepted) {
                        bad.fetch_add(1);
                    }
                }
            }
        });
    }
    for (auto& t : producers) {
        t.join();
    }
    bus.flush();
    CHECK(bad.load() == 0);
    for (std::uint64_t k = 0; k != keys; ++k) {
        INFO("key " << k);
        REQUIRE(last[k] == per_key);
    }
    bus.stop();
    const auto s = bus.stats().total();
    CHECK(s.published == keys * per_key);
    CHECK(s.published == s.delivered + s.conflated);
    CHECK(s.backlog == 0);
    INFO("delivered " << s.delivered << " conflated " << s.conflated);
    CHECK(s.delivered >= keys);
}

TEST_CASE("conflate: stop(discard) counts what it discards, the books still balance",
          "[policy][conflate]") {
    admf::bus<quote> bus{conflate_config(16)};
    for (std::uint64_t v = 1; v <= 10; ++v) {
        for (std::uint64_t k = 0; k != 8; ++k) {
            REQUIRE(bus.publish(make_quote(k, v)) == admf::publish_result::accepted);
        }
    }
    bus.stop(admf::stop_mode::discard);
    const auto s = bus.stats().total();
    CHECK(s.published == 80);
    CHECK(s.delivered == 0);
    CHECK(s.discarded == 8);
    CHECK(s.conflated == 72);
    CHECK(s.refused == 0);
}

TEST_CASE("conflate: a configuration that cannot work is refused, naming the partition",
          "[policy][conflate]") {
    using admf::bus;
    CHECK_THROWS_AS((bus<quote, keyless>{conflate_config(8)}), std::invalid_argument); // a type without key
    CHECK_THROWS_AS((bus<quote, heavy>{conflate_config(8)}), std::invalid_argument);   // not trivially copyable
    admf::bus_config cfg;
    cfg[admf::domain::order].on_full = admf::backpressure::conflate;
    try {
        bus<order> b{cfg};
        FAIL("conflate on the critical order partition was accepted");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("order") != std::string::npos);
    }
    CHECK_NOTHROW((bus<quote, trade>{conflate_config(8)}));
    CHECK_NOTHROW((bus<quote, keyless>{})); // keyless types are fine without conflate
}
