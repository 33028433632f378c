// SPDX-License-Identifier: MIT
// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/seed-*), deterministic:
// ring and sync_bus op sequences from a fixed generator, IPC segment headers and frame
// slots as a real channel and producer write them, NATS envelopes as the encoder writes
// them (plus truncations and flipped fields). Usage: admf_fuzz_make_corpus CORPUS_DIR.
// Regenerating changes nothing unless the layouts or this file change; crash reproducers
// (crash-*) sit beside the seeds and are never rewritten.
#include <admf/bridge/detail/nats_envelope.hpp>
#include <admf/ipc/channel.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <sys/mman.h>

namespace {

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

struct small_frame { // as in ipc_frame.fuzz.cpp
    static constexpr std::string_view name = "FUZZ.SMALL";
    std::uint64_t a;
    std::uint32_t b;
    std::uint32_t c;
};
struct wide_frame {
    static constexpr std::string_view name = "FUZZ.WIDE";
    std::uint64_t w[6];
};

struct lcg {
    std::uint64_t s;
    std::uint8_t next() noexcept {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint8_t>(s >> 56);
    }
};

void write(const fs::path& dir, const std::string& name, const bytes& b) {
    fs::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void ring_seeds(const fs::path& dir) {
    int n = 0;
    for (std::uint8_t kind = 0; kind != 7; ++kind) {
        for (std::uint8_t shape : {std::uint8_t{0}, std::uint8_t{2}, std::uint8_t{0x84}}) {
            if (kind == 6 && shape != 0) {
                continue;
            }
            lcg g{kind * 131U + shape + 1U};
            bytes b{kind, shape};
            for (int i = 0; i != 160; ++i) {
                b.push_back(g.next());
            }
            write(dir, "seed-" + std::to_string(n++), b);
        }
    }
}

void bus_seeds(const fs::path& dir) {
    for (int n = 0; n != 12; ++n) {
        lcg g{static_cast<std::uint64_t>(n) * 977U + 5U};
        bytes b{static_cast<std::uint8_t>(g.next())};
        // Subscribe a few handlers of every kind, start (most seeds), then anything.
        for (std::uint8_t k = 0; k != 6; ++k) {
            b.push_back(0);
            b.push_back(static_cast<std::uint8_t>((k + n) % 8 + 8 * ((k + n) % 6)));
        }
        if (n % 4 != 0) {
            b.push_back(7);
            b.push_back(0);
        }
        for (int i = 0; i != 40 + 20 * n; ++i) {
            b.push_back(g.next());
        }
        write(dir, "seed-" + std::to_string(n), b);
    }
}

template <class T>
bytes header_of(std::uint32_t capacity, std::uint32_t producers) {
    auto ch = admf::ipc::channel<T>::anonymous({capacity, producers, std::chrono::milliseconds(100)});
    const std::size_t n = sizeof(admf::ipc::detail::segment_header);
    void* p = ::mmap(nullptr, n, PROT_READ, MAP_SHARED, ch.fd(), 0);
    bytes b(static_cast<const std::uint8_t*>(p), static_cast<const std::uint8_t*>(p) + n);
    ::munmap(p, n);
    // The creator's token (pid, start time) differs per run: zero, as no live process.
    std::memset(b.data() + offsetof(admf::ipc::detail::segment_header, creator), 0,
                sizeof(admf::ipc::detail::process_token));
    return b;
}

template <class T>
bytes frames_of(std::uint32_t capacity, std::uint32_t producers, unsigned sends, bool consume) {
    auto ch = admf::ipc::channel<T>::anonymous({capacity, producers, std::chrono::milliseconds(100)});
    {
        std::vector<admf::ipc::producer<T>> ps;
        for (std::uint32_t i = 0; i != producers; ++i) {
            ps.emplace_back(ch);
        }
        admf::ipc::consumer<T> c{ch};
        for (unsigned i = 0; i != sends; ++i) {
            T v;
            std::memset(&v, static_cast<int>(i * 7 + 1), sizeof v);
            static_cast<void>(ps[i % producers].try_send(v));
            if (consume && i % 3 == 0) {
                static_cast<void>(c.try_receive());
            }
        }
    }
    const auto g = admf::ipc::detail::geometry::of(capacity, producers, sizeof(T), alignof(T));
    void* p = ::mmap(nullptr, g.total_bytes(), PROT_READ, MAP_SHARED, ch.fd(), 0);
    const auto* base = static_cast<const std::uint8_t*>(p);
    bytes b(base + g.frames_offset(), base + g.total_bytes());
    ::munmap(p, g.total_bytes());
    return b;
}

void ipc_seeds(const fs::path& dir) {
    namespace d = admf::ipc::detail;
    int n = 0;
    const auto put = [&](bytes prefix, const bytes& body) {
        prefix.insert(prefix.end(), body.begin(), body.end());
        write(dir, "seed-" + std::to_string(n++), prefix);
    };
    const auto patched = [](bytes h, std::size_t offset, std::uint32_t v) {
        std::memcpy(h.data() + offset, &v, sizeof v);
        return h;
    };
    // (1) Headers. Byte 0: 0 | wide << 1; then capacity index (2, 4, 8), producers - 1,
    // sizing (< 200: the legit size).
    put({0, 0, 0, 0}, header_of<small_frame>(2, 1));
    put({0, 1, 1, 0}, header_of<small_frame>(4, 2));
    put({2, 2, 2, 0}, header_of<wide_frame>(8, 3));
    put({2, 0, 0, 0}, header_of<wide_frame>(2, 1));
    put({0, 0, 0, 0}, patched(header_of<small_frame>(2, 1), offsetof(d::segment_header, closed), 1));
    put({0, 0, 0, 0}, patched(header_of<small_frame>(2, 1), offsetof(d::segment_header, version), 2));
    put({0, 1, 0, 0}, patched(header_of<small_frame>(4, 1), offsetof(d::segment_header, capacity), 8));
    put({0, 0, 0, 203}, header_of<small_frame>(2, 1)); // a file 3 lines longer than its header says
    // (2) Frame slots as producers left them. Byte 0: 1 | wide << 1; capacity index (2, 4,
    // 8, 16), producers - 1, op seed.
    put({1, 0, 0, 1}, frames_of<small_frame>(2, 1, 2, false));
    put({1, 2, 0, 2}, frames_of<small_frame>(8, 1, 11, true));
    put({1, 3, 2, 3}, frames_of<small_frame>(16, 3, 30, true));
    put({1, 1, 1, 4}, frames_of<small_frame>(4, 2, 6, false));
    put({3, 1, 0, 5}, frames_of<wide_frame>(4, 1, 4, false));
    put({3, 2, 2, 6}, frames_of<wide_frame>(8, 3, 20, true));
    put({3, 0, 1, 7}, frames_of<wide_frame>(2, 2, 3, false));
}

// Envelopes: byte 0 picks the expected payload size (index into 0, 1, 7, 8, 16, 24, 40,
// 100) and, with 0x80, the type hash the message carries.
void nats_seeds(const fs::path& dir) {
    namespace d = admf::detail;
    constexpr std::size_t sizes[] = {0, 1, 7, 8, 16, 24, 40, 100};
    int n = 0;
    for (std::uint8_t i = 0; i != 8; ++i) {
        std::vector<std::byte> payload(sizes[i]);
        for (std::size_t k = 0; k != payload.size(); ++k) {
            payload[k] = static_cast<std::byte>(k * 37 + i);
        }
        std::vector<std::byte> msg(d::nats_envelope_header_size + payload.size());
        const bool own_type = i % 2 == 1;
        const std::uint64_t type = own_type ? 0x1234'5678'9abc'def0ULL * (i + 1)
                                            : d::envelope_type_hash("FUZZ.EVENT");
        d::encode_envelope(type, 7 + i, 1 + i * 1000, payload, msg.data());
        bytes b{static_cast<std::uint8_t>(i | (own_type ? 0x80 : 0))};
        for (const std::byte x : msg) {
            b.push_back(static_cast<std::uint8_t>(x));
        }
        write(dir, "seed-" + std::to_string(n++), b);
        if (i == 3 || i == 6) { // a truncation and a flipped checksum
            bytes cut(b.begin(), b.end() - 3);
            write(dir, "seed-" + std::to_string(n++), cut);
            b[1 + 36] ^= 0x10;
            write(dir, "seed-" + std::to_string(n++), b);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    const fs::path root(argv[1]);
    ring_seeds(root / "ring");
    bus_seeds(root / "sync_bus");
    ipc_seeds(root / "ipc_frame");
    nats_seeds(root / "nats_envelope");
    std::printf("seeds written under %s\n", root.string().c_str());
    return 0;
}
