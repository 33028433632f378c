// SPDX-License-Identifier: MIT
// admf::ipc::detail: the shared-memory layout of a channel (version 1). Every process that
// maps a segment reads it through these structs, so nothing here may depend on an address,
// a pointer or a compiler's choice beyond fixed-width integers and lock-free atomics.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <admf/core/platform.hpp>
#include <admf/ipc/detail/process.hpp>

namespace admf::ipc::detail {

// Atomics in shared memory must be lock-free (a lock-based atomic would hide a mutex inside
// one process's address space) and therefore address-free.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

inline constexpr char segment_magic[8] = {'A', 'D', 'M', 'F', 'I', 'P', 'C', '\0'};

/// Bumped on any change of the structs below; open() refuses any other value.
inline constexpr std::uint32_t layout_version = 1;

/// Segment header: written by the creator before `ready` is set (release), then read-only
/// except for the atomics.
struct alignas(cache_line_size) segment_header {
    char magic[8];
    std::uint32_t version;
    std::uint32_t header_bytes;     // sizeof(segment_header), a layout check
    std::uint64_t total_bytes;      // the segment's size, checked against fstat
    std::uint64_t type_hash;        // FNV-1a of type_name
    std::uint32_t type_size;
    std::uint32_t type_align;
    std::uint32_t slot_bytes;       // one frame: frame_header + payload, cache-line rounded
    std::uint32_t payload_offset;   // payload's offset inside a frame
    std::uint32_t capacity;         // frames per producer ring, a power of two
    std::uint32_t max_producers;
    std::uint64_t dead_producer_timeout_ns;
    char type_name[96];             // for readable mismatch errors; NUL-terminated, cut to fit
    process_token creator;
    // 0 while the creator initialises, 1 once every field above is written. Release store
    // by the creator; acquire load by open(), which then reads the fields.
    std::atomic<std::uint32_t> ready;
    // Set by channel::close() (release); producers load it (acquire) before each send.
    std::atomic<std::uint32_t> closed;

    alignas(cache_line_size) std::atomic<process_token> consumer;  // the attached consumer, 0 if none
    std::atomic<std::uint64_t> consumer_takeovers;                 // attaches over a dead consumer
    std::atomic<std::uint64_t> producers_reclaimed;                // slots taken back from dead producers
};

/// One producer's ring control. The producer writes the first group, the consumer the
/// second, each on its own lines.
struct alignas(false_sharing_range) producer_block {
    // Owner: CAS 0 -> token (attach), token -> 0 (detach, or reclaim from a dead process).
    std::atomic<process_token> owner;
    std::atomic<std::uint64_t> generation;  // + 1 on every attach: the epoch of frames
    // Next sequence to write; stored (release) after each commit, read by a producer that
    // attaches to this slot after its owner died.
    std::atomic<std::uint64_t> tail;
    std::atomic<std::uint64_t> sent;
    std::atomic<std::uint64_t> full;
    std::atomic<std::uint64_t> closed_rejects;

    // Next sequence to read. Release store by the consumer after it copied frame head - 1
    // out; the producer's acquire load of it before reusing that frame's slot pairs with it.
    alignas(false_sharing_range) std::atomic<std::uint64_t> head;
    std::atomic<std::uint64_t> received;
    std::atomic<std::uint64_t> corrupt;    // committed frames that failed a check: not delivered
    std::atomic<std::uint64_t> abandoned;  // frames a dead producer claimed and never committed
};

/// The start of every frame slot; the payload follows at payload_offset.
struct frame_header {
    // committed(s) once frame s is whole (release store, written last); claimed(s) while
    // the producer writes it; 0 if never written. The consumer's acquire load of
    // committed(s) pairs with the producer's release store.
    // It carries the frame's sequence too, so the header stays 32 bytes and a frame of up
    // to 32 payload bytes fits one cache line.
    std::atomic<std::uint64_t> commit;
    std::uint64_t generation;
    std::uint32_t type;      // low 32 bits of the segment's type hash
    std::uint32_t length;    // payload bytes
    std::uint64_t checksum;  // frame_checksum over payload, sequence and generation
};
static_assert(sizeof(frame_header) == 32);

[[nodiscard]] constexpr std::uint64_t committed(std::uint64_t seq) noexcept { return (seq + 1) << 1; }
[[nodiscard]] constexpr std::uint64_t claimed(std::uint64_t seq) noexcept { return ((seq + 1) << 1) | 1; }

[[nodiscard]] constexpr std::uint64_t fnv1a(const char* s, std::size_t n) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::size_t i = 0; i != n; ++i) {
        h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001b3ULL;
    }
    return h;
}

/// 64-bit mix over the payload bytes, seeded by sequence and generation, so a frame copied
/// from another slot or another epoch fails the check too.
[[nodiscard]] inline std::uint64_t frame_checksum(const unsigned char* p, std::size_t n,
                                                  std::uint64_t seq, std::uint64_t gen) noexcept {
    std::uint64_t h = (seq * 0x9e3779b97f4a7c15ULL) ^ (gen * 0xc2b2ae3d27d4eb4fULL) ^ n;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (i != n) {
        std::uint64_t w = 0;
        std::memcpy(&w, p + i, n - i);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 29;
    }
    return h ^ (h >> 31);
}

[[nodiscard]] constexpr std::size_t round_up(std::size_t n, std::size_t to) noexcept {
    return (n + to - 1) / to * to;
}

/// The geometry create() accepts, and so the only one open() and the stale-segment check
/// trust in a header: outside it geometry::total_bytes() can wrap around 2^64 and match a
/// small file (capacity 2^32 - 4 with 2^26 producer slots describes 256 bytes), and the
/// endpoints would index past the mapping (found by tests/fuzz/ipc_frame.fuzz.cpp).
inline constexpr std::uint64_t max_capacity = std::uint64_t{1} << 24;
inline constexpr std::uint64_t max_producer_slots = 1024;
[[nodiscard]] constexpr bool valid_capacity(std::uint64_t c) noexcept {
    return c >= 2 && c <= max_capacity && (c & (c - 1)) == 0;
}
[[nodiscard]] constexpr bool valid_producer_slots(std::uint64_t n) noexcept {
    return n >= 1 && n <= max_producer_slots;
}

/// Where each part of a segment lies, from its geometry.
struct geometry {
    std::size_t capacity;
    std::size_t max_producers;
    std::size_t slot_bytes;
    std::size_t payload_offset;

    [[nodiscard]] static constexpr geometry of(std::size_t capacity, std::size_t max_producers,
                                               std::size_t type_size, std::size_t type_align) noexcept {
        const std::size_t payload_offset = round_up(sizeof(frame_header), type_align < 8 ? 8 : type_align);
        return {capacity, max_producers, round_up(payload_offset + type_size, cache_line_size), payload_offset};
    }
    [[nodiscard]] constexpr std::size_t blocks_offset() const noexcept {
        return round_up(sizeof(segment_header), false_sharing_range);
    }
    [[nodiscard]] constexpr std::size_t frames_offset() const noexcept {
        return blocks_offset() + max_producers * sizeof(producer_block);
    }
    [[nodiscard]] constexpr std::size_t total_bytes() const noexcept {
        return frames_offset() + max_producers * capacity * slot_bytes;
    }
};

} // namespace admf::ipc::detail
