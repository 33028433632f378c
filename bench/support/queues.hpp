// SPDX-License-Identifier: MIT
// One shape for every queue the ring benchmark drives: admf's four rings and the peers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/mpsc_ring.hpp>
#include <admf/ring/spsc_ring.hpp>

#include "support/locked_queue.hpp"

// Peers are compiled only where their headers are found (and, for Boost and moodycamel,
// where CMake's ADMF_WITH_* options allow them: bench/CMakeLists.txt sets these macros).
#ifndef ADMF_BENCH_WITH_BOOST
#define ADMF_BENCH_WITH_BOOST 1
#endif
#ifndef ADMF_BENCH_WITH_MOODYCAMEL
#define ADMF_BENCH_WITH_MOODYCAMEL 1
#endif

#if ADMF_BENCH_WITH_BOOST && __has_include(<boost/lockfree/spsc_queue.hpp>) &&                   \
    __has_include(<boost/lockfree/queue.hpp>)
#define ADMF_BENCH_HAVE_BOOST 1
#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include <admf/ring/boost_spsc_ring.hpp>
#else
#define ADMF_BENCH_HAVE_BOOST 0
#endif

#if ADMF_BENCH_WITH_MOODYCAMEL && __has_include(<concurrentqueue/concurrentqueue.h>)
#define ADMF_BENCH_HAVE_CONCURRENTQUEUE 1
#include <concurrentqueue/concurrentqueue.h>

#include <admf/ring/moodycamel_ring.hpp>
#else
#define ADMF_BENCH_HAVE_CONCURRENTQUEUE 0
#endif

#if __has_include(<readerwriterqueue/readerwriterqueue.h>)
#define ADMF_BENCH_HAVE_READERWRITERQUEUE 1
#include <readerwriterqueue/readerwriterqueue.h>
#else
#define ADMF_BENCH_HAVE_READERWRITERQUEUE 0
#endif

#if __has_include(<atomic_queue/atomic_queue.h>)
#define ADMF_BENCH_HAVE_ATOMIC_QUEUE 1
#include <atomic_queue/atomic_queue.h>
#else
#define ADMF_BENCH_HAVE_ATOMIC_QUEUE 0
#endif

namespace admf::bench {

// The shape (each adapter below):
//   Q(std::size_t capacity, unsigned producer_count)  capacity in elements
//   bool try_push(unsigned producer, const T&)    only from producer thread `producer`
//   bool try_pop(T&)                               only from the one consumer thread
//   std::size_t pop_batch(F& f, std::size_t max)  optional: the batched consumer; calls
//                                                  f(const T&) on up to `max` elements
//   static constexpr bool multi_producer          whether 2P->1C may run on it
//   static constexpr const char* batch_api        what "batched" means for it (legend)
// try_ calls never block for long: a failed call returns false and the benchmark waits
// through its backoff, identically for every queue (locked_queue waits on its condition
// variable for up to `locked_patience` first, as a blocking queue does).

inline constexpr auto locked_patience = std::chrono::microseconds(1000);

/// admf::spsc_ring, admf::mpsc_ring, admf::mpmc_ring and the two adapters, through ring_for only.
template <class Ring>
class admf_ring_queue {
public:
    using value_type = typename Ring::value_type;
    static constexpr bool multi_producer = Ring::producer_mode == producers::many;
    static constexpr const char* batch_api = "consume(f, 256) in place";

    admf_ring_queue(std::size_t capacity, unsigned /*producer_count*/) : ring_(capacity) {}

    bool try_push(unsigned /*producer*/, const value_type& v) { return ring_.try_push(v); }
    bool try_pop(value_type& out) { return ring_.try_pop(out); }
    template <class F>
    std::size_t pop_batch(F& f, std::size_t max) {
        // noexcept lets mpmc_ring claim the whole run with one CAS.
        return ring_.consume([&f](value_type& e) noexcept { f(e); }, max);
    }

private:
    Ring ring_;
};

template <class T>
using spsc_ring_queue = admf_ring_queue<spsc_ring<T>>;
template <class T>
using mpmc_ring_queue = admf_ring_queue<mpmc_ring<T>>;
template <class T>
using mpsc_ring_queue = admf_ring_queue<mpsc_ring<T>>;

/// std::mutex + std::deque + std::condition_variable (support/locked_queue.hpp).
template <class T>
class mutex_queue {
public:
    using value_type = T;
    static constexpr bool multi_producer = true;
    static constexpr const char* batch_api = "copy up to 256 out under one lock";

    mutex_queue(std::size_t capacity, unsigned /*producer_count*/) : queue_(capacity) {
        buffer_.reserve(256);
    }

    bool try_push(unsigned /*producer*/, const T& v) { return queue_.push(v, locked_patience); }
    bool try_pop(T& out) { return queue_.pop(out, locked_patience); }
    template <class F>
    std::size_t pop_batch(F& f, std::size_t max) {
        return queue_.pop_batch(f, max, buffer_, locked_patience);
    }

private:
    locked_queue<T> queue_;
    std::vector<T> buffer_; // consumer only
};

#if ADMF_BENCH_HAVE_BOOST
template <class T>
using boost_spsc_ring_queue = admf_ring_queue<boost_spsc_ring<T>>;

/// boost::lockfree::spsc_queue, run-time sized (as boost_spsc_ring uses it).
template <class T>
class boost_spsc_queue {
public:
    using value_type = T;
    static constexpr bool multi_producer = false;
    static constexpr const char* batch_api = "consume_all(f) in place (all available)";

    boost_spsc_queue(std::size_t capacity, unsigned /*producer_count*/) : queue_(capacity) {}

    bool try_push(unsigned /*producer*/, const T& v) { return queue_.push(v); }
    bool try_pop(T& out) { return queue_.pop(out); }
    template <class F>
    std::size_t pop_batch(F& f, std::size_t /*max*/) {
        return queue_.consume_all(f);
    }

private:
    boost::lockfree::spsc_queue<T> queue_;
};

/// boost::lockfree::queue with `capacity` preallocated nodes; bounded_push never allocates.
template <class T>
class boost_queue {
public:
    using value_type = T;
    static constexpr bool multi_producer = true;

    boost_queue(std::size_t capacity, unsigned /*producer_count*/) : queue_(capacity) {}

    bool try_push(unsigned /*producer*/, const T& v) { return queue_.bounded_push(v); }
    bool try_pop(T& out) { return queue_.pop(out); }

private:
    boost::lockfree::queue<T> queue_;
};
#endif

#if ADMF_BENCH_HAVE_CONCURRENTQUEUE
template <class T>
using moodycamel_ring_queue = admf_ring_queue<moodycamel_ring<T>>;

/// moodycamel::ConcurrentQueue used as its author recommends for speed: one ProducerToken
/// per producer, a ConsumerToken, try_dequeue_bulk. try_enqueue never allocates, so the
/// queue is bounded by its preallocated block pool: ConcurrentQueue(capacity, producers, 0)
/// sizes the pool so every producer can hold `capacity` elements. A token producer keeps
/// the blocks it once used, so before the run each producer fills and the consumer drains
/// `capacity` elements: every producer then owns its share, and one producer cannot take the
/// whole pool and starve the other. Capacity is therefore at least `capacity` per producer
/// (up to the pool's spare blocks), not an exact bound like the rings'.
template <class T>
class concurrent_queue {
public:
    using value_type = T;
    static constexpr bool multi_producer = true;
    static constexpr const char* batch_api = "try_dequeue_bulk(ctok, buf, 256) copies out";

    concurrent_queue(std::size_t capacity, unsigned producer_count)
        : queue_(capacity, producer_count, 0), consumer_(queue_), buffer_(256) {
        for (unsigned p = 0; p < producer_count; ++p) {
            producers_.emplace_back(queue_);
        }
        for (auto& token : producers_) {
            for (std::size_t i = 0; i < capacity && queue_.try_enqueue(token, T{}); ++i) {
            }
        }
        T sink{};
        while (queue_.try_dequeue(consumer_, sink)) {
        }
    }

    bool try_push(unsigned producer, const T& v) {
        return queue_.try_enqueue(producers_[producer], v);
    }
    bool try_pop(T& out) { return queue_.try_dequeue(consumer_, out); }
    template <class F>
    std::size_t pop_batch(F& f, std::size_t max) {
        const std::size_t count = queue_.try_dequeue_bulk(
            consumer_, buffer_.data(), max < buffer_.size() ? max : buffer_.size());
        for (std::size_t i = 0; i < count; ++i) {
            f(buffer_[i]);
        }
        return count;
    }

private:
    moodycamel::ConcurrentQueue<T> queue_;
    std::deque<moodycamel::ProducerToken> producers_; // deque: tokens never move
    moodycamel::ConsumerToken consumer_;
    std::vector<T> buffer_; // consumer only
};
#endif

#if ADMF_BENCH_HAVE_READERWRITERQUEUE
/// moodycamel::ReaderWriterQueue(capacity) with try_enqueue (never allocates). It has no
/// bulk dequeue, so it runs one-at-a-time only. It holds at least `capacity` elements
/// (its blocks leave one slot each unused, so it rounds up).
template <class T>
class reader_writer_queue {
public:
    using value_type = T;
    static constexpr bool multi_producer = false;

    reader_writer_queue(std::size_t capacity, unsigned /*producer_count*/) : queue_(capacity) {}

    bool try_push(unsigned /*producer*/, const T& v) { return queue_.try_enqueue(v); }
    bool try_pop(T& out) { return queue_.try_dequeue(out); }

private:
    moodycamel::ReaderWriterQueue<T> queue_;
};
#endif

#if ADMF_BENCH_HAVE_ATOMIC_QUEUE
/// atomic_queue::AtomicQueueB2 (run-time capacity, any element type, rounded up to a power
/// of two), MAXIMIZE_THROUGHPUT on, TOTAL_ORDER off; `Spsc` selects its SPSC form. No bulk
/// API, so one-at-a-time only. Its try_pop claims a slot, then spins inside the queue until
/// the producer that claimed it has finished writing.
template <class T, bool Spsc>
class atomic_queue_adapter {
public:
    using value_type = T;
    static constexpr bool multi_producer = !Spsc;

    atomic_queue_adapter(std::size_t capacity, unsigned /*producer_count*/)
        : queue_(static_cast<unsigned>(capacity)) {}

    bool try_push(unsigned /*producer*/, const T& v) { return queue_.try_push(v); }
    bool try_pop(T& out) { return queue_.try_pop(out); }

private:
    atomic_queue::AtomicQueueB2<T, std::allocator<T>, /*MAXIMIZE_THROUGHPUT=*/true,
                                /*TOTAL_ORDER=*/false, /*SPSC=*/Spsc>
        queue_;
};

template <class T>
using atomic_queue_spsc = atomic_queue_adapter<T, true>;
template <class T>
using atomic_queue_mpmc = atomic_queue_adapter<T, false>;
#endif

/// Self-test only (admf-ring-bench --self-test): an spsc_ring that silently loses the
/// 1000th pushed element and hands out the 2000th popped one twice, so a test can show the
/// checker catches both and the exit status reports them. One-at-a-time consumer only.
template <class T>
class faulty_spsc_ring {
public:
    using value_type = T;
    static constexpr bool multi_producer = false;

    faulty_spsc_ring(std::size_t capacity, unsigned /*producer_count*/) : ring_(capacity) {}

    bool try_push(unsigned /*producer*/, const T& v) {
        if (pushes_ == 1000) {
            ++pushes_;
            return true; // "accepted" and dropped
        }
        if (!ring_.try_push(v)) {
            return false;
        }
        ++pushes_;
        return true;
    }
    bool try_pop(T& out) {
        if (replay_) {
            replay_ = false;
            out = last_;
            return true;
        }
        if (!ring_.try_pop(out)) {
            return false;
        }
        if (++pops_ == 2000) {
            last_ = out;
            replay_ = true; // duplicate it on the next call
        }
        return true;
    }

private:
    spsc_ring<T> ring_;
    std::uint64_t pushes_ = 0; // producer only
    std::uint64_t pops_ = 0;   // consumer only
    T last_{};
    bool replay_ = false;
};

/// Whether Q has a batched consumer.
template <class Q>
inline constexpr bool has_pop_batch = requires(Q& q, void (*f)(const typename Q::value_type&)) {
    q.pop_batch(f, std::size_t{1});
};

} // namespace admf::bench
