// SPDX-License-Identifier: MIT
// Test-only: counts constructions and destructions of tracked element types, from any
// thread, so a test can prove every element a ring built was destroyed exactly once
// (rigtorp SPSCQueueTest's TestType idea, made cheap enough for stress runs).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace admf_test {

/// Totals of the lifetime counters at one instant; subtract two to get what happened between.
struct lifetime_snapshot {
    std::int64_t constructed = 0;
    std::int64_t destroyed = 0;
    std::int64_t misuse = 0; // destroyed twice, or assigned to/from a destroyed object

    [[nodiscard]] std::int64_t live() const noexcept { return constructed - destroyed; }
    friend lifetime_snapshot operator-(const lifetime_snapshot& a, const lifetime_snapshot& b) {
        return {a.constructed - b.constructed, a.destroyed - b.destroyed, a.misuse - b.misuse};
    }
};

namespace detail {
// One block per thread, written only by that thread (relaxed load + store, no RMW, so a
// stress run does not serialise its threads on shared counters) and summed by any thread.
struct alignas(128) lifetime_block {
    std::atomic<std::int64_t> constructed{0};
    std::atomic<std::int64_t> destroyed{0};

    static void bump(std::atomic<std::int64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};

class lifetime_registry {
public:
    static lifetime_registry& instance() {
        static lifetime_registry registry;
        return registry;
    }
    lifetime_block& acquire() {
        const std::lock_guard lock(mutex_);
        return *blocks_.emplace_back(std::make_unique<lifetime_block>());
    }
    lifetime_snapshot total() {
        const std::lock_guard lock(mutex_);
        lifetime_snapshot s;
        for (const auto& b : blocks_) {
            s.constructed += b->constructed.load(std::memory_order_relaxed);
            s.destroyed += b->destroyed.load(std::memory_order_relaxed);
        }
        s.misuse = misuse_.load(std::memory_order_relaxed);
        return s;
    }
    void note_misuse() noexcept { misuse_.fetch_add(1, std::memory_order_relaxed); }

private:
    std::mutex mutex_;
    std::vector<std::unique_ptr<lifetime_block>> blocks_; // blocks outlive their threads
    std::atomic<std::int64_t> misuse_{0};
};

inline lifetime_block& this_thread_block() {
    thread_local lifetime_block& block = lifetime_registry::instance().acquire();
    return block;
}
} // namespace detail

/// Counter totals now. Exact when the threads that construct or destroy tracked objects
/// have been joined (or are idle); a watchdog may read it at any time.
inline lifetime_snapshot lifetime_now() { return detail::lifetime_registry::instance().total(); }

/// Base of tracked element types: every constructor counts one construction, the destructor
/// one destruction; a destroyed object is marked, so a second destruction or an assignment
/// involving a dead object counts as misuse. Copy and move keep the payload semantics of
/// the derived type.
class tracked {
public:
    tracked() noexcept { born(); }
    tracked(const tracked&) noexcept { born(); }
    tracked(tracked&&) noexcept { born(); }
    tracked& operator=(const tracked& other) noexcept {
        check(other);
        return *this;
    }
    tracked& operator=(tracked&& other) noexcept {
        check(other);
        return *this;
    }
    ~tracked() {
        if (state_ != alive) {
            detail::lifetime_registry::instance().note_misuse();
        }
        state_ = dead;
        detail::lifetime_block::bump(detail::this_thread_block().destroyed);
    }

    /// False for an object that was destroyed (or never constructed): a torn or stale slot.
    [[nodiscard]] bool is_alive() const noexcept { return state_ == alive; }

private:
    static constexpr std::uint64_t alive = 0x600d'a11e'0b1e'c700;
    static constexpr std::uint64_t dead = 0xdead'0b1e'c7de'ad00;

    void born() noexcept {
        state_ = alive;
        detail::lifetime_block::bump(detail::this_thread_block().constructed);
    }
    void check(const tracked& other) const noexcept {
        if (state_ != alive || other.state_ != alive) {
            detail::lifetime_registry::instance().note_misuse();
        }
    }

    std::uint64_t state_ = alive;
};

/// A tracked int: the element type of the single-threaded lifetime tests. Moving from it
/// leaves moved_from in the source, so a test sees whether a ring consumed an argument.
struct tracked_int : tracked {
    static constexpr int moved_from = -1'000'000;
    int value = 0;

    tracked_int() noexcept = default;
    explicit tracked_int(int v) noexcept : value(v) {}
    tracked_int(const tracked_int&) noexcept = default;
    tracked_int(tracked_int&& other) noexcept : tracked(std::move(other)), value(other.value) {
        other.value = moved_from;
    }
    tracked_int& operator=(const tracked_int&) noexcept = default;
    tracked_int& operator=(tracked_int&& other) noexcept {
        tracked::operator=(std::move(other));
        value = other.value;
        other.value = moved_from;
        return *this;
    }
    ~tracked_int() = default;
};

} // namespace admf_test
