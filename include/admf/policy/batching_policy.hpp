// SPDX-License-Identifier: MIT
// The batching_policy concept and its policies: no_batching, size_or_timeout_batching.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>

namespace admf {

/// The numbers a batching policy works with (partition_config::max_batch and max_wait).
struct batch_limits {
    /// Events a worker takes from one lane per wake-up, and the largest span a batch
    /// handler receives.
    std::size_t max_batch = 256;
    /// How long a partial batch may wait for more events before its batch handlers get it,
    /// counted from its first event's publish time by the bus's clock. Zero: a batch is
    /// what the worker found queued, delivered at once.
    std::chrono::nanoseconds max_wait{0};
};

/// How a partition's workers group events. `B::limits(configured)` turns the partition's
/// settings into the limits the workers use; `B::gathers` says whether batch handlers
/// (`void(std::span<const E>)`) receive gathered spans (copies of up to max_batch events in
/// lane order) or each event alone, in place.
/// Semantic requirements the compiler cannot check:
/// - limits() is pure and returns max_batch >= 1;
/// - a partial batch is handed to the batch handlers no later than max_wait after its first
///   event was published, also when no further event comes (the seed's size-or-timeout).
template <class B>
concept batching_policy = requires(batch_limits configured) {
    { B::gathers } -> std::convertible_to<bool>;
    { B::limits(configured) } -> std::same_as<batch_limits>;
};

/// One event at a time: a worker takes one event per lane per wake-up, every event is its
/// own batch (end_of_batch is always true), and a batch handler gets a span of one event,
/// the ring slot itself, not a copy. Cost: the lowest latency for the first event of a burst,
/// the lowest throughput under load (a wake-up, a subscriber-table load and the readiness
/// checks per event). Pick it when every event must be handled the moment it is taken.
struct no_batching {
    static constexpr bool gathers = false;
    static constexpr batch_limits limits(batch_limits) noexcept { return {1, {}}; }
};

/// The seed's size-or-timeout rule, done right: a worker takes up to max_batch events per
/// lane per wake-up; per-event handlers see each, with end_of_batch on the last; batch
/// handlers receive up to max_batch events of one type and lane at once, a full batch at
/// once and a partial one when it is max_wait old (by the bus's clock: the worker bounds its
/// wait by the oldest partial batch, so it comes even if no further event does), at flush()
/// and at stop(). Cost: each event a batch handler receives is copied once into a buffer
/// (max_batch events per type per lane, allocated at construction); with max_wait > 0 a
/// worker holding a partial batch reads the clock once per round. Pick it for throughput:
/// the default (max_wait 0: a batch is what was queued, nothing waits).
struct size_or_timeout_batching {
    static constexpr bool gathers = true;
    static constexpr batch_limits limits(batch_limits configured) noexcept { return configured; }
};

static_assert(batching_policy<no_batching>);
static_assert(batching_policy<size_or_timeout_batching>);

} // namespace admf
