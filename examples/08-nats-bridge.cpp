// SPDX-License-Identifier: MIT
// 08: two buses, two engines, one nats-server between them. The venue publishes quotes
// (market data: core NATS, at-most-once); the trading engine answers with orders, the venue
// with fills (orders and fills: JetStream, acked and de-duplicated, so each arrives once).
// Usage: example-08-nats-bridge [nats://127.0.0.1:4222]   (the ctest starts a server)
#include <admf/bridge/nats.hpp>
#include <admf/bus.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <thread>

// Events cross the wire as their bytes: plain, trivially copyable structs. Prices in cents.
struct quote { std::uint32_t instrument; std::int64_t bid, ask; };
struct new_order { std::uint64_t id; std::uint32_t instrument; std::int32_t qty; std::int64_t price; };
struct fill { std::uint64_t order_id; std::uint32_t instrument; std::int32_t qty; std::int64_t price; };

template <> struct admf::event_traits<quote> {   // subject admf.market_data.QUOTE
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "QUOTE";
};
template <> struct admf::event_traits<new_order> { // subject admf.order.ORDER.NEW
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.NEW";
};
template <> struct admf::event_traits<fill> {      // subject admf.fill.FILL
    static constexpr admf::domain domain = admf::domain::fill;
    static constexpr std::string_view name = "FILL";
};

using bus_type = admf::bus<quote, new_order, fill>;
using bridge_type = admf::bridge::nats_bridge<bus_type>;

// Waits for a condition, at most 20 s: messages cross a network, not a function call.
template <class Pred>
bool wait_for(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    return done();
}

int main(int argc, char** argv) {
    admf::bridge::nats_config nats;
    nats.url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";

    // A bridge hands remote events to its bus from libnats' thread, which must never block:
    // partitions that receive from NATS reject when full (and the bridge counts it).
    admf::bus_config venue_cfg, engine_cfg;
    venue_cfg[admf::domain::order].on_full = admf::backpressure::reject;
    engine_cfg[admf::domain::market_data].on_full = admf::backpressure::reject;
    engine_cfg[admf::domain::fill].on_full = admf::backpressure::reject;
    bus_type venue{venue_cfg}, engine{engine_cfg};

    // The venue fills every order in full at its limit price.
    auto exchange = venue.subscribe<new_order>([&](const new_order& o) {
        (void)venue.publish(fill{o.id, o.instrument, o.qty, o.price});
    });
    // The engine buys 10 whenever the ask is at or below 99.90 (one market_data worker).
    std::uint64_t next_id = 1;
    std::atomic<int> quotes_seen{0}, fills_seen{0};
    auto strategy = engine.subscribe<quote>([&](const quote& q) {
        if (q.ask <= 9'990) (void)engine.publish(new_order{next_id++, q.instrument, 10, q.ask});
        ++quotes_seen; // last: main reads next_id after seeing the count (seq_cst: release)
    });
    std::int64_t position = 0, cash = 0; // one fill worker
    auto keeper = engine.subscribe<fill>([&](const fill& f) {
        position += f.qty;
        cash -= f.qty * f.price;
        ++fills_seen;
    });

    try {
        nats.name = "venue";
        bridge_type venue_link(venue, nats);
        nats.name = "engine"; // names its durable JetStream consumers: one per receiver
        bridge_type engine_link(engine, nats);
        venue_link.forward<quote>();
        venue_link.forward<fill>();
        venue_link.inject<new_order>();
        engine_link.inject<quote>();
        engine_link.inject<fill>();
        engine_link.forward<new_order>();
        engine_link.flush(); // the engine's subscriptions reached the server: no quote missed
        venue.start();
        engine.start();

        constexpr int quotes = 200;
        for (int i = 0; i != quotes; ++i) {
            const std::int64_t ask = 10'000 + i % 20 - 15; // dips to 99.85 every 20 quotes
            (void)venue.publish(quote{1, ask - 2, ask});
        }
        const bool all_quotes = wait_for([&] { return quotes_seen == quotes; });
        engine.flush(); // every order is acked by JetStream now
        const bool all_fills = wait_for([&] { return fills_seen == static_cast<int>(next_id - 1); });
        const auto v = venue_link.stats();
        const auto e = engine_link.stats();
        std::printf("venue sent %d quotes, engine received %d (gaps %llu)\n", quotes, quotes_seen.load(),
                    static_cast<unsigned long long>(e.gaps));
        std::printf("engine sent %llu orders, venue filled %llu, engine got %d fills\n",
                    static_cast<unsigned long long>(e.forwarded), static_cast<unsigned long long>(v.injected),
                    fills_seen.load());
        engine_link.stop(); // bridges first: no callback reaches a bus after this
        venue_link.stop();
        venue.stop();
        engine.stop();
        std::printf("position %lld, cash %.2f\n", static_cast<long long>(position), static_cast<double>(cash) / 100.0);
        return all_quotes && all_fills ? 0 : 1;
    } catch (const admf::bridge::nats_error& err) {
        std::fprintf(stderr, "%s\n", err.what());
        return 2;
    }
}
