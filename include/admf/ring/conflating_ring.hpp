// SPDX-License-Identifier: MIT
// admf::conflating_ring: bounded queue that keeps only the newest value per key.
#pragma once

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <admf/core/platform.hpp>
#include <admf/ring/conflation_key.hpp>
#include <admf/ring/detail/conflation_table.hpp>
#include <admf/ring/mpsc_ring.hpp>
#include <admf/ring/ring_for.hpp>
#include <admf/ring/spsc_ring.hpp>

namespace admf {

// Design: a table of cells, one per key (open addressing, linear probing, a power of two
// >= 2 * keys cells, keys never removed; detail/conflation_table.hpp), and an index queue
// (mpsc_ring, or spsc_ring for producers::single) of cells whose key has a value the
// consumer has not read. A cell holds the key, a seqlock `seq` (odd while a publisher
// writes; seq / 2 = the key's write count, its "version"), the value as 64-bit words
// accessed through atomic_ref (a torn read is detected, never undefined), `queued`, and a
// `merged` count (per cell: a ring-wide one would be a line every merging publisher of
// every key writes). Cells take one cache line each (values up to 16 bytes fit it), so
// publishers of different keys never share a line; two lines would double the table for
// the adjacent-line prefetcher alone.
// Publish: write the value under the seqlock, then `queued.exchange(true)`; if it was
// false, push the cell index (so a cell is in the queue at most once), else the publish
// merged into the queued one. Consume: pop an index, `queued.exchange(false)`, read the
// value once. An odd or changed seq means a writer tore it: deliver nothing, since that
// writer's exchange comes after ours and finds false (or a later writer's true), so the
// key is queued again. An unchanged version was delivered already: nothing either.
// The index queue has one position per cell but frees a batch's positions only when the
// batch ends, so consume hands it batches of at most cells - keys: with at most `keys`
// cells queued, a push then always finds room. The consumer reads one value ahead, so f
// sees end_of_batch true exactly on the last value of a call.
// Threads: try_push* from any publisher (one at a time with producers::single); consume,
// try_pop*, front_ready from one consumer, which owns `delivered_version`, `conflated_`
// and the look-ahead buffers; *_approx and capacity from any thread.
// Progress: the consumer never waits. A publisher waits (cpu_relax, then yield) only for
// another publisher of the same key (seqlock) or for a key being inserted on its path.
// Memory order: a writer's release store of even seq, then its release exchange of
// `queued`; the consumer's acquire exchange reads that exchange or a later RMW of its
// release sequence, so every write whose exchange precedes the consumer's is visible to
// the read that follows. Seqlock: writer CAS/stores odd, release fence, words, release
// store of even; reader acquire load, words, acquire fence, relaxed reload.
// Guarantees: at quiescence the last value delivered per key is the last one published;
// published == delivered + conflated_approx() == claimed_approx() + merged_approx().
// Not FIFO across keys: a merged value leaves from its key's earlier queue position.
template <class T, class KeyOf>
class conflating_ring {
    static_assert(std::is_trivially_copyable_v<T>,
                  "conflating_ring copies values under a seqlock, where a reader may see a "
                  "half-written copy and discard it: T must be trivially copyable");
    static_assert(std::is_default_constructible_v<KeyOf> &&
                      std::is_nothrow_invocable_r_v<conflation_key, const KeyOf&, const T&>,
                  "KeyOf must be default-constructible with conflation_key "
                  "operator()(const T&) const noexcept");

public:
    using value_type = T;
    using key_of = KeyOf;
    /// The most the ring supports; a ring built with producers::single takes one at a time.
    static constexpr producers producer_mode = producers::many;
    static constexpr consumers consumer_mode = consumers::single;

    /// Room for `keys` distinct keys (a table of bit_ceil(2 * keys) cells, and an index
    /// queue as long). Throws std::invalid_argument for 0, std::length_error when over
    /// 2^30, std::bad_alloc. Allocates only here.
    explicit conflating_ring(std::size_t keys, producers mode = producers::many)
        : cells_(keys), chunk_(cells_.cells() - cells_.keys()), mode_(mode) {
        if (mode_ == producers::single) {
            single_.emplace(cells_.cells());
        } else {
            many_.emplace(cells_.cells());
        }
    }

    conflating_ring(const conflating_ring&) = delete;
    conflating_ring& operator=(const conflating_ring&) = delete;

    /// Publisher. Builds a T from `args` and publishes it (as try_push). Returns false,
    /// publishing nothing, when its key is new and `capacity()` keys are already in.
    template <class... Args>
        requires std::constructible_from<T, Args...>
    [[nodiscard]] bool try_emplace(Args&&... args) noexcept(
        std::is_nothrow_constructible_v<T, Args...>) {
        const T value(std::forward<Args>(args)...);
        return try_push(value);
    }

    /// Publisher. Makes `value` its key's newest; queues the key unless already queued
    /// (then the publish merges). False only when the key is new and the table full. May
    /// wait for another publisher of the same key; does not allocate.
    [[nodiscard]] bool try_push(const T& value) noexcept {
        const std::uint32_t i = cells_.find_or_insert(key_of_(value));
        if (i == table::no_cell) {
            return false;
        }
        cell& c = cells_[i];
        c.write(value, mode_);
        // Release: the consumer's exchange(false) that reads this (or a later RMW) sees the
        // write. Acquire: pairs with that exchange's release, ordering the consumer's pop
        // of the cell's previous queue entry before our push of the next.
        if (!c.queued.exchange(true, std::memory_order_acq_rel)) {
            push_index(i);
        } else {
            // Release pairs with merged_approx()'s acquire: the counted write is visible.
            c.merged.fetch_add(1, std::memory_order_release);
        }
        return true;
    }

    /// Publisher. Publishes `*first`, `*(first + 1)`... one by one, stopping at the first
    /// refused (a new key with the table full). Returns how many were accepted.
    template <std::input_iterator It>
        requires std::convertible_to<std::iter_reference_t<It>, const T&>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) noexcept {
        std::size_t done = 0;
        for (; done != n && try_push(*first); ++done, ++first) {
        }
        return done;
    }

    /// Consumer. Pops up to `max` queued keys and calls `f(T&)` or `f(T&, bool
    /// end_of_batch)` with each one's newest value not delivered before; end_of_batch is
    /// true exactly on the last value of this call. Returns queue positions consumed (a
    /// key may deliver nothing: see Design). If f throws, its value counts as delivered and
    /// the one read ahead is held for the next call (delivered even if its max is 0).
    template <class F>
        requires std::invocable<F&, T&> || std::invocable<F&, T&, bool>
    std::size_t consume(F&& f, std::size_t max) {
        std::size_t done = 0;
        while (done != max) {
            // At most chunk_ positions per index-queue batch: with at most capacity() cells
            // queued, the positions a batch holds before it frees them never fill the queue.
            const std::size_t want = std::min(max - done, chunk_);
            const auto take = [&](std::uint32_t& i) { read_next(i, f); };
            const std::size_t got = mode_ == producers::single ? single_->consume(take, want)
                                                               : many_->consume(take, want);
            done += got;
            if (got != want) {
                break;
            }
        }
        if (held().full) {
            deliver(held(), f, true);
        }
        return done;
    }

    /// Consumer. Copies the newest value of the next key with an undelivered one into
    /// `out`; false when none is ready.
    [[nodiscard]] bool try_pop(T& out) {
        return try_pop_n(&out, 1) == 1;
    }

    /// Consumer. Writes up to `max` values (each key's newest) to `out`; returns how many.
    template <class OutIt>
    [[nodiscard]] std::size_t try_pop_n(OutIt out, std::size_t max) {
        std::size_t delivered = 0;
        while (delivered != max && front_ready()) {
            // One value per call: the held one alone, else at most one position's.
            static_cast<void>(consume(
                [&](T& v) {
                    *out++ = v;
                    ++delivered;
                },
                held().full ? 0 : 1));
        }
        return delivered;
    }

    /// Consumer. Whether consume would find a queued key (or a value held back by an f that
    /// threw) now.
    [[nodiscard]] bool front_ready() noexcept {
        return held().full || (mode_ == producers::single ? single_->front_ready()
                                                          : many_->front_ready());
    }

    /// Any thread. Keys queued at some instant during the call.
    [[nodiscard]] std::size_t size_approx() const noexcept {
        return mode_ == producers::single ? single_->size_approx() : many_->size_approx();
    }

    /// Any thread. Queue positions publishers have claimed so far: the publishes that did
    /// not merge. The sum of consume()'s results reaches it once publishers stop.
    [[nodiscard]] std::uint64_t claimed_approx() const noexcept {
        return mode_ == producers::single ? single_->claimed_approx() : many_->claimed_approx();
    }

    /// Any thread. Values the consumer skipped because a newer one of their key replaced
    /// them before it read the key.
    [[nodiscard]] std::uint64_t conflated_approx() const noexcept {
        return conflated_.load(std::memory_order_acquire); // pairs with the consumer's store
    }

    /// Any thread. Publishes that found their key already queued (a sum over the cells).
    [[nodiscard]] std::uint64_t merged_approx() const noexcept { return cells_.merged_approx(); }

    /// Any thread. The most distinct keys the ring holds.
    [[nodiscard]] std::size_t capacity() const noexcept { return cells_.keys(); }

private:
    using table = detail::conflation_table<T>;
    using cell = typename table::cell;

    // A value read by the consumer and not yet handed to f.
    struct snapshot {
        bool full = false;
        alignas(T) unsigned char bytes[sizeof(T)];
        [[nodiscard]] T& value() noexcept { return *std::launder(reinterpret_cast<T*>(bytes)); }
    };

    void push_index(std::uint32_t i) noexcept {
        // Cannot stay full (see consume's chunk_): a retry only covers a stale view of the
        // consumer's index.
        for (detail::spin_backoff b;
             !(mode_ == producers::single ? single_->try_push(i) : many_->try_push(i));) {
            ADMF_TEST_POINT("conflating_ring.push_retry");
            b.pause();
        }
    }

    // Consumer: takes cell i off the queue and reads its value once; a new version goes to
    // the look-ahead buffer, and the value held there before goes to f.
    template <class F>
    void read_next(std::uint32_t i, F& f) {
        cell& c = cells_[i];
        // Acquire pairs with the publishers' release exchange (see Design); release pairs
        // with their acquire, ordering this pop before their next push of i.
        c.queued.exchange(false, std::memory_order_acq_rel);
        snapshot& fresh = snaps_[next_];
        const std::uint64_t version = c.read(fresh.bytes);
        if (version == 0 || version == c.delivered_version) {
            return; // torn (its writer queues the key again), or delivered (or held) before
        }
        if (const std::uint64_t skipped = version - c.delivered_version - 1; skipped != 0) {
            // Relaxed load: only this thread writes conflated_. Release pairs with
            // conflated_approx().
            conflated_.store(conflated_.load(std::memory_order_relaxed) + skipped,
                             std::memory_order_release);
        }
        c.delivered_version = version;
        fresh.full = true;
        next_ ^= 1; // fresh is held from here on, even if f throws on the previous one
        if (snaps_[next_].full) {
            deliver(snaps_[next_], f, false);
        }
    }

    template <class F>
    static void deliver(snapshot& s, F& f, bool end_of_batch) {
        s.full = false; // delivered even if f throws
        if constexpr (std::invocable<F&, T&, bool>) {
            f(s.value(), end_of_batch);
        } else {
            static_cast<void>(end_of_batch);
            f(s.value());
        }
    }

    [[nodiscard]] snapshot& held() noexcept { return snaps_[next_ ^ 1]; }

    table cells_;
    const std::size_t chunk_; // read-only after construction, as are the two below
    const producers mode_;
    [[no_unique_address]] KeyOf key_of_{};
    std::optional<spsc_ring<std::uint32_t>> single_; // the index queue, by mode
    std::optional<mpsc_ring<std::uint32_t>> many_;
    // Consumer's line.
    alignas(false_sharing_range) std::atomic<std::uint64_t> conflated_{0};
    unsigned next_ = 0;
    snapshot snaps_[2];
};

namespace detail {
struct conflating_sample {
    std::uint64_t id;
    double price;
};
struct conflating_sample_key {
    conflation_key operator()(const conflating_sample& s) const noexcept { return {s.id, 0}; }
};
} // namespace detail

// The concept's syntax fits; its FIFO-per-producer and every-push-popped semantics do not
// (see Design): a bus choosing this ring opts into conflation.
static_assert(ring_for<conflating_ring<detail::conflating_sample, detail::conflating_sample_key>,
                       detail::conflating_sample>);

} // namespace admf
