// SPDX-License-Identifier: MIT
// The strawman admf-bus-bench measures admf::bus against: the seed's "basic event bus"
// (a queue, one worker thread, a dict of handlers by type) written the obvious way in C++.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "support/machine.hpp"

namespace admf::bench {

// Design: no cleverness, on purpose (it is the baseline the issue names). One std::mutex
// guards an unbounded std::deque of std::variant<Events...> (the seed's Python queue is
// unbounded too); publish locks, pushes, unlocks and calls notify_one; publish_batch does
// the same once for the whole batch. One worker thread waits on the condition variable,
// pops one event per lock, and calls the handlers of its type, found per event in an
// std::unordered_map<std::type_index, std::vector<std::function<...>>>, outside the lock
// (so a handler may publish). Correct, not fast: a lock round trip per event on both sides,
// a hash lookup and std::function calls per event, a futex wake-up whenever the worker
// had gone to sleep.
// Threads: subscribe before start() only (the map is then read without a lock); publish
// from any thread, including handlers; stop() from any thread but the worker.
template <class... Events>
class naive_bus {
public:
    naive_bus() = default;
    naive_bus(const naive_bus&) = delete;
    naive_bus& operator=(const naive_bus&) = delete;
    ~naive_bus() { stop(); }

    /// Before start() only. `f` is called as f(const E&) on the worker thread.
    template <class E, class F>
    void subscribe(F f) {
        if (worker_.joinable()) {
            throw std::logic_error("naive_bus: subscribe after start");
        }
        handlers_[std::type_index(typeid(E))].push_back(
            [f = std::move(f)](const void* e) mutable { f(*static_cast<const E*>(e)); });
    }

    /// Starts the worker, pinned to `cpu` (negative: unpinned).
    void start(int cpu = -1) {
        worker_ = std::thread([this, cpu] {
            pin_this_thread(cpu);
            run();
        });
    }

    /// Queues `e`; false after stop().
    template <class E>
    bool publish(const E& e) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) {
                return false;
            }
            queue_.emplace_back(std::in_place_type<E>, e);
        }
        ready_.notify_one();
        return true;
    }

    /// Queues all of `events` under one lock; returns how many (0 after stop()).
    template <class E>
    std::size_t publish_batch(std::span<const E> events) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) {
                return 0;
            }
            for (const E& e : events) {
                queue_.emplace_back(std::in_place_type<E>, e);
            }
        }
        ready_.notify_one();
        return events.size();
    }

    /// Refuses further publishes, lets the worker drain the queue, joins it. Idempotent.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        ready_.notify_one();
        if (worker_.joinable()) {
            worker_.join();
        }
    }

private:
    void run() {
        for (;;) {
            std::variant<Events...> item;
            {
                std::unique_lock lock(mutex_);
                ready_.wait(lock, [this] { return !queue_.empty() || stopping_; });
                if (queue_.empty()) {
                    return; // stopping, and everything was delivered
                }
                item = std::move(queue_.front());
                queue_.pop_front();
            }
            std::visit([this](const auto& e) { dispatch(e); }, item);
        }
    }

    template <class E>
    void dispatch(const E& e) {
        const auto it = handlers_.find(std::type_index(typeid(E)));
        if (it == handlers_.end()) {
            return;
        }
        for (auto& handler : it->second) {
            handler(&e);
        }
    }

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::variant<Events...>> queue_; // guarded by mutex_
    bool stopping_ = false;                     // guarded by mutex_
    std::unordered_map<std::type_index, std::vector<std::function<void(const void*)>>> handlers_;
    std::thread worker_;
};

} // namespace admf::bench
