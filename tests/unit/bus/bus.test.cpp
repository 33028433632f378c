// SPDX-License-Identifier: MIT
// Unit and adversarial tests of the threaded admf::bus (include/admf/bus/basic_bus.hpp and
// detail/partition.hpp): per-key FIFO over lanes and workers, the handler forms,
// unsubscribe's guarantee (also from inside handlers and across partitions), handler
// exceptions, the lifecycle (start/flush/stop misuse), every backpressure policy on full
// lanes, publish_batch, stop(discard), config validation, and the stats invariant
//   published == delivered + dropped + discarded   (once idle).
// Handlers that must hold a lane full wait on a gate the test opens, so "full" is reached
// deterministically; sleeps only widen windows, nothing relies on them.
#include <admf/bus.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "ring_stress.hpp"
#include "seed.hpp"

// ---- event types -----------------------------------------------------------------------

namespace {

struct tick {
    std::uint64_t key;
    std::uint64_t seq;
};
struct order_new {
    std::uint64_t id;
};
struct order_cancel {
    std::uint64_t id;
};
struct heartbeat {
    static constexpr admf::domain domain = admf::domain::system;
    static constexpr std::string_view name = "SYS.HEARTBEAT";
    std::uint64_t n;
};

} // namespace

template <>
struct admf::event_traits<tick> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.TICK";
    static std::uint64_t key(const tick& t) noexcept { return t.key; }
};
template <>
struct admf::event_traits<order_new> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.NEW";
    static std::uint64_t key(const order_new& o) noexcept { return o.id; }
};
template <>
struct admf::event_traits<order_cancel> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.CANCEL";
    static std::uint64_t key(const order_cancel& o) noexcept { return o.id; }
};

namespace {

using test_bus = admf::bus<tick, order_new, order_cancel, heartbeat>;
constexpr auto md = admf::domain::market_data;
constexpr auto ord = admf::domain::order;
constexpr auto sys = admf::domain::system;
using admf::publish_result;

// Waits (yielding) until `pred` holds; false after `limit` (so a broken bus fails the
// REQUIRE instead of hanging the test).
template <class Pred>
bool eventually(Pred&& pred, std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::yield();
    }
    return true;
}

// A gate handlers wait at until the test opens it. Waiting gives up after 60 s (flagged),
// so a failed REQUIRE before open() cannot turn into a hang in the bus's destructor.
class gate {
public:
    void open() noexcept { open_.store(true, std::memory_order_release); }
    void wait() noexcept {
        ++waiting_;
        if (!eventually([&] { return open_.load(std::memory_order_acquire); },
                        std::chrono::seconds(60))) {
            gave_up_.store(true);
        }
    }
    [[nodiscard]] int waiting() const noexcept { return waiting_.load(); }
    [[nodiscard]] bool gave_up() const noexcept { return gave_up_.load(); }

private:
    std::atomic<bool> open_{false};
    std::atomic<int> waiting_{0};
    std::atomic<bool> gave_up_{false};
};

// Opens a gate when the scope ends (declare it after the bus: it runs before the bus's
// destructor drains).
struct open_on_exit {
    gate& g;
    ~open_on_exit() { g.open(); }
};

// One market_data lane of `capacity` slots, one worker, the given policy.
admf::bus_config one_lane(std::size_t capacity, admf::backpressure on_full) {
    admf::bus_config cfg;
    cfg[md].lanes = 1;
    cfg[md].workers = 1;
    cfg[md].capacity = capacity;
    cfg[md].on_full = on_full;
    return cfg;
}

// The invariant of bus_stats.hpp, once the bus is idle.
void require_reconciled(const admf::partition_stats& s) {
    INFO(s.name << ": published " << s.published << " delivered " << s.delivered << " dropped "
                << s.dropped << " discarded " << s.discarded << " backlog " << s.backlog);
    REQUIRE(s.published == s.delivered + s.dropped + s.discarded);
    REQUIRE(s.backlog == 0);
}

} // namespace

// ---- ordering ---------------------------------------------------------------------------

TEST_CASE("bus: each key's events arrive in publish order across 8 lanes and 2 workers, each "
          "lane's sequence counts up by one",
          "[bus]") {
    constexpr std::size_t lanes = 8;
    constexpr std::uint64_t keys = 32;
    const std::uint64_t rounds = admf_test::by_scale<std::uint64_t>(6000, 600, 1500);
    admf::bus_config cfg;
    cfg[md].lanes = lanes;
    cfg[md].workers = 2;
    cfg[md].capacity = 256;
    test_bus bus(cfg);

    // Lane state is touched only by the lane's owner, key state only by its key's lane.
    struct lane_state {
        std::uint64_t next_sequence = 0;
        std::uint64_t events = 0;
        std::uint64_t sequence_errors = 0;
        std::thread::id thread;
    };
    std::array<lane_state, lanes> lane{};
    std::array<std::uint64_t, keys> last_seq{};
    std::array<std::uint32_t, keys> key_lane{};
    std::atomic<std::uint64_t> order_errors{0};
    std::atomic<std::uint64_t> lane_errors{0};
    auto sub = bus.subscribe<tick>([&](const tick& t, const admf::event_info& info) {
        auto& l = lane[info.lane];
        if (info.sequence != l.next_sequence) {
            ++l.sequence_errors;
        }
        l.next_sequence = info.sequence + 1;
        ++l.events;
        l.thread = std::this_thread::get_id();
        if (t.seq != last_seq[t.key] + 1) {
            order_errors.fetch_add(1);
        }
        last_seq[t.key] = t.seq;
        if (key_lane[t.key] == 0) {
            key_lane[t.key] = info.lane + 1;
        } else if (key_lane[t.key] != info.lane + 1) {
            lane_errors.fetch_add(1); // a key moved lanes: FIFO per key would be lost
        }
    });
    bus.start();
    // Two producers, each owning half the keys (per-key FIFO is per publisher).
    std::atomic<std::uint64_t> not_accepted{0};
    std::vector<std::thread> producers;
    for (std::uint64_t p = 0; p != 2; ++p) {
        producers.emplace_back([&, p] {
            for (std::uint64_t r = 1; r <= rounds; ++r) {
                for (std::uint64_t k = p; k < keys; k += 2) {
                    if (bus.publish(tick{k, r}) != publish_result::accepted) {
                        not_accepted.fetch_add(1);
                    }
                }
            }
        });
    }
    for (auto& t : producers) {
        t.join();
    }
    bus.flush();
    REQUIRE(not_accepted.load() == 0);
    REQUIRE(order_errors.load() == 0);
    REQUIRE(lane_errors.load() == 0);
    std::uint64_t total = 0;
    std::set<std::thread::id> threads;
    std::size_t used = 0;
    for (const auto& l : lane) {
        REQUIRE(l.sequence_errors == 0);
        REQUIRE(l.next_sequence == l.events);
        total += l.events;
        if (l.events != 0) {
            ++used;
            threads.insert(l.thread);
        }
    }
    for (std::uint64_t k = 0; k != keys; ++k) {
        REQUIRE(last_seq[k] == rounds); // every event of every key, none lost
    }
    REQUIRE(total == rounds * keys);
    REQUIRE(used >= 4);           // keys really spread over lanes
    REQUIRE(threads.size() == 2); // ... and over both workers
    require_reconciled(bus.stats().partition(md));
}

// ---- handler forms ------------------------------------------------------------------------

TEST_CASE("bus: both handler forms are called, event_info carries sequence, publish time and "
          "end_of_batch on the last event of each drained batch",
          "[bus]") {
    admf::bus_config cfg = one_lane(64, admf::backpressure::reject);
    cfg[md].max_batch = 8;
    test_bus bus(cfg);
    std::vector<admf::event_info> infos;
    std::vector<std::uint64_t> plain;
    auto s1 = bus.subscribe<tick>(
        [&](const tick&, const admf::event_info& info) { infos.push_back(info); });
    auto s2 = bus.subscribe<tick>([&](const tick& t) { plain.push_back(t.seq); });
    // Queued before start: the worker finds all 20 ready and drains batches of 8, 8, 4.
    for (std::uint64_t i = 0; i != 20; ++i) {
        REQUIRE(bus.publish(tick{1, i}) == publish_result::accepted);
    }
    bus.start();
    bus.flush();
    REQUIRE(infos.size() == 20);
    REQUIRE(plain.size() == 20);
    for (std::uint64_t i = 0; i != 20; ++i) {
        INFO("event " << i);
        CHECK(plain[i] == i);
        CHECK(infos[i].sequence == i);
        CHECK(infos[i].lane == 0);
        CHECK(infos[i].publish_time != 0); // the default clock stamps it
        if (i != 0) {
            CHECK(infos[i].publish_time >= infos[i - 1].publish_time);
        }
        CHECK(infos[i].end_of_batch == (i == 7 || i == 15 || i == 19));
    }
}

TEST_CASE("bus: a domain-wide handler receives every event type of its domain and nothing else",
          "[bus]") {
    test_bus bus;
    std::vector<std::string> seen;
    struct generic {
        std::vector<std::string>* out;
        void operator()(const order_new& o) const { out->push_back("new" + std::to_string(o.id)); }
        void operator()(const order_cancel& o, const admf::event_info&) const {
            out->push_back("cancel" + std::to_string(o.id));
        }
    };
    auto all_orders = bus.subscribe<ord>(generic{&seen});
    std::atomic<int> ticks{0};
    auto t = bus.subscribe<tick>([&](const tick&) { ticks.fetch_add(1); });
    bus.start();
    // Key 5 for both: one lane, so the order of the two types is kept too.
    REQUIRE(bus.publish(order_new{5}) == publish_result::accepted);
    REQUIRE(bus.publish(tick{1, 1}) == publish_result::accepted);
    REQUIRE(bus.publish(order_cancel{5}) == publish_result::accepted);
    bus.flush();
    REQUIRE(seen == std::vector<std::string>{"new5", "cancel5"});
    REQUIRE(ticks.load() == 1);
    all_orders.unsubscribe(); // one id covers both types
    REQUIRE(bus.publish(order_new{6}) == publish_result::accepted);
    REQUIRE(bus.publish(order_cancel{6}) == publish_result::accepted);
    bus.flush();
    REQUIRE(seen.size() == 2);
}

// ---- unsubscribe --------------------------------------------------------------------------

TEST_CASE("bus: unsubscribe from another thread returns only after the running handler "
          "finished, and the handler never runs again",
          "[bus]") {
    test_bus bus;
    std::atomic<bool> inside{false};
    std::atomic<int> calls{0};
    std::atomic<int> calls_after{0};
    std::atomic<bool> unsubscribed{false};
    auto sub = bus.subscribe<tick>([&](const tick&) {
        if (unsubscribed.load()) {
            calls_after.fetch_add(1);
        }
        inside.store(true);
        calls.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(50)); // a window, not a sync
        inside.store(false);
    });
    bus.start();
    REQUIRE(bus.publish(tick{1, 1}) == publish_result::accepted);
    REQUIRE(eventually([&] { return inside.load(); }));
    sub.unsubscribe();
    unsubscribed.store(true);
    REQUIRE_FALSE(inside.load()); // unsubscribe waited for the call that was under way
    for (std::uint64_t i = 0; i != 100; ++i) {
        REQUIRE(bus.publish(tick{1, i}) == publish_result::accepted);
    }
    bus.flush();
    REQUIRE(calls.load() == 1);
    REQUIRE(calls_after.load() == 0);
    REQUIRE_FALSE(sub.active());
    sub.unsubscribe(); // idempotent
}

TEST_CASE("bus: churn: a handler whose subscription ended is never called, while events "
          "flow on 2 workers",
          "[bus]") {
    admf::bus_config cfg;
    cfg[md].lanes = 4;
    cfg[md].workers = 2;
    test_bus bus(cfg);
    bus.start();
    struct handler_state {
        std::atomic<bool> ended{false};
        std::atomic<std::uint64_t> calls{0};
    };
    std::atomic<std::uint64_t> violations{0};
    std::atomic<bool> done{false};
    std::thread producer([&] {
        std::uint64_t i = 0;
        while (!done.load(std::memory_order_relaxed)) {
            static_cast<void>(bus.publish(tick{i % 16, i}));
            if (++i % 64 == 0) {
                std::this_thread::yield();
            }
        }
    });
    const int cycles = admf_test::by_scale(500, 100, 200);
    std::vector<std::unique_ptr<handler_state>> states; // kept: a late call reads valid memory
    std::uint64_t called = 0;
    for (int c = 0; c != cycles; ++c) {
        states.push_back(std::make_unique<handler_state>());
        handler_state* st = states.back().get();
        auto sub = bus.subscribe<tick>([st, &violations](const tick&) {
            if (st->ended.load()) {
                violations.fetch_add(1);
            }
            st->calls.fetch_add(1);
        });
        // Let it run for a few events (bounded: the producer might be descheduled).
        static_cast<void>(eventually([&] { return st->calls.load() >= 3; }, std::chrono::seconds(1)));
        sub.unsubscribe();
        st->ended.store(true);
        called += st->calls.load() != 0 ? 1 : 0;
    }
    done.store(true);
    producer.join();
    bus.flush();
    REQUIRE(violations.load() == 0);
    REQUIRE(called > 0); // the handlers did run, so the check saw calls
}

TEST_CASE("bus: a handler may unsubscribe itself, that call completes and no later one happens",
          "[bus]") {
    test_bus bus;
    admf::subscription self;
    std::atomic<int> calls{0};
    self = bus.subscribe<tick>([&](const tick&) {
        calls.fetch_add(1);
        self.unsubscribe();
    });
    bus.start();
    for (std::uint64_t i = 0; i != 10; ++i) {
        REQUIRE(bus.publish(tick{3, i}) == publish_result::accepted);
    }
    bus.flush();
    REQUIRE(calls.load() == 1);
    REQUIRE_FALSE(self.active());
}

TEST_CASE("bus: a handler may subscribe another handler, which receives later events", "[bus]") {
    test_bus bus;
    std::optional<admf::subscription> inner;
    std::vector<std::uint64_t> inner_seen;
    auto outer = bus.subscribe<tick>([&](const tick& t) {
        if (!inner) {
            inner = bus.subscribe<tick>([&](const tick& u) { inner_seen.push_back(u.seq); });
        }
        static_cast<void>(t);
    });
    bus.start();
    REQUIRE(bus.publish(tick{3, 1}) == publish_result::accepted);
    bus.flush();
    REQUIRE(inner.has_value());
    REQUIRE(bus.publish(tick{3, 2}) == publish_result::accepted);
    REQUIRE(bus.publish(tick{3, 3}) == publish_result::accepted);
    bus.flush();
    // Events after the subscribe reach it, in order (event 1 may or may not: it was being
    // dispatched while the table changed).
    REQUIRE(inner_seen.size() >= 2);
    REQUIRE(inner_seen[inner_seen.size() - 2] == 2);
    REQUIRE(inner_seen.back() == 3);
    inner.reset(); // unsubscribes from the test thread
}

TEST_CASE("bus: a handler may unsubscribe another handler of the same event, that one is not "
          "called again, not even for the current event",
          "[bus]") {
    test_bus bus;
    admf::subscription victim;
    std::vector<std::uint64_t> victim_seen;
    auto killer = bus.subscribe<tick>([&](const tick& t) {
        if (t.seq == 5) {
            victim.unsubscribe();
        }
    });
    victim = bus.subscribe<tick>([&](const tick& t) { victim_seen.push_back(t.seq); });
    bus.start();
    for (std::uint64_t i = 1; i <= 10; ++i) {
        REQUIRE(bus.publish(tick{9, i}) == publish_result::accepted);
    }
    bus.flush();
    // The killer runs first (subscribed first); once its unsubscribe returned, the victim
    // must not be called, so event 5 is not delivered to it either.
    REQUIRE(victim_seen == std::vector<std::uint64_t>{1, 2, 3, 4});
}

TEST_CASE("bus: two handlers on two partitions ending each other's subscriptions at the same "
          "time do not deadlock",
          "[bus]") {
    test_bus bus;
    bus.start();
    std::atomic<std::uint64_t> progress{0};
    std::atomic<int> phase{0};
    const admf_test::watchdog dog(
        admf_test::stall_limit(std::chrono::seconds(20)), [&] { return progress.load(); },
        [&] {
            std::fprintf(stderr, "  completed unsubscribes %llu, phase %d\n",
                         static_cast<unsigned long long>(progress.load()), phase.load());
        });
    const int rounds = admf_test::by_scale(50, 20, 30);
    for (int r = 0; r != rounds; ++r) {
        admf::subscription a;
        admf::subscription b;
        std::atomic<int> arrived{0};
        std::atomic<bool> a_called_after{false};
        std::atomic<bool> b_called_after{false};
        std::atomic<bool> a_done{false};
        std::atomic<bool> b_done{false};
        const auto rendezvous = [&] {
            arrived.fetch_add(1);
            // Both handlers inside before either unsubscribes: the risky interleaving.
            static_cast<void>(eventually([&] { return arrived.load() >= 2; }, std::chrono::seconds(5)));
        };
        a = bus.subscribe<tick>([&](const tick&) {
            if (a_done.load()) {
                a_called_after.store(true);
                return;
            }
            rendezvous();
            b.unsubscribe(); // b's handler is inside too, unsubscribing a
            b_done.store(true);
            progress.fetch_add(1);
        });
        b = bus.subscribe<order_new>([&](const order_new&) {
            if (b_done.load()) {
                b_called_after.store(true);
                return;
            }
            rendezvous();
            a.unsubscribe();
            a_done.store(true);
            progress.fetch_add(1);
        });
        // Both handles are assigned: only now may the handlers run.
        REQUIRE(bus.publish(tick{1, 1}) == publish_result::accepted);
        REQUIRE(bus.publish(order_new{1}) == publish_result::accepted);
        bus.flush();
        phase.store(r);
        REQUIRE(a_done.load());
        REQUIRE(b_done.load());
        // Subscription handles were written by the handlers; flush ordered that before this.
        REQUIRE_FALSE(a.active());
        REQUIRE_FALSE(b.active());
        REQUIRE(bus.publish(tick{1, 2}) == publish_result::accepted);
        REQUIRE(bus.publish(order_new{2}) == publish_result::accepted);
        bus.flush();
        REQUIRE_FALSE(a_called_after.load());
        REQUIRE_FALSE(b_called_after.load());
    }
    REQUIRE(progress.load() == 2 * static_cast<std::uint64_t>(rounds));
}

// ---- handler exceptions -------------------------------------------------------------------

TEST_CASE("bus: a throwing handler is counted and reported, other handlers get the event and "
          "the worker goes on",
          "[bus]") {
    struct reported {
        std::string partition;
        std::string event;
        std::uint64_t subscription;
        std::string what;
    };
    std::mutex m;
    std::vector<reported> reports;
    admf::bus_config cfg;
    cfg.on_error = [&](const admf::handler_error& e) {
        std::string what;
        try {
            std::rethrow_exception(e.exception);
        } catch (const std::exception& ex) {
            what = ex.what();
        }
        const std::lock_guard lock(m);
        reports.push_back({std::string(e.partition), std::string(e.event), e.subscription, what});
    };
    test_bus bus(cfg);
    std::atomic<int> others{0};
    auto thrower = bus.subscribe<tick>([](const tick& t) {
        if (t.seq % 2 == 0) {
            throw std::runtime_error("boom " + std::to_string(t.seq));
        }
    });
    auto other = bus.subscribe<tick>([&](const tick&) { others.fetch_add(1); });
    bus.start();
    for (std::uint64_t i = 0; i != 10; ++i) {
        REQUIRE(bus.publish(tick{2, i}) == publish_result::accepted);
    }
    bus.flush();
    REQUIRE(others.load() == 10);
    REQUIRE(bus.stats().partition(md).handler_errors == 5);
    REQUIRE(bus.stats().partition(ord).handler_errors == 0);
    REQUIRE(thrower.handler_errors() == 5);
    REQUIRE(other.handler_errors() == 0);
    {
        const std::lock_guard lock(m);
        REQUIRE(reports.size() == 5);
        for (std::size_t i = 0; i != reports.size(); ++i) {
            CHECK(reports[i].partition == "market_data");
            CHECK(reports[i].event == "MD.TICK");
            CHECK(reports[i].subscription == thrower.id());
            CHECK(reports[i].what == "boom " + std::to_string(2 * i));
        }
    }
    // The worker survived: later events still arrive.
    REQUIRE(bus.publish(tick{2, 11}) == publish_result::accepted);
    bus.flush();
    REQUIRE(others.load() == 11);
    require_reconciled(bus.stats().partition(md));
}

TEST_CASE("bus: an error sink that throws is swallowed, the error is still counted", "[bus]") {
    admf::bus_config cfg;
    std::atomic<int> sink_calls{0};
    cfg.on_error = [&](const admf::handler_error&) {
        sink_calls.fetch_add(1);
        throw std::logic_error("sink fails too");
    };
    test_bus bus(cfg);
    std::atomic<int> after{0};
    auto thrower = bus.subscribe<heartbeat>([](const heartbeat&) { throw 42; });
    auto other = bus.subscribe<heartbeat>([&](const heartbeat&) { after.fetch_add(1); });
    bus.start();
    for (std::uint64_t i = 0; i != 3; ++i) {
        REQUIRE(bus.publish(heartbeat{i}) == publish_result::accepted);
    }
    bus.flush();
    REQUIRE(sink_calls.load() == 3);
    REQUIRE(after.load() == 3);
    REQUIRE(thrower.handler_errors() == 3);
    REQUIRE(bus.stats().partition(sys).handler_errors == 3);
}

// ---- lifecycle ----------------------------------------------------------------------------

TEST_CASE("bus: publish after stop returns stopped and counts it as refused", "[bus]") {
    test_bus bus;
    bus.start();
    REQUIRE(bus.running());
    REQUIRE(bus.publish(tick{1, 1}) == publish_result::accepted);
    bus.stop();
    REQUIRE_FALSE(bus.running());
    REQUIRE(bus.publish(tick{1, 2}) == publish_result::stopped);
    REQUIRE(bus.publish(order_new{1}) == publish_result::stopped);
    const std::array<tick, 3> batch{tick{1, 3}, tick{2, 4}, tick{3, 5}};
    std::size_t accepted = 99;
    REQUIRE(bus.publish_batch(std::span<const tick>(batch), &accepted) == publish_result::stopped);
    REQUIRE(accepted == 0);
    const auto s = bus.stats();
    REQUIRE(s.partition(md).refused == 4);
    REQUIRE(s.partition(ord).refused == 1);
    REQUIRE(s.partition(md).published == 1);
    REQUIRE(s.partition(md).delivered == 1);
    REQUIRE(s.total().refused == 5);
}

TEST_CASE("bus: flush before start, start after stop, and flush or stop inside a handler "
          "throw std::logic_error, stop twice is fine",
          "[bus]") {
    test_bus bus;
    REQUIRE_THROWS_AS(bus.flush(), std::logic_error);
    std::atomic<int> flush_threw{0};
    std::atomic<int> stop_threw{0};
    std::atomic<int> calls{0};
    auto sub = bus.subscribe<tick>([&](const tick&) {
        calls.fetch_add(1);
        try {
            bus.flush();
        } catch (const std::logic_error&) {
            flush_threw.fetch_add(1);
        }
        try {
            bus.stop();
        } catch (const std::logic_error&) {
            stop_threw.fetch_add(1);
        }
    });
    bus.start();
    bus.start(); // a second start while running does nothing
    REQUIRE(bus.publish(tick{1, 1}) == publish_result::accepted);
    bus.flush();
    REQUIRE(calls.load() == 1);
    REQUIRE(flush_threw.load() == 1);
    REQUIRE(stop_threw.load() == 1);
    REQUIRE(bus.running()); // the handler's stop() did nothing
    bus.stop();
    bus.stop();
    REQUIRE_THROWS_AS(bus.start(), std::logic_error);
    // flush after stop: nothing is pending, so it returns (no throw, no hang).
    bus.flush();
}

TEST_CASE("bus: destroying a bus that was never started delivers its queued events (drain)",
          "[bus]") {
    // Defined outcome: the destructor is stop(drain), and stop() on a bus never started
    // starts it to drain; so every accepted event reaches the handlers still subscribed.
    std::atomic<int> calls{0};
    admf::subscription sub; // outlives the bus: harmless
    {
        std::optional<test_bus> bus;
        bus.emplace();
        sub = bus->subscribe<tick>([&](const tick&) { calls.fetch_add(1); });
        for (std::uint64_t i = 0; i != 100; ++i) {
            REQUIRE(bus->publish(tick{i, i}) == publish_result::accepted);
        }
        REQUIRE(calls.load() == 0);
        bus.reset();
    }
    REQUIRE(calls.load() == 100);
    REQUIRE(sub.active());
    sub.unsubscribe(); // on a closed registry: does nothing
    REQUIRE_FALSE(sub.active());
}

TEST_CASE("bus: destroying a running bus without stop() delivers every accepted event", "[bus]") {
    std::atomic<std::uint64_t> calls{0};
    std::uint64_t accepted = 0;
    admf::subscription sub;
    {
        admf::bus_config cfg;
        cfg[md].lanes = 4;
        cfg[md].workers = 2;
        test_bus bus(cfg);
        sub = bus.subscribe<tick>([&](const tick&) { calls.fetch_add(1); });
        bus.start();
        for (std::uint64_t i = 0; i != 20'000; ++i) {
            accepted += bus.publish(tick{i % 32, i}) == publish_result::accepted ? 1 : 0;
        }
        // In flight now; the destructor stops with drain and joins.
    }
    REQUIRE(accepted == 20'000);
    REQUIRE(calls.load() == accepted);
}

// ---- backpressure -------------------------------------------------------------------------

TEST_CASE("bus: backpressure::reject: a full lane answers full and counts it rejected", "[bus]") {
    test_bus bus(one_lane(4, admf::backpressure::reject));
    gate g;
    std::atomic<std::uint64_t> delivered{0};
    auto sub = bus.subscribe<tick>([&](const tick& t) {
        if (t.seq == 0) {
            g.wait();
        }
        delivered.fetch_add(1);
    });
    bus.start();
    const open_on_exit opener{g};
    REQUIRE(bus.publish(tick{1, 0}) == publish_result::accepted);
    REQUIRE(eventually([&] { return g.waiting() == 1; })); // the lane is now held
    std::uint64_t accepted = 1;
    std::uint64_t full = 0;
    for (std::uint64_t i = 1; i <= 20; ++i) {
        const auto r = bus.publish(tick{1, i});
        REQUIRE((r == publish_result::accepted || r == publish_result::full));
        (r == publish_result::accepted ? accepted : full) += 1;
    }
    REQUIRE(accepted <= 1 + 4); // capacity 4, plus the event being handled
    REQUIRE(full >= 20 - 4);
    auto s = bus.stats().partition(md);
    REQUIRE(s.rejected == full);
    REQUIRE(s.published == accepted);
    g.open();
    bus.flush();
    REQUIRE_FALSE(g.gave_up());
    REQUIRE(delivered.load() == accepted);
    s = bus.stats().partition(md);
    REQUIRE(s.delivered == accepted);
    require_reconciled(s);
}

TEST_CASE("bus: backpressure::block with block_timeout answers timed_out while the lane stays "
          "full",
          "[bus]") {
    admf::bus_config cfg = one_lane(4, admf::backpressure::block);
    cfg[md].block_timeout = std::chrono::milliseconds(5);
    test_bus bus(cfg);
    gate g;
    std::atomic<std::uint64_t> delivered{0};
    auto sub = bus.subscribe<tick>([&](const tick& t) {
        if (t.seq == 0) {
            g.wait();
        }
        delivered.fetch_add(1);
    });
    bus.start();
    const open_on_exit opener{g};
    REQUIRE(bus.publish(tick{1, 0}) == publish_result::accepted);
    REQUIRE(eventually([&] { return g.waiting() == 1; }));
    std::uint64_t accepted = 1;
    std::uint64_t timed_out = 0;
    for (std::uint64_t i = 1; i <= 10; ++i) {
        const auto r = bus.publish(tick{1, i});
        REQUIRE((r == publish_result::accepted || r == publish_result::timed_out));
        (r == publish_result::accepted ? accepted : timed_out) += 1;
    }
    REQUIRE(timed_out >= 10 - 4);
    auto s = bus.stats().partition(md);
    REQUIRE(s.timed_out == timed_out);
    REQUIRE(s.rejected == 0);
    g.open();
    bus.flush();
    REQUIRE(delivered.load() == accepted);
    require_reconciled(bus.stats().partition(md));
}

TEST_CASE("bus: backpressure::block without timeout waits and completes once the worker drains",
          "[bus]") {
    test_bus bus(one_lane(4, admf::backpressure::block));
    gate g;
    std::vector<std::uint64_t> seen;
    auto sub = bus.subscribe<tick>([&](const tick& t) {
        if (t.seq == 0) {
            g.wait();
        }
        seen.push_back(t.seq);
    });
    bus.start();
    const open_on_exit opener{g};
    REQUIRE(bus.publish(tick{1, 0}) == publish_result::accepted);
    REQUIRE(eventually([&] { return g.waiting() == 1; }));
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<bool> producer_done{false};
    std::thread producer([&] {
        for (std::uint64_t i = 1; i <= 20; ++i) {
            if (bus.publish(tick{1, i}) == publish_result::accepted) {
                accepted.fetch_add(1);
            }
        }
        producer_done.store(true);
    });
    // The lane holds at most 4 of the 20 while the handler is held: the producer must block.
    REQUIRE(eventually([&] { return accepted.load() >= 3; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // a window for a wrong "accepted"
    REQUIRE_FALSE(producer_done.load());
    REQUIRE(accepted.load() <= 4);
    g.open();
    producer.join();
    REQUIRE(accepted.load() == 20);
    bus.flush();
    REQUIRE(seen.size() == 21);
    for (std::uint64_t i = 0; i != seen.size(); ++i) {
        REQUIRE(seen[i] == i);
    }
    const auto s = bus.stats().partition(md);
    REQUIRE(s.rejected == 0);
    REQUIRE(s.timed_out == 0);
    require_reconciled(s);
}

TEST_CASE("bus: backpressure::drop_oldest drops (and counts) the oldest queued events, the "
          "newest are delivered",
          "[bus]") {
    // Before start() no worker holds a slot: 100 publishes into 4 slots keep the newest 4.
    test_bus bus(one_lane(4, admf::backpressure::drop_oldest));
    std::vector<std::uint64_t> seen;
    auto sub = bus.subscribe<tick>([&](const tick& t) { seen.push_back(t.seq); });
    for (std::uint64_t i = 1; i <= 100; ++i) {
        REQUIRE(bus.publish(tick{1, i}) == publish_result::accepted); // never refuses
    }
    REQUIRE(bus.stats().partition(md).dropped == 96);
    bus.start();
    bus.flush();
    REQUIRE(seen == std::vector<std::uint64_t>{97, 98, 99, 100});
    const auto s = bus.stats().partition(md);
    REQUIRE(s.published == 100);
    REQUIRE(s.delivered == 4);
    REQUIRE(s.dropped == 96);
    REQUIRE(s.rejected == 0);
    require_reconciled(s);
}

TEST_CASE("bus: backpressure::drop_oldest never waits: with the lane's events all being "
          "dispatched it answers full",
          "[bus]") {
    // The worker holds event 0's slot while its handler runs (the gate). A drop_oldest
    // publish drops what is queued, and once nothing queued is left to drop answers full
    // (docs/bus.md); it must never wait for the handler.
    test_bus bus(one_lane(4, admf::backpressure::drop_oldest));
    gate g;
    std::vector<std::uint64_t> seen;
    auto sub = bus.subscribe<tick>([&](const tick& t) {
        if (t.seq == 0) {
            g.wait();
        }
        seen.push_back(t.seq);
    });
    bus.start();
    const open_on_exit opener{g};
    REQUIRE(bus.publish(tick{1, 0}) == publish_result::accepted);
    REQUIRE(eventually([&] { return g.waiting() == 1; }));
    std::atomic<std::uint64_t> returned{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> full{0};
    std::atomic<std::uint64_t> other{0};
    std::thread producer([&] {
        for (std::uint64_t i = 1; i <= 100; ++i) {
            const auto r = bus.publish(tick{1, i});
            (r == publish_result::accepted ? accepted
             : r == publish_result::full   ? full
                                           : other)
                .fetch_add(1);
            returned.fetch_add(1);
        }
    });
    // A generous bound for 100 publishes that must not wait; the handler is held meanwhile.
    const bool all_returned =
        eventually([&] { return returned.load() == 100; }, std::chrono::seconds(10));
    const auto returned_while_held = returned.load();
    g.open();
    producer.join();
    INFO("publishes returned while the handler held the lane: " << returned_while_held);
    REQUIRE(all_returned);
    REQUIRE(other.load() == 0);
    REQUIRE(full.load() >= 1); // nothing droppable was left at some point
    bus.flush();
    const auto s = bus.stats().partition(md);
    REQUIRE(s.published == 1 + accepted.load());
    REQUIRE(s.rejected == full.load());
    REQUIRE(s.delivered == seen.size());
    require_reconciled(s);
    REQUIRE(seen.front() == 0);
    for (std::size_t i = 1; i < seen.size(); ++i) {
        REQUIRE(seen[i] > seen[i - 1]); // what survives keeps publish order
    }
}

TEST_CASE("bus: drop_oldest with producers::single is rejected by the constructor", "[bus]") {
    admf::bus_config cfg = one_lane(4, admf::backpressure::drop_oldest);
    cfg[md].producer_mode = admf::producers::single;
    try {
        test_bus bus(cfg);
        FAIL("drop_oldest on an spsc lane was accepted");
    } catch (const std::invalid_argument& e) {
        REQUIRE(std::string(e.what()).find("market_data") != std::string::npos);
        REQUIRE(std::string(e.what()).find("drop_oldest") != std::string::npos);
    }
}

TEST_CASE("bus: a handler publishing into a full lane its own worker owns gets full, not a "
          "self-deadlock (block policy, no timeout)",
          "[bus]") {
    test_bus bus(one_lane(4, admf::backpressure::block));
    std::atomic<std::uint64_t> tried{0};
    std::vector<publish_result> results;
    std::atomic<std::uint64_t> cascaded{0};
    auto sub = bus.subscribe<tick>([&](const tick& t) {
        if (t.seq != 0) {
            cascaded.fetch_add(1);
            return;
        }
        for (std::uint64_t i = 1; i <= 10; ++i) {
            results.push_back(bus.publish(tick{1, i})); // same key, same lane, same worker
            tried.fetch_add(1);
        }
    });
    const admf_test::watchdog dog(
        admf_test::stall_limit(std::chrono::seconds(20)), [&] { return tried.load(); },
        [&] { std::fprintf(stderr, "  handler publishes tried: %llu\n",
                           static_cast<unsigned long long>(tried.load())); });
    bus.start();
    REQUIRE(bus.publish(tick{1, 0}) == publish_result::accepted);
    bus.flush();
    REQUIRE(results.size() == 10);
    const auto accepted = static_cast<std::uint64_t>(
        std::count(results.begin(), results.end(), publish_result::accepted));
    const auto full =
        static_cast<std::uint64_t>(std::count(results.begin(), results.end(), publish_result::full));
    REQUIRE(accepted + full == 10);
    REQUIRE(full >= 10 - 4);
    REQUIRE(cascaded.load() == accepted);
    const auto s = bus.stats().partition(md);
    REQUIRE(s.rejected == full);
    require_reconciled(s);
}

// ---- publish_batch ------------------------------------------------------------------------

TEST_CASE("bus: publish_batch accepts every event and keeps each key's order", "[bus]") {
    admf::bus_config cfg;
    cfg[md].lanes = 4;
    cfg[md].workers = 2;
    cfg[md].capacity = 64; // smaller than a batch: runs wait for room (block)
    test_bus bus(cfg);
    constexpr std::uint64_t keys = 8;
    std::array<std::uint64_t, keys> last{};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> seen{0};
    auto sub = bus.subscribe<tick>([&](const tick& t) {
        if (t.seq != last[t.key] + 1) {
            errors.fetch_add(1);
        }
        last[t.key] = t.seq;
        seen.fetch_add(1);
    });
    bus.start();
    admf_test::rng rng(admf_test::stream_seed(0xba7c, 0));
    std::array<std::uint64_t, keys> next{};
    std::uint64_t total = 0;
    std::vector<tick> batch;
    for (int b = 0; b != 200; ++b) {
        batch.clear();
        const auto n = 1 + rng.below(300);
        for (std::uint64_t i = 0; i != n; ++i) {
            // Runs of one key (one claim per run) mixed with single events.
            const auto k = rng.below(4) == 0 && !batch.empty() ? batch.back().key : rng.below(keys);
            batch.push_back(tick{k, ++next[k]});
        }
        std::size_t accepted = 0;
        REQUIRE(bus.publish_batch(std::span<const tick>(batch), &accepted) ==
                publish_result::accepted);
        REQUIRE(accepted == batch.size());
        total += batch.size();
    }
    REQUIRE(bus.publish_batch(std::span<const tick>()) == publish_result::accepted);
    bus.flush();
    REQUIRE(errors.load() == 0);
    REQUIRE(seen.load() == total);
    for (std::uint64_t k = 0; k != keys; ++k) {
        REQUIRE(last[k] == next[k]);
    }
    const auto s = bus.stats().partition(md);
    REQUIRE(s.published == total);
    require_reconciled(s);
}

TEST_CASE("bus: publish_batch under reject stops at the first full event, accepted tells how "
          "many were queued and the rest are counted rejected",
          "[bus]") {
    test_bus bus(one_lane(4, admf::backpressure::reject));
    gate g;
    std::vector<std::uint64_t> seen;
    auto sub = bus.subscribe<tick>([&](const tick& t) {
        if (t.seq == 0) {
            g.wait();
        }
        seen.push_back(t.seq);
    });
    bus.start();
    const open_on_exit opener{g};
    REQUIRE(bus.publish(tick{1, 0}) == publish_result::accepted);
    REQUIRE(eventually([&] { return g.waiting() == 1; }));
    std::vector<tick> batch;
    for (std::uint64_t i = 1; i <= 20; ++i) {
        batch.push_back(tick{1, i});
    }
    std::size_t accepted = 99;
    REQUIRE(bus.publish_batch(std::span<const tick>(batch), &accepted) == publish_result::full);
    REQUIRE(accepted >= 1);
    REQUIRE(accepted <= 4);
    auto s = bus.stats().partition(md);
    REQUIRE(s.rejected == 20 - accepted);
    REQUIRE(s.published == 1 + accepted);
    g.open();
    bus.flush();
    REQUIRE(seen.size() == 1 + accepted);
    for (std::uint64_t i = 0; i != seen.size(); ++i) {
        REQUIRE(seen[i] == i); // the accepted prefix, in order
    }
    s = bus.stats().partition(md);
    require_reconciled(s);
    REQUIRE(s.published + s.rejected == 21);
}

// ---- stop(discard) ------------------------------------------------------------------------

TEST_CASE("bus: stop(discard) counts the queued events as discarded instead of delivering them",
          "[bus]") {
    // A worker reads the discard flag once per batch (and a batch may take in events that
    // became ready while it ran), so max_batch = 1 makes "what stop(discard) may still
    // deliver" exactly the one event being handled.
    admf::bus_config cfg = one_lane(64, admf::backpressure::reject);
    cfg[md].max_batch = 1;
    test_bus bus(cfg);
    gate g;
    std::atomic<std::uint64_t> delivered{0};
    auto sub = bus.subscribe<tick>([&](const tick& t) {
        if (t.seq == 0) {
            g.wait();
        }
        delivered.fetch_add(1);
    });
    bus.start();
    const open_on_exit opener{g};
    REQUIRE(bus.publish(tick{1, 0}) == publish_result::accepted);
    REQUIRE(eventually([&] { return g.waiting() == 1; }));
    for (std::uint64_t i = 1; i <= 50; ++i) {
        REQUIRE(bus.publish(tick{1, i}) == publish_result::accepted);
    }
    std::thread stopper([&] { bus.stop(admf::stop_mode::discard); });
    // running() turns false only after the discard flag is set: then let the worker go on.
    REQUIRE(eventually([&] { return !bus.running(); }));
    g.open();
    stopper.join();
    REQUIRE(bus.publish(tick{1, 51}) == publish_result::stopped);
    const auto s = bus.stats().partition(md);
    REQUIRE(delivered.load() == 1);
    REQUIRE(s.delivered == 1);
    REQUIRE(s.discarded == 50);
    REQUIRE(s.refused == 1);
    require_reconciled(s);
}

// ---- configuration ------------------------------------------------------------------------

TEST_CASE("bus: an unworkable partition config throws std::invalid_argument naming the "
          "partition",
          "[bus]") {
    const auto what_of = [](const admf::bus_config& cfg) -> std::string {
        try {
            test_bus bus(cfg);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "(accepted)";
    };
    const auto bad = [&](auto&& change) {
        admf::bus_config cfg;
        change(cfg[ord]);
        return what_of(cfg);
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"lanes = 3", bad([](admf::partition_config& c) { c.lanes = 3; })},
        {"lanes = 0", bad([](admf::partition_config& c) { c.lanes = 0; })},
        {"workers = 0", bad([](admf::partition_config& c) { c.workers = 0; })},
        {"workers > lanes", bad([](admf::partition_config& c) {
             c.lanes = 2;
             c.workers = 3;
         })},
        {"capacity = 0", bad([](admf::partition_config& c) { c.capacity = 0; })},
        {"max_batch = 0", bad([](admf::partition_config& c) { c.max_batch = 0; })},
        {"block_timeout < 0",
         bad([](admf::partition_config& c) { c.block_timeout = std::chrono::nanoseconds(-1); })},
    };
    for (const auto& [label, what] : cases) {
        INFO(label << ": " << what);
        CHECK(what.find("partition order") != std::string::npos);
    }
    // The positive control: the defaults and a valid non-default config build.
    CHECK(what_of(admf::bus_config{}) == "(accepted)");
    CHECK(bad([](admf::partition_config& c) {
              c.lanes = 8;
              c.workers = 8;
              c.capacity = 3;
              c.max_batch = 1;
          }) == "(accepted)");
}

// ---- stats --------------------------------------------------------------------------------

TEST_CASE("bus: after flush the counters reconcile in every partition, with handlers "
          "publishing into other partitions",
          "[bus]") {
    admf::bus_config cfg;
    cfg[md].lanes = 4;
    cfg[md].workers = 2;
    cfg[ord].lanes = 2;
    cfg[ord].capacity = 1 << 14; // its worker publishes into its own lanes: never full here
    test_bus bus(cfg);
    std::atomic<std::uint64_t> ticks{0};
    std::atomic<std::uint64_t> orders{0};
    std::atomic<std::uint64_t> cancels{0};
    std::atomic<std::uint64_t> all_orders{0};
    std::atomic<std::uint64_t> beats{0};
    auto s1 = bus.subscribe<tick>([&](const tick& t) {
        ticks.fetch_add(1);
        if (t.seq % 10 == 0) {
            static_cast<void>(bus.publish(order_new{t.seq}));
        }
    });
    auto s2 = bus.subscribe<order_new>([&](const order_new& o) {
        orders.fetch_add(1);
        static_cast<void>(bus.publish(order_cancel{o.id}));
    });
    auto s3 = bus.subscribe<ord>([&](const auto& e) { // every type of the order domain
        if constexpr (std::is_same_v<std::decay_t<decltype(e)>, order_cancel>) {
            cancels.fetch_add(1);
        } else {
            all_orders.fetch_add(1);
        }
    });
    auto s4 = bus.subscribe<heartbeat>([&](const heartbeat&) { beats.fetch_add(1); });
    bus.start();
    const std::uint64_t n = admf_test::by_scale<std::uint64_t>(50'000, 5'000, 10'000);
    std::thread other([&] {
        for (std::uint64_t i = 0; i != n / 10; ++i) {
            static_cast<void>(bus.publish(heartbeat{i}));
        }
    });
    for (std::uint64_t i = 0; i != n; ++i) {
        REQUIRE(bus.publish(tick{i % 64, i}) == publish_result::accepted);
    }
    other.join();
    bus.flush(); // also waits for the orders and cancels the handlers published
    REQUIRE(ticks.load() == n);
    REQUIRE(orders.load() == n / 10);
    REQUIRE(cancels.load() == n / 10);
    REQUIRE(all_orders.load() == n / 10);
    REQUIRE(beats.load() == n / 10);
    const auto s = bus.stats();
    for (const auto& p : s.partitions) {
        require_reconciled(p);
    }
    require_reconciled(s.total());
    REQUIRE(s.partition(md).published == n);
    REQUIRE(s.partition(ord).published == 2 * (n / 10));
    REQUIRE(s.partition(admf::domain::fill).published == 0);
    REQUIRE(s.total().published == n + 3 * (n / 10));
    REQUIRE(s.total().not_delivered() == 0);
}
