// SPDX-License-Identifier: MIT
// The buffer a worker gathers one event type's batch in, for its batch handlers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <type_traits>

namespace admf::detail {

// Design: fixed storage for up to `capacity` events, allocated once by reserve() (at bus
// construction), never again: push() is a copy into the next slot (a memcpy for trivially
// copyable events) with no capacity check beyond the caller's, which delivers at
// max_batch. Owned by one thread (the lane's worker, or sync_bus's caller).
template <class E>
class batch_buffer {
public:
    batch_buffer() = default;
    batch_buffer(const batch_buffer&) = delete;
    batch_buffer& operator=(const batch_buffer&) = delete;
    ~batch_buffer() { clear(); }

    /// Allocates room for `capacity` events (once; drops what was gathered).
    void reserve(std::size_t capacity) {
        clear();
        storage_.reset(static_cast<E*>(::operator new(capacity * sizeof(E), std::align_val_t{alignof(E)})));
        capacity_ = capacity;
    }

    /// Copies `e` in; `time` is its publish time. Precondition: size() < capacity().
    void push(const E& e, std::int64_t time) noexcept {
        if (size_ == 0) {
            first_time_ = time;
        }
        if constexpr (std::is_trivially_copyable_v<E>) {
            std::memcpy(static_cast<void*>(storage_.get() + size_), &e, sizeof(E));
        } else {
            std::construct_at(storage_.get() + size_, e); // nothrow: bus_checks requires it
        }
        ++size_;
    }

    [[nodiscard]] std::span<const E> events() const noexcept { return {storage_.get(), size_}; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    /// Publish time of the oldest event in the buffer (valid when not empty).
    [[nodiscard]] std::int64_t first_time() const noexcept { return first_time_; }

    void clear() noexcept {
        if constexpr (!std::is_trivially_destructible_v<E>) {
            std::destroy_n(storage_.get(), size_);
        }
        size_ = 0;
    }

private:
    struct release {
        void operator()(E* p) const noexcept { ::operator delete(p, std::align_val_t{alignof(E)}); }
    };
    std::unique_ptr<E, release> storage_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::int64_t first_time_ = 0;
};

} // namespace admf::detail
