// SPDX-License-Identifier: MIT
// admf-nats-bench: the NATS bridge on loopback against its own nats-server (JetStream on).
//   round trip, core:      bus A -> bridge -> nats-server -> bridge -> bus B -> handler
//                          publishes the reply -> back the same way -> A's handler records
//                          now - sent into an admf::latency_histogram. One in flight at a time.
//   round trip, jetstream: the same with order -> fill (stored, acked, de-duplicated).
//   one-way throughput:    A publishes as fast as the bus takes events; B counts; the rate
//                          is delivered events over the time until every sequence is
//                          accounted for (delivered + gaps or slow-consumer drops + bus
//                          refusals == sent).
// Usage: admf-nats-bench [--quick] [--server=/usr/sbin/nats-server]. Exit 1 if a reply never
// came back (10 s) or an event was delivered twice. Buses use their default wait strategy
// (blocking): the figures include a worker's wake-up on each of the four bus hops.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

#include <admf/bridge/nats.hpp>
#include <admf/bus.hpp>
#include <admf/metrics/latency_histogram.hpp>

#include "support/nats_server.hpp"

namespace {
struct ping {
    std::uint64_t n;
    std::int64_t sent_ns;
};
struct pong {
    std::uint64_t n;
    std::int64_t sent_ns;
};
struct js_ping {
    std::uint64_t n;
    std::int64_t sent_ns;
};
struct js_pong {
    std::uint64_t n;
    std::int64_t sent_ns;
};
struct tick {
    std::uint64_t n;
    std::uint32_t instrument;
    std::int64_t px;
};
} // namespace

template <>
struct admf::event_traits<ping> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "PING";
};
template <>
struct admf::event_traits<pong> {
    static constexpr admf::domain domain = admf::domain::signal;
    static constexpr std::string_view name = "PONG";
};
template <>
struct admf::event_traits<js_ping> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "JS.PING";
};
template <>
struct admf::event_traits<js_pong> {
    static constexpr admf::domain domain = admf::domain::fill;
    static constexpr std::string_view name = "JS.PONG";
};
template <>
struct admf::event_traits<tick> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "TICK";
};

namespace {
using bench_bus = admf::bus<ping, pong, js_ping, js_pong, tick>;
using bridge = admf::bridge::nats_bridge<bench_bus>;
using admf::steady_clock_ns;

admf::bus_config injecting_config() {
    admf::bus_config cfg; // every partition may receive from NATS here: none blocks
    for (auto& p : cfg.partitions) {
        p.on_full = admf::backpressure::reject;
        p.capacity = 1U << 16;
    }
    return cfg;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("model name", 0) == 0) {
            return line.substr(line.find(':') + 2);
        }
    }
    return "unknown";
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return pred();
        }
        std::this_thread::yield();
    }
    return true;
}

void report(const char* name, const admf::latency_histogram& h) {
    const auto us = [&](double p) {
        return static_cast<double>(h.value_at_percentile(p)) / 1000.0;
    };
    std::printf("%-24s n=%llu  p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n", name,
                static_cast<unsigned long long>(h.count()), us(50), us(99), us(99.9),
                static_cast<double>(h.max()) / 1000.0);
}

// One round trip at a time: Ping goes A -> B, B's handler answers with Pong, A records.
template <class Ping, class Pong>
bool round_trip(const char* name, const admf_test::nats_server& server, std::uint64_t n,
                std::uint64_t warmup, bool send_asap = false) {
    bench_bus a{injecting_config()}, b{injecting_config()};
    admf::latency_histogram h;
    std::atomic<std::uint64_t> back{0};
    auto on_ping = b.subscribe<Ping>([&](const Ping& p) { (void)b.publish(Pong{p.n, p.sent_ns}); });
    auto on_pong = a.subscribe<Pong>([&](const Pong& p) {
        if (p.n > warmup) {
            h.record(steady_clock_ns::now() -
                     p.sent_ns); // one writer: A's worker of Pong's partition
        }
        back.store(p.n, std::memory_order_release); // pairs with the acquire load in the loop
    });
    admf::bridge::nats_config cfg;
    cfg.url = server.url();
    cfg.send_asap = send_asap;
    cfg.name = std::string(name) + "-A";
    for (char& c : cfg.name) {
        c = c == ' ' ? '_' : c;
    }
    bridge ba(a, cfg);
    cfg.name.back() = 'B';
    bridge bb(b, cfg);
    ba.forward<Ping>();
    ba.inject<Pong>();
    bb.inject<Ping>();
    bb.forward<Pong>();
    (void)ba.flush();
    (void)bb.flush();
    a.start();
    b.start();
    for (std::uint64_t i = 1; i <= n + warmup; ++i) {
        if (a.publish(Ping{i, steady_clock_ns::now()}) != admf::publish_result::accepted ||
            !wait_until([&] { return back.load(std::memory_order_acquire) >= i; },
                        std::chrono::seconds{10})) {
            std::printf("%s: round trip %llu never came back\n", name,
                        static_cast<unsigned long long>(i));
            return false;
        }
    }
    report(name, h);
    return ba.stats().duplicates + bb.stats().duplicates == 0;
}

bool one_way(const admf_test::nats_server& server, std::uint64_t n, bool send_asap = false) {
    bench_bus a, b{injecting_config()};
    std::atomic<std::uint64_t> got{0};
    auto on_tick =
        b.subscribe<tick>([&](const tick&) { got.fetch_add(1, std::memory_order_relaxed); });
    admf::bridge::nats_config cfg;
    cfg.url = server.url();
    cfg.send_asap = send_asap;
    cfg.name = "oneway-A";
    bridge ba(a, cfg);
    cfg.name = "oneway-B";
    bridge bb(b, cfg);
    ba.forward<tick>();
    bb.inject<tick>();
    (void)bb.flush();
    a.start();
    b.start();
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t i = 1; i <= n; ++i) {
        (void)a.publish(tick{i, static_cast<std::uint32_t>(i % 64), 0}); // block: never refused
    }
    a.flush();
    const auto accounted = [&] {
        const auto s = bb.stats();
        // gaps miss drops at the tail; drops miss losses elsewhere: either closes the books
        return got.load() + s.gaps + s.bus_full == n ||
               got.load() + s.slow_consumer_drops + s.bus_full == n;
    };
    const bool ok = wait_until(accounted, std::chrono::seconds{30});
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto s = bb.stats();
    std::printf("one-way core%s %llu events in %.3f s: %.0f events/s delivered "
                "(delivered %llu, gaps %llu, slow-consumer drops %llu, bus full %llu)\n",
                send_asap ? ", send_asap" : "", static_cast<unsigned long long>(n), secs,
                static_cast<double>(got.load()) / secs, static_cast<unsigned long long>(got.load()),
                static_cast<unsigned long long>(s.gaps),
                static_cast<unsigned long long>(s.slow_consumer_drops),
                static_cast<unsigned long long>(s.bus_full));
    return ok && s.duplicates == 0;
}
} // namespace

int main(int argc, char** argv) {
    bool quick = false;
    std::string server_path = ADMF_NATS_SERVER_PATH;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") {
            quick = true;
        } else if (arg.rfind("--server=", 0) == 0) {
            server_path = std::string(arg.substr(9));
        } else {
            std::fprintf(stderr, "usage: admf-nats-bench [--quick] [--server=PATH]\n");
            return 2;
        }
    }
    std::printf("admf-nats-bench: %s, %u hardware threads, nats-server %s, loopback\n",
                cpu_model().c_str(), std::thread::hardware_concurrency(), server_path.c_str());
    admf_test::nats_server server(server_path);
    bool ok =
        round_trip<ping, pong>("round trip core", server, quick ? 200 : 20'000, quick ? 20 : 1'000);
    ok = round_trip<ping, pong>("round trip core asap", server, quick ? 200 : 20'000,
                                quick ? 20 : 1'000, true) &&
         ok;
    ok = round_trip<js_ping, js_pong>("round trip jetstream", server, quick ? 100 : 5'000,
                                      quick ? 10 : 200) &&
         ok;
    ok = one_way(server, quick ? 10'000 : 500'000) && ok;
    ok = one_way(server, quick ? 10'000 : 500'000, true) && ok;
    return ok ? 0 : 1;
}
