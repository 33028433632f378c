// SPDX-License-Identifier: MIT
// The measurements: P producers -> 1 consumer throughput, two-queue round trip, and the bare
// cache-line ping-pong that bounds every round trip from below.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <admf/core/platform.hpp>

#include "support/backoff.hpp"
#include "support/machine.hpp"
#include "support/payload.hpp"
#include "support/queues.hpp"
#include "support/stats.hpp"

namespace admf::bench {

using bench_clock = std::chrono::steady_clock;

enum class consume_mode { single, batched };

/// How long and where every run goes. One instance serves every queue alike.
struct run_config {
    std::chrono::milliseconds sample{150};         // producers push for this long per sample
    std::size_t capacity = 4096;                   // every queue that takes a capacity
    std::size_t batch = 256;                       // max elements per batched consumer call
    std::size_t round_trips = 20000;               // measured round trips per latency sample
    std::size_t warmup_round_trips = 1000;         // unrecorded round trips before those
    std::chrono::milliseconds round_trip_cap{300}; // a latency sample stops early past this
    std::chrono::milliseconds drain_timeout{250};  // producers done, queue empty, count short:
                                                   // the consumer waits this long, then reports
                                                   // the shortfall
    std::chrono::milliseconds stall_timeout{5000}; // a run without progress is abandoned
    int producer_cpu = 0;                          // producers and the round-trip initiator
    int consumer_cpu = 1;                          // the consumer and the round-trip echo
};

struct throughput_sample {
    double seconds = 0;      // first go to last element received
    std::uint64_t items = 0; // received by the consumer
    std::uint64_t violations = 0;
    std::string problem; // empty unless the run was abandoned
};

struct round_trip_sample {
    double seconds = 0;
    std::size_t count = 0;                      // recorded round trips
    double p50 = 0, p99 = 0, p999 = 0, max = 0; // ns
    std::uint64_t violations = 0;
    std::string problem;
};

namespace detail {

// Flags the coordinating thread and the workers share; each on its own lines.
// Orders: `ready` (acq_rel add) pairs with the coordinator's acquire load; `go` release
// pairs with the workers' acquire load, so the queue built before it is visible to them;
// `producers_done` release pairs with the consumer's acquire load and publishes `sent[p]`;
// `finished` release pairs with the coordinator's acquire load (join orders results too).
// `stop` and `abandon` are relaxed: they carry no data, only "leave the loop soon".
struct run_control {
    alignas(false_sharing_range) std::atomic<unsigned> ready{0};
    alignas(false_sharing_range) std::atomic<bool> go{false};
    alignas(false_sharing_range) std::atomic<bool> stop{false};
    alignas(false_sharing_range) std::atomic<bool> abandon{false};
    alignas(false_sharing_range) std::atomic<unsigned> producers_done{0};
    alignas(false_sharing_range) std::atomic<unsigned> finished{0};
};

inline void wait_for(const std::atomic<bool>& flag) {
    backoff wait;
    while (!flag.load(std::memory_order_acquire)) {
        wait.pause();
    }
}

// Worker start: pin, report ready, wait for the common go.
inline void start_worker(run_control& ctl, int cpu) {
    pin_this_thread(cpu);
    ctl.ready.fetch_add(1, std::memory_order_acq_rel);
    wait_for(ctl.go);
}

// Coordinator: waits until `threads` workers are ready, releases them, returns the start time.
inline bench_clock::time_point release_workers(run_control& ctl, unsigned threads) {
    backoff wait;
    while (ctl.ready.load(std::memory_order_acquire) != threads) {
        wait.pause();
    }
    const auto start = bench_clock::now();
    ctl.go.store(true, std::memory_order_release);
    return start;
}

// Coordinator: waits until `threads` workers finished or `deadline` passed; in the latter
// case tells them to abandon the run. Returns false when it had to abandon.
inline bool await_workers(run_control& ctl, unsigned threads, bench_clock::time_point deadline) {
    while (ctl.finished.load(std::memory_order_acquire) != threads) {
        if (bench_clock::now() > deadline) {
            ctl.abandon.store(true, std::memory_order_relaxed);
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

template <class Queue>
bool push_or_abandon(Queue& q, unsigned producer, const typename Queue::value_type& item,
                     const run_control& ctl) {
    if (q.try_push(producer, item)) {
        return true;
    }
    backoff wait;
    do {
        if (ctl.abandon.load(std::memory_order_relaxed)) {
            return false;
        }
        wait.pause();
    } while (!q.try_push(producer, item));
    return true;
}

template <class Queue>
bool pop_or_abandon(Queue& q, typename Queue::value_type& out, const run_control& ctl) {
    if (q.try_pop(out)) {
        return true;
    }
    backoff wait;
    do {
        if (ctl.abandon.load(std::memory_order_relaxed)) {
            return false;
        }
        wait.pause();
    } while (!q.try_pop(out));
    return true;
}

} // namespace detail

/// `producer_count` producers (all pinned to cfg.producer_cpu) push tagged payloads one at a
/// time for cfg.sample, then stop; one consumer (pinned to cfg.consumer_cpu) pops them one at
/// a time (`single`) or through the queue's batched API (`batched`), checks each, and stops
/// when it has everything the producers sent. Throughput = received / (go -> last received).
template <class Queue>
throughput_sample run_throughput(const run_config& cfg, unsigned producer_count,
                                 consume_mode mode) {
    using T = typename Queue::value_type;
    auto queue = std::make_unique<Queue>(cfg.capacity, producer_count);
    detail::run_control ctl;
    std::array<std::uint64_t, max_producers> sent{}; // [p] written by producer p before done
    throughput_sample result;
    bench_clock::time_point end;

    // Workers capture what they use by value (or point at their own lines), so the hot loops
    // never read a line another thread writes: the coordinator's stack is not touched.
    auto produce = [&ctl, &sent, q = queue.get(), cpu = cfg.producer_cpu](unsigned id) {
        detail::start_worker(ctl, cpu);
        std::uint64_t seq = 0;
        for (;; ++seq) {
            // The stop flag stays in this core's cache until the coordinator writes it once.
            if ((seq & 63) == 0 && ctl.stop.load(std::memory_order_relaxed)) {
                break;
            }
            if (!detail::push_or_abandon(*q, id, T::make(make_tag(id, seq)), ctl)) {
                break;
            }
        }
        sent[id] = seq;
        ctl.producers_done.fetch_add(1, std::memory_order_release); // publishes sent[id]
        ctl.finished.fetch_add(1, std::memory_order_release);
    };

    auto consume = [&ctl, &sent, &result, &end, q = queue.get(), cfg, producer_count, mode] {
        detail::start_worker(ctl, cfg.consumer_cpu);
        order_checker<T> check(producer_count);
        constexpr auto unknown = std::numeric_limits<std::uint64_t>::max();
        std::uint64_t expected = unknown;
        bench_clock::time_point empty_since{};
        T item{};
        backoff wait;
        for (;;) {
            std::size_t got = 0;
            if constexpr (has_pop_batch<Queue>) {
                if (mode == consume_mode::batched) {
                    got = q->pop_batch(check, cfg.batch);
                }
            }
            if (mode == consume_mode::single && q->try_pop(item)) {
                check(item);
                got = 1;
            }
            if (got != 0) {
                wait.reset();
                empty_since = {};
                continue;
            }
            // Empty: finished once every producer is done and everything it sent arrived.
            if (expected == unknown &&
                ctl.producers_done.load(std::memory_order_acquire) == producer_count) {
                expected =
                    std::accumulate(sent.begin(), sent.begin() + producer_count, std::uint64_t{0});
            }
            if (expected != unknown) {
                if (check.received() >= expected) {
                    break;
                }
                // Every push has completed (producers_done acquired), yet elements are missing:
                // give a lazy queue drain_timeout to show them, then report the shortfall.
                const auto now = bench_clock::now();
                if (empty_since == bench_clock::time_point{}) {
                    empty_since = now;
                } else if (now - empty_since > cfg.drain_timeout) {
                    result.problem = "missing: received " + std::to_string(check.received()) +
                                     " of " + std::to_string(expected);
                    break;
                }
            }
            if (ctl.abandon.load(std::memory_order_relaxed)) {
                result.problem = "abandoned: received " + std::to_string(check.received()) +
                                 (expected == unknown ? std::string(", producers still running")
                                                      : " of " + std::to_string(expected));
                break;
            }
            wait.pause();
        }
        end = bench_clock::now();
        // Whatever is still queued was never sent: a duplicate or a phantom.
        while (q->try_pop(item)) {
            check(item);
        }
        result.items = check.received();
        result.violations =
            check.finish(std::span<const std::uint64_t>(sent.data(), producer_count));
        ctl.finished.fetch_add(1, std::memory_order_release);
    };

    std::vector<std::thread> threads;
    for (unsigned p = 0; p < producer_count; ++p) {
        threads.emplace_back(produce, p);
    }
    threads.emplace_back(consume);
    const auto start = detail::release_workers(ctl, producer_count + 1);
    std::this_thread::sleep_for(cfg.sample);
    ctl.stop.store(true, std::memory_order_relaxed);
    const bool completed =
        detail::await_workers(ctl, producer_count + 1, bench_clock::now() + cfg.stall_timeout);
    for (auto& t : threads) {
        t.join();
    }
    if (!completed && result.problem.empty()) {
        result.problem = "abandoned: a producer could not push for " +
                         std::to_string(cfg.stall_timeout.count()) + " ms";
    }
    result.seconds = std::chrono::duration<double>(end - start).count();
    return result;
}

namespace detail {

// What the initiator of a round-trip run hands back: it records every sample in its own
// latency_samples (allocated on its own thread) and reduces them before it finishes.
struct initiator_result {
    bench_clock::time_point start;
    bench_clock::time_point end;
    std::uint64_t round_trips = 0; // completed, warm-up included
    std::uint64_t violations = 0;
    std::size_t count = 0;
    double p50 = 0, p99 = 0, p999 = 0, max = 0;
    std::string problem;

    void reduce(latency_samples& samples) {
        count = samples.count();
        p50 = static_cast<double>(samples.value_at_percentile(50));
        p99 = static_cast<double>(samples.value_at_percentile(99));
        p999 = static_cast<double>(samples.value_at_percentile(99.9));
        max = static_cast<double>(samples.max());
    }
};

// Runs `echo` on cfg.consumer_cpu and `initiate` on cfg.producer_cpu, starts them together,
// and folds their results into one round_trip_sample.
template <class Echo, class Initiate>
round_trip_sample run_pair(const run_config& cfg, run_control& ctl, Echo echo, Initiate initiate) {
    initiator_result mine;
    std::uint64_t echo_violations = 0;
    std::thread echo_thread([&ctl, &echo_violations, echo, cpu = cfg.consumer_cpu]() mutable {
        start_worker(ctl, cpu);
        const std::uint64_t v = echo();
        echo_violations = v;
        ctl.finished.fetch_add(1, std::memory_order_release);
    });
    std::thread initiator_thread([&ctl, &mine, initiate, cpu = cfg.producer_cpu]() mutable {
        start_worker(ctl, cpu);
        initiator_result r = initiate();
        mine = std::move(r);
        ctl.finished.fetch_add(1, std::memory_order_release);
    });
    release_workers(ctl, 2);
    const bool completed =
        await_workers(ctl, 2, bench_clock::now() + cfg.round_trip_cap * 4 + cfg.stall_timeout);
    initiator_thread.join();
    echo_thread.join();
    round_trip_sample result;
    result.seconds = std::chrono::duration<double>(mine.end - mine.start).count();
    result.count = mine.count;
    result.p50 = mine.p50;
    result.p99 = mine.p99;
    result.p999 = mine.p999;
    result.max = mine.max;
    result.violations = mine.violations + echo_violations;
    result.problem = !mine.problem.empty() ? mine.problem
                     : completed           ? std::string{}
                                           : std::string("abandoned: no progress");
    return result;
}

} // namespace detail

/// Two queues, ping and pong. The initiator (cfg.producer_cpu) pushes to ping and waits on
/// pong; the echo (cfg.consumer_cpu) pops ping and pushes the same payload to pong. Each
/// round trip is timed on its own (one steady_clock read per sample, included); the echo
/// checks it sees every sequence in order, the initiator that each reply is its request.
template <class Queue>
round_trip_sample run_round_trip(const run_config& cfg) {
    using T = typename Queue::value_type;
    auto ping = std::make_unique<Queue>(cfg.capacity, 1);
    auto pong = std::make_unique<Queue>(cfg.capacity, 1);
    detail::run_control ctl;
    // Written by the initiator before it pushes the stop payload; read by the echo after it
    // pops that payload (the queue's push -> pop ordering makes the write visible).
    std::uint64_t sent = 0;

    auto echo = [&ctl, &sent, in = ping.get(), out = pong.get()]() -> std::uint64_t {
        order_checker<T> check(1);
        T item{};
        while (detail::pop_or_abandon(*in, item, ctl)) {
            if ((item.tag >> producer_shift) == stop_producer) {
                return check.finish(std::span<const std::uint64_t>(&sent, 1));
            }
            check(item);
            if (!detail::push_or_abandon(*out, 0, item, ctl)) {
                break;
            }
        }
        return check.violations();
    };

    auto initiate = [&ctl, &sent, cfg, out = ping.get(), in = pong.get()] {
        detail::initiator_result r;
        latency_samples samples(cfg.round_trips);
        const std::uint64_t total = cfg.warmup_round_trips + cfg.round_trips;
        T reply{};
        r.start = bench_clock::now();
        auto before = r.start;
        while (r.round_trips < total) {
            const T request = T::make(make_tag(0, r.round_trips));
            if (!detail::push_or_abandon(*out, 0, request, ctl) ||
                !detail::pop_or_abandon(*in, reply, ctl)) {
                r.problem = "abandoned after " + std::to_string(r.round_trips) + " round trips";
                break;
            }
            const auto after = bench_clock::now();
            if (reply.tag != request.tag || !reply.intact()) {
                ++r.violations;
            }
            if (++r.round_trips > cfg.warmup_round_trips) {
                samples.record(static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count()));
                if (after - r.start > cfg.round_trip_cap) {
                    break;
                }
            }
            before = after;
        }
        r.end = bench_clock::now();
        sent = r.round_trips;
        (void)detail::push_or_abandon(*out, 0, T::make(make_tag(stop_producer, 0)), ctl);
        r.reduce(samples);
        return r;
    };

    return detail::run_pair(cfg, ctl, echo, initiate);
}

/// Reference for run_round_trip: the cost of moving cache lines between the two CPUs alone.
/// `one_line` (the classic ping-pong): one std::atomic<uint64_t> alone on its lines; the
/// initiator stores 2i+1 and spins until it reads 2i+2, the echo spins until it reads an odd
/// value and stores it + 1. Both threads write the same line, so each store must first take
/// the line back from the other core's polling loads.
/// Otherwise (two lines): each thread writes only its own line and polls the other's, the
/// way a pair of SPSC queues hands over (request line, reply line).
inline round_trip_sample run_ping_pong(const run_config& cfg, bool one_line) {
    struct alignas(false_sharing_range) line {
        std::atomic<std::uint64_t> value{0};
    };
    static_assert(sizeof(line) == false_sharing_range, "the ping-pong word must be alone");
    constexpr auto stop_value = std::numeric_limits<std::uint64_t>::max();
    auto lines = std::make_unique<line[]>(2);
    std::atomic<std::uint64_t>* request_line = &lines[0].value;
    std::atomic<std::uint64_t>* reply_line = one_line ? &lines[0].value : &lines[1].value;
    detail::run_control ctl;

    // Spins until `word` differs from `last`; false when the run is abandoned.
    auto await_change = [&ctl](const std::atomic<std::uint64_t>& word, std::uint64_t last,
                               std::uint64_t& seen) {
        backoff wait;
        // Acquire pairs with the other thread's release store of the value it hands over.
        while ((seen = word.load(std::memory_order_acquire)) == last) {
            if (ctl.abandon.load(std::memory_order_relaxed)) {
                return false;
            }
            wait.pause();
        }
        return true;
    };

    auto echo = [await_change, one_line, request_line, reply_line]() -> std::uint64_t {
        // Requests are odd (2i+1), replies even (2i+2). Until the next request, the request
        // word holds our own reply (one line) or the previous request (two lines).
        std::uint64_t violations = 0;
        std::uint64_t last = 0;
        std::uint64_t seen = 0;
        while (await_change(*request_line, one_line || last == 0 ? last : last - 1, seen) &&
               seen != stop_value) {
            if (seen != last + 1) {
                ++violations;
            }
            last = seen + 1;
            reply_line->store(last, std::memory_order_release); // pairs with initiator's acquire
        }
        return violations;
    };

    auto initiate = [await_change, cfg, one_line, request_line, reply_line] {
        detail::initiator_result r;
        latency_samples samples(cfg.round_trips);
        const std::uint64_t total = cfg.warmup_round_trips + cfg.round_trips;
        std::uint64_t seen = 0;
        r.start = bench_clock::now();
        auto before = r.start;
        for (std::uint64_t i = 0; i < total; ++i) {
            const std::uint64_t request = 2 * i + 1;
            request_line->store(request, std::memory_order_release); // pairs with echo's acquire
            if (!await_change(*reply_line, one_line ? request : request - 1, seen)) {
                r.problem = "abandoned after " + std::to_string(i) + " round trips";
                break;
            }
            const auto after = bench_clock::now();
            if (seen != request + 1) {
                ++r.violations;
            }
            if (i >= cfg.warmup_round_trips) {
                samples.record(static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count()));
                if (after - r.start > cfg.round_trip_cap) {
                    break;
                }
            }
            before = after;
        }
        r.end = bench_clock::now();
        request_line->store(stop_value, std::memory_order_release);
        r.reduce(samples);
        return r;
    };

    return detail::run_pair(cfg, ctl, echo, initiate);
}

} // namespace admf::bench
