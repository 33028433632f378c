// SPDX-License-Identifier: MIT
// admf::bus_stats: a snapshot of a bus's counters, in total and per partition.
#pragma once

#include <array>
#include <algorithm>
#include <cstddef>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include <admf/core/domain.hpp>
#include <admf/core/priority.hpp>
#include <admf/metrics/latency_histogram.hpp>

namespace admf {

/// The counters of one priority level of a partition: what was dispatched at that level and
/// how long it waited in its lane (publish -> the worker taking it, by the bus clock).
struct level_stats {
    std::uint64_t delivered = 0;        ///< events of this level dispatched
    std::uint64_t backlog = 0;          ///< queued or in handlers (a queue per level only)
    std::uint64_t queue_time_total = 0; ///< ns summed over `delivered` (0 with no_clock)
    std::uint64_t queue_time_max = 0;   ///< ns, the longest wait seen

    /// Mean queue latency in ns (0 before any delivery).
    [[nodiscard]] double mean_queue_time() const noexcept {
        return delivered == 0 ? 0.0 : static_cast<double>(queue_time_total) / static_cast<double>(delivered);
    }

    level_stats& operator+=(const level_stats& o) noexcept {
        delivered += o.delivered;
        backlog += o.backlog;
        queue_time_total += o.queue_time_total;
        queue_time_max = std::max(queue_time_max, o.queue_time_max);
        return *this;
    }
};

/// Handler time of one subscription in one partition (sampled: see record_latency).
struct handler_latency {
    std::uint64_t subscription = 0; ///< subscription::id()
    latency_histogram time;         ///< ns per call, over the sampled calls
};

/// The latency histograms of one partition (or of all, merged), in ns. Snapshots: each
/// count is exact at some instant during stats() (latency_histogram.hpp).
struct partition_latency {
    explicit partition_latency(int significant_figures = 2)
        : queue(1, max_ns, significant_figures),
          queue_by_level{latency_histogram(1, max_ns, significant_figures),
                         latency_histogram(1, max_ns, significant_figures),
                         latency_histogram(1, max_ns, significant_figures)},
          end_to_end(1, max_ns, significant_figures) {}

    static constexpr std::int64_t max_ns = 3'600'000'000'000; ///< 1 h

    latency_histogram queue; ///< publish -> taken by a worker, every event, all levels
    /// The same per priority level, indexed by admf::priority (low, medium, high).
    std::array<latency_histogram, priority_levels> queue_by_level;
    /// Publish -> the event's last handler returned, one event in `sample_every` per lane.
    latency_histogram end_to_end;
    /// Per subscription (of this partition's event types), sampled as end_to_end.
    std::vector<handler_latency> handlers;
    std::uint32_t sample_every = 1;

    [[nodiscard]] const latency_histogram& queue_at(priority p) const noexcept {
        return queue_by_level[static_cast<std::size_t>(p)];
    }
    /// Adds o's counts (partitions into a total; handler lists are concatenated).
    void merge(const partition_latency& o) {
        queue.merge(o.queue);
        for (std::size_t i = 0; i != priority_levels; ++i) {
            queue_by_level[i].merge(o.queue_by_level[i]);
        }
        end_to_end.merge(o.end_to_end);
        for (const auto& h : o.handlers) {
            handlers.push_back({h.subscription, h.time});
        }
        sample_every = std::max(sample_every, o.sample_every);
    }
};

/// Counters of one partition (or of all, summed). Every publish has one outcome: published
/// (accepted), rejected, timed_out or refused; every published event leaves its lane as
/// delivered, dropped, discarded or conflated, or is still in `backlog`. So, once the bus
/// is idle,
///   published == delivered + dropped + discarded + conflated.
struct partition_stats {
    std::string_view name;            ///< domain name ("total" for the sum)
    std::uint64_t published = 0;      ///< publishes accepted
    std::uint64_t delivered = 0;      ///< events dispatched to their handlers (0 or more)
    std::uint64_t rejected = 0;       ///< publishes answered `full`
    std::uint64_t timed_out = 0;      ///< publishes answered `timed_out`
    std::uint64_t refused = 0;        ///< publishes answered `stopped`
    std::uint64_t dropped = 0;        ///< queued events dropped by backpressure::drop_oldest
    std::uint64_t discarded = 0;      ///< queued events discarded by stop(stop_mode::discard)
    std::uint64_t conflated = 0;      ///< events replaced by a newer one of their key (conflate)
    std::uint64_t handler_errors = 0; ///< exceptions handlers threw (each caught)
    std::uint64_t backlog = 0;        ///< events queued or in their handlers now
    std::size_t workers = 0;          ///< workers running lanes now (set_workers moves it)
    std::uint64_t handovers = 0;      ///< lanes moved from one worker to another so far
    std::uint64_t stalls = 0;         ///< handler calls reported past the stall budget
    /// Latency histograms; null when Traits::latency_metrics records nothing
    /// (no_latency_metrics) or the partition has no event types.
    std::shared_ptr<const partition_latency> latency;
    /// Per priority level, indexed by admf::priority (low, medium, high). With no_priority a
    /// lane has one queue for every level, so `backlog` is not split by level (each 0).
    /// sync_bus dispatches at once or within the caller's cascade: its queue times are 0.
    std::array<level_stats, priority_levels> levels{};

    [[nodiscard]] const level_stats& level(priority p) const noexcept {
        return levels[static_cast<std::size_t>(p)];
    }

    /// Events published but not delivered, for whatever reason, plus publishes not accepted.
    [[nodiscard]] std::uint64_t not_delivered() const noexcept {
        return rejected + timed_out + refused + dropped + discarded + conflated;
    }

    partition_stats& operator+=(const partition_stats& o) noexcept {
        published += o.published;
        delivered += o.delivered;
        rejected += o.rejected;
        timed_out += o.timed_out;
        refused += o.refused;
        dropped += o.dropped;
        discarded += o.discarded;
        conflated += o.conflated;
        handler_errors += o.handler_errors;
        backlog += o.backlog;
        workers += o.workers;
        handovers += o.handovers;
        stalls += o.stalls;
        for (std::size_t i = 0; i != priority_levels; ++i) {
            levels[i] += o.levels[i];
        }
        if (o.latency) {
            auto sum = std::make_shared<partition_latency>(o.latency->queue.significant_figures());
            if (latency) {
                sum->merge(*latency);
            }
            sum->merge(*o.latency);
            latency = std::move(sum);
        }
        return *this;
    }
};

/// What the stall watchdog reports (basic_bus::check_stalls): a handler call that has run
/// for at least the budget. Reported once per call.
struct stall_report {
    std::string_view partition;        ///< domain name
    std::size_t worker = 0;            ///< the worker's index in its partition
    std::uint32_t lane = 0;            ///< the lane it was dispatching
    std::uint64_t subscription = 0;    ///< the handler's subscription::id()
    std::chrono::nanoseconds duration{0}; ///< how long the call had run when seen (at least)
    std::size_t lanes_moved = 0;       ///< the worker's other lanes handed to other workers
};

/// The counters of every partition of a bus over domain set D. A snapshot: counters read
/// while other threads run are each exact at some instant during the call.
template <domain_set D>
struct basic_bus_stats {
    std::array<partition_stats, domain_traits<D>::count> partitions{};

    [[nodiscard]] const partition_stats& partition(D d) const noexcept {
        return partitions[domain_index(d)];
    }

    [[nodiscard]] partition_stats total() const {
        partition_stats sum;
        sum.name = "total";
        for (const auto& p : partitions) {
            sum += p;
        }
        return sum;
    }
};

using bus_stats = basic_bus_stats<domain>;

} // namespace admf
