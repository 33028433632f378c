// SPDX-License-Identifier: MIT
// Shared by the libFuzzer targets (TESTING.md T9): a byte reader that never runs past the
// input, and the one way a target reports a divergence (a message, then abort).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace admf_fuzz {

/// Reads the fuzz input front to back; past the end every read is 0 and done() is true.
class reader {
public:
    reader(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
    [[nodiscard]] bool done() const noexcept { return pos_ >= size_; }
    std::uint8_t byte() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }
    std::uint64_t u64(unsigned bytes = 8) noexcept {
        std::uint64_t v = 0;
        for (unsigned i = 0; i != bytes; ++i) {
            v |= std::uint64_t{byte()} << (8 * i);
        }
        return v;
    }
    [[nodiscard]] std::size_t left() const noexcept { return pos_ < size_ ? size_ - pos_ : 0; }
    [[nodiscard]] const std::uint8_t* here() const noexcept { return data_ + pos_; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

[[noreturn]] inline void fail(const char* target, const char* what, unsigned long long a = 0,
                              unsigned long long b = 0) noexcept {
    std::fprintf(stderr, "admf fuzz %s: %s (%llu vs %llu)\n", target, what, a, b);
    std::fflush(stderr);
    std::abort();
}

} // namespace admf_fuzz

#define ADMF_FUZZ_CHECK(target, cond, a, b)                                                    \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            ::admf_fuzz::fail(target, #cond, static_cast<unsigned long long>(a),               \
                              static_cast<unsigned long long>(b));                             \
        }                                                                                      \
    } while (0)
