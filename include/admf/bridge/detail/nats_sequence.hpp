// SPDX-License-Identifier: MIT
// admf::detail::sequence_window: per-(origin, subject) duplicate and gap accounting.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace admf::detail {

// Design: a receiver's record of one sender's sequences on one subject (they start at 1).
// Core NATS keeps a connection's order, so `highest` alone tells a gap (a jump past
// highest + 1) from a duplicate (at or below highest). JetStream redelivers out of order
// (a nak, an ack lost in a restart), so it also keeps a bitmap of the last `window`
// sequences: a sequence is new if it is above highest or inside the window and unmarked.
// The bridge caps the consumer's MaxAckPending far below `window`, so an undelivered
// sequence never falls out of it; one that does is taken as already delivered.
// Single-threaded: libnats runs one subscription's callbacks one at a time.
class sequence_window {
public:
    static constexpr std::uint64_t window = 1U << 16;

    /// Whether `seq` was marked before (or is too old to tell: taken as marked).
    [[nodiscard]] bool seen(std::uint64_t seq) const noexcept {
        if (seq == 0) {
            return true; // never sent: senders start at 1
        }
        if (seq > highest_) {
            return false;
        }
        if (highest_ - seq >= window) {
            return true;
        }
        return (bits_[word(seq)] >> (seq % 64) & 1U) != 0;
    }

    /// Marks `seq` delivered. Returns the sequences it skipped over (the core path's gap:
    /// never sent to us, or lost on the way), 0 when it filled in below highest.
    std::uint64_t mark(std::uint64_t seq) noexcept {
        std::uint64_t skipped = 0;
        if (seq > highest_) {
            skipped = seq - highest_ - 1;
            // Clear the bits the window slides over: they are reused for the new sequences.
            if (skipped + 1 >= window) {
                bits_.fill(0);
            } else {
                for (std::uint64_t s = highest_ + 1; s <= seq; ++s) {
                    bits_[word(s)] &= ~(std::uint64_t{1} << (s % 64));
                }
            }
            highest_ = seq;
        }
        bits_[word(seq)] |= std::uint64_t{1} << (seq % 64);
        return skipped;
    }

    [[nodiscard]] std::uint64_t highest() const noexcept { return highest_; }

private:
    static constexpr std::size_t word(std::uint64_t seq) noexcept {
        return static_cast<std::size_t>((seq / 64) % (window / 64));
    }

    std::uint64_t highest_ = 0;
    std::array<std::uint64_t, window / 64> bits_{};
};

} // namespace admf::detail
