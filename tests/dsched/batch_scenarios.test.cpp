// SPDX-License-Identifier: MIT
// dsched scenarios for the rings' batch operations (try_push_n, try_pop_n, consume) at
// capacity 2: partial batches at the full/empty edges and positions crossing 2^64.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/mpsc_ring.hpp>
#include <admf/ring/spsc_ring.hpp>

#include "catch.hpp"
#include "explore.hpp"
#include "require_clean.hpp"
#include "scenario_support.hpp"

namespace ds = admf_test::dsched;

namespace {

using ds::near_wrap;

// Threads [0, P) each push `Pushes` items with try_push_n(rest, Batch), which a ring of
// capacity 2 cuts short; threads [P, P + C) alternate try_pop_n(.., 2) and consume(.., 3)
// until the consumers together hold every item.
template <class Ring, std::size_t P, std::size_t C, std::size_t Pushes, std::size_t Batch,
          std::uint64_t Start = near_wrap>
struct batches {
    static constexpr std::size_t threads = P + C;
    Ring ring{2, admf::initial_sequence{Start}};
    ds::received<P, C> got;
    ds::atomic<std::size_t> popped{0}; // test-side: consumers stop when it reaches P * Pushes

    batches() { got.sent.fill(Pushes); }

    void run(std::size_t thread) {
        if (thread < P) {
            std::array<ds::item, Pushes> mine;
            for (std::size_t s = 0; s != Pushes; ++s) {
                mine[s] = ds::item::make(thread, s);
            }
            for (std::size_t done = 0; done != Pushes;) {
                const std::size_t n = ring.try_push_n(mine.begin() + static_cast<std::ptrdiff_t>(done),
                                                      std::min(Batch, Pushes - done));
                done += n;
                if (n == 0) {
                    ds::yield();
                }
            }
            return;
        }
        const std::size_t me = thread - P;
        bool use_consume = false;
        while (popped.load() != P * Pushes) {
            std::size_t n = 0;
            if (use_consume) {
                n = ring.consume([&](ds::item& e) noexcept { got.add(me, e); }, 3);
            } else {
                std::array<ds::item, 2> out;
                n = ring.try_pop_n(out.begin(), out.size());
                for (std::size_t i = 0; i != n; ++i) {
                    got.add(me, out[i]);
                }
            }
            use_consume = !use_consume;
            if (n == 0) {
                ds::yield();
            } else {
                popped.fetch_add(n);
            }
        }
    }
    [[nodiscard]] std::string check() const {
        if (popped.load() != P * Pushes) {
            return "consumers stopped early";
        }
        return got.check();
    }
};


} // namespace

TEST_CASE("dsched: spsc_ring batches of 3 into capacity 2: 5 items across 2^64", "[dsched][ring][batch]") {
    ds::require_clean<batches<admf::spsc_ring<ds::item, ds::atomic>, 1, 1, 5, 3>>(
        "spsc batch push_n(3)/pop_n(2)/consume(3) x5 wrap");
}

TEST_CASE("dsched: spsc_ring tail-index batches of 3 into capacity 2: 5 items across 2^64", "[dsched][ring][batch]") {
    ds::require_clean<batches<admf::spsc_ring<ds::item, ds::atomic, admf::spsc_ready_signal::tail_index>,
                          1, 1, 5, 3>>("spsc tail_index batch x5 wrap");
}

TEST_CASE("dsched: mpsc_ring 2P/1C batches of 2 into capacity 2 across 2^64", "[dsched][ring][batch]") {
    ds::require_clean<batches<admf::mpsc_ring<ds::item, ds::atomic>, 2, 1, 2, 2>>(
        "mpsc 2P/1C batch push_n(2) x2 wrap");
}

TEST_CASE("dsched: mpmc_ring 2P/1C batches of 2 into capacity 2 across 2^64", "[dsched][ring][batch]") {
    ds::require_clean<batches<admf::mpmc_ring<ds::item, ds::atomic>, 2, 1, 2, 2>>(
        "mpmc 2P/1C batch push_n(2) x2 wrap");
}

TEST_CASE("dsched: mpmc_ring 1P/2C batches of 3 into capacity 2", "[dsched][ring][batch]") {
    ds::require_clean<batches<admf::mpmc_ring<ds::item, ds::atomic>, 1, 2, 4, 3, 0>>(
        "mpmc 1P/2C batch push_n(3) x4");
}
