// SPDX-License-Identifier: MIT
// admf::event_info: what a handler may learn about the event it is called with.
#pragma once

#include <cstdint>

#include <admf/core/priority.hpp>

namespace admf {

/// Passed to handlers of the form `void(const E&, const admf::event_info&)` (the Disruptor's
/// onEvent(event, sequence, endOfBatch)).
struct event_info {
    std::uint64_t sequence = 0;     ///< position in its lane's dispatch order, from 0
    std::int64_t publish_time = 0;  ///< the bus clock at publish, in ns (see core/clock.hpp)
    std::uint32_t lane = 0;         ///< lane within the partition
    priority level = priority::medium;
    bool end_of_batch = false;      ///< last event of the batch the worker drained
};

} // namespace admf
