// SPDX-License-Identifier: MIT
// admf::priority: the seed's three dispatch priority levels.
#pragma once

#include <cstddef>
#include <string_view>

namespace admf {

/// Dispatch priority of an event within its lane; `medium` unless event_traits or the
/// publish call says otherwise. Numbered so that a larger value is more urgent.
enum class priority : unsigned char { low, medium, high };

inline constexpr std::size_t priority_levels = 3;

[[nodiscard]] constexpr std::string_view priority_name(priority p) noexcept {
    switch (p) {
    case priority::low:
        return "low";
    case priority::medium:
        return "medium";
    case priority::high:
        return "high";
    }
    return "?";
}

} // namespace admf
