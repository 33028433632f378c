// SPDX-License-Identifier: MIT
// admf::ipc::error and admf::ipc::detail's segment plumbing: mapping a segment, its name,
// whether the processes recorded in it still live, the type name it records, and how
// cross-process waits poll.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <admf/core/event_traits.hpp>
#include <admf/core/platform.hpp>
#include <admf/ipc/detail/layout.hpp>
#include <admf/ipc/detail/process.hpp>
#include <admf/wait/detail/spin_phases.hpp>

namespace admf::ipc {

/// Misuse, a mismatched segment (version, type, size), or an operating-system error.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

template <class T>
consteval std::string_view type_name_of() {
    if constexpr (admf::detail::traits_have_name<T> || admf::detail::type_has_name<T>) {
        return admf::event_name_v<T>;
    } else {
        // No declared name: the compiler's spelling of T, cut from "[with T = ...;" (GCC)
        // or "[T = ...]" (Clang). Stable for one compiler and one source; give T an
        // event_traits name to share a channel across compilers.
        constexpr std::string_view f = __PRETTY_FUNCTION__;
        constexpr std::size_t from = f.find("T = ") + 4;
        constexpr std::size_t to = f.find_first_of(";]", from);
        return f.substr(from, to - from);
    }
}

inline std::string errno_text(const char* what, const std::string& name) {
    return std::string("admf::ipc: ") + what + " '" + name + "': " + std::strerror(errno);
}

/// One mmap of a segment; unmaps and closes on destruction.
class mapping {
public:
    mapping() = default;
    mapping(int fd, std::size_t bytes, const std::string& name) : fd_(fd), bytes_(bytes) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            const std::string text = errno_text("mmap", name);
            ::close(fd);
            fd_ = -1;
            throw error(text);
        }
        base_ = static_cast<unsigned char*>(p);
    }
    mapping(mapping&& o) noexcept
        : fd_(std::exchange(o.fd_, -1)), bytes_(std::exchange(o.bytes_, 0)),
          base_(std::exchange(o.base_, nullptr)) {}
    mapping& operator=(mapping&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
            bytes_ = std::exchange(o.bytes_, 0);
            base_ = std::exchange(o.base_, nullptr);
        }
        return *this;
    }
    mapping(const mapping&) = delete;
    mapping& operator=(const mapping&) = delete;
    ~mapping() { reset(); }

    [[nodiscard]] unsigned char* base() const noexcept { return base_; }
    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

private:
    void reset() noexcept {
        if (base_ != nullptr) {
            ::munmap(base_, bytes_);
        }
        if (fd_ >= 0) {
            ::close(fd_);
        }
        base_ = nullptr;
        fd_ = -1;
    }
    int fd_ = -1;
    std::size_t bytes_ = 0;
    unsigned char* base_ = nullptr;
};

inline std::string shm_path(std::string_view name) {
    if (name.empty() || name.size() > 200 || name.find('/') != std::string_view::npos) {
        throw std::invalid_argument("admf::ipc: a channel name must be 1 to 200 characters "
                                    "without '/', not '" + std::string(name) + "'");
    }
    return "/admf." + std::string(name);
}

/// Whether any process recorded in the segment still runs (creator, consumer, producers).
inline bool segment_in_use(const unsigned char* base, std::size_t bytes) noexcept {
    if (bytes < sizeof(segment_header)) {
        return false;
    }
    const auto* h = reinterpret_cast<const segment_header*>(base);
    if (alive(h->creator) && h->ready.load(std::memory_order_acquire) == 0) {
        return true;  // still being initialised
    }
    if (h->ready.load(std::memory_order_acquire) == 0) {
        return false;  // its creator died while initialising it
    }
    if (alive(h->consumer.load(std::memory_order_acquire))) {
        return true;
    }
    const geometry g = geometry::of(h->capacity, h->max_producers, h->type_size, h->type_align);
    // The geometry create() writes is checked first: outside it total_bytes() can wrap
    // around 2^64 and pass, and the loop below would read past the mapping (T9 fuzzing).
    if (std::memcmp(h->magic, segment_magic, sizeof segment_magic) != 0 || h->version != layout_version ||
        !valid_capacity(h->capacity) || !valid_producer_slots(h->max_producers) ||
        h->type_align > cache_line_size ||
        h->type_size > bytes / (std::uint64_t{h->capacity} * h->max_producers) ||
        g.total_bytes() > bytes) {
        return alive(h->creator);  // not a layout we can read further
    }
    const auto* blocks = reinterpret_cast<const producer_block*>(base + g.blocks_offset());
    for (std::size_t i = 0; i != h->max_producers; ++i) {
        if (alive(blocks[i].owner.load(std::memory_order_acquire))) {
            return true;
        }
    }
    return alive(h->creator);
}

/// Opens a named segment only to ask whether it is stale; removes it if so.
inline bool remove_if_stale(const std::string& path) {
    const int fd = ::shm_open(path.c_str(), O_RDWR, 0);
    if (fd < 0) {
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        return false;
    }
    const auto bytes = static_cast<std::size_t>(st.st_size);
    bool in_use = false;
    if (bytes >= sizeof(segment_header)) {
        mapping m(fd, bytes, path);
        in_use = segment_in_use(m.base(), bytes);
    } else {
        ::close(fd);  // empty or truncated: a creator died before ftruncate
    }
    if (in_use) {
        return false;
    }
    return ::shm_unlink(path.c_str()) == 0;
}
/// How send(timeout) and receive(timeout) wait: the polling wait strategies' escalation, 64
/// spins, 64 yields, then sleeps doubling to 200 µs. There is no futex in the segment yet
/// (docs/ipc.md), so an idle wait costs at most one 200 µs sleep and no wake-up can be lost.
constexpr admf::detail::spin_phases wait_phases() noexcept {
    return {64, 64, std::chrono::microseconds(200)};
}

} // namespace detail

} // namespace admf::ipc
