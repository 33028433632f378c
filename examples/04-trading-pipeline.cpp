// SPDX-License-Identifier: MIT
// 04: a whole pipeline on one bus: quote -> strategy -> signal -> risk -> order -> simulated
// exchange -> fill -> positions, with a journal that sees every event of every domain.
// Each domain is its own partition with its own workers, so the stages run in parallel; the
// results are still deterministic because every piece of state is kept per instrument and
// every event is keyed by instrument: one instrument's events stay in order on one lane.
#include <admf/bus.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <type_traits>

// Prices in integer cents: exact sums, the same results on every run and platform.
struct quote { std::uint32_t instrument; std::int64_t bid, ask; };
// qty > 0 buys, qty < 0 sells.
struct trade_signal { std::uint32_t instrument; std::int32_t qty; std::int64_t price; };
struct new_order { std::uint64_t id; std::uint32_t instrument; std::int32_t qty; std::int64_t price; };
struct order_rejected { std::uint32_t instrument; std::int32_t qty; };
struct fill { std::uint64_t order; std::uint32_t instrument; std::int32_t qty; std::int64_t price; };

// Every event is keyed by its instrument (see the top); a base spares repeating the key.
template <admf::domain D>
struct keyed_by_instrument {
    static constexpr admf::domain domain = D;
    static std::uint64_t key(const auto& e) noexcept { return e.instrument; }
};
template <> struct admf::event_traits<quote> : keyed_by_instrument<admf::domain::market_data> {
    static constexpr std::string_view name = "MARKET_DATA.QUOTE";
};
template <> struct admf::event_traits<trade_signal> : keyed_by_instrument<admf::domain::signal> {
    static constexpr std::string_view name = "SIGNAL";
};
template <> struct admf::event_traits<new_order> : keyed_by_instrument<admf::domain::order> {
    static constexpr std::string_view name = "ORDER.NEW";
    static constexpr admf::priority priority = admf::priority::high; // ahead of routine traffic
};
template <> struct admf::event_traits<order_rejected> : keyed_by_instrument<admf::domain::order> {
    static constexpr std::string_view name = "ORDER.REJECTED";
};
template <> struct admf::event_traits<fill> : keyed_by_instrument<admf::domain::fill> {
    static constexpr std::string_view name = "FILL";
};

constexpr std::uint32_t instruments = 2;
constexpr std::int32_t max_order_qty = 250; // risk limit: per order
constexpr std::int32_t max_position = 400;  // risk limit: per instrument, long or short

int main() {
    admf::bus_config cfg;
    cfg[admf::domain::market_data].lanes = 2;   // instruments hash to lanes,
    cfg[admf::domain::market_data].workers = 2; // each lane has its own worker
    admf::bus<quote, trade_signal, new_order, order_rejected, fill> bus{cfg};

    // Strategy (market_data workers): momentum. After 3 rising mids in a row buy, after 3
    // falling sell, more the longer the run lasts. Per-instrument state: one worker each.
    struct trend { std::int64_t last_mid = 0; int run = 0; };
    std::array<trend, instruments> trends{};
    auto strategy = bus.subscribe<quote>([&](const quote& q) {
        trend& t = trends[q.instrument];
        const std::int64_t mid = (q.bid + q.ask) / 2;
        const int dir = mid > t.last_mid ? 1 : mid < t.last_mid ? -1 : 0;
        t.run = (t.last_mid != 0 && dir != 0 && dir * t.run >= 0) ? t.run + dir : dir;
        t.last_mid = mid;
        if (t.run >= 3 || t.run <= -3) {
            const std::int32_t qty = 100 * (t.run > 0 ? t.run - 2 : t.run + 2);
            // The signal carries the price it saw: the exchange, on another worker, must
            // not read a quote that arrived after the decision.
            (void)bus.publish(trade_signal{q.instrument, qty, qty > 0 ? q.ask : q.bid});
        }
    });

    // Risk (signal worker): limits on order size and on the position the orders would make.
    // It counts what it approved, not the fills: fills come later, from another partition.
    std::array<std::int32_t, instruments> committed{};
    unsigned long long next_id = 1, rejects = 0; // one signal worker: no atomics needed
    auto risk = bus.subscribe<trade_signal>([&](const trade_signal& s) {
        const std::int32_t after = committed[s.instrument] + s.qty;
        if (std::abs(s.qty) > max_order_qty || std::abs(after) > max_position) {
            ++rejects;
            (void)bus.publish(order_rejected{s.instrument, s.qty});
            return;
        }
        committed[s.instrument] = after;
        (void)bus.publish(new_order{next_id++, s.instrument, s.qty, s.price});
    });

    // Simulated exchange (order worker): fills every order in full at its quote's price.
    auto exchange = bus.subscribe<new_order>([&](const new_order& o) {
        (void)bus.publish(fill{o.id, o.instrument, o.qty, o.price});
    });

    // Position keeper (fill worker): position and cash per instrument.
    std::array<std::int32_t, instruments> position{};
    std::array<std::int64_t, instruments> cash{};
    auto keeper = bus.subscribe<fill>([&](const fill& f) {
        position[f.instrument] += f.qty;
        cash[f.instrument] -= static_cast<std::int64_t>(f.qty) * f.price;
    });

    // Journal: one generic handler subscribed to each whole domain (every event type of it,
    // including ones added later). It runs on that domain's workers, so its counts are atomic.
    std::array<std::atomic<unsigned long long>, 4> journal{};
    auto record = [&](const auto& e) {
        constexpr admf::domain d = admf::event_traits<std::decay_t<decltype(e)>>::domain;
        journal[admf::domain_index(d)].fetch_add(1, std::memory_order_relaxed);
    };
    auto j1 = bus.subscribe<admf::domain::market_data>(record);
    auto j2 = bus.subscribe<admf::domain::signal>(record);
    auto j3 = bus.subscribe<admf::domain::order>(record);
    auto j4 = bus.subscribe<admf::domain::fill>(record);

    bus.start();
    // A fixed quote sequence: a repeating walk of mid moves (cents), instrument 1 mirrored.
    constexpr std::array<int, 16> moves = {1, 2, 1, 3, 2, -1, 2, 1, 1, -2, -1, -3, 1, -2, -1, -1};
    std::array<std::int64_t, instruments> mid = {10'000, 5'000};
    for (int i = 0; i != 400; ++i) {
        for (std::uint32_t k = 0; k != instruments; ++k) {
            mid[k] += k == 0 ? moves[i % 16] : -moves[(i + 5) % 16];
            if (bus.publish(quote{k, mid[k] - 1, mid[k] + 1}) != admf::publish_result::accepted) {
                return 1;
            }
        }
    }
    bus.flush(); // every quote and everything it caused has been handled
    bus.stop();

    const auto stats = bus.stats();
    const auto delivered = [&](admf::domain d) -> unsigned long long {
        return stats.partition(d).delivered;
    };
    std::printf("quotes %llu, signals %llu, orders %llu, risk rejects %llu, fills %llu\n",
                delivered(admf::domain::market_data), delivered(admf::domain::signal), next_id - 1,
                rejects, delivered(admf::domain::fill));
    for (std::uint32_t k = 0; k != instruments; ++k) {
        const std::int64_t pnl = cash[k] + position[k] * mid[k]; // marked at the last mid
        std::printf("instrument %u: position %d, P&L %.2f\n", k, position[k],
                    static_cast<double>(pnl) / 100.0);
    }
    std::printf("journal: market_data %llu, signal %llu, order %llu, fill %llu\n",
                journal[0].load(), journal[1].load(), journal[2].load(), journal[3].load());
}
