// SPDX-License-Identifier: MIT
// Package test, shared by both consumer projects (find_package, add_subdirectory): one int
// goes through each ring, and one event through admf::bus (threads, the Threads link) and
// admf::sync_bus. ADMF_CONSUMER names the project that built it.
#include <atomic>
#include <cstdio>
#include <string_view>

#include <admf/bus.hpp>
#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/mpsc_ring.hpp>
#include <admf/ring/spsc_ring.hpp>

namespace {

struct ping {
    static constexpr admf::domain domain = admf::domain::system; // intrusive traits
    static constexpr std::string_view name = "SYSTEM.PING";
    int value;
};

template <class Ring>
bool round_trip(const char* name) {
    Ring ring(8);
    if (!ring.try_push(42)) {
        std::fprintf(stderr, "%s: try_push on an empty ring failed\n", name);
        return false;
    }
    int value = 0;
    if (!ring.try_pop(value) || value != 42) {
        std::fprintf(stderr, "%s: try_pop did not return the pushed value\n", name);
        return false;
    }
    return true;
}

template <class Bus>
bool bus_round_trip(const char* name) {
    Bus bus;
    std::atomic<int> got{0};
    auto sub = bus.template subscribe<ping>([&](const ping& p) { got += p.value; });
    bus.start();
    if (bus.publish(ping{42}) != admf::publish_result::accepted) {
        std::fprintf(stderr, "%s: publish was not accepted\n", name);
        return false;
    }
    bus.flush();
    bus.stop();
    if (got.load() != 42) {
        std::fprintf(stderr, "%s: the handler saw %d, not 42\n", name, got.load());
        return false;
    }
    return true;
}

} // namespace

int main() {
    const bool ok = round_trip<admf::spsc_ring<int>>("spsc_ring") &&
                    round_trip<admf::mpsc_ring<int>>("mpsc_ring") &&
                    round_trip<admf::mpmc_ring<int>>("mpmc_ring") &&
                    bus_round_trip<admf::bus<ping>>("bus") &&
                    bus_round_trip<admf::sync_bus<ping>>("sync_bus");
    if (!ok) {
        return 1;
    }
    std::printf("%s consumer: ok\n", ADMF_CONSUMER);
    return 0;
}
