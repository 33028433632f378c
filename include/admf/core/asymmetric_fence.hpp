// SPDX-License-Identifier: MIT
// admf::light_fence / admf::heavy_fence: a store-load fence split between a frequent side that
// pays nothing and a rare side that pays a system call (Linux membarrier).
#pragma once

#include <atomic>
#include <cstdlib>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace admf {

// Design: Dekker's handshake (each side stores its flag, fences, then loads the other's)
// needs a full fence on both sides, i.e. a store-buffer drain on every publish. With
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) the rare side forces that fence onto every
// running thread of the process instead, so the frequent side needs only a compiler barrier
// (folly's asymmetricLightBarrier/asymmetricHeavyBarrier). Pairing rule: a light_fence()
// between a thread's store and load pairs with a heavy_fence() between the other thread's
// store and load: at least one of the two loads sees the other side's store.
// Where membarrier is missing or refused (old kernel, seccomp, other OS), both functions
// are a seq_cst fence, which pairs the same way.

namespace detail {
inline bool register_membarrier() noexcept {
#if defined(__linux__) && defined(__NR_membarrier)
    const long commands = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (commands < 0 || (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
        return false;
    }
    return syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
    return false;
#endif
}

/// Whether heavy_fence() is a membarrier. Decided once per process; a thread-safe static,
/// so a light side that reads `true` is ordered after the registration.
inline bool membarrier_ready() noexcept {
    static const bool ready = register_membarrier();
    return ready;
}
} // namespace detail

/// The frequent side. Costs a compiler barrier where membarrier works, else a full fence.
inline void light_fence() noexcept {
    if (detail::membarrier_ready()) {
        std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }
}

/// The rare side. Costs a membarrier system call (~0.5-5 µs, an IPI to each CPU running a
/// thread of this process) where available, else a full fence.
inline void heavy_fence() noexcept {
#if defined(__linux__) && defined(__NR_membarrier)
    if (detail::membarrier_ready()) {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
            std::abort(); // registered, so it cannot fail; light sides already rely on it
        }
        std::atomic_thread_fence(std::memory_order_seq_cst);
        return;
    }
#endif
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

} // namespace admf
