// SPDX-License-Identifier: MIT
// Must not compile: conflating_ring copies values under a seqlock, so T must be trivially
// copyable; this tick differs from the control's only by a user-provided copy constructor.
#include <cstdint>

#include <admf/ring/conflating_ring.hpp>

struct tick {
    std::uint64_t id;
    double price;
    tick(const tick& other) noexcept : id(other.id), price(other.price) {}
};
struct tick_key {
    admf::conflation_key operator()(const tick& t) const noexcept { return {t.id, 0}; }
};

static_assert(admf::ring_for<admf::conflating_ring<tick, tick_key>, tick>);
