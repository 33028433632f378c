// SPDX-License-Identifier: MIT
// Test-only: the multi-threaded ring checker of TESTING.md T1. Producers push self-checking
// items, consumers pop them with single or batch operations, and the run is judged by:
// - exactly once: a bitmap per consumer, merged at the end (no duplicate, no hole);
// - FIFO per producer: at each consumer, each producer's indices strictly increase;
// - torn slots: every item carries producer, index and two fields derived from them;
// - sum: the sum of a derived field over the popped items matches the merged bitmap;
// - lifetime: tracked ctor/dtor counters balance after the ring is destroyed with
//   elements still queued, and the live count before destruction equals what is queued.
// A watchdog aborts with a state dump when the run makes no progress for a while, so a
// hang fails fast instead of waiting for the ctest timeout.
//
// Termination without relying on "empty" (which a lock-free ring may report spuriously):
// consumers pop exactly `total - leave` items between them (they reserve quota in chunks
// before popping), so `leave` items stay queued. The main thread then pops half of those
// (checking them, and that they follow everything the consumers saw), measures what is
// left, and destroys the ring with it. Whatever the ring loses, duplicates or reorders
// shows up in the report; it cannot turn into a hang while leave >= 1.
#pragma once

#include <admf/core/platform.hpp>
#include <admf/ring/ring_for.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lifetime.hpp"
#include "seed.hpp"

namespace admf_test {

/// The element of every stress run: who pushed it, its index in that producer's stream,
/// and two fields derived from both, so a torn or stale slot cannot pass for a real item.
struct stress_item : tracked {
    std::uint64_t producer = 0;
    std::uint64_t index = 0;
    std::uint64_t mix = 0;
    std::uint64_t inverse = 0;

    static constexpr std::uint64_t mix_of(std::uint64_t p, std::uint64_t i) noexcept {
        return i * 0x9e37'79b9'7f4a'7c15ULL + p;
    }
    static constexpr std::uint64_t inverse_of(std::uint64_t p, std::uint64_t i) noexcept {
        return ~i ^ (p << 48);
    }

    stress_item() noexcept = default;
    stress_item(std::uint64_t p, std::uint64_t i) noexcept
        : producer(p), index(i), mix(mix_of(p, i)), inverse(inverse_of(p, i)) {}
    // Moving empties the source (it no longer passes intact()), so a ring that consumes
    // a producer's item on a failed push, after which the producer retries with it, is
    // caught as a torn item instead of passing unnoticed.
    stress_item(const stress_item&) noexcept = default;
    stress_item(stress_item&& other) noexcept
        : tracked(std::move(other)), producer(other.producer), index(other.index),
          mix(other.mix), inverse(other.inverse) {
        other.empty();
    }
    stress_item& operator=(const stress_item&) noexcept = default;
    stress_item& operator=(stress_item&& other) noexcept {
        tracked::operator=(std::move(other));
        producer = other.producer;
        index = other.index;
        mix = other.mix;
        inverse = other.inverse;
        other.empty();
        return *this;
    }
    ~stress_item() = default;

    [[nodiscard]] bool intact() const noexcept {
        return is_alive() && mix == mix_of(producer, index) && inverse == inverse_of(producer, index);
    }

private:
    void empty() noexcept {
        producer = index = ~std::uint64_t{0};
        mix = inverse = 0;
    }
};

struct stress_config {
    std::string label;                        // printed with the results
    std::size_t producers = 1;
    std::size_t consumers = 1;
    std::size_t capacity = 1024;              // requested; the ring may round it
    std::uint64_t items_per_producer = 0;
    std::optional<std::uint64_t> initial_sequence; // admf::initial_sequence for own rings
    bool mixed_ops = false;                   // batches of 1..1024 mixed with single ops
    std::uint64_t salt = 0;                   // distinguishes the random streams of cases
    std::chrono::seconds stall_limit{30};     // watchdog: abort after this long without progress
};

struct stress_report {
    std::string label;
    std::uint64_t seed = 0;
    std::size_t capacity = 0;                 // the ring's actual capacity
    std::uint64_t expected_total = 0;
    std::uint64_t pushed = 0;
    std::uint64_t popped = 0;                 // by consumer threads and the main drain
    std::uint64_t expected_left = 0;          // what should still be queued at destruction
    std::uint64_t left_in_ring = 0;           // size_approx() just before destruction
    std::uint64_t unreceived = 0;             // distinct items never popped
    std::uint64_t torn = 0;
    std::uint64_t fifo_violations = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t holes = 0;                  // missing items older than a received one
    std::uint64_t drain_failures = 0;
    std::uint64_t size_samples = 0;           // size_approx() calls by the main thread
    std::uint64_t size_overestimates = 0;     // ... above what can have been queued
    bool sum_matches = true;
    std::int64_t live_before_destroy = 0;
    std::int64_t constructed = 0;
    std::int64_t destroyed = 0;
    std::int64_t misuse = 0;
    double seconds = 0;
    std::vector<std::string> notes;

    [[nodiscard]] bool lifetime_ok() const noexcept {
        return constructed == destroyed && misuse == 0 &&
               live_before_destroy == static_cast<std::int64_t>(left_in_ring);
    }
    [[nodiscard]] bool ok() const noexcept {
        return pushed == expected_total && torn == 0 && fifo_violations == 0 &&
               duplicates == 0 && holes == 0 && drain_failures == 0 && sum_matches &&
               size_overestimates == 0 &&
               left_in_ring == expected_left && unreceived == left_in_ring && lifetime_ok();
    }
    [[nodiscard]] std::string describe() const {
        std::ostringstream s;
        s << label << " (ADMF_SEED=" << seed << ", capacity " << capacity << "): pushed "
          << pushed << "/" << expected_total << ", popped " << popped << ", left "
          << left_in_ring << " (expected " << expected_left << "), unreceived " << unreceived
          << ", torn " << torn << ", fifo violations " << fifo_violations << ", duplicates "
          << duplicates << ", holes " << holes << ", drain failures " << drain_failures
          << ", size_approx overestimates " << size_overestimates << "/" << size_samples
          << ", sum " << (sum_matches ? "ok" : "MISMATCH") << ", constructed " << constructed
          << ", destroyed " << destroyed << ", live before destroy " << live_before_destroy
          << ", misuse " << misuse << ", " << seconds << " s";
        for (const auto& n : notes) {
            s << "\n  " << n;
        }
        return s.str();
    }
};

/// Spin a few times, then yield: threads outnumber the two cores of CI machines, and a
/// thread that only spins would starve the one it waits for.
class backoff {
public:
    void pause() noexcept {
        if (++failures_ < 8) {
            admf::cpu_relax();
        } else {
            std::this_thread::yield();
        }
    }
    void reset() noexcept { failures_ = 0; }

private:
    unsigned failures_ = 0;
};

/// Aborts the process with a state dump when `progress()` stays the same for `limit`.
class watchdog {
public:
    watchdog(std::chrono::seconds limit, std::function<std::uint64_t()> progress,
             std::function<void()> dump)
        : limit_(limit), progress_(std::move(progress)), dump_(std::move(dump)),
          thread_([this] { run(); }) {}
    ~watchdog() {
        {
            const std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }
    watchdog(const watchdog&) = delete;
    watchdog& operator=(const watchdog&) = delete;

private:
    void run() {
        using clock = std::chrono::steady_clock;
        auto last_value = progress_();
        auto last_change = clock::now();
        std::unique_lock lock(mutex_);
        while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; })) {
            const auto value = progress_();
            const auto now = clock::now();
            if (value != last_value) {
                last_value = value;
                last_change = now;
            } else if (now - last_change >= limit_) {
                std::fprintf(stderr, "admf watchdog: no progress for %lld s; state:\n",
                             static_cast<long long>(limit_.count()));
                dump_();
                std::fflush(stdout);
                std::fflush(stderr);
                std::abort();
            }
        }
    }

    std::chrono::seconds limit_;
    std::function<std::uint64_t()> progress_;
    std::function<void()> dump_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_; // last: starts after the members it reads
};

/// The stall limit: ADMF_STALL_SECONDS if set (the watchdog self-test uses 2), else `fallback`.
inline std::chrono::seconds stall_limit(std::chrono::seconds fallback) {
    if (const char* env = std::getenv("ADMF_STALL_SECONDS"); env != nullptr && *env != '\0') {
        return std::chrono::seconds(std::strtoll(env, nullptr, 10));
    }
    return fallback;
}

namespace detail {

// A thread's progress, written only by that thread. Release/acquire: an observer that reads
// a count also sees the ring operations the thread completed before counting them.
struct alignas(128) progress_counter {
    std::atomic<std::uint64_t> value{0};
    void set(std::uint64_t v) noexcept { value.store(v, std::memory_order_release); }
    [[nodiscard]] std::uint64_t get() const noexcept { return value.load(std::memory_order_acquire); }
};

// What one consumer saw. Owned by its thread; read by the main thread after join().
class item_checker {
public:
    item_checker(std::size_t producers, std::uint64_t per_producer)
        : per_producer_(per_producer), producers_(producers),
          bits_((producers * per_producer + 63) / 64, 0), next_(producers, 0) {}

    // Records one popped item. noexcept: consume() runs it as a noexcept callback.
    void check(const stress_item& e) noexcept {
        ++popped;
        if (!e.intact() || e.producer >= producers_ || e.index >= per_producer_) {
            ++torn;
            note("torn item: alive=" + std::to_string(e.is_alive()) + " producer=" +
                 std::to_string(e.producer) + " index=" + std::to_string(e.index) +
                 " mix=" + std::to_string(e.mix) + " inverse=" + std::to_string(e.inverse));
            return;
        }
        const auto p = static_cast<std::size_t>(e.producer);
        // next_[p] = 1 + the last index seen from p (0: none yet).
        if (e.index < next_[p]) {
            ++fifo_violations;
            note("FIFO violation: producer " + std::to_string(p) + " index " +
                 std::to_string(e.index) + " after index " + std::to_string(next_[p] - 1));
        }
        next_[p] = e.index + 1;
        const std::uint64_t bit = p * per_producer_ + e.index;
        std::uint64_t& word = bits_[bit / 64];
        const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
        if ((word & mask) != 0) {
            ++duplicates;
            note("duplicate: producer " + std::to_string(p) + " index " + std::to_string(e.index));
        }
        word |= mask;
        sum += e.mix;
    }

    // The main drain comes after every consumer: it must see each producer's items past
    // everything any consumer saw.
    void start_after(const item_checker& other) {
        for (std::size_t p = 0; p != producers_; ++p) {
            next_[p] = std::max(next_[p], other.next_[p]);
        }
    }

    [[nodiscard]] const std::vector<std::uint64_t>& bits() const noexcept { return bits_; }

    std::uint64_t popped = 0;
    std::uint64_t torn = 0;
    std::uint64_t fifo_violations = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t sum = 0;
    std::vector<std::string> notes;

private:
    void note(std::string text) noexcept {
        if (notes.size() < 8) {
            try {
                notes.push_back(std::move(text));
            } catch (...) {
            }
        }
    }

    std::uint64_t per_producer_;
    std::size_t producers_;
    std::vector<std::uint64_t> bits_;
    std::vector<std::uint64_t> next_;
};

template <class Ring>
std::unique_ptr<Ring> make_stress_ring(const stress_config& cfg) {
    if (cfg.initial_sequence) {
        if constexpr (std::constructible_from<Ring, std::size_t, admf::initial_sequence>) {
            return std::make_unique<Ring>(cfg.capacity, admf::initial_sequence{*cfg.initial_sequence});
        } else {
            throw std::logic_error(cfg.label + ": this ring takes no initial_sequence");
        }
    } else {
        return std::make_unique<Ring>(cfg.capacity);
    }
}

constexpr std::size_t max_batch = 1024;

// Pushes items 0..n-1 of producer p. An item whose push failed is retried as the same
// object (the pattern real producers use), never rebuilt: a ring that moves from its
// argument and then reports failure delivers a moved-from item, which the checker sees.
template <class Ring>
void produce(Ring& ring, std::size_t p, const stress_config& cfg, std::uint64_t seed,
             progress_counter& progress) {
    rng random(seed);
    const std::uint64_t n = cfg.items_per_producer;
    // Batches are built only up to the capacity: a ring never takes more at once, and
    // building 1024 items to push 2 would make small-capacity runs measure the builder.
    const std::size_t batch_cap = std::min(max_batch, ring.capacity());
    // Built, not yet pushed: items next .. next + (pending.size() - first) - 1.
    std::vector<stress_item> pending;
    pending.reserve(batch_cap);
    std::size_t first = 0;
    std::uint64_t next = 0; // index of the next item to push
    std::uint64_t built = 0; // index of the next item to build
    auto build = [&](std::size_t count) { // makes at least `count` items pending (or all left)
        if (pending.size() - first >= count) {
            return;
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(first));
        first = 0;
        while (pending.size() < count && built < n) {
            pending.emplace_back(std::uint64_t{p}, built++);
        }
    };
    backoff wait;
    while (next < n) {
        std::size_t done = 0;
        const auto op = cfg.mixed_ops ? random.below(8) : 0;
        if (op == 4 && first == pending.size()) {
            // Nothing built and waiting: emplace straight from the arguments.
            if (ring.try_emplace(std::uint64_t{p}, next)) {
                done = 1;
                built = next + 1;
            }
        } else if (op < 5) {
            build(1);
            if (ring.try_push(std::move(pending[first]))) {
                done = 1;
                ++first;
            }
        } else {
            const auto want = 1 + random.below(std::min<std::uint64_t>(max_batch, n - next));
            const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(want, batch_cap));
            build(k);
            const std::size_t have = std::min(k, pending.size() - first);
            done = ring.try_push_n(pending.data() + first, have);
            first += done;
        }
        if (done != 0) {
            next += done;
            wait.reset();
            progress.set(next);
        } else {
            wait.pause();
        }
    }
}

template <class Ring>
void consume_items(Ring& ring, const stress_config& cfg, std::uint64_t seed,
                   std::atomic<std::uint64_t>& quota, item_checker& checker,
                   progress_counter& progress) {
    rng random(seed);
    std::vector<stress_item> out(cfg.mixed_ops ? max_batch : 0);
    stress_item one;
    backoff wait;
    auto check = [&checker](stress_item& e) noexcept { checker.check(e); };
    std::uint64_t chunk = 0; // reserved quota not yet popped
    for (;;) {
        if (chunk == 0) {
            auto left = quota.load(std::memory_order_relaxed);
            do {
                chunk = std::min<std::uint64_t>(left, 4096);
            } while (chunk != 0 &&
                     !quota.compare_exchange_weak(left, left - chunk, std::memory_order_relaxed));
            if (chunk == 0) {
                return;
            }
        }
        std::size_t got = 0;
        const auto op = cfg.mixed_ops ? random.below(10) : 0;
        if (op < 4) {
            if (ring.try_pop(one)) {
                check(one);
                got = 1;
            }
        } else {
            const auto k = static_cast<std::size_t>(
                std::min<std::uint64_t>(1 + random.below(max_batch), chunk));
            if (op < 7) {
                got = ring.try_pop_n(out.data(), k);
                for (std::size_t j = 0; j != got; ++j) {
                    check(out[j]);
                }
            } else {
                got = ring.consume(check, k);
            }
        }
        if (got != 0) {
            chunk -= got;
            wait.reset();
            progress.set(checker.popped);
        } else {
            wait.pause();
        }
    }
}

} // namespace detail

/// Runs one stress configuration over `Ring` (any admf::ring_for<Ring, stress_item>) and
/// reports what the checks found. Never throws for a misbehaving ring: the caller asserts
/// on the report, and the negative controls assert that it does catch broken rings.
template <class Ring>
    requires admf::ring_for<Ring, stress_item>
stress_report run_stress(const stress_config& cfg) {
    const std::size_t P = cfg.producers;
    const std::size_t C = cfg.consumers;
    const std::uint64_t per_producer = cfg.items_per_producer;
    const std::uint64_t total = P * per_producer;

    stress_report report;
    report.label = cfg.label;
    report.seed = run_seed();
    report.expected_total = total;

    const lifetime_snapshot start = lifetime_now();
    auto ring = detail::make_stress_ring<Ring>(cfg);
    report.capacity = ring->capacity();
    // Leave up to half the ring queued at destruction (at least one element), and keep
    // at least one free slot, so a ring that duplicates an item cannot block its producer.
    const std::uint64_t leave = std::min<std::uint64_t>(
        total, std::max<std::size_t>(1, report.capacity / 2));
    std::atomic<std::uint64_t> quota{total - leave};

    std::vector<detail::progress_counter> pushed(P);
    std::vector<detail::progress_counter> popped(C);
    std::vector<std::unique_ptr<detail::item_checker>> checkers;
    for (std::size_t c = 0; c != C; ++c) {
        checkers.push_back(std::make_unique<detail::item_checker>(P, per_producer));
    }

    std::printf("[stress] %s: %zu producer(s) x %llu items, %zu consumer(s), capacity %zu%s%s\n",
                cfg.label.c_str(), P, static_cast<unsigned long long>(per_producer), C,
                report.capacity, cfg.mixed_ops ? ", batches mixed with single ops" : "",
                cfg.initial_sequence ? ", initial sequence near 2^64" : "");
    std::fflush(stdout);

    const auto t0 = std::chrono::steady_clock::now();
    {
        const watchdog guard(
            stall_limit(cfg.stall_limit),
            [&] {
                std::uint64_t sum = 0;
                for (const auto& c : pushed) {
                    sum += c.get();
                }
                for (const auto& c : popped) {
                    sum += c.get();
                }
                return sum;
            },
            [&] {
                std::fprintf(stderr, "  case %s, ADMF_SEED=%llu, capacity %zu, size_approx %zu, quota left %llu\n",
                             cfg.label.c_str(), static_cast<unsigned long long>(report.seed),
                             report.capacity, ring->size_approx(),
                             static_cast<unsigned long long>(quota.load()));
                for (std::size_t p = 0; p != P; ++p) {
                    std::fprintf(stderr, "  producer %zu: pushed %llu of %llu\n", p,
                                 static_cast<unsigned long long>(pushed[p].get()),
                                 static_cast<unsigned long long>(per_producer));
                }
                for (std::size_t c = 0; c != C; ++c) {
                    std::fprintf(stderr, "  consumer %zu: popped %llu\n", c,
                                 static_cast<unsigned long long>(popped[c].get()));
                }
            });
        std::atomic<std::size_t> finished{0};
        std::vector<std::thread> threads;
        for (std::size_t c = 0; c != C; ++c) {
            threads.emplace_back([&, c] {
                detail::consume_items(*ring, cfg, stream_seed(cfg.salt, 1000 + c), quota,
                                      *checkers[c], popped[c]);
                finished.fetch_add(1, std::memory_order_relaxed);
            });
        }
        for (std::size_t p = 0; p != P; ++p) {
            threads.emplace_back([&, p] {
                detail::produce(*ring, p, cfg, stream_seed(cfg.salt, p), pushed[p]);
                finished.fetch_add(1, std::memory_order_relaxed);
            });
        }
        // Meanwhile the main thread observes the ring as a third party. size_approx() is
        // callable from any thread and promises "elements queued at some instant during
        // the call", so it cannot exceed capacity(), nor what the progress counters allow:
        // pushes counted after the call, plus the pushes that may be published but not yet
        // counted (one operation per producer), minus the pops counted before the call
        // (counted only after the ring released them).
        const std::uint64_t uncounted_pushes =
            P * (cfg.mixed_ops ? std::min(detail::max_batch, report.capacity) : 1);
        while (finished.load(std::memory_order_relaxed) != P + C) {
            std::uint64_t popped_before = 0;
            for (const auto& c : popped) {
                popped_before += c.get();
            }
            const std::size_t size = ring->size_approx();
            std::uint64_t pushed_after = 0;
            for (const auto& c : pushed) {
                pushed_after += c.get();
            }
            const std::uint64_t limit = std::min<std::uint64_t>(
                report.capacity, pushed_after + uncounted_pushes - std::min(popped_before, pushed_after + uncounted_pushes));
            ++report.size_samples;
            if (size > limit) {
                ++report.size_overestimates;
                if (report.size_overestimates <= 3) {
                    report.notes.push_back("size_approx() returned " + std::to_string(size) +
                                           " when at most " + std::to_string(limit) +
                                           " elements can have been queued (capacity " +
                                           std::to_string(report.capacity) + ")");
                }
            }
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        for (auto& t : threads) {
            t.join();
        }
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    for (const auto& c : pushed) {
        report.pushed += c.get();
    }

    // Main drain: half of what was left, checked to follow everything consumers saw.
    detail::item_checker drain(P, per_producer);
    for (const auto& c : checkers) {
        drain.start_after(*c);
    }
    {
        stress_item e;
        for (std::uint64_t k = 0; k != leave / 2; ++k) {
            if (ring->try_pop(e)) {
                drain.check(e);
            } else {
                ++report.drain_failures;
            }
        }
    }
    report.expected_left = leave - leave / 2;
    report.left_in_ring = ring->size_approx();
    report.live_before_destroy = (lifetime_now() - start).live();
    ring.reset(); // destroys the elements still queued
    const lifetime_snapshot used = lifetime_now() - start;
    report.constructed = used.constructed;
    report.destroyed = used.destroyed;
    report.misuse = used.misuse;

    // Merge what every consumer and the drain saw.
    checkers.push_back(std::make_unique<detail::item_checker>(std::move(drain)));
    std::vector<std::uint64_t> merged(checkers.front()->bits().size(), 0);
    std::uint64_t popped_sum = 0;
    for (const auto& c : checkers) {
        report.popped += c->popped;
        report.torn += c->torn;
        report.fifo_violations += c->fifo_violations;
        report.duplicates += c->duplicates;
        popped_sum += c->sum;
        for (std::size_t w = 0; w != merged.size(); ++w) {
            report.duplicates += static_cast<std::uint64_t>(std::popcount(merged[w] & c->bits()[w]));
            merged[w] |= c->bits()[w];
        }
        for (const auto& n : c->notes) {
            if (report.notes.size() < 16) {
                report.notes.push_back(n);
            }
        }
    }

    // Per producer: received items, holes below the newest received one, expected sum.
    std::uint64_t received = 0;
    std::uint64_t expected_sum = 0;
    for (std::size_t p = 0; p != P; ++p) {
        std::uint64_t count = 0;
        std::uint64_t newest = 0; // 1 + highest received index
        for (std::uint64_t i = 0; i != per_producer;) {
            const std::uint64_t bit = p * per_producer + i;
            const std::uint64_t word = merged[bit / 64];
            if (bit % 64 == 0 && per_producer - i >= 64 && word == ~std::uint64_t{0}) {
                count += 64; // fast path: 64 consecutive items all received
                expected_sum += 64 * stress_item::mix_of(p, i) + 2016 * 0x9e37'79b9'7f4a'7c15ULL;
                newest = i + 64;
                i += 64;
                continue;
            }
            if ((word >> (bit % 64)) & 1) {
                ++count;
                expected_sum += stress_item::mix_of(p, i);
                newest = i + 1;
            }
            ++i;
        }
        if (count < newest) {
            report.holes += newest - count;
            report.notes.push_back("producer " + std::to_string(p) + ": " +
                                   std::to_string(newest - count) +
                                   " item(s) missing before index " + std::to_string(newest - 1));
        }
        received += count;
    }
    report.unreceived = total - received;
    report.sum_matches = popped_sum == expected_sum;

    std::printf("[stress] %s: %.2f s, %.2f M items/s, %s\n", cfg.label.c_str(), report.seconds,
                static_cast<double>(total) / report.seconds / 1e6,
                report.ok() ? "clean" : "violations found");
    std::fflush(stdout);
    return report;
}

} // namespace admf_test
