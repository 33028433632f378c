// SPDX-License-Identifier: MIT
// admf::handler_error and admf::error_sink: where exceptions thrown by handlers go.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string_view>

namespace admf {

/// One exception a handler threw. The bus caught it; the event still reached the other
/// handlers and the worker goes on.
struct handler_error {
    std::string_view partition;   ///< domain name, e.g. "order"
    std::string_view event;       ///< event_traits name, e.g. "ORDER.NEW"
    std::uint64_t subscription;   ///< subscription::id() of the handler that threw
    std::exception_ptr exception; ///< what it threw
};

/// Receives every handler_error, on the worker thread that caught it. Must not throw (an
/// exception from the sink is swallowed and counted like the one it reports).
using error_sink = std::function<void(const handler_error&)>;

/// The default sink: writes to stderr, rate-limited to the 1st, 2nd, 4th, 8th, ... error of
/// the process, so a handler throwing on every event cannot flood the log.
inline void default_error_sink(const handler_error& error) noexcept {
    static std::atomic<std::uint64_t> count{0};
    const auto n = count.fetch_add(1, std::memory_order_relaxed) + 1; // only a tally
    if ((n & (n - 1)) != 0) {
        return;
    }
    const auto print = [&](const char* what) {
        std::fprintf(stderr,
                     "admf: handler of subscription %llu threw on %.*s (partition %.*s): %s "
                     "[error %llu of this process]\n",
                     static_cast<unsigned long long>(error.subscription),
                     static_cast<int>(error.event.size()), error.event.data(),
                     static_cast<int>(error.partition.size()), error.partition.data(), what,
                     static_cast<unsigned long long>(n));
    };
    try {
        std::rethrow_exception(error.exception);
    } catch (const std::exception& e) {
        print(e.what()); // inside the handler: rethrow_exception may have copied the object
    } catch (...) {
        print("exception not derived from std::exception");
    }
}

} // namespace admf
