// SPDX-License-Identifier: MIT
// Benchmark payloads that carry (producer, sequence), and the checker that verifies them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace admf::bench {

/// Producers one run may have; the checker keeps one expected sequence per producer.
inline constexpr unsigned max_producers = 4;
/// A tag is `producer << producer_shift | sequence`: 8 bits of producer, 56 of sequence.
inline constexpr unsigned producer_shift = 56;
inline constexpr std::uint64_t sequence_mask = (std::uint64_t{1} << producer_shift) - 1;
/// Producer id no real producer has: the round-trip initiator sends it to stop the echo.
inline constexpr unsigned stop_producer = 0xff;

[[nodiscard]] constexpr std::uint64_t make_tag(unsigned producer, std::uint64_t sequence) noexcept {
    return (std::uint64_t{producer} << producer_shift) | (sequence & sequence_mask);
}

/// Payload of `Bytes` bytes. Trivially copyable and trivially destructible, so that every
/// peer accepts it (boost::lockfree::queue demands both).
template <std::size_t Bytes>
struct payload;

template <>
struct payload<8> {
    std::uint64_t tag;

    [[nodiscard]] static payload make(std::uint64_t tag) noexcept { return {tag}; }
    [[nodiscard]] bool intact() const noexcept { return true; }
};

/// 64 bytes, all written by the producer. `check` repeats the tag inverted in the last word,
/// so a torn copy (first and last words from different pushes) is detected.
template <>
struct payload<64> {
    std::uint64_t tag;
    std::array<std::uint64_t, 6> body;
    std::uint64_t check;

    [[nodiscard]] static payload make(std::uint64_t tag) noexcept {
        return {tag, {tag, tag, tag, tag, tag, tag}, ~tag};
    }
    [[nodiscard]] bool intact() const noexcept { return check == ~tag; }
};

static_assert(sizeof(payload<8>) == 8 && sizeof(payload<64>) == 64,
              "payload sizes are part of the report: no padding allowed");

/// Checks what one consumer received: every element must come from a known producer, be
/// intact, and carry that producer's next sequence (per-producer FIFO, nothing lost or
/// duplicated in between). finish() adds the count check against what producers sent.
/// A violation is one such event; after a gap the checker resynchronises on the sequence
/// it saw, so one lost element counts once as a gap (and once more in the count check).
template <class Payload>
class order_checker {
public:
    explicit order_checker(unsigned producers) noexcept : producers_(producers) {}

    void operator()(const Payload& p) noexcept {
        ++received_;
        const auto producer = static_cast<unsigned>(p.tag >> producer_shift);
        if (producer >= producers_ || !p.intact()) {
            ++violations_;
            return;
        }
        const std::uint64_t sequence = p.tag & sequence_mask;
        if (sequence != next_[producer]) {
            ++violations_;
        }
        next_[producer] = sequence + 1;
    }

    /// After the run: producer p sent `sent[p]` elements, sequences 0 .. sent[p]-1.
    /// Returns the total number of violations.
    std::uint64_t finish(std::span<const std::uint64_t> sent) noexcept {
        std::uint64_t total = 0;
        for (unsigned p = 0; p < producers_; ++p) {
            total += sent[p];
            if (next_[p] != sent[p]) {
                ++violations_;
            }
        }
        if (total != received_) {
            ++violations_;
        }
        return violations_;
    }

    [[nodiscard]] std::uint64_t received() const noexcept { return received_; }
    [[nodiscard]] std::uint64_t violations() const noexcept { return violations_; }

private:
    std::array<std::uint64_t, max_producers> next_{};
    std::uint64_t received_ = 0;
    std::uint64_t violations_ = 0;
    unsigned producers_;
};

} // namespace admf::bench
