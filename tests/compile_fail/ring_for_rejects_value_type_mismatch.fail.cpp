// SPDX-License-Identifier: MIT
// Must not compile: a ring of int is not a ring of double (R::value_type must be T).
#include <admf/ring/ring_for.hpp>
#include <admf/ring/spsc_ring.hpp>

static_assert(admf::ring_for<admf::spsc_ring<int>, double>);
