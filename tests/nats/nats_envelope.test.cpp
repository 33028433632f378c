// SPDX-License-Identifier: MIT
// The NATS bridge's wire format without a server: admf::detail::encode_envelope /
// decode_envelope (every truncation and every flipped bit is refused, and named) and
// admf::detail::sequence_window (gaps, duplicates, out-of-order redelivery, window edge).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include <admf/bridge/detail/nats_envelope.hpp>
#include <admf/bridge/detail/nats_sequence.hpp>

#include "catch.hpp"

namespace {
struct sample {
    std::uint64_t id;
    std::int32_t qty;
    std::int32_t side;
    std::int64_t price;
};
namespace d = admf::detail;

std::vector<std::byte> encode(const sample& s, std::uint64_t seq) {
    std::vector<std::byte> buf(d::nats_envelope_header_size + sizeof s);
    const auto n = d::encode_envelope(d::envelope_type_hash("SAMPLE"), 7, seq,
                                      std::as_bytes(std::span(&s, 1)), buf.data());
    REQUIRE(n == buf.size());
    return buf;
}
} // namespace

TEST_CASE("nats envelope: a round trip gives back the header and the payload", "[nats][envelope]") {
    const sample s{42, -100, 1, 123'456};
    const auto buf = encode(s, 9);
    d::nats_envelope_header h{};
    REQUIRE(d::decode_envelope(buf, d::envelope_type_hash("SAMPLE"), sizeof(sample), h) ==
            d::envelope_error::ok);
    CHECK(h.origin == 7);
    CHECK(h.sequence == 9);
    sample back{};
    std::memcpy(&back, buf.data() + d::nats_envelope_header_size, sizeof back);
    CHECK(std::memcmp(&back, &s, sizeof s) == 0);
    CHECK(d::envelope_type_hash("SAMPLE") != d::envelope_type_hash("SAMPLF"));
}

TEST_CASE("nats envelope: every truncation and extension is a size error", "[nats][envelope]") {
    const auto buf = encode(sample{1, 2, 3, 4}, 1);
    d::nats_envelope_header h{};
    for (std::size_t len = 0; len < buf.size(); ++len) {
        const auto err = d::decode_envelope(std::span(buf).first(len),
                                            d::envelope_type_hash("SAMPLE"), sizeof(sample), h);
        CHECK(err == d::envelope_error::size);
    }
    auto longer = buf;
    longer.push_back(std::byte{0});
    CHECK(d::decode_envelope(longer, d::envelope_type_hash("SAMPLE"), sizeof(sample), h) ==
          d::envelope_error::size);
}

TEST_CASE("nats envelope: every flipped bit is refused, by the field it hits", "[nats][envelope]") {
    const auto buf = encode(sample{5, 6, 7, 8}, 3);
    d::nats_envelope_header h{};
    for (std::size_t byte = 0; byte != buf.size(); ++byte) {
        for (int bit = 0; bit != 8; ++bit) {
            auto bad = buf;
            bad[byte] ^= std::byte{static_cast<unsigned char>(1U << bit)};
            const auto err =
                d::decode_envelope(bad, d::envelope_type_hash("SAMPLE"), sizeof(sample), h);
            INFO("byte " << byte << " bit " << bit);
            if (byte < 6) {
                CHECK(err == d::envelope_error::version); // magic, version
            } else if (byte < 8 || (byte >= 32 && byte < 36)) {
                CHECK(err == d::envelope_error::size); // header_size, payload_size
            } else if (byte < 16) {
                CHECK(err == d::envelope_error::type);
            } else {
                CHECK(err == d::envelope_error::checksum); // origin, sequence, checksum, payload
            }
        }
    }
}

TEST_CASE("sequence_window: gaps, duplicates and out-of-order marks", "[nats][envelope]") {
    d::sequence_window w;
    CHECK(w.seen(0)); // senders start at 1
    CHECK_FALSE(w.seen(1));
    CHECK(w.mark(1) == 0);
    CHECK(w.seen(1));
    CHECK(w.mark(5) == 3); // 2, 3, 4 skipped
    CHECK_FALSE(w.seen(3));
    CHECK(w.mark(3) == 0); // filled in below highest (jetstream redelivery)
    CHECK(w.seen(3));
    CHECK_FALSE(w.seen(4));
    CHECK(w.highest() == 5);
    // Beyond the window: older sequences are taken as seen; newer ones start clean.
    const std::uint64_t far = 5 + d::sequence_window::window + 10;
    CHECK(w.mark(far) == far - 6);
    CHECK(w.seen(4));             // fell out of the window
    CHECK_FALSE(w.seen(far - 1)); // inside the window, never marked
    CHECK(w.seen(far));
    // A slide of less than the window clears exactly the bits it reuses.
    d::sequence_window v;
    for (std::uint64_t s = 1; s <= 100; ++s) {
        (void)v.mark(s);
    }
    CHECK(v.mark(100 + d::sequence_window::window - 1) == d::sequence_window::window - 2);
    CHECK(v.seen(100));                                        // still inside
    CHECK_FALSE(v.seen(100 + d::sequence_window::window - 2)); // reused slot, cleared
}
