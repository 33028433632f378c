// SPDX-License-Identifier: MIT
// dsched scenarios for basic_blocking_wait over dsched::atomic: a consumer parks when the
// ring is empty, a producer pushes and notifies. A lost wake-up is a DEADLOCK here.
#include <cstddef>
#include <cstdint>
#include <string>

#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/spsc_ring.hpp>
#include <admf/wait/blocking_wait.hpp>

#include "catch.hpp"
#include "explore.hpp"
#include "require_clean.hpp"
#include "scenario_support.hpp"

namespace ds = admf_test::dsched;

namespace {

// Thread 0 pushes `Items` items (retrying when full), calling notify() after each; threads
// 1..C each take `Items / C` items, parking in wait() until a try_pop succeeds. `Spins`
// is blocking_wait's spin budget before it parks (0: park at the first miss).
template <class Ring, std::size_t C, std::size_t Items, std::uint32_t Spins>
struct park_unpark {
    static constexpr std::size_t threads = 1 + C;
    static_assert(Items % C == 0);
    Ring ring{2};
    admf::basic_blocking_wait<ds::atomic> wait{Spins};
    ds::received<1, C> got;

    park_unpark() { got.sent[0] = Items; }

    void run(std::size_t thread) {
        if (thread == 0) {
            for (std::size_t s = 0; s != Items; ++s) {
                while (!ring.try_push(ds::item::make(0, s))) {
                    ds::yield();
                }
                wait.notify();
            }
            return;
        }
        for (std::size_t k = 0; k != Items / C; ++k) {
            ds::item e;
            wait.wait([&] { return ring.try_pop(e); });
            got.add(thread - 1, e);
        }
    }
    [[nodiscard]] std::string check() const {
        if (wait.parked_approx() != 0) {
            return "a waiter is still counted as parked after every thread returned";
        }
        return got.check();
    }
};


} // namespace

TEST_CASE("dsched: blocking_wait 1P/1C on spsc_ring: 3 items: park at the first miss", "[dsched][wait]") {
    ds::require_clean<park_unpark<admf::spsc_ring<ds::item, ds::atomic>, 1, 3, 0>>(
        "blocking_wait spsc 1P/1C x3 spins 0");
}

TEST_CASE("dsched: blocking_wait 1P/1C on spsc_ring: 3 items: one spin before parking", "[dsched][wait]") {
    ds::require_clean<park_unpark<admf::spsc_ring<ds::item, ds::atomic>, 1, 3, 1>>(
        "blocking_wait spsc 1P/1C x3 spins 1");
}

TEST_CASE("dsched: blocking_wait 1P/2C on mpmc_ring: two parked waiters", "[dsched][wait]") {
    ds::require_clean<park_unpark<admf::mpmc_ring<ds::item, ds::atomic>, 2, 2, 0>>(
        "blocking_wait mpmc 1P/2C x2 spins 0");
}
