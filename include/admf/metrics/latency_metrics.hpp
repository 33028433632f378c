// SPDX-License-Identifier: MIT
// The latency-metrics policies of a bus (Traits::latency_metrics): record or compile out.
#pragma once

#include <concepts>
#include <cstdint>

namespace admf {

/// The bus records latency histograms (partition_stats::latency):
/// - queue time per priority level: publish -> the worker taking the event, every event
///   (one clock read per take, shared by its events; one histogram record per event);
/// - end to end: publish -> its last handler returned, and handler time per subscription,
///   on one event in `sample_every` per lane (two clock reads per handler of that event).
/// Histograms track 1 ns to 1 h within 1% (`significant_figures` = 2): 36 KiB each.
/// Memory: 4 histograms per lane, and one per (subscription, worker) of its partition.
struct record_latency {
    static constexpr bool enabled = true;
    static constexpr int significant_figures = 2;
    /// A power of two; 1 times every event's handlers.
    static constexpr std::uint32_t sample_every = 64;
};

/// Nothing is recorded and nothing is allocated for it: partition_stats::latency is null.
struct no_latency_metrics {
    static constexpr bool enabled = false;
    static constexpr int significant_figures = 2;
    static constexpr std::uint32_t sample_every = 1;
};

/// What a Traits::latency_metrics policy must declare.
template <class P>
concept latency_metrics_policy = requires {
    { P::enabled } -> std::convertible_to<bool>;
    { P::significant_figures } -> std::convertible_to<int>;
    { P::sample_every } -> std::convertible_to<std::uint32_t>;
} && (P::sample_every != 0) && ((P::sample_every & (P::sample_every - 1)) == 0);

} // namespace admf
