// SPDX-License-Identifier: MIT
// 05: a backtest. admf::sync_bus runs every handler on the caller's thread, in a fixed order,
// so replaying recorded bars gives the same trades and P&L on every run. The handlers are the
// ones a live engine would subscribe to admf::bus: only the bus type and the feed differ.
// Usage: example-05-backtest data/bars.csv [fast slow]   (CSV made by data/make_bars.py)
// The events, the strategy, run_backtest and load_bars are in strategy/ma_crossover.hpp,
// shared with 07-grid-search, which runs the same backtest over a grid of windows.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "strategy/ma_crossover.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s bars.csv [fast slow]\n", argv[0]);
        return 2;
    }
    const std::size_t fast = argc > 3 ? std::strtoul(argv[2], nullptr, 10) : 10;
    const std::size_t slow = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 30;
    std::vector<std::string> symbols;
    const std::vector<bar> bars = load_bars(argv[1], symbols);
    if (bars.empty() || fast == 0 || fast >= slow) {
        std::fprintf(stderr, "no bars in %s, or not 0 < fast < slow\n", argv[1]);
        return 2;
    }

    const backtest_result r = run_backtest(bars, symbols.size(), fast, slow);
    std::printf("bars %zu, symbols %zu, fast %zu, slow %zu\n", bars.size(), symbols.size(), fast,
                slow);
    std::printf("trades %llu\n", static_cast<unsigned long long>(r.trades));
    std::printf("final P&L %.2f\n", static_cast<double>(r.pnl) / 100.0);
}
