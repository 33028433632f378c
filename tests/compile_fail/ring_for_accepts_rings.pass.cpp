// SPDX-License-Identifier: MIT
// Positive control: the rings and the fake ring model ring_for, so this file must compile.
// It shows the harness can pass and that the fail cases differ from it in one respect only.
#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/ring_for.hpp>
#include <admf/ring/spsc_ring.hpp>

#include "fake_ring.hpp"

static_assert(admf::ring_for<admf::spsc_ring<int>, int>);
static_assert(admf::ring_for<admf::mpmc_ring<int>, int>);
static_assert(admf::ring_for<test::fake_ring, int>);
