// SPDX-License-Identifier: MIT
// Must compile: the control of conflating_ring_rejects_non_trivially_copyable.
#include <cstdint>

#include <admf/ring/conflating_ring.hpp>

struct tick {
    std::uint64_t id;
    double price;
};
struct tick_key {
    admf::conflation_key operator()(const tick& t) const noexcept { return {t.id, 0}; }
};

static_assert(admf::ring_for<admf::conflating_ring<tick, tick_key>, tick>);
