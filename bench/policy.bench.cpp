// SPDX-License-Identifier: MIT
// admf-policy-bench: the performance bars of issue [3/7] (bench/README.md, admf-policy-bench).
//
// Isolation: a market-data flood saturates its partition while orders are published at a
// fixed modest rate from a second thread; order publish->handler latency on the partitioned
// admf::bus (quotes and orders in separate partitions, separate workers) beside the same
// events on a bus whose domain set has ONE domain (one queue, one worker: only the
// partitioning differs) and the naive mutex+condvar bus. Bar: partitioned p99 / shared p99
// <= 0.1.
// Batching: one producer, 64-byte events, one handler that checks and sums each event, as
// a per-event handler and as a batch handler (std::span), under the default
// size_or_timeout_batching and under no_batching. Bar: batch / per-event >= 2.
//
// Same driver as admf-bus-bench (support/driver.hpp): interleaved rounds, medians,
// within-round ratios, --json, --filter, --quick, --list. Every sample checks that each
// published event was handled exactly once, in order and intact, and that the bus's stats()
// agree; any violation makes the exit status 1.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <admf/bus.hpp>

#include "support/backoff.hpp"
#include "support/driver.hpp"
#include "support/machine.hpp"
#include "support/naive_bus.hpp"
#include "support/payload.hpp"
#include "support/producer.hpp"
#include "support/report.hpp"
#include "support/stats.hpp"
#include "support/tally.hpp"

// ---- events -----------------------------------------------------------------------------------

namespace policy_bench {

/// A domain set with a single domain: every event of a bus over it shares one partition, so
/// one queue and one worker (the "no partitioning" configuration the bar compares with).
enum class one_queue : unsigned char { all };

/// Where each event type goes; the event templates below are instantiated once per layout,
/// so both buses carry the same structs and only their domains differ.
struct partitioned {
    static constexpr admf::domain quote_domain = admf::domain::market_data;
    static constexpr admf::domain order_domain = admf::domain::order;
};
struct shared {
    static constexpr one_queue quote_domain = one_queue::all;
    static constexpr one_queue order_domain = one_queue::all;
};

/// The flood: 32 bytes, keyed by instrument.
template <class Layout>
struct quote {
    std::uint64_t seq;
    std::uint32_t key;
    std::uint32_t pad;
    double px;
    double qty;
};

/// The critical flow: 32 bytes; `sent_ns` is admf::tsc_clock::now() just before publish.
template <class Layout>
struct order {
    std::uint64_t seq;
    std::int64_t sent_ns;
    std::uint64_t id;
    double px;
};

static_assert(sizeof(quote<partitioned>) == 32 && sizeof(order<partitioned>) == 32);

inline constexpr std::uint32_t instrument = 7;

template <class Layout>
[[nodiscard]] quote<Layout> make_quote(std::uint64_t seq) noexcept {
    return {seq, instrument, 0, static_cast<double>(seq) * 0.25, 100};
}

template <class Layout>
[[nodiscard]] order<Layout> make_order(std::uint64_t seq, std::int64_t now) noexcept {
    return {seq, now, seq ^ 0x5a5aU, static_cast<double>(seq) * 0.5};
}

/// Whether every field still says what make_* wrote (found by tally through ADL).
template <class Layout>
[[nodiscard]] bool intact(const quote<Layout>& q) noexcept {
    return q.key == instrument && q.px == static_cast<double>(q.seq) * 0.25 && q.qty == 100;
}
template <class Layout>
[[nodiscard]] bool intact(const order<Layout>& o) noexcept {
    return o.id == (o.seq ^ 0x5a5aU) && o.px == static_cast<double>(o.seq) * 0.5;
}

} // namespace policy_bench

template <>
struct admf::domain_traits<policy_bench::one_queue> {
    static constexpr std::size_t count = 1;
    static constexpr std::array<std::string_view, count> names = {"all"};
    // It holds orders: a bus must never drop its events to make room.
    static constexpr bool critical(policy_bench::one_queue) noexcept { return true; }
};

template <class Layout>
struct admf::event_traits<policy_bench::quote<Layout>> {
    static constexpr auto domain = Layout::quote_domain;
    static constexpr std::string_view name = "MARKET_DATA.QUOTE";
    static std::uint64_t key(const policy_bench::quote<Layout>& q) noexcept { return q.key; }
};

template <class Layout>
struct admf::event_traits<policy_bench::order<Layout>> {
    static constexpr auto domain = Layout::order_domain;
    static constexpr std::string_view name = "ORDER.NEW";
};

/// The batching rows' event: support/payload.hpp's 64-byte payload (tag, 6 words, check).
template <>
struct admf::event_traits<admf::bench::payload<64>> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.BAR64";
};

namespace {

using namespace admf::bench;
using namespace policy_bench;

using bench_clock = std::chrono::steady_clock;
using admf::tsc_clock;

constexpr std::string_view program = "admf-policy-bench";
// The issue's bar (printed beside the ratio; it does not change the exit status).
constexpr double bar_isolation = 0.1;
constexpr double bar_batching = 2.0;

// ---- configuration ----------------------------------------------------------------------------

/// Where the isolation rows' quote publisher runs (everything else stays put).
/// split: beside the worker that handles quotes, so the flood has one CPU and the orders
/// (publisher and the partitioned bus's order worker) the other. publishers: beside the
/// order publisher, so the worker that handles quotes has a CPU of its own.
enum class placement : unsigned char { split, publishers };

[[nodiscard]] const char* placement_name(placement p) noexcept {
    return p == placement::split ? "split" : "publishers";
}

struct run_config {
    std::chrono::milliseconds sample{1000};        // orders are recorded for this long
    std::chrono::microseconds order_gap{20};       // one order per gap (paced on the clock)
    std::chrono::nanoseconds quote_work{300};      // the quote handler spins this long
    std::size_t warmup_orders = 200;               // unrecorded, after the flood saturates
    std::size_t capacity = 4096;                   // every lane ring
    admf::wait_kind wait = admf::wait_kind::yielding;
    std::chrono::milliseconds stall_timeout{5000}; // no progress this long: abandoned
    std::chrono::milliseconds throughput_sample{200}; // batching rows: the producer publishes
    std::size_t publish_batch = 64;                // batching rows, batch64: publish_batch size
    std::size_t max_batch = 256;                   // batching rows: partition_config::max_batch
    std::size_t prefill = std::size_t{1} << 20;    // batching rows, prefilled: events queued
    int flood_cpu = 0; // the worker that handles quotes (and, placement split, their publisher)
    int order_cpu = 1; // the order publisher and the partitioned bus's order worker
    placement layout = placement::split;

    [[nodiscard]] int quote_publisher_cpu() const noexcept {
        return layout == placement::split ? flood_cpu : order_cpu;
    }
};

/// Spins on the bus clock for `work`: the market-data handler's "strategy" (a fixed cost
/// per quote, so the flood saturates its worker and the lane stays full).
inline void spin_for(std::chrono::nanoseconds work) noexcept {
    const std::int64_t until = tsc_clock::now() + work.count();
    while (tsc_clock::now() < until) {
        admf::cpu_relax();
    }
}

// ---- isolation: flood + paced orders ------------------------------------------------------

/// What the handlers of one isolation sample share. The quote tally is written by the
/// market-data worker, the order tally and `latency` by the worker that handles orders
/// (the same thread on the shared buses); read by the driver after the bus stopped.
template <class Layout>
struct isolation_state {
    isolation_state(std::size_t expected_orders, std::uint64_t warmup_orders)
        : latency(expected_orders), first_recorded(warmup_orders) {}

    tally<quote<Layout>> quotes;
    tally<order<Layout>> orders;
    latency_samples latency;       // publish -> handler entry, recorded orders only
    const std::uint64_t first_recorded; // orders before this seq are warm-up
    struct alignas(admf::false_sharing_range) flag {
        std::atomic<bool> value{false};
    };
    flag stop_quotes;
    struct alignas(admf::false_sharing_range) counter {
        std::atomic<std::uint64_t> value{0};
    };
    counter quotes_sent;           // written by the quote publisher only
    flag quote_failed;             // the quote publisher gave up
    bool faulty = false;           // --self-test: lose one order in 100, handle the next twice

    void on_quote(const quote<Layout>& q, std::chrono::nanoseconds work) noexcept {
        spin_for(work);
        quotes(q);
    }

    void on_order(const order<Layout>& o) noexcept {
        const std::int64_t now = tsc_clock::now(); // first: publish -> handler entry
        if (o.seq >= first_recorded) {
            latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - o.sent_ns)));
        }
        if (faulty && o.seq % 100 == 50) {
            return; // lost
        }
        orders(o);
        if (faulty && o.seq % 100 == 51) {
            orders(o); // duplicated: the count matches again, the order and sum checks must not
        }
    }
};

/// What the two publisher threads of a sample report.
struct flood_result {
    std::uint64_t quotes_sent = 0;
    std::uint64_t orders_sent = 0;
    std::uint64_t quotes_handled_in_window = 0; // while orders were recorded
    double quotes_queued = 0; // median over recorded orders of quotes published, not handled
    double window_seconds = 0;
    std::uint64_t violations = 0;
    std::string problem;
};

/// The sample's two publishers: the quote publisher on cfg.quote_publisher_cpu(), the order
/// publisher on cfg.order_cpu. The quote publisher publishes
/// seq 0, 1, 2... as fast as `publish_quote` accepts until told to stop. The order publisher
/// waits until 2 x capacity quotes were published (the lane is then full and stays so),
/// publishes warm-up orders, then records for cfg.sample, one order per cfg.order_gap on a
/// fixed schedule (yielding between reads of the clock; never sleeping), then waits until
/// all its orders were handled and stops the flood.
template <class Layout, class PublishQuote, class PublishOrder>
flood_result run_flood(const run_config& cfg, isolation_state<Layout>& st,
                       PublishQuote publish_quote, PublishOrder publish_order) {
    flood_result r;
    std::string quote_problem;
    std::thread quoter([&] {
        pin_this_thread(cfg.quote_publisher_cpu());
        std::uint64_t seq = 0;
        while (!st.stop_quotes.value.load(std::memory_order_relaxed)) {
            if (!publish_quote(make_quote<Layout>(seq))) {
                quote_problem = "quote " + std::to_string(seq) + " was not accepted";
                st.quote_failed.value.store(true, std::memory_order_relaxed);
                break;
            }
            ++seq;
            st.quotes_sent.value.store(seq, std::memory_order_relaxed);
        }
        r.quotes_sent = seq;
    });
    std::thread orderer([&] {
        pin_this_thread(cfg.order_cpu);
        const auto stop_flood = [&] {
            st.stop_quotes.value.store(true, std::memory_order_relaxed);
        };
        if (!await(cfg.stall_timeout, [&] {
                return st.quotes_sent.value.load(std::memory_order_relaxed) >= 2 * cfg.capacity ||
                       st.quote_failed.value.load(std::memory_order_relaxed);
            })) {
            ++r.violations;
            r.problem = "the flood did not start";
            stop_flood();
            return;
        }
        const std::int64_t gap = std::chrono::nanoseconds(cfg.order_gap).count();
        std::uint64_t seq = 0;
        std::int64_t next = tsc_clock::now();
        std::int64_t window_start = 0;
        std::uint64_t handled_at_start = 0;
        std::vector<double> queued;
        queued.reserve(static_cast<std::size_t>(cfg.sample / cfg.order_gap) + 1024);
        for (;;) {
            std::int64_t now = tsc_clock::now();
            while (now < next) {
                std::this_thread::yield(); // hands the CPU to a woken worker at once
                now = tsc_clock::now();
            }
            if (seq == cfg.warmup_orders) {
                window_start = now;
                handled_at_start = st.quotes.handled.load(std::memory_order_relaxed);
            } else if (seq > cfg.warmup_orders &&
                       now - window_start >= std::chrono::nanoseconds(cfg.sample).count()) {
                r.window_seconds = static_cast<double>(now - window_start) / 1e9;
                r.quotes_handled_in_window =
                    st.quotes.handled.load(std::memory_order_relaxed) - handled_at_start;
                break;
            }
            if (seq >= cfg.warmup_orders) {
                // Quotes ahead of this order on a shared queue; the flood's backlog otherwise.
                // `handled` first: the count of sent read after it is at least handled - 1.
                const auto handled = static_cast<std::int64_t>(
                    st.quotes.handled.load(std::memory_order_relaxed));
                const auto sent = static_cast<std::int64_t>(
                    st.quotes_sent.value.load(std::memory_order_relaxed));
                queued.push_back(static_cast<double>(std::max<std::int64_t>(0, sent - handled)));
            }
            if (!publish_order(make_order<Layout>(seq, tsc_clock::now()))) {
                ++r.violations;
                r.problem = "order " + std::to_string(seq) + " was not accepted";
                break;
            }
            ++seq;
            // Fixed schedule. After a publish that returned late, the next order goes at
            // once, not a burst of the missed ones.
            next = std::max(next + gap, now);
        }
        r.orders_sent = seq;
        r.quotes_queued = summarize(queued).median;
        if (!await(cfg.stall_timeout,
                   [&] { return st.orders.handled.load(std::memory_order_acquire) == seq; })) {
            ++r.violations;
            r.problem = "missing orders: handled " +
                        std::to_string(st.orders.handled.load(std::memory_order_acquire)) +
                        " of " + std::to_string(seq);
        }
        stop_flood();
    });
    orderer.join();
    quoter.join();
    if (!quote_problem.empty()) {
        ++r.violations;
        if (r.problem.empty()) {
            r.problem = quote_problem;
        }
    }
    return r;
}

/// An isolation sample: the orders' latency, and what the flood did meanwhile.
struct isolation_sample : latency_sample {
    double quote_mps = 0;     // quotes handled per second while orders were recorded
    double quotes_queued = 0; // median quotes published but not yet handled, at each order
};

/// Folds a sample's checks and figures into an isolation sample.
template <class Layout>
isolation_sample finish_isolation(const flood_result& fr, isolation_state<Layout>& st) {
    isolation_sample s;
    s.seconds = fr.window_seconds;
    s.count = st.latency.count();
    s.published = fr.orders_sent;
    s.p50 = static_cast<double>(st.latency.value_at_percentile(50));
    s.p99 = static_cast<double>(st.latency.value_at_percentile(99));
    s.p999 = static_cast<double>(st.latency.value_at_percentile(99.9));
    s.max = static_cast<double>(st.latency.max());
    s.violations =
        fr.violations + st.quotes.finish(fr.quotes_sent) + st.orders.finish(fr.orders_sent);
    s.problem = fr.problem;
    if (s.violations != 0 && s.problem.empty()) {
        s.problem = "handled " + std::to_string(st.quotes.handled.load()) + " of " +
                    std::to_string(fr.quotes_sent) + " quotes, " +
                    std::to_string(st.orders.handled.load()) + " of " +
                    std::to_string(fr.orders_sent) + " orders (or out of order)";
    }
    if (s.count == 0) {
        ++s.violations;
        s.problem = "no order recorded";
    }
    s.quote_mps = fr.window_seconds > 0
                      ? static_cast<double>(fr.quotes_handled_in_window) / fr.window_seconds / 1e6
                      : 0;
    s.quotes_queued = fr.quotes_queued;
    return s;
}

/// The bus's own accounting of one partition: everything published delivered, nothing
/// rejected, timed out, refused, dropped or discarded, no handler error.
void check_stats(isolation_sample& s, const admf::partition_stats& st, std::uint64_t sent) {
    if (st.published != sent || st.delivered != sent || st.not_delivered() != 0 ||
        st.handler_errors != 0 || st.backlog != 0) {
        ++s.violations;
        if (s.problem.empty()) {
            s.problem = std::string("stats of ") + std::string(st.name) + ": published " +
                        std::to_string(st.published) + ", delivered " +
                        std::to_string(st.delivered) + ", not delivered " +
                        std::to_string(st.not_delivered()) + " of " + std::to_string(sent);
        }
    }
}

[[nodiscard]] admf::partition_config lane_config(const run_config& cfg, int cpu) {
    admf::partition_config p;
    p.capacity = cfg.capacity;
    p.lanes = 1;
    p.workers = 1;
    p.producer_mode = admf::producers::many; // 2 publishers on the shared bus: same ring everywhere
    p.on_full = admf::backpressure::block;   // nothing lost, on either bus
    p.wait = cfg.wait;
    if (cpu >= 0) {
        p.cpus = {cpu};
    }
    return p;
}

/// One isolation sample on an admf bus over `Layout`. The worker that handles quotes (the
/// market-data partition's, or the shared bus's only one) runs on cfg.flood_cpu; the
/// partitioned bus's order worker on cfg.order_cpu, beside the order publisher.
template <class Layout>
isolation_sample run_admf_isolation(const run_config& cfg, bool faulty = false) {
    using Q = quote<Layout>;
    using O = order<Layout>;
    using bus_type = admf::bus<Q, O>;
    typename bus_type::config_type config;
    constexpr bool is_partitioned = std::is_same_v<Layout, partitioned>;
    if constexpr (is_partitioned) {
        config[admf::domain::market_data] = lane_config(cfg, cfg.flood_cpu);
        config[admf::domain::order] = lane_config(cfg, cfg.order_cpu);
    } else {
        config[one_queue::all] = lane_config(cfg, cfg.flood_cpu);
    }
    const std::size_t expected =
        static_cast<std::size_t>(cfg.sample / cfg.order_gap) + cfg.warmup_orders + 1024;
    auto st = std::make_unique<isolation_state<Layout>>(expected, cfg.warmup_orders);
    st->faulty = faulty;
    auto bus = std::make_unique<bus_type>(config);
    const auto work = cfg.quote_work;
    auto s1 =
        bus->template subscribe<Q>([s = st.get(), work](const Q& q) { s->on_quote(q, work); });
    auto s2 = bus->template subscribe<O>([s = st.get()](const O& o) { s->on_order(o); });
    bus->start();
    auto* b = bus.get();
    const flood_result fr = run_flood<Layout>(
        cfg, *st, [b](const Q& q) { return b->publish(q) == admf::publish_result::accepted; },
        [b](const O& o) { return b->publish(o) == admf::publish_result::accepted; });
    bus->stop();
    isolation_sample s = finish_isolation(fr, *st);
    const auto stats = bus->stats();
    if constexpr (is_partitioned) {
        check_stats(s, stats.partition(admf::domain::market_data), fr.quotes_sent);
        check_stats(s, stats.partition(admf::domain::order), fr.orders_sent);
    } else {
        check_stats(s, stats.partition(one_queue::all), fr.quotes_sent + fr.orders_sent);
    }
    return s;
}

/// The naive mutex+condvar bus: one unbounded deque, one worker on cfg.flood_cpu. It has no
/// bound of its own, so the quote publisher keeps at most cfg.capacity quotes queued (it
/// yields while handled + capacity <= sent), as block back-pressure does on the admf buses.
isolation_sample run_naive_isolation(const run_config& cfg) {
    using Q = quote<shared>;
    using O = order<shared>;
    const std::size_t expected =
        static_cast<std::size_t>(cfg.sample / cfg.order_gap) + cfg.warmup_orders + 1024;
    auto st = std::make_unique<isolation_state<shared>>(expected, cfg.warmup_orders);
    auto bus = std::make_unique<naive_bus<Q, O>>();
    const auto work = cfg.quote_work;
    bus->subscribe<Q>([s = st.get(), work](const Q& q) { s->on_quote(q, work); });
    bus->subscribe<O>([s = st.get()](const O& o) { s->on_order(o); });
    bus->start(cfg.flood_cpu);
    auto* b = bus.get();
    auto* s = st.get();
    const std::uint64_t bound = cfg.capacity;
    const flood_result fr = run_flood<shared>(
        cfg, *st,
        [b, s, bound](const Q& q) {
            backoff wait;
            while (q.seq >= s->quotes.handled.load(std::memory_order_relaxed) + bound) {
                if (s->stop_quotes.value.load(std::memory_order_relaxed)) {
                    break;
                }
                wait.pause();
            }
            return b->publish(q);
        },
        [b](const O& o) { return b->publish(o); });
    bus->stop();
    return finish_isolation(fr, *st);
}


// ---- batching: per-event vs batch handler -----------------------------------------------------

using bar64 = payload<64>;

/// Traits whose workers take and deliver one event at a time.
struct no_batching_traits : admf::default_bus_traits {
    using batching_policy = admf::no_batching;
};

/// The batching rows' handler work, per event, the same for both handler forms: check the
/// event (support/payload.hpp's order_checker: next sequence of producer 0, intact), sum its
/// first body word, count it. Written only by the worker; `handled` is polled by the producer.
struct alignas(admf::false_sharing_range) bar_tally {
    order_checker<bar64> check{1};
    std::uint64_t sum = 0;
    std::atomic<std::uint64_t> handled{0};
    // The per-call rows: an aggregate another thread may read, behind a mutex (a book, a
    // journal buffer): each handler call commits what it summed under one lock.
    std::mutex book_mutex;
    std::uint64_t book = 0;
    bool per_call_ = false;

    void commit(std::uint64_t amount) {
        const std::lock_guard lock{book_mutex};
        book += amount;
    }

    void operator()(const bar64& e) noexcept {
        take(e);
        progress(1);
    }
    /// The per-event work alone: check and sum.
    void take(const bar64& e) noexcept {
        check(e);
        sum += e.body[0];
    }
    /// Publishes progress to the thread that waits for it (the producer).
    void progress(std::uint64_t n) noexcept {
        // Single writer: a plain store (release pairs with the producer's acquire).
        handled.store(handled.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }

    /// After the run: sequences 0..sent-1 were published; the violations found.
    [[nodiscard]] std::uint64_t finish(std::uint64_t sent) noexcept {
        const std::array<std::uint64_t, 1> sent_by{sent};
        std::uint64_t v = check.finish(sent_by);
        v += sum != (sent == 0 ? 0 : sent * (sent - 1) / 2) ? 1 : 0;
        v += per_call_ && book != sum ? 1 : 0;
        return v;
    }
};

enum class handler_form { per_event, batch };

/// What a handler call costs beyond its events: `none` (progress is published per event by
/// both forms), `progress` (published once per call: per event for the per-event handler,
/// per batch for the batch handler), or `locked` (progress per event, plus a commit of the
/// call's sum under a mutex, as a book or journal shared with a reader would be).
enum class call_cost { none, progress, locked };

/// admf::basic_bus<Traits, bar64>: one partition, 1 lane (producers::single), 1 worker on
/// cfg.flood_cpu, max_batch cfg.max_batch, max_wait 0; the producer on cfg.order_cpu.
/// No `mode` (prefilled): this thread publishes cfg.prefill events into a lane that holds
/// them all before start(); the figure is then the worker's alone: start() -> all handled.
template <class Traits>
rate_sample run_batching(const run_config& cfg, handler_form form,
                         std::optional<publish_mode> mode, call_cost cost = call_cost::none) {
    admf::bus_config config;
    auto& p = config[admf::domain::market_data];
    p.capacity = mode ? cfg.capacity : cfg.prefill;
    p.lanes = 1;
    p.workers = 1;
    p.producer_mode = admf::producers::single;
    p.wait = cfg.wait;
    p.max_batch = cfg.max_batch;
    if (cfg.flood_cpu >= 0) {
        p.cpus = {cfg.flood_cpu};
    }
    auto bus = std::make_unique<admf::basic_bus<Traits, bar64>>(config);
    auto t = std::make_unique<bar_tally>();
    t->per_call_ = cost == call_cost::locked;
    std::uint64_t largest = 0; // the largest span the batch handler saw (worker only)
    admf::subscription sub;
    const bool locked = cost == call_cost::locked;
    if (form == handler_form::per_event) {
        sub = bus->template subscribe<bar64>([t = t.get(), locked](const bar64& e) {
            (*t)(e);
            if (locked) {
                t->commit(e.body[0]);
            }
        });
    } else {
        const bool per_call_progress = cost == call_cost::progress;
        auto each = [t = t.get(), &largest, locked, per_call_progress](std::span<const bar64> batch) {
            largest = std::max<std::uint64_t>(largest, batch.size());
            std::uint64_t amount = 0;
            for (const bar64& e : batch) {
                if (per_call_progress) {
                    t->take(e);
                } else {
                    (*t)(e);
                }
                amount += e.body[0];
            }
            if (per_call_progress) {
                t->progress(batch.size());
            }
            if (locked) {
                t->commit(amount);
            }
        };
        sub = bus->template subscribe<bar64>(each);
    }
    auto* b = bus.get();
    const auto make = [](std::uint64_t seq) { return bar64::make(make_tag(0, seq)); };
    producer_result pr;
    if (mode) {
        bus->start();
        pr = produce_events<bar64>(
            {cfg.throughput_sample, cfg.publish_batch, cfg.order_cpu, cfg.stall_timeout}, *mode,
            make, [b](const bar64& e) { return b->publish(e) == admf::publish_result::accepted; },
            [b](std::span<const bar64> events) {
                std::size_t accepted = 0;
                (void)b->publish_batch(events, &accepted);
                return accepted;
            },
            t->handled);
    } else {
        std::vector<bar64> buffer(cfg.publish_batch);
        while (pr.sent < cfg.prefill) {
            const std::size_t n = std::min<std::size_t>(buffer.size(), cfg.prefill - pr.sent);
            for (std::size_t i = 0; i != n; ++i) {
                buffer[i] = make(pr.sent + i);
            }
            std::size_t accepted = 0;
            (void)b->publish_batch(std::span<const bar64>(buffer.data(), n), &accepted);
            pr.sent += accepted;
            if (accepted != n) {
                ++pr.violations;
                pr.problem = "prefill: a publish was not accepted after " + std::to_string(pr.sent);
                break;
            }
        }
        const auto start = bench_clock::now();
        bus->start();
        if (!await(cfg.stall_timeout,
                   [&] { return t->handled.load(std::memory_order_acquire) == pr.sent; })) {
            ++pr.violations;
            pr.problem = "missing: handled " + std::to_string(t->handled.load()) + " of " +
                         std::to_string(pr.sent);
        }
        pr.seconds = std::chrono::duration<double>(bench_clock::now() - start).count();
    }
    bus->stop();
    rate_sample s =
        finish_sample(pr, t->handled.load(std::memory_order_acquire), t->finish(pr.sent));
    const admf::partition_stats st = bus->stats().partition(admf::domain::market_data);
    if (st.published != pr.sent || st.delivered != pr.sent || st.not_delivered() != 0 ||
        st.handler_errors != 0) {
        ++s.violations;
        if (s.problem.empty()) {
            s.problem = "stats: published " + std::to_string(st.published) + ", delivered " +
                        std::to_string(st.delivered) + ", not delivered " +
                        std::to_string(st.not_delivered()) + " of " + std::to_string(pr.sent);
        }
    }
    if (form == handler_form::batch && largest > cfg.max_batch) {
        ++s.violations;
        s.problem = "a batch of " + std::to_string(largest) + " > max_batch";
    }
    return s;
}

// ---- rows ---------------------------------------------------------------------------------------

// Row vocabulary (bench_row's fields):
//   key       partitioned_bus, shared_bus, naive_bus
//   scenario  "isolation": order latency under a market-data flood
//   payload   32 (both events)
//   mode      the admf buses' wait strategy ("yielding", or --wait's)
// extra: quotes_m_per_s (quotes handled per second while orders were recorded) and
// quotes_queued_at_order (median quotes published, not yet handled, as each order was).

void add_isolation_rows(std::vector<bench_case<run_config>>& cases, admf::wait_kind wait) {
    const std::string m = wait_name(wait);
    auto add = [&](std::string key, std::string display, auto run) {
        cases.push_back({make_row("BM_" + key + "_isolation/32/" + m, key, std::move(display),
                                  "isolation", 32, m, row_kind::round_trip),
                         [run](const run_config& cfg, bench_row& row) {
                             const isolation_sample s = run(cfg);
                             record(row, s);
                             row.extra["quotes_m_per_s"].push_back(s.quote_mps);
                             row.extra["quotes_queued_at_order"].push_back(s.quotes_queued);
                         }});
    };
    add("partitioned_bus", "partitioned admf::bus (2 partitions)",
        [](const run_config& cfg) { return run_admf_isolation<partitioned>(cfg); });
    add("shared_bus", "shared queue admf::bus (1 domain)",
        [](const run_config& cfg) { return run_admf_isolation<shared>(cfg); });
    add("naive_bus", "naive bus (mutex+condvar, 1 queue)",
        [](const run_config& cfg) { return run_naive_isolation(cfg); });
}

// Batching rows: key per_event_handler / batch_handler (default traits:
// size_or_timeout_batching) and per_event_no_batching (no_batching traits); scenario
// "batching"; payload 64; mode "single" (publish per event), "batch64" (publish_batch) or
// "prefilled" (the worker alone, on a lane filled before start()).
void add_batching_rows(std::vector<bench_case<run_config>>& cases) {
    using mode_t = std::optional<publish_mode>;
    for (const mode_t mode :
         {mode_t{publish_mode::single}, mode_t{publish_mode::batch}, mode_t{}}) {
        const std::string m = !mode                          ? "prefilled"
                              : *mode == publish_mode::single ? "single"
                                                              : "batch64";
        auto add = [&](std::string key, std::string display, auto run) {
            cases.push_back({make_row("BM_" + key + "_batching/64/" + m, key, std::move(display),
                                      "batching", 64, m, row_kind::throughput),
                             [run, mode](const run_config& cfg, bench_row& row) {
                                 record(row, run(cfg, mode));
                             }});
        };
        add("per_event_handler", "per-event handler (size_or_timeout)",
            [](const run_config& cfg, mode_t pm) {
                return run_batching<admf::default_bus_traits>(cfg, handler_form::per_event, pm);
            });
        add("batch_handler", "batch handler, std::span (size_or_timeout)",
            [](const run_config& cfg, mode_t pm) {
                return run_batching<admf::default_bus_traits>(cfg, handler_form::batch, pm);
            });
        add("per_event_no_batching", "per-event handler (no_batching)",
            [](const run_config& cfg, mode_t pm) {
                return run_batching<no_batching_traits>(cfg, handler_form::per_event, pm);
            });
        // Progress published once per call (per event for a per-event handler: the row
        // above is its baseline).
        add("batch_progress", "batch handler, progress per call",
            [](const run_config& cfg, mode_t pm) {
                return run_batching<admf::default_bus_traits>(cfg, handler_form::batch, pm,
                                                              call_cost::progress);
            });
        // The same work per event, plus a mutex-protected commit per handler call.
        add("per_event_locked", "per-event handler, locked commit per call",
            [](const run_config& cfg, mode_t pm) {
                return run_batching<admf::default_bus_traits>(cfg, handler_form::per_event, pm,
                                                              call_cost::locked);
            });
        add("batch_locked", "batch handler, locked commit per call",
            [](const run_config& cfg, mode_t pm) {
                return run_batching<admf::default_bus_traits>(cfg, handler_form::batch, pm,
                                                              call_cost::locked);
            });
    }
}

std::vector<bench_case<run_config>> make_cases(admf::wait_kind wait, bool self_test) {
    std::vector<bench_case<run_config>> cases;
    if (self_test) {
        // A partitioned bus whose order handler loses one order in 100 and handles the next
        // twice: the checks and the exit status must catch it.
        cases.push_back({make_row("BM_faulty_bus_isolation/32/" + std::string(wait_name(wait)),
                                  "faulty_bus", "self-test: order handler loses/duplicates",
                                  "isolation", 32, wait_name(wait), row_kind::round_trip),
                         [](const run_config& cfg, bench_row& row) {
                             record(row, run_admf_isolation<partitioned>(cfg, true));
                         }});
        return cases;
    }
    add_isolation_rows(cases, wait);
    add_batching_rows(cases);
    return cases;
}

// ---- ratios -----------------------------------------------------------------------------------

const bench_row* find_row(const std::vector<const bench_row*>& rows, std::string_view key,
                          std::string_view scenario, std::string_view mode = {}) {
    for (const bench_row* r : rows) {
        if (r->key == key && r->scenario == scenario && (mode.empty() || r->mode == mode)) {
            return r;
        }
    }
    return nullptr;
}

ratio percentile_ratio(std::string what, const bench_row& ours, const bench_row& theirs,
                       const std::vector<double> bench_row::*figure, std::string unit) {
    const auto& a = ours.*figure;
    const auto& b = theirs.*figure;
    return {std::move(what),
            ours.scenario + ", " + std::to_string(ours.payload) + " B, " + ours.mode,
            ours.id,
            theirs.id,
            theirs.queue,
            summarize(a).median,
            summarize(b).median,
            within_rounds(a, b),
            std::move(unit)};
}

std::vector<ratio> make_ratios(const std::vector<const bench_row*>& rows) {
    std::vector<ratio> out;
    for (const char* mode : {"single", "batch64", "prefilled"}) {
        const bench_row* batch = find_row(rows, "batch_handler", "batching", mode);
        if (batch == nullptr) {
            continue;
        }
        if (const bench_row* per_event = find_row(rows, "per_event_handler", "batching", mode)) {
            out.push_back(percentile_ratio("batch / per-event handler", *batch, *per_event,
                                           &bench_row::mitems_per_s, "M items/s"));
        }
        if (const bench_row* progress = find_row(rows, "batch_progress", "batching", mode)) {
            if (const bench_row* per_event = find_row(rows, "per_event_handler", "batching", mode)) {
                out.push_back(percentile_ratio("batch / per-event, progress", *progress,
                                               *per_event, &bench_row::mitems_per_s, "M items/s"));
            }
        }
        if (const bench_row* locked = find_row(rows, "batch_locked", "batching", mode)) {
            if (const bench_row* per_event = find_row(rows, "per_event_locked", "batching", mode)) {
                out.push_back(percentile_ratio("batch / per-event, locked commit", *locked,
                                               *per_event, &bench_row::mitems_per_s, "M items/s"));
            }
        }
        if (const bench_row* one = find_row(rows, "per_event_no_batching", "batching", mode)) {
            out.push_back(percentile_ratio("batch / per-event, no_batching", *batch, *one,
                                           &bench_row::mitems_per_s, "M items/s"));
        }
    }
    const bench_row* ours = find_row(rows, "partitioned_bus", "isolation");
    if (ours == nullptr) {
        return out;
    }
    for (const char* key : {"shared_bus", "naive_bus"}) {
        if (const bench_row* theirs = find_row(rows, key, "isolation")) {
            const std::string k = key;
            out.push_back(percentile_ratio("order p99 / " + k + " p99", *ours, *theirs,
                                           &bench_row::p99, "ns p99"));
            out.push_back(percentile_ratio("order p99.9 / " + k + " p99.9", *ours, *theirs,
                                           &bench_row::p999, "ns p99.9"));
            out.push_back(percentile_ratio("order p50 / " + k + " p50", *ours, *theirs,
                                           &bench_row::p50, "ns p50"));
        }
    }
    return out;
}

// ---- printing -----------------------------------------------------------------------------

constexpr std::size_t name_width = 46;

double median_extra(const bench_row& r, const std::string& key) {
    const auto it = r.extra.find(key);
    return it == r.extra.end() ? 0 : summarize(it->second).median;
}

void print_isolation(std::ostream& out, const std::vector<const bench_row*>& rows,
                     const std::vector<ratio>& ratios) {
    out << pad("row", name_width) << pad("wait", 10) << pad("p50 ns", 9, true)
        << pad("p99 ns", 10, true) << pad("p99 min..max", 20, true) << pad("p99.9 ns", 10, true)
        << pad("max ns", 10, true) << pad("orders", 8, true) << pad("quotes M/s", 11, true)
        << pad("queued", 8, true) << pad("reps", 5, true) << "  violations\n";
    out << std::string(name_width + 10 + 9 + 10 + 20 + 10 + 10 + 8 + 11 + 8 + 5 + 12, '-')
        << '\n';
    for (const bench_row* r : rows) {
        const summary p99 = summarize(r->p99);
        std::vector<double> counts(r->counts.begin(), r->counts.end());
        // The naive bus's worker always waits on its condition variable.
        out << pad(r->queue, name_width) << pad(r->key == "naive_bus" ? "condvar" : r->mode, 10)
            << pad(format("%.0f", summarize(r->p50).median), 9, true)
            << pad(format("%.0f", p99.median), 10, true)
            << pad(format("%.0f", p99.min) + ".." + format("%.0f", p99.max), 20, true)
            << pad(format("%.0f", summarize(r->p999).median), 10, true)
            << pad(format("%.0f", summarize(r->max).median), 10, true)
            << pad(format("%.0f", summarize(counts).median), 8, true)
            << pad(format("%.2f", median_extra(*r, "quotes_m_per_s")), 11, true)
            << pad(format("%.0f", median_extra(*r, "quotes_queued_at_order")), 8, true)
            << pad(std::to_string(r->repetitions()), 5, true) << "  " << violations_cell(*r)
            << '\n';
    }
    out << "\npartitioned / shared, order latency (median [min..max] of the within-round ratio; "
           "bar for p99: <= "
        << format("%.1f", bar_isolation) << "x):\n";
    for (const ratio& q : ratios) {
        if (q.unit.rfind("ns", 0) != 0) {
            continue;
        }
        const bool p99 = q.unit == "ns p99";
        out << "  " << pad(q.what, 44)
            << pad(ratio_cell(&q, p99 ? std::optional<double>(bar_isolation) : std::nullopt,
                              false, "%.2g"),
                   36)
            << "  " << format("%.0f", q.ours) << " vs " << format("%.0f", q.theirs) << " "
            << q.unit << "\n";
    }
}

void print_batching(std::ostream& out, const std::vector<const bench_row*>& rows,
                    const std::vector<ratio>& ratios) {
    out << pad("row", name_width) << pad("payload", 8) << pad("mode", 9)
        << pad("median M/s", 11, true) << pad("min", 8, true) << pad("max", 8, true)
        << pad("reps", 5, true) << "  violations\n";
    out << std::string(name_width + 8 + 9 + 11 + 8 + 8 + 5 + 12, '-') << '\n';
    std::string last_mode;
    for (const bench_row* r : rows) {
        if (!last_mode.empty() && r->mode != last_mode) {
            out << '\n';
        }
        last_mode = r->mode;
        const summary s = summarize(r->mitems_per_s);
        out << pad(r->queue, name_width) << pad(std::to_string(r->payload) + " B", 8)
            << pad(r->mode, 9) << pad(format("%.2f", s.median), 11, true)
            << pad(format("%.2f", s.min), 8, true) << pad(format("%.2f", s.max), 8, true)
            << pad(std::to_string(r->repetitions()), 5, true) << "  " << violations_cell(*r)
            << '\n';
    }
    out << "\nbatch / per-event handler throughput (median [min..max] of the within-round ratio; "
           "bar vs the per-event handler: >= "
        << format("%.1f", bar_batching) << "x):\n";
    for (const ratio& q : ratios) {
        if (q.unit != "M items/s") {
            continue;
        }
        const bool bar = q.what == "batch / per-event handler";
        out << "  " << pad(q.what, 34) << pad(q.context, 28)
            << pad(ratio_cell(&q, bar ? std::optional<double>(bar_batching) : std::nullopt, true),
                   30)
            << "  " << format("%.2f", q.ours) << " vs " << format("%.2f", q.theirs) << " "
            << q.unit << "\n";
    }
}

// ---- command line ------------------------------------------------------------------------

struct options : driver_options {
    std::optional<long> order_gap_us;
    std::optional<long> quote_work_ns;
    std::optional<long> throughput_ms;
    admf::wait_kind wait = admf::wait_kind::yielding;
    placement layout = placement::split;
};

constexpr std::string_view usage = R"(usage: admf-policy-bench [options] [Google Benchmark flags]
  --interleaved=N        driver mode: N rounds, each runs every row once in a shuffled order;
                         prints medians per row, the ratios, and exits 1 on violations
  --quick                tiny samples (30 ms of orders, 5 ms of batching): proves build and
                         checkers
  --json=PATH            write every row, repetition and the machine/build context as JSON
  --filter=REGEX         only rows whose name (BM_<row>_<scenario>/<payload>/<mode>) matches
  --sample-ms=N          isolation: orders are recorded for N ms per sample (default 1000)
  --order-gap-us=N       isolation: one order per N us (default 20)
  --quote-work-ns=N      isolation: the quote handler spins N ns per quote (default 300)
  --throughput-ms=N      batching: the producer publishes N ms per sample (default 200)
  --wait=KIND            the admf buses' wait strategy: yielding (default), blocking,
                         backoff, busy_spin
  --seed=N               shuffle seed for the driver (default 20240601)
  --cpus=A,B             A: the worker that handles quotes; B: the order publisher and the
                         partitioned bus's order worker (default: the first two CPUs allowed)
  --placement=P          isolation: where the quote publisher runs: split (default: on A,
                         beside the worker that handles quotes) or publishers (on B, beside
                         the order publisher and the partitioned bus's order worker)
  --list                 print the row names and exit
  --self-test            run only a partitioned bus whose order handler loses one order and
                         duplicates another, to prove the checks catch it (exits 1)
Without --interleaved the Google Benchmark runner runs (e.g. --benchmark_filter=isolation).
)";

options parse(int& argc, char** argv) {
    options o;
    auto own = [&o](std::string_view a) {
        if (starts_with(a, "--order-gap-us=")) {
            o.order_gap_us = parse_number(program, "--order-gap-us", a.substr(15));
            return true;
        }
        if (starts_with(a, "--quote-work-ns=")) {
            o.quote_work_ns = parse_number(program, "--quote-work-ns", a.substr(16));
            return true;
        }
        if (starts_with(a, "--throughput-ms=")) {
            o.throughput_ms = parse_number(program, "--throughput-ms", a.substr(16));
            return true;
        }
        if (a == "--placement=split" || a == "--placement=publishers") {
            o.layout = a == "--placement=split" ? placement::split : placement::publishers;
            return true;
        }
        if (starts_with(a, "--wait=")) {
            const std::string_view v = a.substr(7);
            for (const auto w : {admf::wait_kind::blocking, admf::wait_kind::yielding,
                                 admf::wait_kind::backoff, admf::wait_kind::busy_spin}) {
                if (v == wait_name(w)) {
                    o.wait = w;
                    return true;
                }
            }
            std::cerr << program << ": unknown --wait '" << v << "'\n";
            std::exit(2);
        }
        return false;
    };
    static_cast<driver_options&>(o) = parse_driver_options(argc, argv, program, usage, own);
    return o;
}

} // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);

    run_config cfg;
    cfg.wait = opt.wait;
    if (opt.quick) {
        cfg.sample = std::chrono::milliseconds(30);
        cfg.warmup_orders = 50;
        cfg.throughput_sample = std::chrono::milliseconds(5);
        cfg.prefill = std::size_t{1} << 14;
    }
    if (opt.throughput_ms) {
        cfg.throughput_sample = std::chrono::milliseconds(*opt.throughput_ms);
    }
    if (opt.sample_ms) {
        cfg.sample = std::chrono::milliseconds(*opt.sample_ms);
    }
    if (opt.order_gap_us) {
        cfg.order_gap = std::chrono::microseconds(std::max(1L, *opt.order_gap_us));
    }
    if (opt.quote_work_ns) {
        cfg.quote_work = std::chrono::nanoseconds(*opt.quote_work_ns);
    }
    std::tie(cfg.flood_cpu, cfg.order_cpu) = choose_cpus(opt);
    cfg.layout = opt.layout;

    std::vector<bench_case<run_config>> cases = make_cases(cfg.wait, opt.self_test);
    apply_filter(cases, opt.filter);
    if (opt.list) {
        for (const auto& c : cases) {
            std::cout << c.row.id << '\n';
        }
        return 0;
    }

    const bool pinned = can_pin(program, cfg.flood_cpu, cfg.order_cpu);
    const std::string cpu_a = std::to_string(cfg.flood_cpu);
    const std::string cpu_b = std::to_string(cfg.order_cpu);
    const std::string pinning =
        std::string(pinned ? "" : "REFUSED, threads unpinned: ") + "placement " +
        placement_name(cfg.layout) +
        ": the worker that handles quotes (market-data partition; the shared and the naive "
        "bus's only worker) on CPU " +
        cpu_a + ", quote publisher on CPU " + std::to_string(cfg.quote_publisher_cpu()) +
        ", order publisher and the partitioned bus's order worker on CPU " + cpu_b +
        "; batching rows: worker on CPU " + cpu_a + ", producer on CPU " + cpu_b +
        (cfg.flood_cpu == cfg.order_cpu ? " -- ONE CPU ONLY: threads time-share it" : "");
    const std::string wait = wait_name(cfg.wait);
    std::vector<std::pair<std::string, std::string>> context = machine_context(
        program, opt, cfg.flood_cpu, cfg.order_cpu, "flood", "order", pinning);
    context.insert(context.end(), {
        {"#sample_ms", std::to_string(cfg.sample.count())},
        {"#order_gap_us", std::to_string(cfg.order_gap.count())},
        {"#quote_work_ns", std::to_string(cfg.quote_work.count())},
        {"#warmup_orders", std::to_string(cfg.warmup_orders)},
        {"#capacity", std::to_string(cfg.capacity)},
        {"#throughput_sample_ms", std::to_string(cfg.throughput_sample.count())},
        {"#publish_batch", std::to_string(cfg.publish_batch)},
        {"#max_batch", std::to_string(cfg.max_batch)},
        {"#prefill", std::to_string(cfg.prefill)},
        {"batching_rows",
         "64-byte events, 1 producer (producers::single lane), 1 worker; the handler checks, "
         "sums and counts each event, per event or over each std::span; max_wait 0"},
        {"wait", wait},
        {"placement", placement_name(cfg.layout)},
        {"load_average_at_start", load_average()},
        {"backpressure", "block (every partition)"},
        {"clock", "admf::tsc_clock: order.sent_ns just before publish, read again first thing "
                  "in the order handler"},
        {"isolation_rows_json",
         "p50_ns/p99_ns/p999_ns/max_ns are order publish->handler; 'round_trips' counts the "
         "recorded orders; quotes_m_per_s the quotes handled per second meanwhile; "
         "quotes_queued_at_order the quotes published, not yet handled, as each order was"},
    });

    if (opt.interleaved <= 0) {
        if (const int rc = run_google_benchmark(cases, cfg, argc, argv); rc != 0) {
            return rc;
        }
    } else {
        if (argc > 1) {
            std::cerr << program << ": unknown argument '" << argv[1] << "' (see --help)\n";
            return 2;
        }
        print_machine_header(std::cout, program, cases.size(), opt.interleaved, cfg.flood_cpu,
                             cfg.order_cpu, pinning);
        std::cout << "  isolation one order per " << cfg.order_gap.count()
                  << " us (paced on the clock, yielding), recorded for " << cfg.sample.count()
                  << " ms after " << cfg.warmup_orders << " warm-up orders; quotes as fast as "
                  << "accepted, handler spins " << cfg.quote_work.count() << " ns each\n"
                  << "            capacity " << cfg.capacity << " per lane, 1 lane, 1 worker per "
                  << "partition, producers::many, backpressure::block, wait " << wait << "\n"
                  << "  batching  producer publishes " << cfg.throughput_sample.count()
                  << " ms (single, or publish_batch of " << cfg.publish_batch
                  << "), then waits for the handler; 64 B events, 1 spsc lane, max_batch "
                  << cfg.max_batch << ", max_wait 0, wait " << wait << "; prefilled: "
                  << cfg.prefill << " events queued before start(), timed start() -> all handled\n"
                  << "  load      " << load_average() << " (1/5/15 min) at start\n"
                  << std::flush;

        run_interleaved(cases, cfg, opt.interleaved, opt.seed, program,
                        [](const bench_row&) { return 1; });

        const auto rows = rows_of(cases);
        const std::vector<ratio> ratios = make_ratios(rows);
        std::vector<const bench_row*> isolation, batching;
        for (const bench_row* r : rows) {
            (r->scenario == "isolation" ? isolation : batching).push_back(r);
        }
        std::stable_sort(batching.begin(), batching.end(),
                         [](const bench_row* x, const bench_row* y) {
                             auto rank = [](const bench_row* r) {
                                 return r->mode == "single" ? 0 : r->mode == "batch64" ? 1 : 2;
                             };
                             return rank(x) < rank(y);
                         });
        if (!isolation.empty()) {
            std::cout << "\nIsolation: order publish -> handler latency (ns) under a market-data "
                         "flood (medians over "
                      << opt.interleaved
                      << " interleaved rounds)\nquotes M/s = quotes handled meanwhile; queued = "
                         "quotes published but not yet handled as an order is published (median)"
                         "\n\n";
            print_isolation(std::cout, isolation, ratios);
        }
        if (!batching.empty()) {
            std::cout << "\nBatching: 1 producer -> 1 partition (1 lane, 1 worker) -> 1 handler, "
                         "64 B events (M events/s; median, min and max over "
                      << opt.interleaved
                      << " interleaved rounds)\nmode single = publish() per event, batch64 = "
                         "publish_batch() of 64, prefilled = the worker alone on a lane filled "
                         "before start();\nthe handler's work per event is the same in every "
                         "row\n\n";
            print_batching(std::cout, batching, ratios);
        }
        std::cout << "\nload average at the end: " << load_average() << " (1/5/15 min)\n"
                  << std::flush;
    }

    const std::size_t failed_rows = report_violations(cases, program);
    if (!opt.json.empty()) {
        const auto rows = rows_of(cases);
        if (!write_json_file(opt.json, program, context, rows, make_ratios(rows))) {
            return 2;
        }
    }
    if (failed_rows != 0) {
        std::cerr << program << ": " << failed_rows << " row(s) with violations\n";
        return 1;
    }
    return 0;
}
