// SPDX-License-Identifier: MIT
// Capacity validation and cache-aligned slot storage shared by admf's own rings.
#pragma once

#include <bit>
#include <cstddef>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include <admf/core/platform.hpp>

namespace admf::detail {

/// Rounds a requested capacity up to a power of two no smaller than `minimum`.
/// Throws std::invalid_argument for 0 and std::length_error when the slots of the rounded
/// capacity (each `slot_size` bytes) cannot be addressed.
inline std::size_t ring_capacity(std::size_t requested, std::size_t slot_size,
                                 std::size_t minimum, const char* ring_name) {
    if (requested == 0) {
        throw std::invalid_argument(std::string(ring_name) + ": capacity must be at least 1");
    }
    constexpr std::size_t largest_pow2 = std::size_t{1} << (std::numeric_limits<std::size_t>::digits - 1);
    const std::size_t max_slots = std::numeric_limits<std::ptrdiff_t>::max() / slot_size;
    if (requested > largest_pow2 || std::bit_ceil(requested) > max_slots) {
        throw std::length_error(std::string(ring_name) + ": capacity " +
                                std::to_string(requested) + " exceeds the addressable maximum");
    }
    return std::bit_ceil(requested < minimum ? minimum : requested);
}

/// Cache-line aligned array of `count` default-constructed Slot objects, padded by
/// false_sharing_range on both ends so no neighbouring heap object shares their lines.
/// Allocates only in the constructor.
template <class Slot>
class slot_array {
public:
    explicit slot_array(std::size_t count)
        : count_(count), base_(static_cast<std::byte*>(::operator new(bytes(count), alignment))) {
        // Element-wise placement new: the array form may reserve an unspecified cookie.
        slots_ = reinterpret_cast<Slot*>(base_ + false_sharing_range);
        for (std::size_t i = 0; i < count; ++i) {
            ::new (static_cast<void*>(slots_ + i)) Slot;
        }
    }
    ~slot_array() {
        for (std::size_t i = 0; i < count_; ++i) {
            slots_[i].~Slot();
        }
        ::operator delete(base_, alignment);
    }
    slot_array(const slot_array&) = delete;
    slot_array& operator=(const slot_array&) = delete;

    [[nodiscard]] Slot& operator[](std::size_t i) const noexcept { return slots_[i]; }

private:
    static_assert(false_sharing_range % alignof(Slot) == 0 || alignof(Slot) % false_sharing_range == 0,
                  "slot alignment must be compatible with the padding in front of the slots");
    static constexpr std::align_val_t alignment{
        alignof(Slot) > false_sharing_range ? alignof(Slot) : false_sharing_range};
    static std::size_t bytes(std::size_t count) noexcept {
        return count * sizeof(Slot) + 2 * false_sharing_range;
    }
    std::size_t count_;
    std::byte* base_;
    Slot* slots_ = nullptr;
};

/// Raw storage for one T; the ring decides when an object lives in it.
template <class T>
struct element_storage {
    alignas(T) std::byte bytes[sizeof(T)];

    [[nodiscard]] T* get() noexcept { return std::launder(reinterpret_cast<T*>(bytes)); }
    [[nodiscard]] void* raw() noexcept { return bytes; }
};

} // namespace admf::detail
