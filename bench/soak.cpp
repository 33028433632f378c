// SPDX-License-Identifier: MIT
// admf-soak (TESTING.md T11; a script runs it, not CI): mixed load over all five domains for
// a long time, with the adaptive worker controller moving market data between 1 and 4
// workers, the bus stopped and a new one started every few seconds (a bus does not restart),
// and subscriptions churned while events flow. Resident memory is sampled every interval
// and must plateau; at every stop the counters must reconcile:
//   per partition: published == delivered + dropped + discarded + conflated, backlog 0;
//   published == the accepted publishes the sources counted;
//   the permanent subscriber of each type was called once per delivered event.
// Exit status 0 only if every epoch reconciled and memory plateaued (see --help).
#include <admf/bus.hpp>
#include <admf/control/latency_target_scaling.hpp>
#include <admf/control/worker_controller.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

struct quote {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.QUOTE";
    static std::uint64_t key(const quote& q) noexcept { return q.instrument; }
    std::uint64_t instrument;
    std::uint64_t seq;
};
struct signal {
    static constexpr admf::domain domain = admf::domain::signal;
    static constexpr std::string_view name = "SIGNAL.CROSS";
    static std::uint64_t key(const signal& s) noexcept { return s.instrument; }
    std::uint64_t instrument;
};
struct order {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.NEW";
    static std::uint64_t key(const order& o) noexcept { return o.instrument; }
    std::uint64_t instrument;
};
struct fill {
    static constexpr admf::domain domain = admf::domain::fill;
    static constexpr std::string_view name = "FILL.EXEC";
    static std::uint64_t key(const fill& f) noexcept { return f.instrument; }
    std::uint64_t instrument;
};
struct heartbeat {
    static constexpr admf::domain domain = admf::domain::system;
    static constexpr std::string_view name = "SYSTEM.HEARTBEAT";
    std::uint64_t n;
};

using bus_type = admf::bus<quote, signal, order, fill, heartbeat>;
using controller_type = admf::worker_controller<bus_type, admf::latency_target_scaling>;
constexpr std::size_t domains = 5;

std::uint64_t rss_kib() {
    std::ifstream statm{"/proc/self/statm"};
    std::uint64_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

/// Counts one publish's outcome: accepted ones per domain (what stats().published must say).
struct source_counts {
    std::atomic<std::uint64_t> accepted[domains]{};
    std::atomic<std::uint64_t> not_accepted{0};
    void count(admf::domain d, admf::publish_result r) noexcept {
        // Relaxed: tallies, read after stop() joined every thread that writes them.
        if (r == admf::publish_result::accepted) {
            accepted[static_cast<std::size_t>(d)].fetch_add(1, std::memory_order_relaxed);
        } else {
            not_accepted.fetch_add(1, std::memory_order_relaxed);
        }
    }
};

struct totals {
    std::uint64_t epochs = 0, failed_epochs = 0, published = 0, delivered = 0, dropped = 0,
                  discarded = 0, not_accepted = 0, handovers = 0, subscribes = 0, ups = 0,
                  downs = 0;
};

/// One bus lifetime: start, load + churn + scaling for `length`, stop (drain or discard),
/// reconcile. Returns whether the books balanced; prints the first mismatch.
bool run_epoch(std::uint64_t epoch, std::chrono::milliseconds length, std::mt19937_64& rng,
               totals& t) {
    admf::bus_config cfg;
    auto& md = cfg[admf::domain::market_data];
    md.lanes = 4;
    md.workers = 1;
    md.min_workers = 1;
    md.max_workers = 4;
    md.capacity = 1 << 13;
    // Rotate the market-data backpressure so every outcome's counter is exercised.
    constexpr admf::backpressure modes[] = {admf::backpressure::block,
                                            admf::backpressure::drop_oldest,
                                            admf::backpressure::reject};
    md.on_full = modes[epoch % 3];
    for (auto d : {admf::domain::signal, admf::domain::order, admf::domain::fill}) {
        cfg[d].capacity = 1 << 12;
        cfg[d].on_full = admf::backpressure::block;
    }
    bus_type bus{cfg};
    source_counts src;
    std::atomic<std::uint64_t> calls[domains]{}; // permanent subscribers' calls

    // The chain md -> signal -> order -> fill; every 16th quote makes a signal. A quote costs
    // ~2 µs of arithmetic, so the high phase (600 k/s) outruns one worker: backlog builds,
    // the controller scales, and drop_oldest / reject / stop(discard) have work to count.
    auto on_quote = bus.subscribe<quote>([&](const quote& q) {
        calls[0].fetch_add(1, std::memory_order_relaxed); // tally, read after stop()
        std::uint64_t h = q.seq;
        for (int i = 0; i != 2048; ++i) h = h * 6364136223846793005ULL + 1442695040888963407ULL;
        if ((h >> 60) == 0) src.count(admf::domain::signal, bus.publish(signal{q.instrument}));
    });
    auto on_signal = bus.subscribe<signal>([&](const signal& s) {
        calls[1].fetch_add(1, std::memory_order_relaxed);
        src.count(admf::domain::order, bus.publish(order{s.instrument}));
    });
    auto on_order = bus.subscribe<order>([&](const order& o) {
        calls[2].fetch_add(1, std::memory_order_relaxed);
        src.count(admf::domain::fill, bus.publish(fill{o.instrument}));
    });
    auto on_fill = bus.subscribe<fill>([&](const fill&) { calls[3].fetch_add(1, std::memory_order_relaxed); });
    auto on_beat = bus.subscribe<heartbeat>([&](const heartbeat&) { calls[4].fetch_add(1, std::memory_order_relaxed); });
    bus.start();

    admf::latency_target_scaling policy;
    policy.target_p99 = 1'000'000; // 1 ms
    controller_type::options opts;
    opts.interval = 50ms;
    controller_type controller{bus, policy, opts};
    controller.start();

    std::atomic<bool> running{true};
    std::vector<std::thread> threads;
    // Two market-data producers; the offered rate steps between 20 k/s and 300 k/s each
    // half second, paced by schedule (sleep when ahead, never a spin).
    for (unsigned p = 0; p != 2; ++p) {
        threads.emplace_back([&, p, seed = rng()] {
            std::mt19937_64 r{seed};
            std::uint64_t seq = 0;
            auto start = steady::now();
            double rate = 20'000;
            while (running.load(std::memory_order_relaxed)) { // relaxed: a stop flag only
                if (steady::now() - start > 500ms) {
                    start = steady::now();
                    seq = 0;
                    rate = (r() & 1) != 0 ? 300'000 : 20'000;
                }
                const auto due = start + std::chrono::duration_cast<steady::duration>(
                                             std::chrono::duration<double>(static_cast<double>(seq) / rate));
                if (steady::now() < due) {
                    std::this_thread::sleep_for(100us);
                    continue;
                }
                for (int i = 0; i != 32; ++i, ++seq) {
                    src.count(admf::domain::market_data,
                              bus.publish(quote{p * 1000 + r() % 64, seq}));
                }
            }
        });
    }
    // Subscription churn: a quote and a signal subscriber come and go every millisecond,
    // and a heartbeat goes out with each change.
    std::uint64_t subscribes = 0;
    threads.emplace_back([&] {
        std::atomic<std::uint64_t> churn_calls{0};
        std::uint64_t n = 0;
        while (running.load(std::memory_order_relaxed)) {
            auto a = bus.subscribe<quote>([&](const quote&) { churn_calls.fetch_add(1, std::memory_order_relaxed); });
            auto b = bus.subscribe<signal>([&](const signal&) { churn_calls.fetch_add(1, std::memory_order_relaxed); });
            subscribes += 2;
            src.count(admf::domain::system, bus.publish(heartbeat{n++}));
            std::this_thread::sleep_for(1ms);
            a.unsubscribe(); // the handler may be freed once this returns
            b.unsubscribe();
        }
    });

    std::this_thread::sleep_for(length);
    const bool discard = (rng() & 3) == 0; // one stop in four discards what is queued
    controller.stop();
    running.store(false, std::memory_order_relaxed);
    // The producers see the flag within one burst; stop while they may still publish.
    bus.stop(discard ? admf::stop_mode::discard : admf::stop_mode::drain);
    for (auto& th : threads) th.join();

    const auto s = bus.stats();
    bool ok = true;
    auto fail = [&](const char* what, std::size_t d, std::uint64_t a, std::uint64_t b) {
        if (ok) {
            std::fprintf(stderr, "soak: epoch %llu: %s of partition %zu: %llu != %llu\n",
                         static_cast<unsigned long long>(epoch), what, d,
                         static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
        }
        ok = false;
    };
    std::uint64_t not_accepted_by_bus = 0;
    for (std::size_t d = 0; d != domains; ++d) {
        const auto& p = s.partition(static_cast<admf::domain>(d));
        const auto gone = p.delivered + p.dropped + p.discarded + p.conflated;
        if (p.published != gone) fail("published vs delivered+dropped+discarded+conflated", d, p.published, gone);
        if (p.backlog != 0) fail("backlog after stop", d, p.backlog, 0);
        const auto accepted = src.accepted[d].load(std::memory_order_relaxed);
        if (p.published != accepted) fail("published vs accepted by the sources", d, p.published, accepted);
        const auto handled = calls[d].load(std::memory_order_relaxed);
        if (p.delivered != handled) fail("delivered vs permanent handler calls", d, p.delivered, handled);
        not_accepted_by_bus += p.rejected + p.timed_out + p.refused;
        t.dropped += p.dropped;
        t.discarded += p.discarded;
    }
    const auto not_accepted = src.not_accepted.load(std::memory_order_relaxed);
    if (not_accepted_by_bus != not_accepted) fail("publishes not accepted (all partitions)", 0, not_accepted_by_bus, not_accepted);
    const auto& total = s.total();
    t.epochs += 1;
    t.failed_epochs += ok ? 0 : 1;
    t.published += total.published;
    t.delivered += total.delivered;
    t.not_accepted += not_accepted;
    t.handovers += total.handovers;
    t.subscribes += subscribes;
    t.ups += controller.ups(admf::domain::market_data);
    t.downs += controller.downs(admf::domain::market_data);
    return ok;
}

struct sample {
    double t;
    std::uint64_t rss_kib;
    std::uint64_t epochs;
    std::uint64_t published;
};

} // namespace

int main(int argc, char** argv) {
    double seconds = 1800, interval = 10, warmup = 120;
    std::uint64_t seed = 1;
    std::string json = "soak.json";
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&] { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--seconds") seconds = std::atof(value());
        else if (a == "--interval") interval = std::atof(value());
        else if (a == "--warmup") warmup = std::atof(value());
        else if (a == "--seed") seed = std::strtoull(value(), nullptr, 10);
        else if (a == "--json") json = value();
        else {
            std::printf("usage: admf-soak [--seconds 1800] [--interval 10] [--warmup 120] "
                        "[--seed 1] [--json soak.json]\n"
                        "Mixed load, adaptive scaling, stop/start every 3-10 s and subscription\n"
                        "churn. Exit 0 iff every epoch's counters reconciled and resident memory\n"
                        "plateaued: the highest sample of the second half after warm-up is less\n"
                        "than 1 %% above the highest of the first half.\n");
            return a == "--help" ? 0 : 2;
        }
    }
    std::mt19937_64 rng{seed};
    totals t;
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> epochs_done{0}, published_done{0};
    const auto t0 = steady::now();
    const auto end = t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
    std::thread load([&] {
        while (steady::now() < end) {
            const auto length = std::chrono::milliseconds(3000 + rng() % 7000);
            run_epoch(t.epochs, std::min(length, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      std::max(end - steady::now(), steady::duration{0}))),
                      rng, t);
            // Release pairs with the sampler's acquire: the totals of the finished epoch.
            published_done.store(t.published, std::memory_order_relaxed);
            epochs_done.store(t.epochs, std::memory_order_release);
        }
        done.store(true, std::memory_order_release);
    });
    std::vector<sample> samples;
    auto next = t0;
    while (!done.load(std::memory_order_acquire)) { // acquire pairs with the loop's release
        if (steady::now() >= next) {
            const double at = std::chrono::duration<double>(steady::now() - t0).count();
            const auto e = epochs_done.load(std::memory_order_acquire);
            samples.push_back({at, rss_kib(), e, published_done.load(std::memory_order_relaxed)});
            std::printf("soak: %7.1f s  rss %7llu KiB  epochs %4llu  published %llu\n", at,
                        static_cast<unsigned long long>(samples.back().rss_kib),
                        static_cast<unsigned long long>(e),
                        static_cast<unsigned long long>(samples.back().published));
            std::fflush(stdout);
            next += std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(interval));
        }
        std::this_thread::sleep_for(50ms);
    }
    load.join();

    // Plateau: the samples after warm-up, split in halves; the second half's peak must stay
    // within 1 % of the first half's (a leak grows without bound, a plateau does not).
    std::vector<sample> after;
    std::copy_if(samples.begin(), samples.end(), std::back_inserter(after),
                 [&](const sample& s) { return s.t >= warmup; });
    double growth = 0;
    bool plateau = false;
    if (after.size() >= 4) {
        const auto mid = after.begin() + static_cast<std::ptrdiff_t>(after.size() / 2);
        auto peak = [](auto b, auto e) {
            return std::max_element(b, e, [](const sample& x, const sample& y) { return x.rss_kib < y.rss_kib; })->rss_kib;
        };
        const auto first = peak(after.begin(), mid), second = peak(mid, after.end());
        growth = (static_cast<double>(second) - static_cast<double>(first)) / static_cast<double>(first);
        plateau = growth < 0.01;
    }
    std::printf("soak: %llu epochs (%llu failed to reconcile), published %llu, delivered %llu, "
                "dropped %llu, discarded %llu, not accepted %llu, hand-overs %llu, "
                "subscriptions %llu, scale-ups %llu, scale-downs %llu\n",
                static_cast<unsigned long long>(t.epochs), static_cast<unsigned long long>(t.failed_epochs),
                static_cast<unsigned long long>(t.published), static_cast<unsigned long long>(t.delivered),
                static_cast<unsigned long long>(t.dropped), static_cast<unsigned long long>(t.discarded),
                static_cast<unsigned long long>(t.not_accepted), static_cast<unsigned long long>(t.handovers),
                static_cast<unsigned long long>(t.subscribes), static_cast<unsigned long long>(t.ups),
                static_cast<unsigned long long>(t.downs));
    std::printf("soak: memory after %.0f s warm-up: %s (second-half peak %+.2f %% over first-half peak, "
                "%zu samples)\n", warmup, after.size() < 4 ? "too few samples" : plateau ? "plateau" : "GROWING",
                growth * 100, after.size());

    std::FILE* out = std::fopen(json.c_str(), "w");
    if (out == nullptr) {
        std::perror(json.c_str());
        return 1;
    }
    std::fprintf(out, "{\n  \"seconds\": %.0f, \"interval\": %.0f, \"warmup\": %.0f, \"seed\": %llu,\n", seconds,
                 interval, warmup, static_cast<unsigned long long>(seed));
    std::fprintf(out, "  \"epochs\": %llu, \"failed_epochs\": %llu, \"published\": %llu, \"delivered\": %llu,\n",
                 static_cast<unsigned long long>(t.epochs), static_cast<unsigned long long>(t.failed_epochs),
                 static_cast<unsigned long long>(t.published), static_cast<unsigned long long>(t.delivered));
    std::fprintf(out, "  \"dropped\": %llu, \"discarded\": %llu, \"not_accepted\": %llu, \"handovers\": %llu,\n",
                 static_cast<unsigned long long>(t.dropped), static_cast<unsigned long long>(t.discarded),
                 static_cast<unsigned long long>(t.not_accepted), static_cast<unsigned long long>(t.handovers));
    std::fprintf(out, "  \"subscriptions\": %llu, \"scale_ups\": %llu, \"scale_downs\": %llu,\n",
                 static_cast<unsigned long long>(t.subscribes), static_cast<unsigned long long>(t.ups),
                 static_cast<unsigned long long>(t.downs));
    std::fprintf(out, "  \"rss_growth_after_warmup\": %.5f, \"plateau\": %s,\n  \"samples\": [", growth,
                 plateau ? "true" : "false");
    for (std::size_t i = 0; i != samples.size(); ++i) {
        std::fprintf(out, "%s\n    {\"t\": %.1f, \"rss_kib\": %llu, \"epochs\": %llu, \"published\": %llu}",
                     i == 0 ? "" : ",", samples[i].t, static_cast<unsigned long long>(samples[i].rss_kib),
                     static_cast<unsigned long long>(samples[i].epochs),
                     static_cast<unsigned long long>(samples[i].published));
    }
    std::fprintf(out, "\n  ]\n}\n");
    std::fclose(out);
    return t.failed_epochs == 0 && plateau ? 0 : 1;
}
