// SPDX-License-Identifier: MIT
// Fuzz target (TESTING.md T9d): arbitrary bytes into the NATS bridge's envelope decoder
// (bridge/detail/nats_envelope.hpp). The first byte picks the payload size the receiver
// expects (0, 1, 7, 8, 16, 24, 40, 100) and whether it expects the type hash the bytes
// carry or a fixed one; the rest is the message. Checks: the decoder reads only inside the
// message (ASan); its verdict is the first failing check of the documented order (length,
// magic + version, sizes, type, checksum), recomputed here from the layout table; and an
// accepted message re-encodes (encode_envelope with the decoded header's fields and the
// payload) to exactly the same bytes.
#include <admf/bridge/detail/nats_envelope.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_support.hpp"

#define CHECK(cond, a, b) ADMF_FUZZ_CHECK("nats_envelope", cond, a, b)

namespace d = admf::detail;

namespace {

template <class U>
U field(const std::byte* p, std::size_t offset) {
    U v;
    std::memcpy(&v, p + offset, sizeof v);
    return v;
}

// The verdict the layout table in nats_envelope.hpp's Design gives, read field by field.
d::envelope_error expected_verdict(std::span<const std::byte> m, std::uint64_t type_hash,
                                   std::size_t payload_size) {
    if (m.size() < 40) {
        return d::envelope_error::size;
    }
    const std::byte* p = m.data();
    if (field<std::uint32_t>(p, 0) != 0x464d'4441U || field<std::uint16_t>(p, 4) != 1) {
        return d::envelope_error::version;
    }
    if (field<std::uint16_t>(p, 6) != 40 || field<std::uint32_t>(p, 32) != payload_size ||
        m.size() != 40 + payload_size) {
        return d::envelope_error::size;
    }
    if (field<std::uint64_t>(p, 8) != type_hash) {
        return d::envelope_error::type;
    }
    // The checksum covers bytes 0..35, then the payload.
    const std::uint32_t sum = d::envelope_checksum(m.subspan(40), d::envelope_checksum(m.first(36)));
    if (field<std::uint32_t>(p, 36) != sum) {
        return d::envelope_error::checksum;
    }
    return d::envelope_error::ok;
}

constexpr std::size_t payload_sizes[] = {0, 1, 7, 8, 16, 24, 40, 100};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::uint8_t mode = data[0];
    // An exact-size copy: ASan sees any read past the message.
    const std::vector<std::byte> msg(reinterpret_cast<const std::byte*>(data) + 1,
                                     reinterpret_cast<const std::byte*>(data) + size);
    const std::span<const std::byte> m(msg.data(), msg.size());
    const std::size_t payload_size = payload_sizes[mode % std::size(payload_sizes)];
    std::uint64_t type_hash = d::envelope_type_hash("FUZZ.EVENT");
    if ((mode & 0x80) != 0 && m.size() >= 16) {
        type_hash = field<std::uint64_t>(m.data(), 8); // the receiver of the type it carries
    }

    d::nats_envelope_header h{};
    const d::envelope_error err = d::decode_envelope(m, type_hash, payload_size, h);
    const d::envelope_error want = expected_verdict(m, type_hash, payload_size);
    CHECK(err == want, static_cast<unsigned>(err), static_cast<unsigned>(want));
    if (err == d::envelope_error::ok) {
        CHECK(h.payload_size == payload_size && h.type_hash == type_hash, h.payload_size,
              payload_size);
        std::vector<std::byte> again(d::nats_envelope_header_size + payload_size);
        const std::size_t n = d::encode_envelope(h.type_hash, h.origin, h.sequence,
                                                 m.subspan(d::nats_envelope_header_size),
                                                 again.data());
        CHECK(n == m.size(), n, m.size());
        CHECK(std::memcmp(again.data(), m.data(), n) == 0, n, 0);
        // And the re-encoded message decodes to the same header.
        d::nats_envelope_header h2{};
        CHECK(d::decode_envelope(again, type_hash, payload_size, h2) == d::envelope_error::ok, 0,
              0);
        CHECK(std::memcmp(&h, &h2, sizeof h) == 0, h.sequence, h2.sequence);
    }
    // The checksum alone over any bytes (and any length), as the bridge calls it.
    static_cast<void>(d::envelope_checksum(m));
    return 0;
}
