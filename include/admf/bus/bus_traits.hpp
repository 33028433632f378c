// SPDX-License-Identifier: MIT
// admf::default_bus_traits: the compile-time policies of a bus, in one struct.
#pragma once

#include <admf/core/clock.hpp>
#include <admf/metrics/latency_metrics.hpp>
#include <admf/policy/batching_policy.hpp>
#include <admf/policy/priority_policy.hpp>
#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/mpsc_ring.hpp>
#include <admf/ring/spsc_ring.hpp>

namespace admf {

/// The policies basic_bus and basic_sync_bus take as their first parameter. Derive from it
/// and override a member to change one policy:
///   struct my_traits : admf::default_bus_traits { using clock = admf::no_clock; };
struct default_bus_traits {
    /// Stamps event_info::publish_time (ns; see core/clock.hpp). no_clock removes the clock
    /// read from publish (publish_time is then 0).
    using clock = tsc_clock;
    /// The lane ring of a partition configured producers::single.
    template <class Slot>
    using single_producer_ring = spsc_ring<Slot>;
    /// The lane ring of a partition configured producers::many (one consumer: the lane's
    /// owner, which frees a batch with one index store).
    template <class Slot>
    using multi_producer_ring = mpsc_ring<Slot>;
    /// The lane ring of a producers::many partition with backpressure::drop_oldest, where
    /// publishers pop the oldest event too: it must take many consumers.
    template <class Slot>
    using shared_consumer_ring = mpmc_ring<Slot>;
    /// How a lane's worker orders events of different priorities (policy/priority_policy.hpp):
    /// no_priority keeps one FIFO queue per lane; strict_priority and weighted_priority one
    /// per level.
    using priority_policy = no_priority;
    /// How workers group events for handlers (policy/batching_policy.hpp): batch handlers
    /// get spans of up to max_batch events; no_batching takes and delivers one at a time.
    using batching_policy = size_or_timeout_batching;
    /// Whether the bus records latency histograms (metrics/latency_metrics.hpp):
    /// no_latency_metrics compiles recording out.
    using latency_metrics = record_latency;
};

} // namespace admf
