// SPDX-License-Identifier: MIT
// admf::ipc::channel: a shared-memory channel of trivially copyable events between
// processes (Linux: shm_open or memfd_create, then mmap). One consumer, up to
// max_producers producers; no mutex in shared memory. This header also brings the
// endpoints, admf::ipc::producer (producer.hpp) and admf::ipc::consumer (consumer.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <admf/core/platform.hpp>
#include <admf/ipc/detail/layout.hpp>
#include <admf/ipc/detail/process.hpp>
#include <admf/ipc/detail/segment.hpp>

namespace admf::ipc {

// Design: each producer slot is its own single-producer ring, and the consumer visits the
// rings in turn. A producer never waits for another one, so a producer that dies in the
// middle of a frame (or is stopped there for minutes) blocks nobody: no claim is shared,
// none has to be broken, and a stopped producer that resumes finishes its own frame in its
// own ring (no "zombie" can overwrite a frame someone else recovered). Order is FIFO per
// producer; frames of different producers interleave.
// A frame is committed last: its commit word goes from claimed(s) to committed(s) with a
// release store after payload, generation and checksum (the sequence is in the commit word
// itself). The consumer copies a frame only after an acquire load saw committed(s) for the
// sequence it expects, checks type, length and
// checksum (a failure is counted as corrupt, never delivered), and only then stores its
// head past it (release), which is what lets the producer reuse the slot.
// Liveness is by process token (pid + start time, detail/process.hpp): a producer slot
// whose owner died is taken back by the consumer after dead_producer_timeout without
// progress, or taken over directly by a producer that attaches; its half-written frame is
// counted as abandoned by the next producer to attach. A consumer that dies leaves its head
// in the segment: the next one resumes there. A frame the dead consumer had copied but not yet passed is delivered
// again (at-least-once); frame_info's (producer, generation, sequence) identifies it, so a
// receiver that remembers the last sequence per producer delivers each frame once.


struct channel_config {
    std::uint32_t capacity = 1024;      ///< frames per producer ring: a power of two, 2 .. 2^24
    std::uint32_t max_producers = 1;    ///< producer slots, 1 .. 1024
    /// How long a producer slot may show no progress before the consumer checks whether
    /// its process still lives (a /proc read), and takes the slot back if not.
    std::chrono::nanoseconds dead_producer_timeout = std::chrono::milliseconds(100);
};

enum class send_result : std::uint8_t {
    accepted,  ///< committed: the consumer will see it
    full,      ///< the ring is full (a slow or dead consumer); nothing written, counted
    closed,    ///< channel::close() was called; nothing written, counted
};

/// Where a received frame came from.
struct frame_info {
    std::uint32_t producer;     ///< producer slot
    std::uint64_t generation;   ///< attach epoch of that slot (a restarted producer: + 1)
    std::uint64_t sequence;     ///< position in that slot's ring, gap-free across epochs
};

/// Counters summed over all producer slots; readable from any attached process.
struct channel_stats {
    std::uint64_t sent = 0;                 ///< frames committed
    std::uint64_t full = 0;                 ///< sends refused: ring full
    std::uint64_t closed_rejects = 0;       ///< sends refused: channel closed
    std::uint64_t received = 0;             ///< frames delivered to a consumer
    std::uint64_t corrupt = 0;              ///< committed frames that failed a check, skipped
    std::uint64_t abandoned = 0;            ///< claims of dead producers, counted at re-attach
    std::uint64_t producers_reclaimed = 0;  ///< slots taken back from dead producers
    std::uint64_t consumer_takeovers = 0;   ///< consumers that attached over a dead one
    std::uint32_t producers_attached = 0;
    bool consumer_attached = false;
    bool closed = false;
};


/// Removes every named segment under /dev/shm/admf.<prefix>* whose processes are all dead
/// (killed producers and consumers leave them behind). Returns how many it removed.
inline std::size_t remove_stale_segments(std::string_view prefix = {}) {
    std::size_t removed = 0;
    DIR* dir = ::opendir("/dev/shm");
    if (dir == nullptr) {
        return 0;
    }
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(dir)) {
        const std::string_view n(e->d_name);
        if (n.starts_with("admf.") && n.substr(5).starts_with(prefix)) {
            names.emplace_back(n);
        }
    }
    ::closedir(dir);
    for (const auto& n : names) {
        removed += detail::remove_if_stale("/" + n) ? 1 : 0;
    }
    return removed;
}


template <class T>
class producer;
template <class T>
class consumer;

/// A mapped segment carrying frames of T. Movable, not copyable; unmaps on destruction. A
/// channel made by create() removes its name when destroyed in the process that created it.
template <class T>
class channel {
    static_assert(std::is_trivially_copyable_v<T>,
                  "admf::ipc::channel<T>: T must be trivially copyable (it is copied as bytes "
                  "between processes)");
    static_assert(alignof(T) <= cache_line_size, "admf::ipc::channel<T>: T is over-aligned");

public:
    static constexpr std::string_view type_name = detail::type_name_of<T>();
    static constexpr std::uint64_t type_hash = detail::fnv1a(type_name.data(), type_name.size());

    /// Creates the named segment /dev/shm/admf.<name>. A segment of that name whose
    /// processes all died is removed first; one in use by a live process is an error.
    static channel create(std::string_view name, channel_config config = {}) {
        check(config);
        const std::string path = detail::shm_path(name);
        for (int attempt = 0;; ++attempt) {
            const int fd = ::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
            if (fd >= 0) {
                channel c(fd, config, path);
                c.unlink_on_destroy_ = ::getpid();
                return c;
            }
            if (errno != EEXIST || attempt == 2) {
                throw error(detail::errno_text("shm_open(create)", path));
            }
            if (!detail::remove_if_stale(path)) {
                throw error("admf::ipc: segment '" + path + "' exists and a live process uses it");
            }
        }
    }

    /// Attaches to the named segment; throws ipc::error if it is missing, still being
    /// created after 1 s, or not a version-1 segment of T with the same size and alignment.
    static channel open(std::string_view name) {
        const std::string path = detail::shm_path(name);
        const int fd = ::shm_open(path.c_str(), O_RDWR, 0);
        if (fd < 0) {
            throw error(detail::errno_text("shm_open", path));
        }
        return channel(fd, path);
    }

    /// An unnamed segment (memfd): shared with fork()ed children, or with another process
    /// that receives fd() over a Unix socket and calls from_fd().
    static channel anonymous(channel_config config = {}) {
        check(config);
        const int fd = ::memfd_create("admf.channel", MFD_CLOEXEC);
        if (fd < 0) {
            throw error(detail::errno_text("memfd_create", "anonymous"));
        }
        return channel(fd, config, "memfd");
    }

    /// Maps a segment from a file descriptor (duplicated; the caller keeps `fd`).
    static channel from_fd(int fd) {
        const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) {
            throw error(detail::errno_text("fcntl(F_DUPFD_CLOEXEC)", "fd"));
        }
        return channel(dup, "fd " + std::to_string(fd));
    }

    /// The same segment mapped a second time, at another address (tests map one ring twice
    /// in one process, as two processes would).
    [[nodiscard]] channel map_again() const { return from_fd(map_.fd()); }

    channel(channel&& o) noexcept
        : map_(std::move(o.map_)), path_(std::move(o.path_)),
          unlink_on_destroy_(std::exchange(o.unlink_on_destroy_, 0)) {}
    channel& operator=(channel&& o) noexcept {
        if (this != &o) {
            release_name();
            map_ = std::move(o.map_);
            path_ = std::move(o.path_);
            unlink_on_destroy_ = std::exchange(o.unlink_on_destroy_, 0);
        }
        return *this;
    }
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;
    ~channel() { release_name(); }

    /// From now on every send returns closed; the consumer still drains committed frames.
    void close() noexcept {
        header().closed.store(1, std::memory_order_release);  // pairs with try_send's acquire load
    }
    [[nodiscard]] bool is_closed() const noexcept {
        return header().closed.load(std::memory_order_acquire) != 0;
    }

    /// Removes the name now (attached processes keep their mappings).
    void unlink() {
        if (!path_.empty() && path_.front() == '/' && ::shm_unlink(path_.c_str()) != 0 && errno != ENOENT) {
            throw error(detail::errno_text("shm_unlink", path_));
        }
        unlink_on_destroy_ = 0;
    }

    [[nodiscard]] int fd() const noexcept { return map_.fd(); }
    [[nodiscard]] std::uint32_t capacity() const noexcept { return header().capacity; }
    [[nodiscard]] std::uint32_t max_producers() const noexcept { return header().max_producers; }
    [[nodiscard]] std::size_t segment_bytes() const noexcept { return map_.bytes(); }

    /// Whether the attached consumer's process lives (a producer facing `full` asks this).
    [[nodiscard]] bool consumer_alive() const noexcept {
        return detail::alive(header().consumer.load(std::memory_order_acquire));
    }

    [[nodiscard]] channel_stats stats() const noexcept {
        channel_stats s;
        const auto& h = header();
        for (std::uint32_t i = 0; i != h.max_producers; ++i) {
            const auto& b = block(i);
            s.sent += b.sent.load(std::memory_order_relaxed);
            s.full += b.full.load(std::memory_order_relaxed);
            s.closed_rejects += b.closed_rejects.load(std::memory_order_relaxed);
            s.received += b.received.load(std::memory_order_relaxed);
            s.corrupt += b.corrupt.load(std::memory_order_relaxed);
            s.abandoned += b.abandoned.load(std::memory_order_relaxed);
            s.producers_attached += b.owner.load(std::memory_order_relaxed) != 0 ? 1U : 0U;
        }
        s.producers_reclaimed = h.producers_reclaimed.load(std::memory_order_relaxed);
        s.consumer_takeovers = h.consumer_takeovers.load(std::memory_order_relaxed);
        s.consumer_attached = h.consumer.load(std::memory_order_relaxed) != 0;
        s.closed = h.closed.load(std::memory_order_relaxed) != 0;
        return s;
    }

private:
    friend class producer<T>;
    friend class consumer<T>;
    using geometry = detail::geometry;

    static void check(const channel_config& c) {
        if (!detail::valid_capacity(c.capacity)) {
            throw std::invalid_argument("admf::ipc: channel capacity must be a power of two from 2 "
                                        "to 2^24, not " + std::to_string(c.capacity));
        }
        if (!detail::valid_producer_slots(c.max_producers)) {
            throw std::invalid_argument("admf::ipc: max_producers must be 1 to 1024, not " +
                                        std::to_string(c.max_producers));
        }
        if (c.dead_producer_timeout.count() <= 0) {
            throw std::invalid_argument("admf::ipc: dead_producer_timeout must be positive");
        }
    }

    // Creates: sizes the new (zero-filled) file, constructs the header, then marks it ready.
    channel(int fd, const channel_config& config, std::string path) : path_(std::move(path)) {
        const geometry g = geometry::of(config.capacity, config.max_producers, sizeof(T), alignof(T));
        if (::ftruncate(fd, static_cast<off_t>(g.total_bytes())) != 0) {
            const std::string text = detail::errno_text("ftruncate", path_);
            ::close(fd);
            if (path_.front() == '/') {
                ::shm_unlink(path_.c_str());
            }
            throw error(text);
        }
        map_ = detail::mapping(fd, g.total_bytes(), path_);
        auto* h = new (map_.base()) detail::segment_header{};
        std::memcpy(h->magic, detail::segment_magic, sizeof h->magic);
        h->version = detail::layout_version;
        h->header_bytes = sizeof(detail::segment_header);
        h->total_bytes = g.total_bytes();
        h->type_hash = type_hash;
        h->type_size = sizeof(T);
        h->type_align = alignof(T);
        h->slot_bytes = static_cast<std::uint32_t>(g.slot_bytes);
        h->payload_offset = static_cast<std::uint32_t>(g.payload_offset);
        h->capacity = config.capacity;
        h->max_producers = config.max_producers;
        h->dead_producer_timeout_ns = static_cast<std::uint64_t>(config.dead_producer_timeout.count());
        const std::size_t n = std::min(type_name.size(), sizeof h->type_name - 1);
        std::memcpy(h->type_name, type_name.data(), n);
        h->creator = detail::self_token();
        for (std::uint32_t i = 0; i != config.max_producers; ++i) {
            new (map_.base() + g.blocks_offset() + i * sizeof(detail::producer_block)) detail::producer_block{};
        }
        for (std::size_t i = 0; i != std::size_t{config.max_producers} * config.capacity; ++i) {
            new (map_.base() + g.frames_offset() + i * g.slot_bytes) detail::frame_header{};
        }
        h->ready.store(1, std::memory_order_release);  // pairs with the opener's acquire load
    }

    // Opens: validates the header, then maps the whole segment.
    channel(int fd, std::string path) : path_(std::move(path)) {
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const std::string text = detail::errno_text("fstat", path_);
            ::close(fd);
            throw error(text);
        }
        // A creator sizes the file right after creating it: wait briefly for that.
        const auto size_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (static_cast<std::size_t>(st.st_size) < sizeof(detail::segment_header) &&
               std::chrono::steady_clock::now() < size_deadline && ::fstat(fd, &st) == 0) {
            std::this_thread::yield();
        }
        const auto bytes = static_cast<std::size_t>(st.st_size);
        if (bytes < sizeof(detail::segment_header)) {
            ::close(fd);
            throw error("admf::ipc: segment '" + path_ + "' is too small to be a channel (" +
                        std::to_string(bytes) + " bytes)");
        }
        map_ = detail::mapping(fd, bytes, path_);
        const auto& h = header();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        // Acquire pairs with the creator's release store: every field below is written.
        while (h.ready.load(std::memory_order_acquire) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                throw error("admf::ipc: segment '" + path_ + "' is still being created after 1 s "
                            "(its creator may have died: remove_stale_segments())");
            }
            std::this_thread::yield();
        }
        if (std::memcmp(h.magic, detail::segment_magic, sizeof h.magic) != 0) {
            throw error("admf::ipc: '" + path_ + "' is not an admf channel segment");
        }
        if (h.version != detail::layout_version || h.header_bytes != sizeof(detail::segment_header)) {
            throw error("admf::ipc: segment '" + path_ + "' has layout version " + std::to_string(h.version) +
                        " (header " + std::to_string(h.header_bytes) + " bytes); this build reads version " +
                        std::to_string(detail::layout_version));
        }
        const std::string theirs(h.type_name, ::strnlen(h.type_name, sizeof h.type_name));
        if (h.type_hash != type_hash || h.type_size != sizeof(T) || h.type_align != alignof(T)) {
            throw error("admf::ipc: segment '" + path_ + "' carries '" + theirs + "' (" +
                        std::to_string(h.type_size) + " bytes, align " + std::to_string(h.type_align) +
                        "); this process expects '" + std::string(type_name) + "' (" +
                        std::to_string(sizeof(T)) + " bytes, align " + std::to_string(alignof(T)) + ")");
        }
        // Only a geometry create() could write: outside it the size below can wrap.
        if (const std::uint32_t cap = h.capacity, slots = h.max_producers;
            !detail::valid_capacity(cap) || !detail::valid_producer_slots(slots)) {
            throw error("admf::ipc: segment '" + path_ + "' describes capacity " + std::to_string(cap) +
                        " and " + std::to_string(slots) + " producer slots, which no channel has");
        }
        const geometry g = geometry::of(h.capacity, h.max_producers, sizeof(T), alignof(T));
        if (g.total_bytes() != h.total_bytes || h.total_bytes != bytes || g.slot_bytes != h.slot_bytes) {
            throw error("admf::ipc: segment '" + path_ + "' is " + std::to_string(bytes) +
                        " bytes, its header describes " + std::to_string(g.total_bytes()));
        }
    }

    void release_name() noexcept {
        if (unlink_on_destroy_ != 0 && unlink_on_destroy_ == ::getpid() && !path_.empty()) {
            ::shm_unlink(path_.c_str());
        }
        unlink_on_destroy_ = 0;
    }

    [[nodiscard]] detail::segment_header& header() const noexcept {
        return *reinterpret_cast<detail::segment_header*>(map_.base());
    }
    [[nodiscard]] geometry geom() const noexcept {
        const auto& h = header();
        return geometry::of(h.capacity, h.max_producers, sizeof(T), alignof(T));
    }
    [[nodiscard]] detail::producer_block& block(std::uint32_t i) const noexcept {
        return reinterpret_cast<detail::producer_block*>(map_.base() + geom().blocks_offset())[i];
    }

    detail::mapping map_;
    std::string path_;
    pid_t unlink_on_destroy_ = 0;
};

} // namespace admf::ipc

// The endpoints need channel<T> complete; each includes this header first, so any of the
// three may be included on its own.
#include <admf/ipc/consumer.hpp>
#include <admf/ipc/producer.hpp>
