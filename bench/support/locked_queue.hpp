// SPDX-License-Identifier: MIT
// The textbook baseline: a bounded std::deque behind one std::mutex and two condition variables.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace admf::bench {

// Design: what a team writes before it reaches for a lock-free queue. Any number of
// producers and consumers; every operation takes `mutex_`. A full queue makes a producer
// wait on `not_full_`, an empty one makes a consumer wait on `not_empty_`, each for at most
// `patience` (so the benchmark can still stop a run); the other side notifies only when a
// waiter is registered (`*_waiters_`, read under the lock, so no wake-up is lost), which
// spares the futex syscall while both sides keep up. Bounded at `capacity` like the rings.
// Costs: a lock round trip per element (per batch in pop_batch), and a futex wake-up
// whenever the other side was asleep: that wake-up dominates its round-trip latency.
template <class T>
class locked_queue {
public:
    using duration = std::chrono::microseconds;

    explicit locked_queue(std::size_t capacity) : capacity_(capacity) {}

    /// Any thread. Appends `value`, waiting up to `patience` for room; false if still full.
    bool push(const T& value, duration patience) {
        std::unique_lock lock(mutex_);
        if (items_.size() == capacity_) {
            ++push_waiters_;
            const bool room =
                not_full_.wait_for(lock, patience, [this] { return items_.size() < capacity_; });
            --push_waiters_;
            if (!room) {
                return false;
            }
        }
        items_.push_back(value);
        const bool wake = pop_waiters_ != 0;
        lock.unlock();
        if (wake) {
            not_empty_.notify_one();
        }
        return true;
    }

    /// Any thread. Takes the oldest element, waiting up to `patience`; false if still empty.
    bool pop(T& out, duration patience) {
        std::unique_lock lock(mutex_);
        if (!wait_not_empty(lock, patience)) {
            return false;
        }
        out = items_.front();
        items_.pop_front();
        const bool wake = push_waiters_ != 0;
        lock.unlock();
        if (wake) {
            not_full_.notify_one();
        }
        return true;
    }

    /// Any thread. Copies up to `max` elements into `buffer` under one lock, then calls f on
    /// each outside the lock. Waits up to `patience` for the first element.
    template <class F>
    std::size_t pop_batch(F& f, std::size_t max, std::vector<T>& buffer, duration patience) {
        std::unique_lock lock(mutex_);
        if (!wait_not_empty(lock, patience)) {
            return 0;
        }
        const std::size_t count = items_.size() < max ? items_.size() : max;
        buffer.assign(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(count));
        items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(count));
        const bool wake = push_waiters_ != 0;
        lock.unlock();
        if (wake) {
            not_full_.notify_all();
        }
        for (const T& e : buffer) {
            f(e);
        }
        return count;
    }

private:
    bool wait_not_empty(std::unique_lock<std::mutex>& lock, duration patience) {
        if (!items_.empty()) {
            return true;
        }
        ++pop_waiters_;
        const bool any = not_empty_.wait_for(lock, patience, [this] { return !items_.empty(); });
        --pop_waiters_;
        return any;
    }

    std::mutex mutex_;
    std::condition_variable not_empty_;
    std::condition_variable not_full_;
    std::deque<T> items_;
    std::size_t capacity_;
    unsigned push_waiters_ = 0;
    unsigned pop_waiters_ = 0;
};

} // namespace admf::bench
