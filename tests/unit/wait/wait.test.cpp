// SPDX-License-Identifier: MIT
// Unit and multithread tests of the wait strategies (include/admf/wait/): each returns once
// its condition holds, honours deadlines, and blocking_wait loses no wake-up.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include <admf/wait/backoff_wait.hpp>
#include <admf/wait/blocking_wait.hpp>
#include <admf/wait/busy_spin_wait.hpp>
#include <admf/wait/yielding_wait.hpp>

#include "catch.hpp"
#include "ring_stress.hpp"
#include "seed.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

} // namespace

TEMPLATE_TEST_CASE("wait strategy: wait returns at once when the condition already holds",
                   "[wait]", admf::busy_spin_wait, admf::yielding_wait, admf::backoff_wait,
                   admf::blocking_wait) {
    TestType w;
    int calls = 0;
    w.wait([&] { return ++calls > 0; });
    REQUIRE(calls == 1);
    REQUIRE(w.wait_until([] { return true; }, clock_type::now() - std::chrono::seconds(1)));
}

TEMPLATE_TEST_CASE("wait strategy: wait_until reports false once the deadline passed", "[wait]",
                   admf::busy_spin_wait, admf::yielding_wait, admf::backoff_wait,
                   admf::blocking_wait) {
    TestType w;
    const auto deadline = clock_type::now() + std::chrono::milliseconds(20);
    REQUIRE_FALSE(w.wait_until([] { return false; }, deadline));
    REQUIRE(clock_type::now() >= deadline); // never early; how late is not asserted (shared VM)
}

TEMPLATE_TEST_CASE("wait strategy: a waiter returns after another thread makes the condition "
                   "true and notifies",
                   "[wait]", admf::yielding_wait, admf::backoff_wait, admf::blocking_wait) {
    TestType w;
    std::atomic<bool> ready{false};
    std::atomic<bool> returned{false};
    std::thread waiter([&] {
        w.wait([&] { return ready.load(std::memory_order_acquire); });
        returned.store(true, std::memory_order_release);
    });
    REQUIRE_FALSE(returned.load(std::memory_order_acquire)); // it cannot return before `ready`
    ready.store(true, std::memory_order_release);
    w.notify();
    waiter.join();
    REQUIRE(returned.load());
}

TEST_CASE("blocking_wait: every one of several parked waiters wakes on one notify", "[wait]") {
    admf::blocking_wait w(0); // park at the first miss
    std::atomic<bool> ready{false};
    std::atomic<int> woke{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i != 4; ++i) {
        waiters.emplace_back([&] {
            w.wait([&] { return ready.load(std::memory_order_acquire); });
            woke.fetch_add(1, std::memory_order_relaxed);
        });
    }
    while (w.parked_approx() != 4) { // all four counted as parked: the futex path is tested
        std::this_thread::yield();
    }
    ready.store(true, std::memory_order_release);
    w.notify();
    for (auto& t : waiters) {
        t.join(); // a waiter missing the wake-up hangs here, and the ctest TIMEOUT fails it
    }
    REQUIRE(woke.load() == 4);
}

// TESTING T2 "Lost wake-up": a 1P/1C ping-pong in which each side parks on its own
// blocking_wait, with no spin phase, so every miss goes through the parking handshake. A wake-up lost anywhere stops the exchange for good; the watchdog turns that
// into an abort with the state, instead of a CI timeout.
TEST_CASE("blocking_wait: a ping-pong of round trips never loses a wake-up", "[wait][stress]") {
    const std::uint64_t round_trips = [] {
        switch (admf_test::current_stress_scale()) {
        case admf_test::stress_scale::tsan: return 10'000;
        case admf_test::stress_scale::asan: return 20'000;
        default: return 100'000;
        }
    }();
    admf::blocking_wait ping_wait(0), pong_wait(0);
    std::atomic<std::uint64_t> ping{0}, pong{0};
    const admf_test::watchdog guard(
        admf_test::stall_limit(std::chrono::seconds(10)),
        [&] { return ping.load(std::memory_order_relaxed) + pong.load(std::memory_order_relaxed); },
        [&] {
            std::fprintf(stderr, "ping=%llu pong=%llu of %llu\n",
                         static_cast<unsigned long long>(ping.load()),
                         static_cast<unsigned long long>(pong.load()),
                         static_cast<unsigned long long>(round_trips));
        });
    std::thread echo([&] {
        for (std::uint64_t i = 1; i <= round_trips; ++i) {
            ping_wait.wait([&] { return ping.load(std::memory_order_acquire) == i; });
            pong.store(i, std::memory_order_release);
            pong_wait.notify();
        }
    });
    for (std::uint64_t i = 1; i <= round_trips; ++i) {
        ping.store(i, std::memory_order_release);
        ping_wait.notify();
        pong_wait.wait([&] { return pong.load(std::memory_order_acquire) == i; });
    }
    echo.join();
    REQUIRE(pong.load() == round_trips);
}
