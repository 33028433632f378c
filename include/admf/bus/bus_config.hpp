// SPDX-License-Identifier: MIT
// admf::bus_config: the run-time configuration of a bus, one partition_config per domain.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <admf/bus/handler_error.hpp>
#include <admf/core/domain.hpp>
#include <admf/core/publish_result.hpp>
#include <admf/policy/batching_policy.hpp>
#include <admf/policy/priority_policy.hpp>
#include <admf/ring/ring_for.hpp>

namespace admf {

/// How a partition's idle workers wait for events (the wait/ strategies; each header
/// states its cost). `blocking` is the default: it spins briefly, then sleeps in the kernel,
/// so idle partitions cost nothing and threads may outnumber cores.
enum class wait_kind : unsigned char { busy_spin, yielding, backoff, blocking };

/// One partition's settings. The defaults work for any publisher threads on any machine.
struct partition_config {
    /// Slots per lane ring (rounded up to a power of two).
    std::size_t capacity = 4096;
    /// Lanes (a power of two): events go to lane hash(key) & (lanes - 1).
    std::size_t lanes = 1;
    /// Worker threads running lanes at start; lane i goes to worker i % workers.
    /// 1 <= workers <= lanes.
    std::size_t workers = 1;
    /// The range basic_bus::set_workers (and so worker_controller) may move the count in:
    /// min_workers <= workers <= max_workers <= lanes. 0 means `workers` (no scaling that
    /// way). max_workers threads are started; those without lanes sleep on a futex.
    std::size_t min_workers = 0;
    std::size_t max_workers = 0;
    /// `single` only when exactly one thread at a time publishes this partition's events:
    /// it selects the wait-free spsc_ring instead of mpmc_ring.
    producers producer_mode = producers::many;
    /// What a publish does when its lane is full.
    backpressure on_full = backpressure::block;
    /// With backpressure::block: how long a publish may wait; zero waits without limit.
    std::chrono::nanoseconds block_timeout{0};
    /// How idle workers wait.
    wait_kind wait = wait_kind::blocking;
    /// Events a worker takes from one lane per wake-up before looking at its next lane, and
    /// the largest span a batch handler receives (the traits' batching_policy may lower it:
    /// no_batching takes one).
    std::size_t max_batch = 256;
    /// size_or_timeout_batching: how long a partial batch waits for more events before its
    /// batch handlers get it, from its first event's publish time (bus clock). Zero: a batch
    /// is what the worker found queued. Needs a clock (not no_clock) when non-zero.
    std::chrono::nanoseconds max_wait{0};
    /// CPUs to pin the workers to, round-robin; empty leaves scheduling to the OS.
    std::vector<int> cpus = {};
    /// weighted_priority's share per level, indexed by admf::priority (low, medium, high):
    /// of a saturated lane, high gets 8/13, medium 4/13, low 1/13. Each at least 1.
    priority_weights weights = {1, 4, 8};
};

/// The configuration of a bus over domain set D: partition settings per domain, and the
/// error sink. `cfg[admf::domain::order].workers = 1;`
template <domain_set D>
struct basic_bus_config {
    std::array<partition_config, domain_traits<D>::count> partitions{};
    /// Receives every exception a handler throws; empty = default_error_sink.
    error_sink on_error = {};

    [[nodiscard]] partition_config& operator[](D d) noexcept { return partitions[domain_index(d)]; }
    [[nodiscard]] const partition_config& operator[](D d) const noexcept {
        return partitions[domain_index(d)];
    }
};

using bus_config = basic_bus_config<domain>;

} // namespace admf
