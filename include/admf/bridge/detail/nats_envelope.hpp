// SPDX-License-Identifier: MIT
// admf::detail::nats_envelope: the versioned wire frame the NATS bridge puts around an event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace admf::detail {

// Design: one fixed 40-byte header, then the event's bytes (it is trivially copyable), in
// the sender's byte order: the bridge links engines built from the same code, so it does
// not convert; a big-endian peer fails the magic check and is counted, never misread.
//   offset size field
//   0      4    magic         'A' 'D' 'M' 'F' (0x464d4441 read little-endian)
//   4      2    version       nats_envelope_version
//   6      2    header_size   40: a later version may grow the header, an old reader
//                             rejects it by version first
//   8      8    type_hash     FNV-1a 64 of event_traits<E>::name: which type the bytes are
//   16     8    origin        the sending bridge's id: sequences are per (origin, subject)
//   24     8    sequence      1, 2, 3... per (origin, subject): gaps and duplicates
//   32     4    payload_size  sizeof(E)
//   36     4    checksum      envelope_checksum over bytes 0..35 and the payload
// decode_envelope checks, in this order, length, magic+version, sizes, type, checksum, and
// names the first failure, so every rejected message lands in exactly one counter.
// No state, no allocation: safe from any thread; the decoder reads only `bytes`.

inline constexpr std::uint32_t nats_envelope_magic = 0x464d'4441U;
inline constexpr std::uint16_t nats_envelope_version = 1;
inline constexpr std::size_t nats_envelope_header_size = 40;

struct nats_envelope_header {
    std::uint32_t magic;
    std::uint16_t version;
    std::uint16_t header_size;
    std::uint64_t type_hash;
    std::uint64_t origin;
    std::uint64_t sequence;
    std::uint32_t payload_size;
    std::uint32_t checksum;
};
static_assert(sizeof(nats_envelope_header) == nats_envelope_header_size &&
                  std::is_trivially_copyable_v<nats_envelope_header>,
              "the envelope header is copied to and from the wire as 40 bytes without padding");

/// FNV-1a 64 of a type name: stable across builds and compilers (not std::hash).
[[nodiscard]] constexpr std::uint64_t envelope_type_hash(std::string_view name) noexcept {
    std::uint64_t h = 0xcbf2'9ce4'8422'2325ULL;
    for (const char c : name) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x0000'0100'0000'01b3ULL;
    }
    return h;
}

/// A 32-bit checksum of `bytes` continuing from `seed`: 8 bytes per multiply, so it costs a
/// few ns for a typical event. It detects corruption, not tampering (no key).
[[nodiscard]] inline std::uint32_t
envelope_checksum(std::span<const std::byte> bytes,
                  std::uint64_t seed = 0x9e37'79b9'7f4a'7c15ULL) noexcept {
    std::uint64_t h = seed ^ (bytes.size() * 0xff51'afd7'ed55'8ccdULL);
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, bytes.data() + i, 8);
        h = (h ^ w) * 0xc4ce'b9fe'1a85'ec53ULL;
        h ^= h >> 29;
    }
    std::uint64_t tail = 0;
    if (i != bytes.size()) { // an empty span may have a null data(): no memcpy from it
        std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
    }
    h = (h ^ tail ^ (static_cast<std::uint64_t>(bytes.size() - i) << 56)) *
        0xc4ce'b9fe'1a85'ec53ULL;
    h ^= h >> 32;
    return static_cast<std::uint32_t>(h);
}

/// Why decode_envelope refused a message (ok: it did not).
enum class envelope_error : unsigned char { ok, size, version, type, checksum };

[[nodiscard]] inline std::uint32_t
envelope_checksum_of(const nats_envelope_header& h, std::span<const std::byte> payload) noexcept {
    const auto head =
        std::as_bytes(std::span(&h, 1)).first(offsetof(nats_envelope_header, checksum));
    return envelope_checksum(payload, envelope_checksum(head));
}

/// Writes header + payload into `out` (at least nats_envelope_header_size + payload.size()
/// bytes). Returns the bytes written. Does not allocate.
inline std::size_t encode_envelope(std::uint64_t type_hash, std::uint64_t origin,
                                   std::uint64_t sequence, std::span<const std::byte> payload,
                                   std::byte* out) noexcept {
    nats_envelope_header h{nats_envelope_magic,
                           nats_envelope_version,
                           static_cast<std::uint16_t>(nats_envelope_header_size),
                           type_hash,
                           origin,
                           sequence,
                           static_cast<std::uint32_t>(payload.size()),
                           0};
    h.checksum = envelope_checksum_of(h, payload);
    std::memcpy(out, &h, sizeof h);
    if (!payload.empty()) {
        std::memcpy(out + sizeof h, payload.data(), payload.size());
    }
    return sizeof h + payload.size();
}

/// Checks `bytes` as an envelope of a type with `type_hash` and `payload_size`. On ok,
/// `header` holds the header and the payload starts at bytes + nats_envelope_header_size.
/// Reads only inside `bytes`, whatever they hold (the fuzz target's contract).
[[nodiscard]] inline envelope_error decode_envelope(std::span<const std::byte> bytes,
                                                    std::uint64_t type_hash,
                                                    std::size_t payload_size,
                                                    nats_envelope_header& header) noexcept {
    if (bytes.size() < nats_envelope_header_size) {
        return envelope_error::size;
    }
    std::memcpy(&header, bytes.data(), sizeof header);
    if (header.magic != nats_envelope_magic || header.version != nats_envelope_version) {
        return envelope_error::version;
    }
    if (header.header_size != nats_envelope_header_size || header.payload_size != payload_size ||
        bytes.size() != nats_envelope_header_size + payload_size) {
        return envelope_error::size;
    }
    if (header.type_hash != type_hash) {
        return envelope_error::type;
    }
    if (header.checksum != envelope_checksum_of(header, bytes.subspan(nats_envelope_header_size))) {
        return envelope_error::checksum;
    }
    return envelope_error::ok;
}

} // namespace admf::detail
