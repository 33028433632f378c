// SPDX-License-Identifier: MIT
// The benchmark's one spin-wait: spin with cpu_relax(), then yield the CPU; await() on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

#include <admf/core/platform.hpp>

namespace admf::bench {

/// Every benchmark thread waits through this, for every queue alike.
/// Cost: spins (100% CPU, no syscall) for the first `spin_limit` failed tries, which keeps
/// the round-trip path free of syscalls, then calls sched_yield on every further try, so a
/// thread that shares its CPU (2P->1C pins both producers to one CPU; machines with one
/// CPU) hands the CPU to the thread it is waiting for instead of burning its time slice.
/// spin_limit x cpu_relax() is roughly 10-50 us, depending on the CPU's PAUSE latency.
class backoff {
public:
    static constexpr unsigned spin_limit = 1024;

    void pause() noexcept {
        if (tries_ < spin_limit) {
            ++tries_;
            cpu_relax();
        } else {
            std::this_thread::yield();
        }
    }

    void reset() noexcept { tries_ = 0; }

private:
    unsigned tries_ = 0;
};

/// Waits until `done()` through the backoff above; false once `stall_timeout` has passed
/// without it (the caller reports the run as abandoned). Reads the clock every 1024 tries.
template <class Done>
bool await(std::chrono::milliseconds stall_timeout, Done&& done) {
    backoff wait;
    const auto deadline = std::chrono::steady_clock::now() + stall_timeout;
    for (std::uint32_t tries = 1; !done(); ++tries) {
        if ((tries & 1023) == 0 && std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        wait.pause();
    }
    return true;
}

} // namespace admf::bench
