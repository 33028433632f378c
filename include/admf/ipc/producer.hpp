// SPDX-License-Identifier: MIT
// admf::ipc::producer: one producer slot of an admf::ipc::channel, its own single-producer ring.
#pragma once

#include <admf/ipc/channel.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include <admf/core/platform.hpp>
#include <admf/ipc/detail/layout.hpp>
#include <admf/ipc/detail/process.hpp>
#include <admf/ipc/detail/segment.hpp>

namespace admf::ipc {

/// One producer slot of a channel, attached for this object's lifetime. Use it from one
/// thread at a time; a process may hold several (one per thread).
template <class T>
class producer {
public:
    /// Takes a free slot, or one whose owner died. Throws ipc::error if every slot is held
    /// by a live process.
    explicit producer(channel<T>& ch) : ch_(&ch) {
        const auto& h = ch.header();
        const detail::process_token me = detail::self_token();
        for (std::uint32_t i = 0; i != h.max_producers; ++i) {
            auto& b = ch.block(i);
            detail::process_token cur = b.owner.load(std::memory_order_acquire);
            // A failed CAS reloads cur: the slot may have been freed or its owner may have
            // died meanwhile, so it is judged again rather than skipped.
            for (;;) {
                const bool dead = cur != 0 && !detail::alive(cur);
                if (cur != 0 && !dead) {
                    break;
                }
                // Acquire on success pairs with the previous owner's release (detach) or, for
                // a dead owner, with its last release store of tail.
                if (b.owner.compare_exchange_strong(cur, me, std::memory_order_acquire)) {
                    if (dead) {
                        ch.header().producers_reclaimed.fetch_add(1, std::memory_order_relaxed);
                    }
                    attach(i);
                    return;
                }
            }
        }
        throw error("admf::ipc: no free producer slot: all " + std::to_string(h.max_producers) +
                    " are held by live processes");
    }
    producer(producer&& o) noexcept
        : ch_(std::exchange(o.ch_, nullptr)), slot_(o.slot_), block_(o.block_), frames_(o.frames_),
          mask_(o.mask_), slot_bytes_(o.slot_bytes_), payload_offset_(o.payload_offset_), tail_(o.tail_),
          head_cache_(o.head_cache_), generation_(o.generation_) {}
    producer& operator=(producer&&) = delete;
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;
    ~producer() {
        if (ch_ != nullptr) {
            // Release pairs with the next attacher's acquire CAS: it sees our last tail.
            block_->owner.store(0, std::memory_order_release);
        }
    }

    /// Commits one frame, or refuses without writing anything (full, closed; both counted).
    send_result try_send(const T& value) noexcept { return send_once(value, true); }

    /// try_send, retried while full until `timeout` has passed (then full, counted once).
    send_result send(const T& value, std::chrono::nanoseconds timeout) {
        send_result r = send_result::full;
        auto sent = [&] { return (r = send_once(value, false)) != send_result::full; };
        if (!admf::detail::poll_until(sent, std::chrono::steady_clock::now() + timeout,
                                      detail::wait_phases())) {
            bump(block_->full);
        }
        return r;
    }

    [[nodiscard]] std::uint32_t slot() const noexcept { return slot_; }
    [[nodiscard]] std::uint64_t generation() const noexcept { return generation_; }
    [[nodiscard]] std::uint64_t next_sequence() const noexcept { return tail_; }

private:
    // Only this producer writes its own counters: a plain load + store, no locked RMW.
    static void bump(std::atomic<std::uint64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    ADMF_ALWAYS_INLINE send_result send_once(const T& value, bool count_full) noexcept {
        if (ch_->header().closed.load(std::memory_order_acquire) != 0) {  // pairs with close()
            bump(block_->closed_rejects);
            return send_result::closed;
        }
        const std::uint64_t s = tail_;
        if (s - head_cache_ >= mask_ + 1) {
            // Acquire pairs with the consumer's release store of head: frame s - capacity has
            // been copied out, so its slot may be rewritten.
            head_cache_ = block_->head.load(std::memory_order_acquire);
            if (s - head_cache_ >= mask_ + 1) {
                if (count_full) {
                    bump(block_->full);
                }
                return send_result::full;
            }
        }
        unsigned char* slot = frames_ + (s & mask_) * slot_bytes_;
        auto* f = reinterpret_cast<detail::frame_header*>(slot);
        // The claim marks a frame in progress, for diagnostics after a crash; it needs no
        // order of its own (the commit below publishes everything).
        f->commit.store(detail::claimed(s), std::memory_order_relaxed);
        unsigned char* payload = slot + payload_offset_;
        std::memcpy(payload, &value, sizeof(T));
        f->generation = generation_;
        f->type = static_cast<std::uint32_t>(channel<T>::type_hash);
        f->length = sizeof(T);
        f->checksum = detail::frame_checksum(payload, sizeof(T), s, generation_);
        ADMF_TEST_POINT("ipc.before_commit");
        // Release: payload and header fields above happen-before the consumer's acquire load
        // that sees committed(s).
        f->commit.store(detail::committed(s), std::memory_order_release);
        tail_ = s + 1;
        // Release pairs with a reattaching producer's acquire CAS/load of tail.
        block_->tail.store(tail_, std::memory_order_release);
        bump(block_->sent);
        return send_result::accepted;
    }

    void attach(std::uint32_t i) {
        auto& ch = *ch_;
        const auto g = ch.geom();
        slot_ = i;
        block_ = &ch.block(i);
        frames_ = ch.map_.base() + g.frames_offset() + std::size_t{i} * g.capacity * g.slot_bytes;
        mask_ = g.capacity - 1;
        slot_bytes_ = g.slot_bytes;
        payload_offset_ = g.payload_offset;
        generation_ = block_->generation.load(std::memory_order_relaxed) + 1;
        block_->generation.store(generation_, std::memory_order_relaxed);
        // Acquire pairs with the previous owner's release store of tail. A previous owner
        // that died between its commit and that store left tail one short: its frame is
        // committed, so we start after it rather than overwrite it.
        tail_ = block_->tail.load(std::memory_order_acquire);
        const auto* f = reinterpret_cast<const detail::frame_header*>(frames_ + (tail_ & mask_) * slot_bytes_);
        const std::uint64_t c = f->commit.load(std::memory_order_acquire);
        if (c == detail::committed(tail_)) {
            ++tail_;
            block_->tail.store(tail_, std::memory_order_release);
            bump(block_->sent);
        } else if (c == detail::claimed(tail_)) {
            // The previous owner died inside this frame; ours replaces it. Counted only
            // here, by the slot's owner (the consumer's reap does not count), so each
            // abandoned claim is counted once. An RMW, not bump(): an earlier owner's count
            // need not happen-before ours (it may have died before any release store), and
            // fetch_add never loses it. Relaxed: a tally.
            block_->abandoned.fetch_add(1, std::memory_order_relaxed);
        }
        head_cache_ = block_->head.load(std::memory_order_acquire);  // pairs with the consumer's release store
    }

    channel<T>* ch_;
    std::uint32_t slot_ = 0;
    detail::producer_block* block_ = nullptr;
    unsigned char* frames_ = nullptr;
    std::uint64_t mask_ = 0;
    std::size_t slot_bytes_ = 0;
    std::size_t payload_offset_ = 0;
    std::uint64_t tail_ = 0;
    std::uint64_t head_cache_ = 0;
    std::uint64_t generation_ = 0;
};

} // namespace admf::ipc
