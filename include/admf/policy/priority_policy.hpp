// SPDX-License-Identifier: MIT
// The priority_policy concept and its policies: no_priority, strict_priority, weighted_priority.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include <admf/core/platform.hpp>
#include <admf/core/priority.hpp>

namespace admf {

/// How a lane's worker chooses between events of different priorities. A policy says how
/// many queues (`levels`) a lane keeps, which one an event's priority goes to (`level_of`),
/// and, given a view of those queues, which to take from next (`drain`).
/// Semantic requirements the compiler cannot check:
/// - drain runs on the lane's owning worker only and takes at most `max` events;
/// - every queued event is eventually taken (no queue may be skipped forever while the
///   worker keeps calling drain), unless the policy documents starvation (strict_priority);
/// - events of one queue are taken in the order they were queued.
template <class P>
concept priority_policy = requires(priority p) {
    { P::levels } -> std::convertible_to<std::size_t>;
    { P::level_of(p) } -> std::same_as<std::size_t>;
    typename P::lane_state;
};

/// Per-priority weights of weighted_priority, indexed by admf::priority (low, medium, high).
using priority_weights = std::array<std::uint32_t, priority_levels>;

/// One queue per lane, FIFO whatever the priority (event_info::level still reports it).
/// Cost: none beyond the ring. Per-key FIFO holds for every event.
struct no_priority {
    static constexpr std::size_t levels = 1;
    static constexpr std::size_t level_of(priority) noexcept { return 0; }
    struct lane_state {};

    /// `queues.take(level, max)` takes up to max events from one queue, returns how many.
    template <class Queues>
    static std::size_t drain(Queues& queues, lane_state&, const priority_weights&, std::size_t max) {
        return queues.take(0, max);
    }
};

/// The seed's rule: high before medium before low. No event is taken from a queue while a
/// higher one holds an event the worker can see. Cost: the lower queues are taken one event
/// at a time with a look at the higher queues before each; a steady flow of high events
/// starves the lower ones (weighted_priority does not).
struct strict_priority {
    static constexpr std::size_t levels = priority_levels;
    static constexpr std::size_t level_of(priority p) noexcept { return static_cast<std::size_t>(p); }
    struct lane_state {};

    template <class Queues>
    static std::size_t drain(Queues& queues, lane_state&, const priority_weights&, std::size_t max) {
        std::size_t done = 0;
        while (done != max) {
            std::size_t level = levels;
            while (level != 0 && !queues.ready(level - 1)) {
                --level;
            }
            if (level == 0) {
                break; // nothing ready
            }
            --level;
            // The top queue has nothing above it: take a batch. Below it, one at a time.
            const std::size_t n = queues.take(level, level + 1 == levels ? max - done : 1);
            if (n == 0) {
                break;
            }
            done += n;
        }
        return done;
    }
};

/// Deficit round robin over the three queues, highest first: each pass credits every
/// non-empty queue its weight (default high 8, medium 4, low 1) and takes up to its credit.
/// High goes first and gets 8/13 of a saturated lane; low still gets 1/13, never starves.
/// A queue that is the only one holding events goes on in chunks of `alone_chunk` up to the
/// batch limit, with a look at the other queues between chunks. Cost: a readiness check per
/// queue per pass, and two per chunk while one queue alone has events.
struct weighted_priority {
    static constexpr std::size_t levels = priority_levels;
    static constexpr std::size_t level_of(priority p) noexcept { return static_cast<std::size_t>(p); }
    struct lane_state {
        std::array<std::uint64_t, priority_levels> deficit{};
    };

    template <class Queues>
    static std::size_t drain(Queues& queues, lane_state& state, const priority_weights& weights,
                             std::size_t max) {
#if defined(ADMF_FAULT_STRICT_FOR_WEIGHTED)
        // TEST-ONLY negative control (tests/negative/README.md): weighted acts as strict.
        strict_priority::lane_state none;
        return strict_priority::drain(queues, none, weights, max);
#endif
        std::size_t done = 0;
        for (std::size_t level = levels; level-- != 0 && done != max;) {
            if (!queues.ready(level)) {
                state.deficit[level] = 0; // an empty queue keeps no credit (DRR)
                continue;
            }
            state.deficit[level] += weights[level];
            const auto credit = static_cast<std::size_t>(
                std::min<std::uint64_t>(state.deficit[level], max - done));
            // A queue alone with events has nothing to share with: it takes chunks of
            // alone_chunk rather than its credit's few events per pass (uncontended, it then
            // costs about what no_priority does), with a look at the others between chunks.
            // A take runs on while events keep arriving, so the chunk also bounds how far it
            // may overrun an event of another level that arrives meanwhile.
            std::size_t n = 0;
            for (bool first = true;; first = false) {
                const bool solo = alone(queues, level);
                if (!solo && !first) {
                    break;
                }
                const std::size_t ask =
                    solo ? std::min(max - done - n, std::max(first ? credit : 0, alone_chunk))
                         : credit;
                const std::size_t got = queues.take(level, ask);
                n += got;
                if (!solo || got != ask || done + n == max) {
                    break;
                }
            }
            state.deficit[level] -= std::min<std::uint64_t>(n, state.deficit[level]);
            done += n;
        }
        return done;
    }

    /// Events taken per readiness check while one queue alone holds events.
    static constexpr std::size_t alone_chunk = 64;

private:
    // Whether no queue but `level` holds an event the worker can see.
    template <class Queues>
    static bool alone(Queues& queues, std::size_t level) {
        for (std::size_t other = 0; other != levels; ++other) {
            if (other != level && queues.ready(other)) {
                return false;
            }
        }
        return true;
    }
};

static_assert(priority_policy<no_priority>);
static_assert(priority_policy<strict_priority>);
static_assert(priority_policy<weighted_priority>);

} // namespace admf
