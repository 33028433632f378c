// SPDX-License-Identifier: MIT
// NATS bridge tests (TESTING.md T8) against a real nats-server on 127.0.0.1 and a free port,
// started per case by support/nats_server.hpp (JetStream on, its own store directory).
//
//   case                                         events (rel / tsan / asan)
//   core, both directions                        100 000 each way / 20 000 / 20 000
//   jetstream, kill -9 + restart mid-stream      100 000 / 20 000 / 20 000
//   core, kill -9 + restart mid-stream           100 000 / 20 000 / 20 000
//   slow consumer (pending limit 64)             20 000
//   corrupt / mismatched envelopes               8 raw messages
//   stop / destroy the bridge with traffic       6 rounds
//   connect failure, blocking partition          -
//
// Delivery is judged from the receiving bus's handlers (a bitmap per event number: calls,
// distinct, duplicates), not from the bridge's own counters, and then the counters must
// account for every event the sender's bridge took: delivered + gaps + bus refusals ==
// forwarded. Waits are for a condition with a deadline; the only sleep is the slow
// consumer's handler, which is the thing under test.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <admf/bridge/nats.hpp>
#include <admf/bus.hpp>

#include "catch.hpp"
#include "seed.hpp"
#include "support/nats_server.hpp"

namespace {

struct tick {
    std::uint64_t n;
    std::uint32_t instrument;
    std::int64_t px;
};
struct echo {
    std::uint64_t n;
    std::int64_t value;
};
struct order_ev {
    std::uint64_t n;
    std::uint32_t instrument;
    std::int32_t qty;
    std::int64_t px;
};

} // namespace

template <>
struct admf::event_traits<tick> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "TICK";
};
template <>
struct admf::event_traits<echo> {
    static constexpr admf::domain domain = admf::domain::signal;
    static constexpr std::string_view name = "ECHO";
};
template <>
struct admf::event_traits<order_ev> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.NEW";
};

namespace {

using test_bus = admf::bus<tick, echo, order_ev>;
using bridge = admf::bridge::nats_bridge<test_bus>;
using namespace std::chrono_literals;

// What a receiving bus's handler saw, by event number 1..n. Written by one partition worker.
struct delivery_log {
    explicit delivery_log(std::uint64_t n) : seen(n + 1) {}
    void on(std::uint64_t k) {
        if (k == 0 || k >= seen.size()) {
            out_of_range.fetch_add(1);
            return;
        }
        if (seen[k].fetch_add(1) != 0) {
            dups.fetch_add(1);
        } else {
            distinct.fetch_add(1);
        }
        calls.fetch_add(1);
    }
    std::vector<std::atomic<std::uint8_t>> seen;
    std::atomic<std::uint64_t> calls{0}, distinct{0}, dups{0}, out_of_range{0};
};

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return pred();
        }
        std::this_thread::sleep_for(1ms); // poll interval of a condition with a deadline
    }
    return true;
}

// Partitions a bridge injects into must not block (inject<E> refuses that): reject.
admf::bus_config config_injecting(std::initializer_list<admf::domain> inbound) {
    admf::bus_config cfg;
    for (auto d : inbound) {
        cfg[d].on_full = admf::backpressure::reject;
        cfg[d].capacity = 1U << 16;
    }
    return cfg;
}

admf::bridge::nats_config bridge_config(const admf_test::nats_server& server, std::string name) {
    admf::bridge::nats_config cfg;
    cfg.url = server.url();
    cfg.name = std::move(name);
    // Room for a whole run in libnats' pending queue: on 2 cores the sender can outrun the
    // delivery thread, and a drop at the very tail is no gap (nothing after it). Drops have
    // their own case (the slow consumer), with small limits.
    cfg.pending_msgs_limit = 1 << 20;
    cfg.pending_bytes_limit = 256 << 20;
    return cfg;
}

std::uint64_t scaled(std::uint64_t rel) {
    return admf_test::by_scale<std::uint64_t>(rel, rel / 5, rel / 5);
}

void print(const char* who, const admf::bridge::nats_stats& s) {
    std::printf(
        "%s: forwarded %llu published %llu publish_errors %llu js_acks %llu js_retries %llu "
        "js_publish_errors %llu | received %llu injected %llu rejected %llu duplicates %llu "
        "gaps %llu slow_consumer_drops %llu (%llu errors) bus_full %llu bus_timed_out %llu "
        "js_naks %llu | disconnects %llu reconnects %llu\n",
        who, (unsigned long long)s.forwarded, (unsigned long long)s.published,
        (unsigned long long)s.publish_errors, (unsigned long long)s.js_acks,
        (unsigned long long)s.js_retries, (unsigned long long)s.js_publish_errors,
        (unsigned long long)s.received, (unsigned long long)s.injected,
        (unsigned long long)s.rejected(), (unsigned long long)s.duplicates,
        (unsigned long long)s.gaps, (unsigned long long)s.slow_consumer_drops,
        (unsigned long long)s.slow_consumer_errors, (unsigned long long)s.bus_full,
        (unsigned long long)s.bus_timed_out, (unsigned long long)s.js_naks,
        (unsigned long long)s.disconnects, (unsigned long long)s.reconnects);
}

// Core-path accounting at the receiver: every sequence the sender used is delivered, a gap,
// or refused by the bus.
bool core_accounted(const bridge& from, const bridge& to, const delivery_log& got) {
    const auto s = from.stats();
    const auto r = to.stats();
    return got.calls.load() + r.gaps + r.bus_full + r.bus_stopped + r.bus_timed_out == s.forwarded;
}

} // namespace

TEST_CASE("nats bridge: core path carries 100 000 events each way without duplicates, gaps counted",
          "[nats][stress]") {
    admf_test::nats_server server(ADMF_NATS_SERVER_PATH);
    const std::uint64_t n = scaled(100'000);
    test_bus a{config_injecting({admf::domain::signal})};
    test_bus b{config_injecting({admf::domain::market_data})};
    delivery_log a_got(n), b_got(n);
    auto sa = a.subscribe<echo>([&](const echo& e) { a_got.on(e.n); });
    auto sb = b.subscribe<tick>([&](const tick& t) { b_got.on(t.n); });
    bridge ba(a, bridge_config(server, "A"));
    bridge bb(b, bridge_config(server, "B"));
    ba.forward<tick>();
    ba.inject<echo>();
    bb.forward<echo>();
    bb.inject<tick>();
    REQUIRE(ba.flush());
    REQUIRE(bb.flush()); // both subscriptions are known to the server before the first event
    a.start();
    b.start();
    for (std::uint64_t i = 1; i <= n; ++i) {
        REQUIRE(a.publish(tick{i, static_cast<std::uint32_t>(i % 7),
                               static_cast<std::int64_t>(i)}) == admf::publish_result::accepted);
        REQUIRE(b.publish(echo{i, -static_cast<std::int64_t>(i)}) ==
                admf::publish_result::accepted);
    }
    a.flush();
    b.flush();
    const bool accounted = wait_until(
        [&] { return core_accounted(ba, bb, b_got) && core_accounted(bb, ba, a_got); }, 30s);
    a.flush();
    b.flush();
    const auto sa_ = ba.stats();
    const auto sb_ = bb.stats();
    print("A", sa_);
    print("B", sb_);
    CHECK(accounted);
    CHECK(sa_.forwarded == n);
    CHECK(sb_.forwarded == n);
    CHECK(sa_.published + sa_.publish_errors == n);
    CHECK(b_got.dups.load() == 0);
    CHECK(a_got.dups.load() == 0);
    CHECK(b_got.out_of_range.load() + a_got.out_of_range.load() == 0);
    CHECK(sb_.duplicates == 0);
    CHECK(sa_.duplicates == 0);
    CHECK(sb_.rejected() + sa_.rejected() == 0);
    CHECK(b_got.calls.load() == sb_.injected);
    CHECK(a_got.calls.load() == sa_.injected);
    CHECK(b_got.calls.load() + sb_.gaps + sb_.bus_full == n); // delivered + gaps == published
    CHECK(a_got.calls.load() + sa_.gaps + sa_.bus_full == n);
    CHECK(b_got.calls.load() > 0);
    CHECK(a_got.calls.load() > 0);
    CHECK(sb_.slow_consumer_drops + sa_.slow_consumer_drops == 0);
}

TEST_CASE(
    "nats bridge: jetstream path loses nothing and duplicates nothing across kill -9 and restart",
    "[nats][stress]") {
    admf_test::nats_server server(ADMF_NATS_SERVER_PATH);
    const std::uint64_t n = scaled(100'000);
    test_bus a;
    test_bus b{config_injecting({admf::domain::order})};
    delivery_log got(n);
    auto sb = b.subscribe<order_ev>([&](const order_ev& o) { got.on(o.n); });
    bridge ba(a, bridge_config(server, "A"));
    bridge bb(b, bridge_config(server, "B"));
    REQUIRE(ba.on_jetstream<order_ev>());
    ba.forward<order_ev>();
    bb.inject<order_ev>();
    REQUIRE(bb.flush());
    a.start();
    b.start();
    const auto publish_range = [&](std::uint64_t first, std::uint64_t last) {
        for (std::uint64_t i = first; i <= last; ++i) {
            REQUIRE(a.publish(order_ev{i, 3, 100, static_cast<std::int64_t>(i)}) ==
                    admf::publish_result::accepted);
        }
    };
    publish_range(1, n / 2);
    // Kill while A's worker still has a backlog to publish and B has acks in flight.
    REQUIRE(wait_until([&] { return got.distinct.load() >= n / 8; }, 30s));
    server.kill9();
    server.start();
    publish_range(n / 2 + 1, n);
    a.flush(); // every order acked by the server (or given up: js_publish_errors)
    const bool all = wait_until([&] { return got.distinct.load() == n; }, 40s);
    b.flush();
    const auto sa_ = ba.stats();
    const auto sb_ = bb.stats();
    print("A", sa_);
    print("B", sb_);
    CHECK(all);
    CHECK(sa_.forwarded == n);
    CHECK(sa_.js_publish_errors == 0);
    CHECK(sa_.js_acks == n);
    CHECK(got.distinct.load() == n); // 0 lost
    CHECK(got.dups.load() == 0); // 0 duplicates delivered (the bridge suppressed sb_.duplicates)
    CHECK(got.out_of_range.load() == 0);
    CHECK(sb_.injected == n);
    CHECK(sa_.reconnects >= 1);
    CHECK(sb_.reconnects >= 1);
}

TEST_CASE(
    "nats bridge: core path reconnects after kill -9 and restart, every loss counted as a gap",
    "[nats][stress]") {
    admf_test::nats_server server(ADMF_NATS_SERVER_PATH);
    const std::uint64_t n = scaled(100'000);
    test_bus a;
    test_bus b{config_injecting({admf::domain::market_data})};
    delivery_log got(n);
    auto sb = b.subscribe<tick>([&](const tick& t) { got.on(t.n); });
    bridge ba(a, bridge_config(server, "A"));
    bridge bb(b, bridge_config(server, "B"));
    ba.forward<tick>();
    bb.inject<tick>();
    REQUIRE(bb.flush());
    a.start();
    b.start();
    const auto publish_range = [&](std::uint64_t first, std::uint64_t last) {
        for (std::uint64_t i = first; i <= last; ++i) {
            REQUIRE(a.publish(tick{i, 1, static_cast<std::int64_t>(i)}) ==
                    admf::publish_result::accepted);
        }
    };
    publish_range(1, n / 2);
    server.kill9(); // A's backlog and libnats' buffers are in flight
    server.start();
    REQUIRE(
        wait_until([&] { return ba.stats().reconnects >= 1 && bb.stats().reconnects >= 1; }, 20s));
    REQUIRE(bb.flush()); // B's subscription is back on the server before the second half
    publish_range(n / 2 + 1, n);
    a.flush();
    const bool accounted = wait_until([&] { return core_accounted(ba, bb, got); }, 30s);
    b.flush();
    const auto sa_ = ba.stats();
    const auto sb_ = bb.stats();
    print("A", sa_);
    print("B", sb_);
    CHECK(accounted);
    CHECK(sa_.forwarded == n);
    CHECK(got.dups.load() == 0);
    CHECK(sb_.duplicates == 0);
    CHECK(sb_.gaps ==
          sa_.forwarded - got.calls.load() - sb_.bus_full); // gaps == published - delivered
    CHECK(got.calls.load() == sb_.injected);
    CHECK(got.seen[n].load() == 1); // the stream's tail arrived after the reconnect
}

TEST_CASE("nats bridge: a slow consumer's drops are counted, delivered + drops == published",
          "[nats][stress]") {
    admf_test::nats_server server(ADMF_NATS_SERVER_PATH);
    const std::uint64_t n = 20'000;
    test_bus a;
    admf::bus_config bcfg;
    // The bus waits for room (bounded), so the NATS callback is as slow as the handler and
    // libnats' pending queue overflows: the slow consumer under test.
    bcfg[admf::domain::market_data].capacity = 8;
    bcfg[admf::domain::market_data].block_timeout = std::chrono::seconds{5};
    test_bus b{bcfg};
    delivery_log got(n);
    auto sb = b.subscribe<tick>([&](const tick& t) {
        std::this_thread::sleep_for(50us); // the slow consumer
        got.on(t.n);
    });
    bridge ba(a, bridge_config(server, "A"));
    auto cfg = bridge_config(server, "B");
    cfg.pending_msgs_limit = 64;
    cfg.pending_bytes_limit = 64 * 1024;
    bridge bb(b, cfg);
    ba.forward<tick>();
    bb.inject<tick>();
    REQUIRE(bb.flush());
    a.start();
    b.start();
    for (std::uint64_t i = 1; i <= n; ++i) {
        REQUIRE(a.publish(tick{i, 1, 0}) == admf::publish_result::accepted);
    }
    a.flush();
    // Exact accounting libnats allows: a dropped message is counted by
    // natsSubscription_GetDropped; gaps see only drops followed by a later delivery.
    const auto accounted = [&] {
        const auto r = bb.stats();
        return got.calls.load() + r.slow_consumer_drops + r.bus_full + r.bus_timed_out ==
               ba.stats().forwarded;
    };
    const bool ok = wait_until(accounted, 30s);
    b.flush();
    const auto sa_ = ba.stats();
    const auto sb_ = bb.stats();
    print("A", sa_);
    print("B", sb_);
    CHECK(ok);
    CHECK(sa_.forwarded == n);
    CHECK(sb_.slow_consumer_drops > 0);
    CHECK(sb_.slow_consumer_errors >= 1);
    CHECK(got.calls.load() + sb_.slow_consumer_drops + sb_.bus_timed_out == n);
    CHECK(sb_.gaps <= sb_.slow_consumer_drops);
    CHECK(sb_.received == sb_.injected + sb_.bus_timed_out);
    CHECK(got.dups.load() == 0);
}

TEST_CASE("nats bridge: corrupt or mismatched envelopes are counted as rejected, never dispatched",
          "[nats]") {
    admf_test::nats_server server(ADMF_NATS_SERVER_PATH);
    test_bus b{config_injecting({admf::domain::market_data})};
    std::atomic<int> calls{0};
    std::atomic<std::int64_t> last_px{0};
    auto sb = b.subscribe<tick>([&](const tick& t) {
        calls.fetch_add(1);
        last_px.store(t.px);
    });
    bridge bb(b, bridge_config(server, "B"));
    bb.inject<tick>();
    REQUIRE(bb.flush());
    b.start();

    natsConnection* raw = nullptr;
    REQUIRE(natsConnection_ConnectTo(&raw, server.url().c_str()) == NATS_OK);
    const std::string subject = bb.subject_of<tick>();
    const auto send = [&](const void* data, std::size_t size) {
        REQUIRE(natsConnection_Publish(raw, subject.c_str(), data, static_cast<int>(size)) ==
                NATS_OK);
    };
    namespace d = admf::detail;
    const std::uint64_t hash = d::envelope_type_hash("TICK");
    const tick t{1, 2, 12345};
    std::vector<std::byte> buf(d::nats_envelope_header_size + 64);
    const auto encoded = [&](std::uint64_t type_hash, std::size_t payload_size) {
        std::vector<std::byte> payload(payload_size);
        std::memcpy(payload.data(), &t, std::min(payload_size, sizeof t));
        const std::size_t len = d::encode_envelope(type_hash, 42, 1, payload, buf.data());
        return std::vector<std::byte>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(len));
    };
    send("hello", 5); // size: shorter than a header
    const std::vector<std::byte> zeros(d::nats_envelope_header_size + sizeof(tick));
    send(zeros.data(), zeros.size()); // version: no magic
    auto v2 = encoded(hash, sizeof(tick));
    v2[4] = std::byte{2};
    send(v2.data(), v2.size()); // version 2
    auto other = encoded(d::envelope_type_hash("ECHO"), sizeof(tick));
    send(other.data(), other.size()); // type
    auto shorter = encoded(hash, sizeof(tick) - 8);
    send(shorter.data(), shorter.size()); // size: payload of another length
    auto flipped = encoded(hash, sizeof(tick));
    flipped.back() ^= std::byte{1};
    send(flipped.data(), flipped.size()); // checksum: payload bit
    auto header_flip = encoded(hash, sizeof(tick));
    header_flip[24] ^= std::byte{4};
    send(header_flip.data(), header_flip.size()); // checksum: the sequence field
    auto good = encoded(hash, sizeof(tick));
    send(good.data(), good.size()); // the only valid one, last
    REQUIRE(natsConnection_FlushTimeout(raw, 2000) == NATS_OK);
    const bool all = wait_until([&] { return bb.stats().received == 8; }, 10s);
    b.flush();
    natsConnection_Destroy(raw);
    const auto s = bb.stats();
    print("B", s);
    CHECK(all);
    CHECK(s.rejected_size == 2);
    CHECK(s.rejected_version == 2);
    CHECK(s.rejected_type == 1);
    CHECK(s.rejected_checksum == 2);
    CHECK(s.injected == 1);
    CHECK(calls.load() == 1);
    CHECK(last_px.load() == 12345);
}

TEST_CASE("nats bridge: stopping or destroying a bridge with messages in flight is safe",
          "[nats][stress]") {
    admf_test::nats_server server(ADMF_NATS_SERVER_PATH);
    test_bus a;
    bridge ba(a, bridge_config(server, "A"));
    ba.forward<tick>();
    ba.forward<order_ev>(); // jetstream path too
    a.start();
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> sent{0};
    std::thread producer([&] {
        for (std::uint64_t i = 1; !done.load(); ++i) {
            (void)a.publish(tick{i, 1, 0});
            if (i % 16 == 0) {
                (void)a.publish(order_ev{i, 1, 1, 0});
            }
            sent.fetch_add(1);
        }
    });
    int rounds_with_traffic = 0;
    for (int round = 0; round != 6; ++round) {
        test_bus b{config_injecting({admf::domain::market_data, admf::domain::order})};
        std::atomic<std::uint64_t> handled{0};
        auto s1 = b.subscribe<tick>([&](const tick&) { handled.fetch_add(1); });
        auto s2 = b.subscribe<order_ev>([&](const order_ev&) { handled.fetch_add(1); });
        b.start();
        auto bb = std::make_unique<bridge>(b, bridge_config(server, "B" + std::to_string(round)));
        bb->inject<tick>();
        bb->inject<order_ev>();
        if (wait_until([&] { return bb->stats().received > 200; }, 10s)) {
            ++rounds_with_traffic;
        }
        if (round % 2 == 0) {
            bb->stop(); // explicit stop, then the destructor (idempotent)
        }
        bb.reset(); // the callbacks' state goes away here: must not be touched afterwards
        b.stop();
    }
    done.store(true);
    producer.join();
    CHECK(rounds_with_traffic == 6);
    CHECK(sent.load() > 0);
}

TEST_CASE("nats bridge: clear errors for a failed connect and a blocking partition", "[nats]") {
    test_bus b{config_injecting({admf::domain::market_data})};
    admf::bridge::nats_config cfg;
    cfg.url = "nats://127.0.0.1:" + std::to_string(admf_test::nats_server::free_port());
    cfg.connect_timeout = 500ms;
    try {
        bridge bb(b, cfg);
        FAIL("connected to a port nothing listens on");
    } catch (const admf::bridge::nats_error& e) {
        const std::string what = e.what();
        CHECK(what.find(cfg.url) != std::string::npos);
        CHECK(e.status() == NATS_NO_SERVER);
    }
    admf_test::nats_server server(ADMF_NATS_SERVER_PATH, false);
    bridge bb(b, bridge_config(server, "B"));
    CHECK_THROWS_AS(bb.inject<echo>(), std::invalid_argument); // signal blocks by default
    CHECK_NOTHROW(bb.inject<tick>());
    CHECK_THROWS_AS(bb.forward<tick>(), std::invalid_argument); // it would loop back
}
