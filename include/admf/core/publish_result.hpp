// SPDX-License-Identifier: MIT
// admf::publish_result, admf::stop_mode and admf::backpressure: the outcomes of publishing.
#pragma once

#include <string_view>

namespace admf {

/// What became of one publish. Every outcome but `accepted` is also counted in the stats.
enum class publish_result : unsigned char {
    accepted,  ///< queued (or, in sync_bus, dispatched); it will be delivered or counted
    full,      ///< the lane was full and the partition rejects (backpressure::reject)
    stopped,   ///< the bus is stopping or stopped; the event was not queued
    timed_out, ///< the lane stayed full until the partition's block deadline
};

[[nodiscard]] constexpr std::string_view to_string(publish_result r) noexcept {
    switch (r) {
    case publish_result::accepted:
        return "accepted";
    case publish_result::full:
        return "full";
    case publish_result::stopped:
        return "stopped";
    case publish_result::timed_out:
        return "timed_out";
    }
    return "?";
}

/// What a partition does when a publish finds its lane full.
enum class backpressure : unsigned char {
    block,       ///< wait for room (until `block_timeout`, if set: then timed_out)
    reject,      ///< return publish_result::full at once (the seed's behaviour)
    drop_oldest, ///< drop the lane's oldest queued event (counted) to make room
    /// Keep only the newest event per (type, key) while the lane is behind (market data):
    /// a publish replaces its key's event not yet taken, counted as conflated. `capacity` is
    /// then the distinct keys a lane holds; a new key beyond it is answered `full`. Needs
    /// trivially copyable events with a key; never on a critical partition.
    conflate,
};

/// What stop() does with events still queued.
enum class stop_mode : unsigned char {
    drain,   ///< deliver every accepted event first: accepted == delivered
    discard, ///< deliver none of the queued events; count them as discarded
};

} // namespace admf
