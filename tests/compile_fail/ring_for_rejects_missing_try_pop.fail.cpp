// SPDX-License-Identifier: MIT
// Must not compile: a ring without try_pop(T&) does not model ring_for.
#define ADMF_FAKE_RING_WITHOUT_TRY_POP
#include <admf/ring/ring_for.hpp>

#include "fake_ring.hpp"

static_assert(admf::ring_for<test::fake_ring, int>);
