// SPDX-License-Identifier: MIT
// Platform facts: cache-line geometry, the spin-loop hint and test hooks. The only #if-platform code.
#pragma once

#include <cstddef>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace admf {

/// Size of one cache line on every CPU we target (x86-64, AArch64 Neoverse/Graviton).
inline constexpr std::size_t cache_line_size = 64;

/// Distance that keeps two independently written atomics from false sharing. Two lines,
/// because Intel's adjacent-line prefetcher fetches lines in 128-byte pairs.
inline constexpr std::size_t false_sharing_range = 2 * cache_line_size;

/// Tells the CPU it is in a spin loop: saves power and, on x86, frees the sibling
/// hyper-thread and avoids the memory-order mis-speculation penalty when the loop exits.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

/// Pins the calling thread to one CPU. Returns false where that is unsupported or refused
/// (no such CPU, not permitted by the cgroup): the thread then keeps running unpinned.
inline bool pin_current_thread(int cpu) noexcept {
#if defined(__linux__)
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
        return false;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
#else
    static_cast<void>(cpu);
    return false;
#endif
}

} // namespace admf

/// Forces inlining of a hot-path function the optimiser would otherwise outline (the
/// publish path: outlined, the event is passed through memory and reloaded right after the
/// caller stored it, a store-forwarding stall per publish).
#if defined(__GNUC__) || defined(__clang__)
#define ADMF_ALWAYS_INLINE [[gnu::always_inline]] inline
#define ADMF_ALWAYS_INLINE_LAMBDA __attribute__((always_inline))
#else
#define ADMF_ALWAYS_INLINE inline
#define ADMF_ALWAYS_INLINE_LAMBDA
#endif

/// Named point where tests may yield or perturb the schedule; compiles to nothing unless a
/// test defines it before including any admf header.
#ifndef ADMF_TEST_POINT
#define ADMF_TEST_POINT(name) static_cast<void>(0)
#endif

/// Test-only negative controls (tests/negative/README.md) inject known bugs to prove the test
/// suites can fail. A build that defines one without ADMF_TEST_NEGATIVE_CONTROL stops here,
/// so a fault cannot be shipped by accident.
#if (defined(ADMF_FAULT_RELAXED_PUBLISH) || defined(ADMF_FAULT_DROP_ONE_PER_MILLION) ||         \
     defined(ADMF_FAULT_SKIP_HANDOVER) || defined(ADMF_FAULT_STRICT_FOR_WEIGHTED) ||           \
     defined(ADMF_FAULT_SKIP_IPC_CHECKSUM)) &&                                                  \
    !defined(ADMF_TEST_NEGATIVE_CONTROL)
#error "ADMF_FAULT_* injects a bug for tests/negative only; define ADMF_TEST_NEGATIVE_CONTROL there"
#endif
