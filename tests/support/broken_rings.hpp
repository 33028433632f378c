// SPDX-License-Identifier: MIT
// Test-only: deliberately broken rings, the negative controls of the stress checker
// (TESTING.md T10: a check that cannot fail proves nothing). Each wraps a correct ring of
// stress_item and breaks exactly one promise, for producer 0's items only, so a test can
// assert that admf_test::run_stress reports that one violation.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include <admf/ring/ring_for.hpp>

#include "ring_stress.hpp"

namespace admf_test::broken {

/// Index of producer 0's item that the single-fault wrappers break.
inline constexpr std::uint64_t victim_index = 777;

/// Forwards everything to `Inner`; every producer operation goes through
/// Derived::push_one and every consumer operation through Derived::pop_one, so a wrapper
/// breaks a promise by redefining one of the two.
template <class Derived, class Inner>
class wrapped_ring {
public:
    using value_type = stress_item;
    static constexpr admf::producers producer_mode = Inner::producer_mode;
    static constexpr admf::consumers consumer_mode = Inner::consumer_mode;

    explicit wrapped_ring(std::size_t capacity) : inner_(capacity) {}
    wrapped_ring(const wrapped_ring&) = delete;
    wrapped_ring& operator=(const wrapped_ring&) = delete;

    template <class... Args>
        requires std::constructible_from<stress_item, Args...>
    [[nodiscard]] bool try_emplace(Args&&... args) {
        stress_item e(std::forward<Args>(args)...);
        return self().push_one(e);
    }
    template <class U>
        requires std::constructible_from<stress_item, U&&>
    [[nodiscard]] bool try_push(U&& value) {
        if constexpr (std::is_same_v<U, stress_item> || std::is_same_v<U, stress_item&>) {
            return self().push_one(value); // moved from only when it is queued
        } else {
            stress_item e(std::forward<U>(value));
            return self().push_one(e);
        }
    }
    template <class It>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) {
        std::size_t done = 0;
        for (; done != n && self().push_one(*first); ++done, ++first) {
        }
        return done;
    }
    [[nodiscard]] bool try_pop(stress_item& out) { return self().pop_one(out); }
    template <class OutIt>
    [[nodiscard]] std::size_t try_pop_n(OutIt out, std::size_t max) {
        std::size_t done = 0;
        stress_item e;
        for (; done != max && self().pop_one(e); ++done) {
            *out++ = std::move(e);
        }
        return done;
    }
    template <class F>
    std::size_t consume(F&& f, std::size_t max) {
        std::size_t done = 0;
        stress_item e;
        for (; done != max && self().pop_one(e); ++done) {
            f(e);
        }
        return done;
    }
    [[nodiscard]] std::size_t size_approx() const noexcept { return inner_.size_approx(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return inner_.capacity(); }

    // Defaults: the correct behaviour. push_one moves from `e` only when it queues it.
    bool push_one(stress_item& e) { return inner_.try_push(std::move(e)); }
    bool pop_one(stress_item& out) { return inner_.try_pop(out); }

protected:
    // Pushes into the inner ring, waiting for room (the consumers are draining it).
    void push_surely(stress_item& e) {
        while (!inner_.try_push(std::move(e))) {
            std::this_thread::yield();
        }
    }

    Inner inner_;

private:
    Derived& self() { return static_cast<Derived&>(*this); }
};

/// Swaps producer 0's items i and i + 1 for every i = 500 (mod 1000): a FIFO violation
/// within one producer's stream. Requires that producer 0's last index is not 500 mod 1000
/// (it holds item i back until item i + 1 arrives).
template <class Inner>
class reordering_ring : public wrapped_ring<reordering_ring<Inner>, Inner> {
    using base = wrapped_ring<reordering_ring<Inner>, Inner>;

public:
    using base::base;

    bool push_one(stress_item& e) {
        if (e.producer != 0) {
            return this->inner_.try_push(std::move(e));
        }
        // Only producer 0's thread gets here: held_ needs no synchronisation.
        if (e.index % 1000 == 500 && !held_) {
            held_.emplace(std::move(e));
            return true;
        }
        if (!this->inner_.try_push(std::move(e))) {
            return false;
        }
        if (held_) {
            this->push_surely(*held_);
            held_.reset();
        }
        return true;
    }

private:
    std::optional<stress_item> held_;
};

/// Loses producer 0's item victim_index: the push reports success, nothing is queued.
template <class Inner>
class dropping_ring : public wrapped_ring<dropping_ring<Inner>, Inner> {
    using base = wrapped_ring<dropping_ring<Inner>, Inner>;

public:
    using base::base;

    bool push_one(stress_item& e) {
        if (e.producer == 0 && e.index == victim_index) {
            return true;
        }
        return this->inner_.try_push(std::move(e));
    }
};

/// Queues producer 0's item victim_index twice.
template <class Inner>
class duplicating_ring : public wrapped_ring<duplicating_ring<Inner>, Inner> {
    using base = wrapped_ring<duplicating_ring<Inner>, Inner>;

public:
    using base::base;

    bool push_one(stress_item& e) {
        if (e.producer == 0 && e.index == victim_index) {
            stress_item copy(e);
            if (!this->inner_.try_push(std::move(copy))) {
                return false;
            }
            this->push_surely(e);
            return true;
        }
        return this->inner_.try_push(std::move(e));
    }
};

/// Corrupts one derived field of producer 0's item victim_index: a torn slot.
template <class Inner>
class tearing_ring : public wrapped_ring<tearing_ring<Inner>, Inner> {
    using base = wrapped_ring<tearing_ring<Inner>, Inner>;

public:
    using base::base;

    bool push_one(stress_item& e) {
        if (e.producer == 0 && e.index == victim_index) {
            stress_item torn(e); // the producer's own item stays intact for a retry
            torn.inverse ^= 1;
            return this->inner_.try_push(std::move(torn));
        }
        return this->inner_.try_push(std::move(e));
    }
};

/// Constructs one extra element (a copy of producer 0's item victim_index) that is never
/// destroyed: a leak the lifetime counters must see. The copy lives in static storage, so
/// LeakSanitizer has nothing to report and the process stays clean.
template <class Inner>
class leaking_ring : public wrapped_ring<leaking_ring<Inner>, Inner> {
    using base = wrapped_ring<leaking_ring<Inner>, Inner>;

public:
    using base::base;

    bool push_one(stress_item& e) {
        if (e.producer == 0 && e.index == victim_index && !leaked_) {
            alignas(stress_item) static std::byte storage[sizeof(stress_item)];
            ::new (static_cast<void*>(storage)) stress_item(e);
            leaked_ = true;
        }
        return this->inner_.try_push(std::move(e));
    }

private:
    bool leaked_ = false; // producer 0's thread only
};

/// Stops delivering after `stuck_after` pops: consumers see an empty ring forever and the
/// producers a full one, so the run stalls. Used only by the watchdog self-test.
template <class Inner>
class stuck_ring : public wrapped_ring<stuck_ring<Inner>, Inner> {
    using base = wrapped_ring<stuck_ring<Inner>, Inner>;

public:
    using base::base;
    static constexpr std::uint64_t stuck_after = 10'000;

    bool pop_one(stress_item& out) {
        if (delivered_.load(std::memory_order_relaxed) >= stuck_after) {
            return false;
        }
        if (!this->inner_.try_pop(out)) {
            return false;
        }
        delivered_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }

private:
    std::atomic<std::uint64_t> delivered_{0};
};

} // namespace admf_test::broken
