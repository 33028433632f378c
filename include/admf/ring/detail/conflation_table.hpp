// SPDX-License-Identifier: MIT
// The key table of admf::conflating_ring: seqlocked cells found by linear probing.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include <admf/core/platform.hpp>
#include <admf/ring/conflation_key.hpp>
#include <admf/ring/detail/ring_storage.hpp>
#include <admf/ring/ring_for.hpp>

namespace admf::detail {

/// Spin briefly, then yield: threads may outnumber cores, and the thread waited for may be
/// descheduled. Costs a core while spinning, then a system call per round.
struct spin_backoff {
    unsigned spins = 0;
    void pause() noexcept {
        if (++spins <= 64) {
            cpu_relax();
        } else {
            std::this_thread::yield();
        }
    }
};

/// One key of a conflating_ring: its claim state, key, seqlocked value and queue flag.
/// One cache line for values up to 16 bytes, so publishers of different keys never share
/// a line (two lines per cell would double the table for the adjacent-line prefetcher).
template <class T>
struct alignas(cache_line_size) conflation_cell {
    static_assert(std::is_trivially_copyable_v<T>,
                  "values are copied under a seqlock, where a reader may see a half-written "
                  "copy and discard it: T must be trivially copyable");
    static_assert(std::atomic_ref<std::uint64_t>::required_alignment <= alignof(std::uint64_t) &&
                      std::atomic<std::uint64_t>::is_always_lock_free,
                  "value words are read and written as lock-free 64-bit atomics");
    static constexpr std::size_t word_count = (sizeof(T) + 7) / 8;
    enum : std::uint32_t { empty, initialising, ready };

    std::atomic<std::uint32_t> state{empty};
    std::atomic<bool> queued{false};     // in the index queue, or popped and not yet cleared
    conflation_key key;                  // written once, before the release store of `ready`
    std::atomic<std::uint64_t> seq{0};   // odd while written; seq / 2 = writes so far
    std::atomic<std::uint64_t> merged{0}; // publishes that found `queued` set
    std::uint64_t delivered_version = 0; // consumer only
    std::uint64_t words[word_count] = {}; // accessed only through atomic_ref

    /// Publisher. Stores `value` as the key's newest; waits for another writer of this key
    /// (never with producers::single, which has none).
    void write(const T& value, producers mode) noexcept {
        std::uint64_t buf[word_count] = {};
        std::memcpy(buf, &value, sizeof(T));
        std::uint64_t s = seq.load(std::memory_order_relaxed);
        if (mode == producers::single) {
            seq.store(s + 1, std::memory_order_relaxed); // ordered by the release fence below
        } else {
            // Acquire pairs with the previous writer's release store of even seq: its words
            // are ordered before ours, so ours win.
            for (spin_backoff b; (s & 1) != 0 || !seq.compare_exchange_weak(
                                                     s, s + 1, std::memory_order_acquire,
                                                     std::memory_order_relaxed);) {
                b.pause();
                s = seq.load(std::memory_order_relaxed);
            }
        }
        // Pairs with the reader's acquire fence: a reader that sees any word stored below
        // also sees seq odd (or later) on its reload.
        std::atomic_thread_fence(std::memory_order_release);
        for (std::size_t w = 0; w != word_count; ++w) {
            std::atomic_ref<std::uint64_t>(words[w]).store(buf[w], std::memory_order_relaxed);
        }
        // Pairs with the reader's acquire load of seq and the next writer's CAS.
        seq.store(s + 2, std::memory_order_release);
    }

    /// Consumer. Copies the value into `out` (sizeof(T) bytes) and returns its version, or
    /// 0 when a writer tore it. Never waits.
    [[nodiscard]] std::uint64_t read(unsigned char* out) noexcept {
        std::uint64_t buf[word_count];
        // Pairs with the writer's release store of even seq.
        const std::uint64_t s = seq.load(std::memory_order_acquire);
        if ((s & 1) != 0) {
            return 0;
        }
        for (std::size_t w = 0; w != word_count; ++w) {
            buf[w] = std::atomic_ref<std::uint64_t>(words[w]).load(std::memory_order_relaxed);
        }
        std::atomic_thread_fence(std::memory_order_acquire); // pairs with the writer's fence
        if (seq.load(std::memory_order_relaxed) != s) {
            return 0;
        }
        std::memcpy(out, buf, sizeof(T));
        return s / 2;
    }
};

/// A fixed open-addressing map from conflation_key to cells: bit_ceil(2 * keys) cells,
/// linear probing from the key's hash, keys never removed, at most `keys` of them.
/// find_or_insert from any thread; allocates only in the constructor.
template <class T>
class conflation_table {
public:
    using cell = conflation_cell<T>;
    static constexpr std::uint32_t no_cell = std::numeric_limits<std::uint32_t>::max();

    /// Throws std::invalid_argument for 0 keys, std::length_error above 2^30 (cell indices
    /// and no_cell must fit 32 bits), std::bad_alloc.
    explicit conflation_table(std::size_t keys)
        : keys_(checked(keys)),
          mask_(ring_capacity(2 * keys_, sizeof(cell), 1, "admf::conflating_ring") - 1),
          cells_(mask_ + 1) {}

    /// Any publisher. The cell of `key`, inserting it when new; no_cell when it is new and
    /// `keys()` keys are in. Waits only while another thread inserts a key on its path.
    [[nodiscard]] std::uint32_t find_or_insert(const conflation_key& key) noexcept {
        auto i = static_cast<std::uint32_t>(conflation_hash(key) & mask_);
        for (;;) {
            cell& c = cells_[i];
            // Acquire pairs with the release store of `ready`: the key is written.
            auto s = c.state.load(std::memory_order_acquire);
            // Failing, acquire as above (s may be `ready`); succeeding, it only hands out the
            // cell, but GCC warns on a success order weaker than the failure one.
            if (s == cell::empty &&
                c.state.compare_exchange_strong(s, cell::initialising, std::memory_order_acquire,
                                                std::memory_order_acquire)) {
                if (!reserve_key()) {
                    // Relaxed: nothing was written; waiters look at the cell again.
                    c.state.store(cell::empty, std::memory_order_relaxed);
                    return no_cell;
                }
                c.key = key;
                c.state.store(cell::ready, std::memory_order_release); // pairs with the loads
                return i;
            }
            for (spin_backoff b; s == cell::initialising;) {
                b.pause();
                s = c.state.load(std::memory_order_acquire); // as above
            }
            if (s == cell::ready) {
                if (c.key == key) {
                    return i;
                }
                i = (i + 1) & static_cast<std::uint32_t>(mask_);
            } // else its claimer found the table full and gave it back: look again
        }
    }

    [[nodiscard]] cell& operator[](std::uint32_t i) const noexcept { return cells_[i]; }

    /// Any thread. The most keys the table takes, and its number of cells.
    [[nodiscard]] std::size_t keys() const noexcept { return keys_; }
    [[nodiscard]] std::size_t cells() const noexcept { return mask_ + 1; }

    /// Any thread. The sum of the cells' merged counts.
    [[nodiscard]] std::uint64_t merged_approx() const noexcept {
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i <= mask_; ++i) {
            sum += cells_[i].merged.load(std::memory_order_acquire); // pairs with fetch_add
        }
        return sum;
    }

private:
    static std::size_t checked(std::size_t keys) {
        if (keys == 0) {
            throw std::invalid_argument("admf::conflating_ring: keys must be at least 1");
        }
        if (keys > (std::size_t{1} << 30)) {
            throw std::length_error("admf::conflating_ring: keys must be at most 2^30");
        }
        return keys;
    }

    // Counts one more key unless keys_ are in. The cell is claimed first, so a "full"
    // answer never comes from a reservation that another key's insertion then drops.
    bool reserve_key() noexcept {
        // Relaxed: the count only bounds the table; no data is published through it.
        auto n = keys_used_.load(std::memory_order_relaxed);
        while (n < keys_) {
            if (keys_used_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) {
                return true;
            }
        }
        return false;
    }

    const std::size_t keys_;
    const std::size_t mask_;
    slot_array<cell> cells_;
    // Written once per new key, by the publisher inserting it.
    alignas(false_sharing_range) std::atomic<std::size_t> keys_used_{0};
};

} // namespace admf::detail
