// SPDX-License-Identifier: MIT
// The moving-average crossover backtest shared by examples 05 and 07: bar/order/fill events,
// the strategy, run_backtest on admf::sync_bus, and load_bars for data/bars.csv.
#pragma once

#include <admf/bus.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

// Prices in integer cents: exact arithmetic, so the P&L is the same on every platform.
struct bar { std::uint32_t symbol; std::int64_t open, high, low, close, volume; };
struct new_order { std::uint32_t symbol; std::int32_t qty; };        // market order
struct fill { std::uint32_t symbol; std::int32_t qty; std::int64_t price; };

template <> struct admf::event_traits<bar> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.BAR";
    static std::uint64_t key(const bar& b) noexcept { return b.symbol; }
};
template <> struct admf::event_traits<new_order> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.NEW";
    static std::uint64_t key(const new_order& o) noexcept { return o.symbol; }
};
template <> struct admf::event_traits<fill> {
    static constexpr admf::domain domain = admf::domain::fill;
    static constexpr std::string_view name = "FILL";
};

// The strategy, one per symbol: long `size` while the fast moving average of the closes is
// above the slow one, short while below. Pure logic, no bus: easy to test and to reuse.
struct ma_crossover {
    std::size_t fast = 10, slow = 30; // windows in bars, 0 < fast < slow
    std::int32_t size = 100;
    std::vector<std::int64_t> last{};  // the last `slow` closes, a ring
    std::int64_t fast_sum = 0, slow_sum = 0;
    std::size_t seen = 0;
    std::int32_t target = 0;

    // Takes one close; returns the position to hold from now on.
    std::int32_t on_close(std::int64_t close) {
        if (last.empty()) last.assign(slow, 0);
        if (seen >= fast) fast_sum -= last[(seen - fast) % slow];
        if (seen >= slow) slow_sum -= last[seen % slow];
        last[seen++ % slow] = close;
        fast_sum += close;
        slow_sum += close;
        if (seen < slow) return target; // not warmed up yet
        // fast_sum / fast vs slow_sum / slow, without division: exact.
        const auto f = fast_sum * static_cast<std::int64_t>(slow);
        const auto s = slow_sum * static_cast<std::int64_t>(fast);
        if (f != s) target = f > s ? size : -size;
        return target;
    }
};

struct backtest_result { std::uint64_t trades = 0; std::int64_t pnl = 0; }; // pnl in cents

inline backtest_result run_backtest(const std::vector<bar>& bars, std::size_t symbols,
                                    std::size_t fast, std::size_t slow) {
    admf::sync_bus<bar, new_order, fill> bus;
    std::vector<ma_crossover> strategy(symbols, ma_crossover{.fast = fast, .slow = slow});
    std::vector<std::int32_t> wanted(symbols), resting(symbols), position(symbols);
    std::vector<std::int64_t> cash(symbols), last_close(symbols);
    backtest_result r;

    // Strategy: on each bar's close, order the difference to the position it wants.
    auto on_bar = bus.subscribe<bar>([&](const bar& b) {
        const std::int32_t t = strategy[b.symbol].on_close(b.close);
        if (t != wanted[b.symbol]) {
            (void)bus.publish(new_order{b.symbol, t - wanted[b.symbol]});
            wanted[b.symbol] = t;
        }
        last_close[b.symbol] = b.close;
    });
    // Simulated exchange: an order decided on a close fills at the next bar's open (filling
    // at the close that made the decision would trade on a price already gone).
    auto on_order = bus.subscribe<new_order>([&](const new_order& o) {
        resting[o.symbol] += o.qty;
    });
    auto on_open = bus.subscribe<bar>([&](const bar& b) {
        if (resting[b.symbol] != 0) (void)bus.publish(fill{b.symbol, resting[b.symbol], b.open});
        resting[b.symbol] = 0;
    });
    // Position keeper.
    auto on_fill = bus.subscribe<fill>([&](const fill& f) {
        ++r.trades;
        position[f.symbol] += f.qty;
        cash[f.symbol] -= static_cast<std::int64_t>(f.qty) * f.price;
    });

    bus.start();
    for (const bar& b : bars) {
        if (bus.publish(b) != admf::publish_result::accepted) std::abort();
    }
    bus.stop();
    for (std::size_t k = 0; k != symbols; ++k) r.pnl += cash[k] + position[k] * last_close[k];
    return r; // marked to market at the last close
}

// Reads date,symbol,open,high,low,close,volume rows; symbols are numbered as first seen.
inline std::vector<bar> load_bars(const char* path, std::vector<std::string>& symbols) {
    std::ifstream in(path);
    std::vector<bar> bars;
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::istringstream fields(line);
        for (std::string v; std::getline(fields, v, ',');) f.push_back(v);
        if (f.size() != 7) continue;
        std::uint32_t id = 0;
        while (id != symbols.size() && symbols[id] != f[1]) ++id;
        if (id == symbols.size()) symbols.push_back(f[1]);
        const auto cents = [](const std::string& s) {
            return std::llround(std::strtod(s.c_str(), nullptr) * 100);
        };
        bars.push_back({id, cents(f[2]), cents(f[3]), cents(f[4]), cents(f[5]),
                        std::atoll(f[6].c_str())});
    }
    return bars;
}
