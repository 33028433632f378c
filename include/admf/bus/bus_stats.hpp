// SPDX-License-Identifier: MIT
// admf::bus_stats: a snapshot of a bus's counters, in total and per partition.
#pragma once

#include <array>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <admf/core/domain.hpp>
#include <admf/core/priority.hpp>

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
        for (std::size_t i = 0; i != priority_levels; ++i) {
            levels[i] += o.levels[i];
        }
        return *this;
    }
};

/// The counters of every partition of a bus over domain set D. A snapshot: counters read
/// while other threads run are each exact at some instant during the call.
template <domain_set D>
struct basic_bus_stats {
    std::array<partition_stats, domain_traits<D>::count> partitions{};

    [[nodiscard]] const partition_stats& partition(D d) const noexcept {
        return partitions[domain_index(d)];
    }

    [[nodiscard]] partition_stats total() const noexcept {
        partition_stats sum{.name = "total"};
        for (const auto& p : partitions) {
            sum += p;
        }
        return sum;
    }
};

using bus_stats = basic_bus_stats<domain>;

} // namespace admf
