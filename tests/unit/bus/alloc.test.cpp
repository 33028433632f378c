// SPDX-License-Identifier: MIT
// Bounded memory (TESTING.md T2): after warm-up, publishing and dispatching events makes no
// heap allocation, on any thread. This executable replaces the global operator new/delete
// with versions that count every allocation in one atomic counter (all threads: publishers,
// workers, the test thread), so it is its own executable.
// Each case first proves the counter works (a subscribe allocates; an allocation inside a
// handler, on a worker thread, is seen), then measures a window of 100,000 events with no
// Catch2 assertion inside it (Catch may allocate) and waits for dispatch by polling stats(),
// which does not allocate (flush() may: it is called only outside the window).
// Under sanitizers (ADMF_SANITIZE_BUILD) the sanitizer's own operator new stays in place, so
// nothing is counted: the workloads still run (for TSan/ASan), the counts are skipped with a
// WARN. The rel build asserts them.
#include <admf/bus.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"

// ---- counting global allocation functions ---------------------------------------------

// Not under sanitizers: their runtimes define these functions themselves (clang's TSan
// runtime is static, so ours would be a duplicate definition); there the cases run the
// same workloads but do not check counts (WARN).
namespace {
std::atomic<std::uint64_t> g_allocations{0}; // every counted allocation, all threads
} // namespace

#if !defined(ADMF_SANITIZE_BUILD)

// GCC (-Wmismatched-new-delete) sees free() on what "operator new" returned once both are
// inlined; here both are ours and use malloc/posix_memalign and free, which do match.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

void* counted_alloc(std::size_t size) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed); // a tally, read after joins/waits
    return std::malloc(size == 0 ? 1 : size);
}

void* counted_aligned_alloc(std::size_t size, std::align_val_t align) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    void* p = nullptr;
    const auto a = std::max(static_cast<std::size_t>(align), sizeof(void*));
    if (::posix_memalign(&p, a, size == 0 ? 1 : size) != 0) {
        return nullptr;
    }
    return p;
}

} // namespace

void* operator new(std::size_t size) {
    if (void* p = counted_alloc(size)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    if (void* p = counted_alloc(size)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_alloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_alloc(size); }
void* operator new(std::size_t size, std::align_val_t align) {
    if (void* p = counted_aligned_alloc(size, align)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
    if (void* p = counted_aligned_alloc(size, align)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return counted_aligned_alloc(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return counted_aligned_alloc(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

#endif // !ADMF_SANITIZE_BUILD

// ---- events ---------------------------------------------------------------------------

namespace {

struct quote {
    std::uint64_t instrument;
    std::uint64_t seq;
};
struct signal_ev {
    std::uint64_t instrument;
    std::uint64_t seq;
};
struct order_ev {
    std::uint64_t id;
};
struct fill_ev {
    std::uint64_t id;
};
struct alloc_probe {
    static constexpr admf::domain domain = admf::domain::system;
    static constexpr std::string_view name = "SYS.ALLOC_PROBE";
    std::uint64_t n;
};

} // namespace

template <>
struct admf::event_traits<quote> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.QUOTE";
    static std::uint64_t key(const quote& q) noexcept { return q.instrument; }
};
template <>
struct admf::event_traits<signal_ev> {
    static constexpr admf::domain domain = admf::domain::signal;
    static constexpr std::string_view name = "SIGNAL";
    static std::uint64_t key(const signal_ev& s) noexcept { return s.instrument; }
};
template <>
struct admf::event_traits<order_ev> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER";
    static std::uint64_t key(const order_ev& o) noexcept { return o.id; }
};
template <>
struct admf::event_traits<fill_ev> {
    static constexpr admf::domain domain = admf::domain::fill;
    static constexpr std::string_view name = "FILL";
};

namespace {

constexpr bool sanitized =
#if defined(ADMF_SANITIZE_BUILD)
    true;
#else
    false;
#endif

std::atomic<int*> g_escape{nullptr}; // keeps the probe allocation from being elided

// An allocation on whatever thread runs this; returns whether the counter saw it.
bool allocation_is_counted() {
    const auto before = g_allocations.load();
    g_escape.store(new int(7));
    const auto after = g_allocations.load();
    delete g_escape.exchange(nullptr);
    return after > before;
}

// Zero asserted in rel; skipped (WARN) under sanitizers, where nothing is counted.
void require_no_allocations(std::uint64_t allocations, const char* what) {
    if (sanitized) {
        WARN("sanitizer build: allocations are not counted here; not checking " << what);
        return;
    }
    INFO(what);
    REQUIRE(allocations == 0);
}

using live_bus = admf::bus<quote, signal_ev, order_ev, fill_ev, alloc_probe>;
using backtest_bus = admf::sync_bus<quote, signal_ev, order_ev, fill_ev, alloc_probe>;

} // namespace

TEST_CASE("alloc: the counter sees allocations on the test thread and on worker threads",
          "[bus][alloc]") {
    if (sanitized) {
        WARN("sanitizer build: the sanitizer's operator new is in use; nothing is counted");
        return;
    }
    REQUIRE(allocation_is_counted());
    live_bus bus;
    std::atomic<int> probes{0};
    std::atomic<bool> worker_counted{false};
    const auto before_subscribe = g_allocations.load();
    auto probe = bus.subscribe<alloc_probe>([&](const alloc_probe&) {
        worker_counted.store(allocation_is_counted());
        probes.fetch_add(1);
    });
    REQUIRE(g_allocations.load() > before_subscribe); // subscribe copies a table: allocates
    bus.start();
    REQUIRE(bus.publish(alloc_probe{1}) == admf::publish_result::accepted);
    bus.flush();
    REQUIRE(probes.load() == 1);
    REQUIRE(worker_counted.load());
}

TEST_CASE("alloc: after warm-up, 100,000 events through admf::bus (single publishes and "
          "batches, spsc, mpsc and mpmc lanes, handler cascades) allocate nothing",
          "[bus][alloc]") {
    admf::bus_config cfg;
    // mpmc lanes (drop_oldest), two producer threads, two workers; big enough never to drop.
    cfg[admf::domain::market_data].lanes = 4;
    cfg[admf::domain::market_data].workers = 2;
    cfg[admf::domain::market_data].capacity = 1 << 15;
    cfg[admf::domain::market_data].on_full = admf::backpressure::drop_oldest;
    // mpsc lanes (default), fed by publish_batch from the test thread.
    cfg[admf::domain::signal].lanes = 2;
    cfg[admf::domain::signal].capacity = 1024;
    // spsc lanes: only the test thread publishes orders.
    cfg[admf::domain::order].lanes = 2;
    cfg[admf::domain::order].producer_mode = admf::producers::single;
    cfg[admf::domain::order].capacity = 1024;
    cfg[admf::domain::fill].capacity = 1 << 15; // fed by the signal handler (a cascade)
    live_bus bus(cfg);

    std::atomic<std::uint64_t> quotes{0};
    std::atomic<std::uint64_t> signals{0};
    std::atomic<std::uint64_t> orders{0};
    std::atomic<std::uint64_t> fills{0};
    std::atomic<std::uint64_t> failed{0};
    auto s1 = bus.subscribe<quote>([&](const quote&, const admf::event_info&) { quotes.fetch_add(1); });
    auto s2 = bus.subscribe<signal_ev>([&](const signal_ev& s) {
        signals.fetch_add(1);
        if (s.seq % 4 == 0 && bus.publish(fill_ev{s.seq}) != admf::publish_result::accepted) {
            failed.fetch_add(1);
        }
    });
    auto s3 = bus.subscribe<admf::domain::order>([&](const order_ev&) { orders.fetch_add(1); });
    auto s4 = bus.subscribe<fill_ev>([&](const fill_ev&) { fills.fetch_add(1); });
    bus.start();

    // Two market-data producers, created before the window (creating a thread allocates).
    std::atomic<int> round{0};
    std::atomic<int> finished{0};
    constexpr std::uint64_t per_producer = 20'000;
    std::vector<std::thread> producers;
    for (std::uint64_t p = 0; p != 2; ++p) {
        producers.emplace_back([&, p] {
            for (int r = 1; r <= 2; ++r) {
                while (round.load() < r) {
                    std::this_thread::yield();
                }
                const std::uint64_t n = r == 1 ? 2'000 : per_producer; // warm-up, then measured
                for (std::uint64_t i = 0; i != n; ++i) {
                    if (bus.publish(quote{p * 64 + i % 64, i}) != admf::publish_result::accepted) {
                        failed.fetch_add(1);
                    }
                }
                finished.fetch_add(1);
            }
        });
    }
    std::array<signal_ev, 100> batch{};
    // The test thread's share: `signal_batches` batches of 100 signals, `order_count` orders.
    const auto publish_own = [&](std::uint64_t signal_batches, std::uint64_t order_count) {
        for (std::uint64_t b = 0; b != signal_batches; ++b) {
            for (std::uint64_t i = 0; i != batch.size(); ++i) {
                batch[i] = signal_ev{i % 8, b * batch.size() + i};
            }
            std::size_t accepted = 0;
            if (bus.publish_batch(std::span<const signal_ev>(batch), &accepted) !=
                    admf::publish_result::accepted ||
                accepted != batch.size()) {
                failed.fetch_add(1);
            }
        }
        for (std::uint64_t i = 0; i != order_count; ++i) {
            if (bus.publish(order_ev{i}) != admf::publish_result::accepted) {
                failed.fetch_add(1);
            }
        }
    };
    // Counts what the handlers saw, not bus.stats(): stats() allocates its latency
    // histogram snapshots (basic_bus::stats) and is no part of publish or dispatch.
    const auto handled = [&] { return quotes.load() + signals.load() + orders.load() + fills.load(); };
    const auto wait_delivered = [&](std::uint64_t target) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (handled() < target && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
    };

    // Warm-up: every path once, then flush (which may allocate).
    round.store(1);
    publish_own(20, 2'000);
    while (finished.load() < 2) {
        std::this_thread::yield();
    }
    bus.flush();
    const auto warm = bus.stats().total();
    REQUIRE(warm.published == warm.delivered);
    REQUIRE(failed.load() == 0);

    // The window: 40,000 quotes (2 threads) + 30,000 signals (300 batches of 100) +
    // 22,500 orders + 7,500 fills published by a handler = 100,000 events.
    constexpr std::uint64_t window_events = 2 * per_producer + 30'000 + 22'500 + 7'500;
    const std::uint64_t warm_handled = handled(); // after flush(): every warm-up event
    REQUIRE(warm_handled == warm.delivered);
    const auto before = g_allocations.load();
    round.store(2);
    publish_own(300, 22'500);
    while (finished.load() < 4) {
        std::this_thread::yield();
    }
    wait_delivered(warm_handled + window_events);
    const auto allocations = g_allocations.load() - before;

    for (auto& t : producers) {
        t.join();
    }
    bus.flush();
    const auto s = bus.stats().total();
    REQUIRE(failed.load() == 0);
    REQUIRE(s.published == warm.published + window_events);
    REQUIRE(s.delivered == s.published);
    REQUIRE(s.dropped == 0);
    REQUIRE(quotes.load() == 2 * (2'000 + per_producer));
    REQUIRE(signals.load() == 2'000 + 30'000);
    REQUIRE(orders.load() == 2'000 + 22'500);
    REQUIRE(fills.load() == 500 + 7'500);
    require_no_allocations(allocations, "admf::bus window");
}

TEST_CASE("alloc: after warm-up, 100,000 events through sync_bus (outside publishes, batches "
          "and handler-published cascades at three priorities) allocate nothing",
          "[bus][alloc]") {
    backtest_bus bus;
    std::uint64_t quotes = 0;
    std::uint64_t signals = 0;
    std::uint64_t fills = 0;
    std::uint64_t failed = 0;
    // Each quote queues a high and a low signal; each signal queues a medium fill.
    auto s1 = bus.subscribe<quote>([&](const quote& q) {
        ++quotes;
        failed += bus.publish(signal_ev{q.instrument, 2 * q.seq}, admf::priority::low) !=
                  admf::publish_result::accepted;
        failed += bus.publish(signal_ev{q.instrument, 2 * q.seq + 1}, admf::priority::high) !=
                  admf::publish_result::accepted;
    });
    auto s2 = bus.subscribe<signal_ev>([&](const signal_ev& s, const admf::event_info&) {
        ++signals;
        failed += bus.publish(fill_ev{s.seq}) != admf::publish_result::accepted;
    });
    auto s3 = bus.subscribe<fill_ev>([&](const fill_ev&) { ++fills; });
    bus.start();
    std::array<quote, 50> batch{};
    const auto run = [&](std::uint64_t singles, std::uint64_t batches) {
        for (std::uint64_t i = 0; i != singles; ++i) {
            failed += bus.publish(quote{i % 16, i}) != admf::publish_result::accepted;
        }
        for (std::uint64_t b = 0; b != batches; ++b) {
            for (std::uint64_t i = 0; i != batch.size(); ++i) {
                batch[i] = quote{i % 16, b * batch.size() + i};
            }
            failed += bus.publish_batch(std::span<const quote>(batch)) !=
                      admf::publish_result::accepted;
        }
    };
    run(500, 10); // warm-up: the priority queues reach the cascade's depth
    bus.flush();
    REQUIRE(failed == 0);
    // Window: 10,000 single quotes + 200 batches of 50 = 20,000 quotes, each causing two
    // signals and two fills: 100,000 events dispatched.
    const auto before = g_allocations.load();
    run(10'000, 200);
    const auto allocations = g_allocations.load() - before;
    REQUIRE(failed == 0);
    REQUIRE(quotes == 1'000 + 20'000);
    REQUIRE(signals == 2 * quotes);
    REQUIRE(fills == signals);
    const auto s = bus.stats().total();
    REQUIRE(s.delivered == 5 * quotes);
    REQUIRE(s.published == s.delivered);
    require_no_allocations(allocations, "admf::sync_bus window");
}

TEST_CASE("alloc: after warm-up, batch handlers on admf::bus and sync_bus allocate nothing",
          "[bus][alloc][batching]") {
    constexpr std::uint64_t window = 800 * 128; // a multiple of both loops' steps
    {
        live_bus bus;
        std::atomic<std::uint64_t> in_batches{0};
        auto sub = bus.subscribe<quote>([&](std::span<const quote> b) {
            in_batches.fetch_add(b.size(), std::memory_order_relaxed);
        });
        bus.start();
        std::array<quote, 64> batch{};
        std::uint64_t failed = 0;
        const auto run = [&](std::uint64_t n) {
            for (std::uint64_t i = 0; i < n; i += 2 * batch.size()) {
                for (std::uint64_t j = 0; j != batch.size(); ++j) {
                    failed += bus.publish(quote{j % 16, i + j}) != admf::publish_result::accepted;
                    batch[j] = quote{j % 16, i + batch.size() + j};
                }
                failed += bus.publish_batch(std::span<const quote>(batch)) !=
                          admf::publish_result::accepted;
            }
        };
        run(2 * 128 * 40); // warm-up
        bus.flush();
        const auto warm = in_batches.load();
        const auto before = g_allocations.load();
        run(window);
        // stats() and plain loads do not allocate; flush() may, so it waits outside.
        while (in_batches.load(std::memory_order_relaxed) < warm + window) {
            std::this_thread::yield();
        }
        const auto allocations = g_allocations.load() - before;
        REQUIRE(failed == 0);
        REQUIRE(in_batches.load() == warm + window);
        require_no_allocations(allocations, "admf::bus batch handler window");
    }
    backtest_bus bus;
    std::uint64_t in_batches = 0;
    std::uint64_t failed = 0;
    auto s1 = bus.subscribe<quote>([&](const quote& q) {
        failed += bus.publish(signal_ev{q.instrument, q.seq}) != admf::publish_result::accepted;
    });
    auto s2 = bus.subscribe<signal_ev>([&](std::span<const signal_ev> b) { in_batches += b.size(); });
    bus.start();
    std::array<quote, 64> batch{};
    const auto run = [&](std::uint64_t n) {
        for (std::uint64_t i = 0; i < n; i += batch.size()) {
            for (std::uint64_t j = 0; j != batch.size(); ++j) {
                batch[j] = quote{j % 16, i + j};
            }
            failed += bus.publish_batch(std::span<const quote>(batch)) != admf::publish_result::accepted;
        }
    };
    run(1'024);
    const auto before = g_allocations.load();
    run(window);
    const auto allocations = g_allocations.load() - before;
    REQUIRE(failed == 0);
    REQUIRE(in_batches == 1'024 + window);
    require_no_allocations(allocations, "admf::sync_bus batch handler window");
}
