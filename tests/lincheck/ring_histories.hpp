// SPDX-License-Identifier: MIT
// Test-only: records histories of real threads calling try_push / try_pop on a ring.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <admf/core/platform.hpp>

#include "lincheck.hpp"
#include "seed.hpp"

namespace admf_test::lincheck {

/// Per-thread hooks run by probe_atomic: after each successful compare-exchange (a ring
/// claiming a position) and before each store (a ring publishing or handing back a slot).
struct probe_hooks {
    static inline thread_local std::function<void()> after_claim;
    static inline thread_local std::function<void()> before_store;
};

/// std::atomic with the probe_hooks of the calling thread; the rings take it as their
/// Atomic parameter, so a test can stretch, or stop a thread in, the window between a claim
/// and its hand-over.
template <class T>
class probe_atomic : public std::atomic<T> {
public:
    using std::atomic<T>::atomic;
    using std::atomic<T>::operator=;

    void store(T value, std::memory_order order = std::memory_order_seq_cst) noexcept {
        if (probe_hooks::before_store) {
            probe_hooks::before_store();
        }
        std::atomic<T>::store(value, order);
    }
    bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                               std::memory_order failure) noexcept {
        const bool done =
            std::atomic<T>::compare_exchange_weak(expected, desired, success, failure);
        if (done && probe_hooks::after_claim) {
            probe_hooks::after_claim();
        }
        return done;
    }
    bool compare_exchange_weak(T& expected, T desired,
                               std::memory_order order = std::memory_order_seq_cst) noexcept {
        return compare_exchange_weak(expected, desired, order, order);
    }
};

/// Sets this thread's probe_hooks to stretch the windows at random: about 1 call in 3 spins
/// up to 200 pauses, 1 in 21 yields (on a busy core, that lets another thread run in it).
inline void install_jitter(rng& r) {
    auto stretch = [&r] {
        const auto x = r.below(64);
        if (x < 3) {
            std::this_thread::yield();
        } else if (x < 24) {
            for (auto i = r.below(200); i != 0; --i) {
                admf::cpu_relax();
            }
        }
    };
    probe_hooks::after_claim = stretch;
    probe_hooks::before_store = stretch;
}

/// A reusable barrier whose waiters yield (threads may outnumber cores).
class yield_barrier {
public:
    static constexpr unsigned spins_per_yield = 1024; // ~10-40 us between yields

    explicit yield_barrier(unsigned parties) noexcept : parties_(parties) {}

    void arrive_and_wait() noexcept {
        const auto generation = generation_.load(std::memory_order_acquire);
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == parties_) {
            arrived_.store(0, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_release);
            return;
        }
        for (unsigned spin = 1; generation_.load(std::memory_order_acquire) == generation; ++spin) {
            admf::cpu_relax();
            if (spin % spins_per_yield == 0) {
                std::this_thread::yield();
            }
        }
    }

private:
    const unsigned parties_;
    std::atomic<unsigned> arrived_{0};
    std::atomic<unsigned> generation_{0};
};

/// The clock of every stamp: one seq_cst counter. If a's return stamp is below b's invoke
/// stamp, a's call happens-before b's (the fetch_adds synchronise), so the stamps give a
/// real-time order the ring must respect.
inline std::uint64_t stamp() noexcept {
    static std::atomic<std::uint64_t> clock{0};
    return clock.fetch_add(1, std::memory_order_seq_cst);
}

/// How many admf::cpu_relax() take about `us` microseconds here (measured once).
inline std::uint64_t relax_per_microseconds(std::uint64_t us) {
    static const double per_us = [] {
        constexpr int n = 20'000;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i) {
            admf::cpu_relax();
        }
        const double elapsed =
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count();
        return elapsed > 0 ? n / elapsed : 100.0;
    }();
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(per_us * static_cast<double>(us)));
}

/// What a thread of a run does: push only, pop only, or a random mix.
enum class role : std::uint8_t { producer, consumer, mixed };

struct run_options {
    std::vector<role> threads; // thread 0 is the calling thread
    std::size_t histories = 10'000;
    std::size_t ops_per_thread = 8;
    std::size_t capacity = 2;
    bool jitter = false;    // random spins / yields inside the ring's hand-over windows
    std::uint64_t salt = 0; // seeds each thread's stream with stream_seed(salt, thread)
};

struct run_summary {
    std::size_t histories = 0;
    std::size_t overlapped = 0;        // histories with at least one concurrent pair of calls
    std::size_t overlapping_pairs = 0; // over all histories
    std::size_t strict_failures = 0;   // not linearizable against the plain FIFO model
    std::size_t relaxed_failures = 0;  // not even with in-flight hand-over allowed
    std::size_t relaxed_steps = 0;     // relaxed calls in the linearizations of strict failures
    std::string first_strict_failure;  // report of the first of each, empty if none
    std::string first_relaxed_failure;
    double seconds = 0;
};

/// Runs `options.histories` rounds: a fresh Ring(capacity), every thread released by one
/// barrier, each making ops_per_thread calls with random spin delays in between, stamped
/// just before each call and just after it returns; then thread 0 drains the ring (those
/// pops are part of the history, so every accepted value must come out exactly once) and
/// checks the history against both models.
template <class Ring>
run_summary run_histories(const run_options& options) {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t n_threads = options.threads.size();
    yield_barrier barrier(static_cast<unsigned>(n_threads));
    std::unique_ptr<Ring> ring;
    std::vector<history> recorded(n_threads);
    std::atomic<std::size_t> running{0};
    const std::uint64_t relax_per_gap = relax_per_microseconds(3);
    run_summary sum;

    auto body = [&](std::size_t t) {
        rng r(stream_seed(options.salt, t));
        if (options.jitter) {
            install_jitter(r);
        }
        for (std::size_t round = 0; round != options.histories; ++round) {
            if (t == 0) {
                ring = std::make_unique<Ring>(options.capacity);
            }
            barrier.arrive_and_wait();
            // Rendezvous: spin (yielding now and then) until every thread is running.
            running.fetch_add(1, std::memory_order_acq_rel);
            for (unsigned spin = 1;
                 running.load(std::memory_order_acquire) < (round + 1) * n_threads; ++spin) {
                admf::cpu_relax();
                if (spin % yield_barrier::spins_per_yield == 0) {
                    std::this_thread::yield();
                }
            }
            history& mine = recorded[t];
            mine.clear();
            for (std::size_t k = 0; k != options.ops_per_thread; ++k) {
                // Gaps of 0 (1 in 4) to 3 us, so each thread's calls span some microseconds.
                for (auto i = r.below(4) == 0 ? 0 : r.below(relax_per_gap); i != 0; --i) {
                    admf::cpu_relax();
                }
                const role ro = options.threads[t];
                operation op;
                op.thread = static_cast<int>(t);
                op.kind = ro == role::producer                      ? op_kind::push
                          : ro == role::consumer || r.below(2) == 0 ? op_kind::pop
                                                                    : op_kind::push;
                if (op.kind == op_kind::push) {
                    op.value = t * options.ops_per_thread + k + 1;
                    op.invoke = stamp();
                    op.ok = ring->try_push(std::uint64_t{op.value});
                    op.ret = stamp();
                } else {
                    std::uint64_t out = 0;
                    op.invoke = stamp();
                    op.ok = ring->try_pop(out);
                    op.ret = stamp();
                    op.value = op.ok ? out : 0;
                }
                mine.push_back(op);
            }
            barrier.arrive_and_wait();
            if (t != 0) {
                continue;
            }
            // Thread 0 alone now: drain, then check.
            probe_hooks::after_claim = nullptr;
            probe_hooks::before_store = nullptr;
            history h;
            for (auto& part : recorded) {
                h.insert(h.end(), part.begin(), part.end());
            }
            for (;;) {
                operation op;
                op.kind = op_kind::pop;
                std::uint64_t out = 0;
                op.invoke = stamp();
                op.ok = ring->try_pop(out);
                op.ret = stamp();
                op.value = op.ok ? out : 0;
                h.push_back(op);
                if (!op.ok) {
                    break;
                }
            }
            ring.reset();
            ++sum.histories;
            const auto pairs = overlapping_pairs(h);
            sum.overlapping_pairs += pairs;
            sum.overlapped += pairs != 0 ? 1 : 0;
            const auto strict = check(h, {options.capacity, relaxation::none});
            if (!strict) {
                if (sum.strict_failures++ == 0) {
                    sum.first_strict_failure = strict.report;
                }
                const auto relaxed = check(h, {options.capacity, relaxation::in_flight_hand_over});
                if (relaxed) {
                    sum.relaxed_steps += relaxed.relaxed_steps;
                } else if (sum.relaxed_failures++ == 0) {
                    sum.first_relaxed_failure = relaxed.report;
                }
            }
            if (options.jitter) {
                install_jitter(r);
            }
        }
        probe_hooks::after_claim = nullptr;
        probe_hooks::before_store = nullptr;
    };

    std::vector<std::thread> others;
    for (std::size_t t = 1; t < n_threads; ++t) {
        others.emplace_back(body, t);
    }
    body(0);
    for (auto& th : others) {
        th.join();
    }
    sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return sum;
}

} // namespace admf_test::lincheck
