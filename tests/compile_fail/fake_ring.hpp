// SPDX-License-Identifier: MIT
// A minimal type that models admf::ring_for<fake_ring, int>; a case may define
// ADMF_FAKE_RING_WITHOUT_TRY_POP first, so the only difference from the passing control is
// the one member under test.
#pragma once

#include <cstddef>

#include <admf/ring/ring_for.hpp>

namespace test {

struct fake_ring {
    using value_type = int;
    static constexpr admf::producers producer_mode = admf::producers::single;
    static constexpr admf::consumers consumer_mode = admf::consumers::single;

    explicit fake_ring(std::size_t) {}

    bool try_push(int&&) { return false; }
    template <class... Args>
    bool try_emplace(Args&&...) {
        return false;
    }
#ifndef ADMF_FAKE_RING_WITHOUT_TRY_POP
    bool try_pop(int&) { return false; }
#endif
    std::size_t try_push_n(int*, std::size_t) { return 0; }
    std::size_t try_pop_n(int*, std::size_t) { return 0; }
    template <class F>
    std::size_t consume(F&&, std::size_t) {
        return 0;
    }
    std::size_t size_approx() const { return 0; }
    std::size_t capacity() const { return 0; }
};

} // namespace test
