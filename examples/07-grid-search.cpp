// SPDX-License-Identifier: MIT
// 07: optimisation mode. A grid search over the (fast, slow) windows of 05's moving-average
// crossover: each job is one backtest on admf::sync_bus, run in 2 worker processes by
// admf::optimize::run_parallel (parameter sets out and results back over admf::ipc
// shared-memory channels), then the same jobs serially in this process. The results are the
// same, in the same order. One job is marked to kill its worker (SIGKILL) on its first
// attempt, the demo of retry: the coordinator re-queues it for another worker and starts a
// replacement process.
// Usage: example-07-grid-search data/bars.csv [repeat]   (repeat: replay the bars that many
// times in each backtest, a longer history: heavier jobs, for timing; the ctest uses 1)
#include <admf/optimize/optimizer.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "strategy/ma_crossover.hpp"

// One parameter set. Jobs and results cross processes as bytes: both trivially copyable.
struct grid_job {
    std::uint32_t fast, slow;
    bool crash_first_attempt; // the retry demo
};

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s bars.csv [repeat]\n", argv[0]);
        return 2;
    }
    std::vector<std::string> symbols;
    const std::vector<bar> once = load_bars(argv[1], symbols);
    const long repeat = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 1;
    if (once.empty() || repeat < 1) {
        std::fprintf(stderr, "no bars in %s, or repeat < 1\n", argv[1]);
        return 2;
    }
    std::vector<bar> bars;
    for (long k = 0; k != repeat; ++k) {
        bars.insert(bars.end(), once.begin(), once.end());
    }

    // fast 5..20 step 5 x slow 25..70 step 5: 40 jobs.
    std::vector<grid_job> jobs;
    for (std::uint32_t fast = 5; fast <= 20; fast += 5) {
        for (std::uint32_t slow = 25; slow <= 70; slow += 5) {
            jobs.push_back({fast, slow, false});
        }
    }
    const std::size_t crashing = 7;
    jobs[crashing].crash_first_attempt = true;

    // Runs in a worker process: the bars were loaded before fork(), so each worker has them.
    const auto backtest = [&](const grid_job& j, admf::optimize::attempt_info a) {
        if (j.crash_first_attempt && a.attempt == 1) {
            std::raise(SIGKILL); // as a segfault or the OOM killer would end it
        }
        return run_backtest(bars, symbols.size(), j.fast, j.slow);
    };

    // One backtest first: neither timing below pays the first run's page faults (the workers
    // are fork()ed copies of this warmed-up process).
    (void)run_backtest(bars, symbols.size(), 10, 30);
    using clock = std::chrono::steady_clock;
    admf::optimize::report rep;
    const auto t0 = clock::now();
    const std::vector<backtest_result> parallel =
        admf::optimize::run_parallel(jobs, backtest, {.workers = 2}, &rep);
    const auto t1 = clock::now();
    std::vector<backtest_result> serial;
    for (const grid_job& j : jobs) {
        serial.push_back(run_backtest(bars, symbols.size(), j.fast, j.slow));
    }
    const auto t2 = clock::now();

    bool same = parallel.size() == serial.size();
    std::size_t best = 0;
    for (std::size_t i = 0; same && i != jobs.size(); ++i) {
        same = parallel[i].trades == serial[i].trades && parallel[i].pnl == serial[i].pnl;
        if (parallel[i].pnl > parallel[best].pnl) {
            best = i;
        }
    }

    std::printf("jobs %zu on %zu worker processes\n", jobs.size(), rep.workers);
    std::printf("best: fast %u, slow %u, trades %llu, P&L %.2f\n", jobs[best].fast,
                jobs[best].slow, static_cast<unsigned long long>(parallel[best].trades),
                static_cast<double>(parallel[best].pnl) / 100.0);
    std::printf("parallel == serial: %s\n", same ? "yes" : "no");
    std::printf("crashed workers %zu (job %zu's first attempt, on purpose), retries %zu, "
                "respawned %zu\n",
                rep.crashed_workers, crashing, rep.retries, rep.respawned);
    const auto ms = [](clock::duration d) {
        return std::chrono::duration<double, std::milli>(d).count();
    };
    std::printf("wall time: parallel %.1f ms, serial %.1f ms\n", ms(t1 - t0), ms(t2 - t1));
    return same ? 0 : 1;
}
