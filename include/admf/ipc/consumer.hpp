// SPDX-License-Identifier: MIT
// admf::ipc::consumer: the one consumer of an admf::ipc::channel, visiting its producers'
// rings in turn and taking back the slots of dead producers.
#pragma once

#include <admf/ipc/channel.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <admf/ipc/detail/layout.hpp>
#include <admf/ipc/detail/process.hpp>
#include <admf/ipc/detail/segment.hpp>

namespace admf::ipc {

/// The channel's one consumer, attached for this object's lifetime. One thread at a time.
template <class T>
class consumer {
public:
    /// Attaches; takes over from a consumer whose process died (resuming at its position).
    /// Throws ipc::error if a live consumer is attached.
    explicit consumer(channel<T>& ch) : ch_(&ch) {
        auto& h = ch.header();
        const detail::process_token me = detail::self_token();
        detail::process_token cur = h.consumer.load(std::memory_order_acquire);
        if (cur != 0 && detail::alive(cur)) {
            throw error("admf::ipc: the channel already has a live consumer (pid " +
                        std::to_string(detail::token_pid(cur)) + ")");
        }
        // Acquire pairs with the previous consumer's release stores (heads, detach).
        if (!h.consumer.compare_exchange_strong(cur, me, std::memory_order_acquire)) {
            throw error("admf::ipc: another consumer attached at the same time (pid " +
                        std::to_string(detail::token_pid(cur)) + ")");
        }
        if (cur != 0) {
            h.consumer_takeovers.fetch_add(1, std::memory_order_relaxed);
        }
        const auto g = ch.geom();
        rings_.resize(h.max_producers);
        for (std::uint32_t i = 0; i != h.max_producers; ++i) {
            auto& r = rings_[i];
            r.block = &ch.block(i);
            r.frames = ch.map_.base() + g.frames_offset() + std::size_t{i} * g.capacity * g.slot_bytes;
            // Acquire pairs with the previous consumer's release stores of head.
            r.head = r.block->head.load(std::memory_order_acquire);
        }
        mask_ = g.capacity - 1;
        slot_bytes_ = g.slot_bytes;
        payload_offset_ = g.payload_offset;
        timeout_ = std::chrono::nanoseconds(static_cast<std::int64_t>(h.dead_producer_timeout_ns));
    }
    consumer(consumer&& o) noexcept = default;
    consumer& operator=(consumer&&) = delete;
    consumer(const consumer&) = delete;
    consumer& operator=(const consumer&) = delete;
    ~consumer() {
        if (ch_ != nullptr && !rings_.empty()) {
            // Release pairs with the next consumer's acquire CAS: it sees our heads.
            ch_->header().consumer.store(0, std::memory_order_release);
        }
    }

    /// The next committed frame of any producer (producers in turn), or nullopt if none.
    std::optional<T> try_receive() {
        frame_storage out;
        frame_info info;
        if (try_receive(out.value(), info)) {
            return out.value();
        }
        return std::nullopt;
    }

    /// As above, into `out`, with where the frame came from.
    bool try_receive(T& out, frame_info& info) {
        return in_turn([&](std::uint32_t i) { return take(i, out, info); });
    }

    /// Calls f(const T&, const frame_info&) on the next committed frame and passes it only
    /// when f returns: a consumer that dies (or throws) inside f sees the same frame again,
    /// as does the consumer that takes over from it. With the last sequence per producer
    /// remembered by the receiver, that is exactly-once processing. False if none.
    template <class F>
    bool try_consume(F&& f) {
        return in_turn([&](std::uint32_t i) {
            frame_storage value;
            frame_info info;
            if (!peek(i, value.value(), info)) {
                return false;
            }
            f(static_cast<const T&>(value.value()), static_cast<const frame_info&>(info));
            pass(rings_[i], true);
            return true;
        });
    }

    /// Waits up to `timeout` for a frame (polling: spins, yields, then sleeps up to 200 µs).
    std::optional<T> receive(std::chrono::nanoseconds timeout) {
        frame_storage out;
        frame_info info;
        if (receive(out.value(), info, timeout)) {
            return out.value();
        }
        return std::nullopt;
    }
    bool receive(T& out, frame_info& info, std::chrono::nanoseconds timeout) {
        auto got = [&] { return try_receive(out, info); };
        return admf::detail::poll_until(got, std::chrono::steady_clock::now() + timeout,
                                        detail::wait_phases());
    }

    /// Frames committed and not yet received, over all producers (a snapshot).
    [[nodiscard]] std::uint64_t backlog() const noexcept {
        std::uint64_t n = 0;
        for (const auto& r : rings_) {
            n += r.block->tail.load(std::memory_order_acquire) - r.head;
        }
        return n;
    }

    /// Checks every producer slot now: a slot whose owner died is taken back (its
    /// half-written frame is counted abandoned when a producer next attaches). try_receive
    /// does this by itself for a slot with no progress for dead_producer_timeout. Returns
    /// the slots taken back.
    std::size_t reap_dead_producers() {
        std::size_t n = 0;
        for (std::uint32_t i = 0; i != rings_.size(); ++i) {
            n += reap(i) ? 1 : 0;
        }
        return n;
    }

private:
    // Offers each producer's ring to try_ring in turn, from the one after the last that
    // gave a frame, so no producer starves the others. True once try_ring took a frame.
    template <class TryRing>
    bool in_turn(TryRing&& try_ring) {
        const std::size_t n = rings_.size();
        for (std::size_t k = 0; k != n; ++k) {
            const std::size_t i = next_ + k < n ? next_ + k : next_ + k - n;
            if (try_ring(static_cast<std::uint32_t>(i))) {
                next_ = i + 1 == n ? 0 : i + 1;
                return true;
            }
        }
        return false;
    }

    // Room for one T without constructing one (T need not be default-constructible). A
    // trivially copyable T is an implicit-lifetime type: the memcpy of a frame into these
    // bytes creates the object (C++20, [intro.object]/10), and value() names it.
    struct frame_storage {
        alignas(T) unsigned char bytes[sizeof(T)];
        T& value() noexcept { return *std::launder(reinterpret_cast<T*>(bytes)); }
    };

    struct ring {
        detail::producer_block* block = nullptr;
        unsigned char* frames = nullptr;
        std::uint64_t head = 0;
        std::chrono::steady_clock::time_point idle_since{};
        std::uint32_t empty_polls = 0;
        bool idle = false;
    };

    bool take(std::uint32_t i, T& out, frame_info& info) {
        if (!peek(i, out, info)) {
            return false;
        }
        pass(rings_[i], true);
        return true;
    }

    // Copies out the ring's next committed, checked frame without passing it; skips (and
    // counts) frames that fail a check.
    bool peek(std::uint32_t i, T& out, frame_info& info) {
        ring& r = rings_[i];
        for (;;) {
            const unsigned char* slot = r.frames + (r.head & mask_) * slot_bytes_;
            const auto* f = reinterpret_cast<const detail::frame_header*>(slot);
            // Acquire pairs with the producer's release store of committed(head).
            const std::uint64_t c = f->commit.load(std::memory_order_acquire);
            if (c != detail::committed(r.head)) {
                note_idle(i, r);
                return false;
            }
            r.idle = false;
            const unsigned char* payload = slot + payload_offset_;
            if (f->type == static_cast<std::uint32_t>(channel<T>::type_hash) &&
                f->length == sizeof(T) &&
#if defined(ADMF_FAULT_SKIP_IPC_CHECKSUM)
                // TEST-ONLY negative control (tests/negative/README.md): checksum not verified.
                true) {
#else
                f->checksum == detail::frame_checksum(payload, sizeof(T), r.head, f->generation)) {
#endif
                std::memcpy(&out, payload, sizeof(T));
                info = {i, f->generation, r.head};
                return true;
            }
            pass(r, false);  // counted, skipped: the next frame may be whole
        }
    }

    void pass(ring& r, bool delivered) noexcept {
        ++r.head;
        // Release: our copy of the frame happens-before the producer's acquire load of head
        // that lets it rewrite this slot.
        r.block->head.store(r.head, std::memory_order_release);
        bump(delivered ? r.block->received : r.block->corrupt);
    }

    // An empty ring with an owner: after timeout_ of no progress, ask whether it lives. The
    // clock is read once per 16 empty polls, so a busy-polling consumer mostly pays a
    // counter (a poll that yields or sleeps between tries still looks every 16 of them).
    void note_idle(std::uint32_t i, ring& r) {
        if ((++r.empty_polls & 15U) != 0) {
            return;
        }
        if (r.block->owner.load(std::memory_order_relaxed) == 0) {
            r.idle = false;
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (!r.idle) {
            r.idle = true;
            r.idle_since = now;
            return;
        }
        if (now - r.idle_since >= timeout_) {
            reap(i);
            r.idle_since = now;
        }
    }

    bool reap(std::uint32_t i) {
        ring& r = rings_[i];
        detail::process_token owner = r.block->owner.load(std::memory_order_acquire);
        if (owner == 0 || detail::alive(owner)) {
            return false;
        }
        // The owner is dead: nothing of it writes any more. Take the slot back first, so a
        // producer attaching meanwhile (which would CAS the same dead token) wins cleanly.
        if (!r.block->owner.compare_exchange_strong(owner, 0, std::memory_order_acq_rel)) {
            return false;
        }
        // The dead owner's half-written frame is counted by the next producer to attach,
        // which holds the slot while it looks: counted here too, it could be counted twice,
        // missed (head before the claim) or mistaken for a new owner's live claim
        // (tests/models/ipc_commit.pml, variants CPP_ABANDONED_*).
        ch_->header().producers_reclaimed.fetch_add(1, std::memory_order_relaxed);
        return true;
    }

    static void bump(std::atomic<std::uint64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // consumer-only counters
    }

    channel<T>* ch_;
    std::vector<ring> rings_;
    std::size_t next_ = 0;
    std::uint64_t mask_ = 0;
    std::size_t slot_bytes_ = 0;
    std::size_t payload_offset_ = 0;
    std::chrono::nanoseconds timeout_{};
};

} // namespace admf::ipc
