// SPDX-License-Identifier: MIT
// Test-only: the run's random seed (ADMF_SEED), a small PRNG, and the stress scale
// (ADMF_STRESS_SCALE) that picks per-build sizes (TESTING.md "Conventions").
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <unistd.h>

namespace admf_test {

/// splitmix64: tiny, fast, good enough to pick operations and batch sizes.
class rng {
public:
    explicit rng(std::uint64_t seed) noexcept : state_(seed) {}

    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9e37'79b9'7f4a'7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform-enough value in [0, n), n > 0.
    std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }

private:
    std::uint64_t state_;
};

/// The seed of this process: ADMF_SEED from the environment (decimal or 0x hex), else
/// derived from the clock and the pid. Printed once, so any failing run can be replayed
/// with ADMF_SEED=<value>.
inline std::uint64_t run_seed() {
    static const std::uint64_t seed = [] {
        std::uint64_t s = 0;
        const char* from_env = std::getenv("ADMF_SEED");
        if (from_env != nullptr && *from_env != '\0') {
            s = std::strtoull(from_env, nullptr, 0);
        } else {
            const auto now = std::chrono::system_clock::now().time_since_epoch();
            rng mix(static_cast<std::uint64_t>(
                        std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) ^
                    (static_cast<std::uint64_t>(::getpid()) << 32));
            s = mix.next();
        }
        std::printf("admf: ADMF_SEED=%llu (%s; export ADMF_SEED=%llu to replay)\n",
                    static_cast<unsigned long long>(s),
                    from_env != nullptr && *from_env != '\0' ? "from the environment"
                                                            : "time-derived",
                    static_cast<unsigned long long>(s));
        std::fflush(stdout);
        return s;
    }();
    return seed;
}

/// Seed of one independent stream (a thread, a case) derived from the run seed.
inline std::uint64_t stream_seed(std::uint64_t case_salt, std::uint64_t stream) {
    rng r(run_seed() ^ (case_salt * 0x2545'f491'4f6c'dd1dULL) ^ (stream << 17));
    return r.next();
}

/// Size tier of the stress tests (TESTING.md "Build configs"): rel, tsan or asan.
enum class stress_scale { rel, tsan, asan };

/// ADMF_STRESS_SCALE if set; otherwise the sanitizer this binary was built with.
inline stress_scale current_stress_scale() {
    static const stress_scale scale = [] {
        const char* env = std::getenv("ADMF_STRESS_SCALE");
        if (env != nullptr && *env != '\0') {
            const std::string_view v(env);
            if (v == "rel") {
                return stress_scale::rel;
            }
            if (v == "tsan") {
                return stress_scale::tsan;
            }
            if (v == "asan") {
                return stress_scale::asan;
            }
            throw std::invalid_argument("ADMF_STRESS_SCALE must be rel, tsan or asan, not '" +
                                        std::string(v) + "'");
        }
#if defined(__SANITIZE_THREAD__)
        return stress_scale::tsan;
#elif defined(__SANITIZE_ADDRESS__)
        return stress_scale::asan;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
        return stress_scale::tsan;
#elif __has_feature(address_sanitizer)
        return stress_scale::asan;
#else
        return stress_scale::rel;
#endif
#else
        return stress_scale::rel;
#endif
    }();
    return scale;
}

inline const char* to_string(stress_scale s) noexcept {
    switch (s) {
    case stress_scale::rel:
        return "rel";
    case stress_scale::tsan:
        return "tsan";
    case stress_scale::asan:
        return "asan";
    }
    return "?";
}

/// Picks the value for the current scale.
template <class T>
T by_scale(T rel, T tsan, T asan) {
    switch (current_stress_scale()) {
    case stress_scale::tsan:
        return tsan;
    case stress_scale::asan:
        return asan;
    case stress_scale::rel:
        break;
    }
    return rel;
}

} // namespace admf_test
