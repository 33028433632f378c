// SPDX-License-Identifier: MIT
// admf::backoff_wait: spin, then yield, then sleep with exponential backoff.
#pragma once

#include <chrono>

#include <admf/wait/detail/spin_phases.hpp>
#include <admf/wait/wait_strategy.hpp>

namespace admf {

/// Cost: near-zero CPU once idle (sleeps double from 1 µs to 1 ms), but a waiter that has
/// reached the sleep phase notices the condition up to 1 ms late. The first 100 spins and
/// 100 yields keep a busy stream fast. notify() is free. A good default for non-critical
/// partitions and for machines where threads outnumber cores.
class backoff_wait : public detail::polling_wait<100, 100, 1'000'000> {}; // 1 ms

static_assert(wait_strategy<backoff_wait>);

} // namespace admf
