// SPDX-License-Identifier: MIT
// admf::ipc::channel, one process (its kill and crash cases are in tests/stress/ipc.stress.cpp):
// bad configuration, mismatched segments (type, size, version, length), full and closed
// sends, ring wrap-around, a corrupted frame, producer slots, consumer exclusivity and
// takeover, re-attach generations, try_consume's redelivery when its handler throws.

#include <admf/ipc/channel.hpp>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catch.hpp"
#include "child_process.hpp"

namespace {

using admf::ipc::channel;
using admf::ipc::channel_config;
using admf::ipc::consumer;
using admf::ipc::frame_info;
using admf::ipc::producer;
using admf::ipc::send_result;

struct quote {
    std::uint32_t instrument;
    std::int64_t price;
};
struct other {
    std::uint32_t instrument;
    std::int64_t price;
};
struct wide {
    std::array<std::uint64_t, 8> words;
};

std::string unique(const char* what) { return std::string(what) + "-" + std::to_string(::getpid()); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}

} // namespace

// A channel needs only the name (to tell types apart across processes), not a domain.
template <>
struct admf::event_traits<quote> {
    static constexpr std::string_view name = "MARKET_DATA.QUOTE";
};

TEST_CASE("ipc: a misconfigured channel is refused with the reason", "[ipc]") {
    CHECK(contains(error_of([] { channel<quote>::anonymous({.capacity = 0}); }), "power of two"));
    CHECK(contains(error_of([] { channel<quote>::anonymous({.capacity = 1000}); }), "power of two"));
    CHECK(contains(error_of([] { channel<quote>::anonymous({.capacity = 1U << 25}); }), "power of two"));
    CHECK(contains(error_of([] { channel<quote>::anonymous({.capacity = 8, .max_producers = 0}); }), "max_producers"));
    CHECK(contains(error_of([] { channel<quote>::anonymous({.capacity = 8, .max_producers = 2000}); }),
                   "max_producers"));
    CHECK(contains(error_of([] {
                       channel<quote>::anonymous({.capacity = 8, .dead_producer_timeout = std::chrono::nanoseconds(0)});
                   }),
                   "dead_producer_timeout"));
    CHECK_THROWS_AS(channel<quote>::create(""), std::invalid_argument);
    CHECK_THROWS_AS(channel<quote>::create("a/b"), std::invalid_argument);
    CHECK(contains(error_of([] { channel<quote>::open(unique("missing")); }), "shm_open"));
}

TEST_CASE("ipc: opening a segment of another type, size or version is a clear error", "[ipc]") {
    const std::string name = unique("mismatch");
    auto ch = channel<quote>::create(name, {.capacity = 8});

    // Same size, other type: the names differ.
    const std::string e1 = error_of([&] { channel<other>::open(name); });
    CHECK(contains(e1, "carries 'MARKET_DATA.QUOTE'"));
    CHECK(contains(e1, "other' (16 bytes"));  // the compiler's name of the undeclared type
    // Other size.
    CHECK(contains(error_of([&] { channel<wide>::open(name); }), "(64 bytes, align 8)"));
    // The right type opens, and shares the frames.
    {
        auto again = channel<quote>::open(name);
        producer<quote> p{again};
        REQUIRE(p.try_send({7, 100}) == send_result::accepted);
        consumer<quote> c{ch};
        const auto q = c.try_receive();
        REQUIRE(q.has_value());
        CHECK(q->instrument == 7);
        CHECK(q->price == 100);
    }
    // Another layout version: patch the header as a newer build would have written it.
    const std::string path = "/dev/shm/admf." + name;
    {
        const int fd = ::open(path.c_str(), O_RDWR);
        REQUIRE(fd >= 0);
        auto* h = static_cast<admf::ipc::detail::segment_header*>(
            ::mmap(nullptr, sizeof(admf::ipc::detail::segment_header), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
        REQUIRE(h != MAP_FAILED);
        h->version = 2;
        CHECK(contains(error_of([&] { channel<quote>::open(name); }), "layout version 2"));
        h->version = admf::ipc::detail::layout_version;
        h->magic[0] = 'X';
        CHECK(contains(error_of([&] { channel<quote>::open(name); }), "not an admf channel"));
        h->magic[0] = 'A';
        ::munmap(h, sizeof(admf::ipc::detail::segment_header));
        // A segment whose size disagrees with its header (truncated or grown by someone).
        REQUIRE(::ftruncate(fd, static_cast<off_t>(ch.segment_bytes() + 4096)) == 0);
        CHECK(contains(error_of([&] { channel<quote>::open(name); }), "its header describes"));
        REQUIRE(::ftruncate(fd, static_cast<off_t>(ch.segment_bytes())) == 0);
        ::close(fd);
    }
    CHECK_NOTHROW(channel<quote>::open(name));
}

TEST_CASE("ipc: a full ring and a closed channel refuse sends, and both are counted", "[ipc]") {
    auto ch = channel<quote>::anonymous({.capacity = 4});
    producer<quote> p{ch};
    consumer<quote> c{ch};
    for (std::uint32_t i = 0; i != 4; ++i) {
        REQUIRE(p.try_send({i, 0}) == send_result::accepted);
    }
    CHECK(p.try_send({9, 0}) == send_result::full);
    CHECK(p.send({9, 0}, std::chrono::milliseconds(5)) == send_result::full);
    CHECK(ch.stats().full == 2);  // send() counts its refusal once
    REQUIRE(c.try_receive().has_value());
    CHECK(p.try_send({4, 0}) == send_result::accepted);
    ch.close();
    CHECK(ch.is_closed());
    CHECK(p.try_send({5, 0}) == send_result::closed);
    CHECK(p.send({5, 0}, std::chrono::milliseconds(5)) == send_result::closed);
    // The consumer still drains what was committed before close().
    std::uint32_t next = 1;
    while (const auto q = c.try_receive()) {
        CHECK(q->instrument == next++);
    }
    CHECK(next == 5);
    const auto s = ch.stats();
    CHECK(s.sent == 5);
    CHECK(s.received == 5);
    CHECK(s.closed_rejects == 2);
    CHECK(s.closed);
}

TEST_CASE("ipc: frames wrap around the ring many times in order", "[ipc]") {
    auto ch = channel<quote>::anonymous({.capacity = 8});
    producer<quote> p{ch};
    consumer<quote> c{ch};
    std::int64_t sent = 0;
    std::int64_t got = 0;
    while (got != 1000) {
        while (sent != 1000 && p.try_send({0, sent}) == send_result::accepted) {
            ++sent;
        }
        quote q{};
        frame_info info{};
        while (c.try_receive(q, info)) {
            REQUIRE(q.price == got);
            REQUIRE(info.sequence == static_cast<std::uint64_t>(got));
            REQUIRE(info.generation == 1);
            ++got;
        }
    }
    CHECK(ch.stats().received == 1000);
}

TEST_CASE("ipc: a corrupted committed frame is counted and skipped, never delivered", "[ipc]") {
    auto ch = channel<quote>::anonymous({.capacity = 8});
    producer<quote> p{ch};
    consumer<quote> c{ch};
    REQUIRE(p.try_send({1, 10}) == send_result::accepted);
    REQUIRE(p.try_send({2, 20}) == send_result::accepted);
    // Flip one payload byte of frame 0 through a second mapping, as a stray writer would.
    auto raw = ch.map_again();
    const auto g = admf::ipc::detail::geometry::of(8, 1, sizeof(quote), alignof(quote));
    auto* base = static_cast<unsigned char*>(::mmap(nullptr, g.total_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, raw.fd(), 0));
    REQUIRE(base != MAP_FAILED);
    base[g.frames_offset() + g.payload_offset + 4] ^= 0x40;
    ::munmap(base, g.total_bytes());
    const auto q = c.try_receive();
    REQUIRE(q.has_value());
    CHECK(q->instrument == 2);  // frame 0 skipped
    CHECK_FALSE(c.try_receive().has_value());
    CHECK(ch.stats().corrupt == 1);
    CHECK(ch.stats().received == 1);
}

TEST_CASE("ipc: producer slots are limited, a detached slot is re-attached with the next generation", "[ipc]") {
    auto ch = channel<quote>::anonymous({.capacity = 8, .max_producers = 2});
    consumer<quote> c{ch};
    {
        producer<quote> a{ch};
        producer<quote> b{ch};
        CHECK(a.slot() != b.slot());
        CHECK(contains(error_of([&] { producer<quote> third{ch}; }), "no free producer slot"));
        CHECK(ch.stats().producers_attached == 2);
        REQUIRE(a.try_send({1, 0}) == send_result::accepted);
    }
    CHECK(ch.stats().producers_attached == 0);
    producer<quote> again{ch};
    CHECK(again.generation() == 2);
    REQUIRE(again.try_send({2, 0}) == send_result::accepted);
    quote q{};
    frame_info info{};
    std::uint32_t seen = 0;
    while (c.try_receive(q, info)) {
        if (q.instrument == 2) {
            CHECK(info.generation == 2);
            CHECK(info.sequence == (info.producer == 0 ? 1U : 0U));  // continues that slot's sequence
        }
        ++seen;
    }
    CHECK(seen == 2);
}

TEST_CASE("ipc: one live consumer at a time, a dead one's successor takes over at its position", "[ipc]") {
    auto ch = channel<quote>::anonymous({.capacity = 8});
    producer<quote> p{ch};
    for (std::uint32_t i = 0; i != 5; ++i) {
        REQUIRE(p.try_send({i, 0}) == send_result::accepted);
    }
    {
        consumer<quote> first{ch};
        CHECK(contains(error_of([&] { consumer<quote> second{ch}; }), "already has a live consumer"));
        REQUIRE(first.try_receive()->instrument == 0);
    }
    // A consumer in a child that dies without detaching (no destructor runs in _exit).
    admf_test::child_process child([&] {
        auto* c = new consumer<quote>(ch);  // never deleted: the process dies attached
        if (!c->try_receive().has_value()) {
            ::_exit(5);
        }
        ::_exit(0);
    });
    REQUIRE(child.exited_ok());
    CHECK(ch.stats().consumer_attached);  // still recorded: its process is gone
    CHECK_FALSE(ch.consumer_alive());
    consumer<quote> successor{ch};
    CHECK(ch.stats().consumer_takeovers == 1);
    CHECK(successor.try_receive()->instrument == 2);  // 0 and 1 were consumed before
}

TEST_CASE("ipc: try_consume passes a frame only when its handler returns", "[ipc]") {
    auto ch = channel<quote>::anonymous({.capacity = 8});
    producer<quote> p{ch};
    consumer<quote> c{ch};
    REQUIRE(p.try_send({1, 0}) == send_result::accepted);
    REQUIRE(p.try_send({2, 0}) == send_result::accepted);
    CHECK_THROWS_AS(c.try_consume([](const quote&, const frame_info&) { throw std::runtime_error("handler"); }),
                    std::runtime_error);
    std::uint32_t got = 0;
    REQUIRE(c.try_consume([&](const quote& q, const frame_info&) { got = q.instrument; }));
    CHECK(got == 1);  // redelivered after the throw
    REQUIRE(c.try_consume([&](const quote& q, const frame_info&) { got = q.instrument; }));
    CHECK(got == 2);
    CHECK_FALSE(c.try_consume([&](const quote&, const frame_info&) {}));
    CHECK(c.backlog() == 0);
}

TEST_CASE("ipc: a channel moved keeps working, and the creator removes its name", "[ipc]") {
    const std::string name = unique("moved");
    const std::string path = "/dev/shm/admf." + name;
    struct stat st {};
    {
        auto a = channel<quote>::create(name, {.capacity = 8});
        channel<quote> b = std::move(a);
        producer<quote> p{b};
        consumer<quote> c{b};
        REQUIRE(p.try_send({3, 0}) == send_result::accepted);
        CHECK(c.try_receive()->instrument == 3);
        CHECK(::stat(path.c_str(), &st) == 0);
    }
    CHECK(::stat(path.c_str(), &st) != 0);
}
