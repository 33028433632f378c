// SPDX-License-Identifier: MIT
// The producer side of the bus benchmarks' throughput rows: publish for a while, then wait
// until the handler has counted everything.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "support/backoff.hpp"
#include "support/driver.hpp"
#include "support/machine.hpp"

namespace admf::bench {

/// `single` = one publish() per event, `batch` = publish_batch() of producer_plan::batch.
enum class publish_mode { single, batch };

/// How a throughput sample's producer runs.
struct producer_plan {
    std::chrono::milliseconds sample{100};         // publishes for this long
    std::size_t batch = 64;                        // events per publish_batch
    int cpu = -1;                                  // pinned here (negative: unpinned)
    std::chrono::milliseconds stall_timeout{5000}; // then waits at most this for the handler
};

/// What the producer of a throughput sample reports.
struct producer_result {
    std::uint64_t sent = 0; // accepted, seq 0..sent-1
    double seconds = 0;     // first publish -> producer sees the last one handled
    std::uint64_t violations = 0;
    std::string problem;
};

/// On a thread pinned to plan.cpu, publishes make(0), make(1), ... for plan.sample (64
/// `one(e)` calls between clock reads, or `batch(span)` of plan.batch), then waits until
/// `handled` counts all it sent. `one` returns whether it was accepted, `batch` how many.
/// Returns once that thread has finished. Allocates the batch buffer before the clock starts.
template <class E, class Make, class One, class Batch>
producer_result produce_events(const producer_plan& plan, publish_mode mode, Make make, One one,
                               Batch batch, const std::atomic<std::uint64_t>& handled) {
    using clock = std::chrono::steady_clock;
    producer_result r;
    std::thread producer([&] {
        pin_this_thread(plan.cpu);
        std::vector<E> buffer(plan.batch);
        std::uint64_t seq = 0;
        const auto start = clock::now();
        const auto deadline = start + plan.sample;
        bool failed = false;
        while (!failed) {
            if (mode == publish_mode::single) {
                for (int i = 0; i != 64; ++i) {
                    if (!one(make(seq))) {
                        failed = true;
                        break;
                    }
                    ++seq;
                }
            } else {
                for (std::size_t i = 0; i != buffer.size(); ++i) {
                    buffer[i] = make(seq + i);
                }
                const std::size_t n = batch(std::span<const E>(buffer));
                seq += n;
                failed = n != buffer.size();
            }
            if (clock::now() > deadline) {
                break;
            }
        }
        if (failed) {
            ++r.violations;
            r.problem = "a publish was not accepted after " + std::to_string(seq) + " events";
        }
        r.sent = seq;
        const bool all = await(plan.stall_timeout,
                               [&] { return handled.load(std::memory_order_acquire) == seq; });
        r.seconds = std::chrono::duration<double>(clock::now() - start).count();
        if (!all) {
            ++r.violations;
            r.problem = "missing: handled " +
                        std::to_string(handled.load(std::memory_order_acquire)) + " of " +
                        std::to_string(seq) + " after " +
                        std::to_string(plan.stall_timeout.count()) + " ms";
        }
    });
    producer.join();
    return r;
}

/// A throughput sample from what the producer reported, the handled count and the
/// handler-side violations.
[[nodiscard]] inline rate_sample finish_sample(const producer_result& p, std::uint64_t handled,
                                               std::uint64_t handler_violations) {
    rate_sample s;
    s.seconds = p.seconds;
    s.items = handled;
    s.violations = p.violations + handler_violations;
    s.problem = p.problem;
    return s;
}

} // namespace admf::bench
