// SPDX-License-Identifier: MIT
// Fuzz target (TESTING.md T9c): the IPC channel's two decoders of shared memory it does not
// trust (ipc/channel.hpp, consumer.hpp, detail/layout.hpp). No named segment is made (memfd
// only) and nothing forks.
// Byte 0 bit 0 picks the part, bit 1 the event type (16 or 48 bytes: one or two cache lines
// per slot).
// (1) Header: a memfd sized as a legit channel (capacity, max_producers from bytes 1-2; byte
//     3 >= 200 sizes it a header + (byte - 200) * 64 bytes instead) whose segment header is overwritten with
//     the rest of the input (`ready` forced to 1: an unready header only waits 1 s), then
//     channel::from_fd. It must throw ipc::error or open; an open channel must describe a
//     geometry create() could have made (capacity a power of two 2..2^24, 1..1024 producer
//     slots, the file's size), and a producer and a consumer on it must move frames exactly
//     (the ring fills at capacity, every frame comes back in order, counters agree). The
//     stale-segment check detail::segment_in_use reads the same image first: no crash.
// (2) Frames: a legit anonymous channel whose frame slots are overwritten with the input
//     from byte 4 on, then try_receive / try_consume (f throwing now and then) until both
//     report nothing. Every delivered frame is re-checked here against the slot it came
//     from (commit word, type, length, checksum recomputed from the layout, payload bytes),
//     the order and the corrupt / received counters are predicted by a model of the
//     documented rules (producers in turn; per ring, committed frames in sequence, those
//     failing a check counted corrupt and skipped), then a producer attaches over the
//     debris and sends, and whatever is delivered must still pass the same checks.
#include <admf/ipc/channel.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_support.hpp"

#define CHECK(cond, a, b) ADMF_FUZZ_CHECK("ipc_frame", cond, a, b)

namespace ipc = admf::ipc;
namespace d = admf::ipc::detail;

namespace {

struct small_frame {
    static constexpr std::string_view name = "FUZZ.SMALL";
    std::uint64_t a;
    std::uint32_t b;
    std::uint32_t c;
};
struct wide_frame {
    static constexpr std::string_view name = "FUZZ.WIDE";
    std::uint64_t w[6];
};

struct thrown {};

// The library's own checksum function: what is under test here is the consumer's use of
// it (which frames it checks, and against which sequence and generation), not the mix.
std::uint64_t checksum(const unsigned char* p, std::size_t n, std::uint64_t seq, std::uint64_t gen) {
    return admf::ipc::detail::frame_checksum(p, n, seq, gen);
}

// A second mapping of the segment, for writing debris and re-checking frames.
struct raw_map {
    unsigned char* base = nullptr;
    std::size_t bytes = 0;
    raw_map(int fd, std::size_t n) : bytes(n) {
        void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        CHECK(p != MAP_FAILED, n, 0);
        base = static_cast<unsigned char*>(p);
    }
    ~raw_map() { ::munmap(base, bytes); }
    raw_map(const raw_map&) = delete;
    raw_map& operator=(const raw_map&) = delete;
};

template <class T>
struct frames_view {
    const unsigned char* frames; // start of the frame slots
    d::geometry g;
    [[nodiscard]] const unsigned char* slot(std::size_t ring, std::uint64_t seq) const {
        return frames + (ring * g.capacity + (seq & (g.capacity - 1))) * g.slot_bytes;
    }
    [[nodiscard]] std::uint64_t commit(std::size_t ring, std::uint64_t seq) const {
        std::uint64_t c;
        std::memcpy(&c, slot(ring, seq), 8);
        return c;
    }
    // Type, length and checksum of the frame in (ring, seq)'s slot, per layout.hpp.
    [[nodiscard]] bool whole(std::size_t ring, std::uint64_t seq) const {
        const unsigned char* s = slot(ring, seq);
        std::uint64_t gen, sum;
        std::uint32_t type, length;
        std::memcpy(&gen, s + 8, 8);
        std::memcpy(&type, s + 16, 4);
        std::memcpy(&length, s + 20, 4);
        std::memcpy(&sum, s + 24, 8);
        return type == static_cast<std::uint32_t>(ipc::channel<T>::type_hash) &&
               length == sizeof(T) && sum == checksum(s + g.payload_offset, sizeof(T), seq, gen);
    }
    // A delivered frame must be the committed, whole frame of its slot, byte for byte.
    void check_delivered(const T& v, const ipc::frame_info& info) const {
        CHECK(info.producer < g.max_producers, info.producer, g.max_producers);
        CHECK(commit(info.producer, info.sequence) == d::committed(info.sequence),
              commit(info.producer, info.sequence), info.sequence);
        CHECK(whole(info.producer, info.sequence), info.producer, info.sequence);
        const unsigned char* s = slot(info.producer, info.sequence);
        std::uint64_t gen;
        std::memcpy(&gen, s + 8, 8);
        CHECK(gen == info.generation, gen, info.generation);
        CHECK(std::memcmp(&v, s + g.payload_offset, sizeof(T)) == 0, info.sequence, 0);
    }
};

// The consumer's documented rules over fuzzed rings that no producer writes.
template <class T>
struct consumer_model {
    const frames_view<T>& view;
    std::vector<std::uint64_t> head;
    std::size_t next = 0;
    std::uint64_t received = 0, corrupt = 0;

    // The next whole committed frame of ring i (skipping, and counting, broken ones).
    std::optional<std::uint64_t> peek(std::size_t i) {
        for (;;) {
            const std::uint64_t s = head[i];
            if (view.commit(i, s) != d::committed(s)) {
                return std::nullopt;
            }
            if (view.whole(i, s)) {
                return s;
            }
            ++head[i];
            ++corrupt;
        }
    }
    // (ring, sequence) of what the next call delivers; passes it unless `keep` (f threw).
    std::optional<std::pair<std::size_t, std::uint64_t>> next_frame(bool keep) {
        for (std::size_t k = 0; k != head.size(); ++k) {
            const std::size_t i = (next + k) % head.size();
            if (const auto s = peek(i)) {
                if (!keep) {
                    ++head[i];
                    ++received;
                    next = (i + 1) % head.size();
                }
                return std::make_pair(i, *s);
            }
        }
        return std::nullopt;
    }
};

// A tiny generator for the op choices, seeded from the input (the bytes themselves go to
// the frames).
struct lcg {
    std::uint64_t s;
    unsigned next() noexcept {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<unsigned>(s >> 33);
    }
};

constexpr std::uint32_t capacities[] = {2, 4, 8, 16};

template <class T>
void fuzz_frames(admf_fuzz::reader& in) {
    const ipc::channel_config cfg{capacities[in.byte() % 4], 1U + in.byte() % 3U,
                                  std::chrono::milliseconds(100)};
    lcg ops{in.byte() * 0x9e3779b97f4a7c15ULL + 1};
    auto ch = ipc::channel<T>::anonymous(cfg);
    const d::geometry g = d::geometry::of(cfg.capacity, cfg.max_producers, sizeof(T), alignof(T));
    CHECK(ch.segment_bytes() == g.total_bytes(), ch.segment_bytes(), g.total_bytes());
    raw_map raw(ch.fd(), g.total_bytes());
    const std::size_t region = g.total_bytes() - g.frames_offset();
    std::memcpy(raw.base + g.frames_offset(), in.here(), std::min(region, in.left()));
    const frames_view<T> view{raw.base + g.frames_offset(), g};

    ipc::consumer<T> c{ch};
    consumer_model<T> model{view, std::vector<std::uint64_t>(cfg.max_producers, 0)};
    const std::size_t slots = std::size_t{cfg.max_producers} * cfg.capacity;
    for (std::size_t step = 0; step != 4 * slots + 8; ++step) {
        const unsigned op = ops.next() % 4;
        std::optional<std::pair<T, ipc::frame_info>> got;
        bool threw = false;
        if (op == 0) {
            T v;
            ipc::frame_info info{};
            if (c.try_receive(v, info)) {
                got.emplace(v, info);
            }
        } else if (op == 1) {
            if (auto v = c.try_receive()) {
                got.emplace(*v, ipc::frame_info{~0U, 0, 0}); // no info: checked by value
            }
        } else {
            const bool throw_now = op == 3;
            try {
                c.try_consume([&](const T& v, const ipc::frame_info& info) {
                    got.emplace(v, info);
                    if (throw_now) {
                        throw thrown{};
                    }
                });
            } catch (const thrown&) {
                threw = true;
            }
        }
        const auto want = model.next_frame(threw);
        CHECK(got.has_value() == want.has_value(), got.has_value(), want.has_value());
        if (!got) {
            if (step > 2 * slots + 2) {
                break; // drained (and some throws retried)
            }
            continue;
        }
        ipc::frame_info info = got->second;
        if (info.producer == ~0U) {
            const unsigned char* s = view.slot(want->first, want->second);
            std::uint64_t gen;
            std::memcpy(&gen, s + 8, 8);
            info = {static_cast<std::uint32_t>(want->first), gen, want->second};
        }
        CHECK(info.producer == want->first, info.producer, want->first);
        CHECK(info.sequence == want->second, info.sequence, want->second);
        view.check_delivered(got->first, info);
    }
    const auto st = ch.stats();
    CHECK(st.received == model.received, st.received, model.received);
    CHECK(st.corrupt == model.corrupt, st.corrupt, model.corrupt);
    CHECK(st.sent == 0 && st.abandoned == 0, st.sent, st.abandoned);

    // A producer attaches over the debris and sends; what comes out must still be whole.
    ipc::producer<T> p{ch};
    for (std::uint32_t i = 0; i != cfg.capacity + 1; ++i) {
        T v;
        std::memset(&v, 0x5a ^ static_cast<int>(i), sizeof v);
        static_cast<void>(p.try_send(v));
    }
    for (std::size_t step = 0; step != 2 * slots + 4; ++step) {
        T v;
        ipc::frame_info info{};
        if (!c.try_receive(v, info)) {
            break;
        }
        view.check_delivered(v, info);
    }
}

template <class T>
void fuzz_header(admf_fuzz::reader& in) {
    const ipc::channel_config cfg{capacities[in.byte() % 3], 1U + in.byte() % 3U,
                                  std::chrono::milliseconds(100)};
    const std::uint8_t sizing = in.byte();
    const d::geometry legit = d::geometry::of(cfg.capacity, cfg.max_producers, sizeof(T), alignof(T));
    // A legit segment's image, its header then patched with the input.
    std::size_t bytes = legit.total_bytes();
    {
        auto ch = ipc::channel<T>::anonymous(cfg);
        raw_map src(ch.fd(), bytes);
        if (sizing >= 200) {
            // Never below a header: a shorter file makes open() wait 1 s for its creator.
            bytes = sizeof(d::segment_header) + std::size_t{sizing - 200U} * 64;
        }
        const int fd = ::memfd_create("admf.fuzz", MFD_CLOEXEC);
        CHECK(fd >= 0, fd, 0);
        CHECK(::ftruncate(fd, static_cast<off_t>(bytes)) == 0, bytes, 0);
        if (bytes != 0) {
            raw_map dst(fd, bytes);
            std::memcpy(dst.base, src.base, std::min(bytes, legit.total_bytes()));
            if (bytes >= sizeof(d::segment_header)) {
                std::memcpy(dst.base, in.here(), std::min(sizeof(d::segment_header), in.left()));
                auto* h = reinterpret_cast<d::segment_header*>(dst.base);
                h->ready.store(1, std::memory_order_relaxed);
            }
            // The stale-segment check (remove_stale_segments, create over a dead segment)
            // reads the same header: it must not crash either.
            static_cast<void>(d::segment_in_use(dst.base, bytes));
        }
        std::optional<ipc::channel<T>> opened;
        try {
            opened.emplace(ipc::channel<T>::from_fd(fd));
        } catch (const ipc::error&) {
        } catch (const std::invalid_argument&) {
        }
        ::close(fd);
        if (!opened) {
            return;
        }
        ipc::channel<T>& o = *opened;
        // Only a geometry create() could have written opens.
        const std::uint32_t cap = o.capacity();
        const std::uint32_t mp = o.max_producers();
        CHECK(cap >= 2 && cap <= (1U << 24) && (cap & (cap - 1)) == 0, cap, 0);
        CHECK(mp >= 1 && mp <= 1024, mp, 0);
        const d::geometry g = d::geometry::of(cap, mp, sizeof(T), alignof(T));
        CHECK(o.segment_bytes() == g.total_bytes() && g.total_bytes() == bytes,
              o.segment_bytes(), g.total_bytes());
        // The frames and blocks are the legit (empty) ones: a producer and a consumer on
        // this geometry move frames exactly.
        std::optional<ipc::consumer<T>> c;
        try {
            c.emplace(o);
        } catch (const ipc::error&) {
            return; // the fuzzed header names a live consumer (this process, say)
        }
        const bool closed = o.is_closed();
        const auto before = o.stats();
        ipc::producer<T> p{o};
        std::uint64_t accepted = 0;
        for (std::uint32_t i = 0; i != std::min<std::uint32_t>(cap, 64) + 1; ++i) {
            T v;
            std::memset(&v, static_cast<int>(i), sizeof v);
            const ipc::send_result r = p.try_send(v);
            const ipc::send_result want = closed  ? ipc::send_result::closed
                                          : i < cap ? ipc::send_result::accepted
                                                    : ipc::send_result::full;
            CHECK(r == want, static_cast<unsigned>(r), static_cast<unsigned>(want));
            accepted += r == ipc::send_result::accepted ? 1 : 0;
        }
        for (std::uint64_t i = 0; i != accepted; ++i) {
            T v;
            ipc::frame_info info{};
            CHECK(c->try_receive(v, info), i, accepted);
            unsigned char expect[sizeof(T)];
            std::memset(expect, static_cast<int>(i), sizeof expect);
            CHECK(std::memcmp(&v, expect, sizeof v) == 0 && info.sequence == i, info.sequence, i);
        }
        CHECK(!c->try_receive().has_value(), 0, 0);
        const auto after = o.stats();
        CHECK(after.sent - before.sent == accepted, after.sent - before.sent, accepted);
        CHECK(after.received - before.received == accepted, after.received, accepted);
        CHECK(after.corrupt == before.corrupt, after.corrupt, before.corrupt);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    admf_fuzz::reader in(data, size);
    const std::uint8_t mode = in.byte();
    if ((mode & 1) == 0) {
        (mode & 2) == 0 ? fuzz_header<small_frame>(in) : fuzz_header<wide_frame>(in);
    } else {
        (mode & 2) == 0 ? fuzz_frames<small_frame>(in) : fuzz_frames<wide_frame>(in);
    }
    return 0;
}
