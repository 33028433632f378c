// SPDX-License-Identifier: MIT
// admf::yielding_wait: spins briefly, then yields the CPU between checks.
#pragma once

#include <chrono>

#include <admf/wait/detail/spin_phases.hpp>
#include <admf/wait/wait_strategy.hpp>

namespace admf {

/// Cost: 100% of a core while waiting, but the CPU goes to any runnable thread after 100
/// spins, so it behaves when threads outnumber cores; wake-up latency is a spin (fast) or
/// one scheduler pass (a few µs when others are runnable). notify() is free.
class yielding_wait : public detail::polling_wait<100, 0, 0> {}; // then yield forever

static_assert(wait_strategy<yielding_wait>);

} // namespace admf
