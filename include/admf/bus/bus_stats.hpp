// SPDX-License-Identifier: MIT
// admf::bus_stats: a snapshot of a bus's counters, in total and per partition.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include <admf/core/domain.hpp>

namespace admf {

/// Counters of one partition (or of all, summed). Every publish has one outcome: published
/// (accepted), rejected, timed_out or refused; every published event leaves its lane as
/// delivered, dropped or discarded, or is still in `backlog`. So, once the bus is idle,
///   published == delivered + dropped + discarded.
struct partition_stats {
    std::string_view name;            ///< domain name ("total" for the sum)
    std::uint64_t published = 0;      ///< publishes accepted
    std::uint64_t delivered = 0;      ///< events dispatched to their handlers (0 or more)
    std::uint64_t rejected = 0;       ///< publishes answered `full`
    std::uint64_t timed_out = 0;      ///< publishes answered `timed_out`
    std::uint64_t refused = 0;        ///< publishes answered `stopped`
    std::uint64_t dropped = 0;        ///< queued events dropped by backpressure::drop_oldest
    std::uint64_t discarded = 0;      ///< queued events discarded by stop(stop_mode::discard)
    std::uint64_t handler_errors = 0; ///< exceptions handlers threw (each caught)
    std::uint64_t backlog = 0;        ///< events queued, not yet dispatched

    /// Events published but not delivered, for whatever reason, plus publishes not accepted.
    [[nodiscard]] std::uint64_t not_delivered() const noexcept {
        return rejected + timed_out + refused + dropped + discarded;
    }

    partition_stats& operator+=(const partition_stats& o) noexcept {
        published += o.published;
        delivered += o.delivered;
        rejected += o.rejected;
        timed_out += o.timed_out;
        refused += o.refused;
        dropped += o.dropped;
        discarded += o.discarded;
        handler_errors += o.handler_errors;
        backlog += o.backlog;
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
