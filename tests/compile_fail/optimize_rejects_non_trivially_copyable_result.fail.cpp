// SPDX-License-Identifier: MIT
// Must not compile: a result comes back as bytes through a shared-memory channel, so it must
// be trivially copyable; this result differs from the control's by a std::vector member.
#include <cstdint>
#include <vector>

#include <admf/optimize/optimizer.hpp>

struct job {
    std::uint32_t fast, slow;
};
struct result {
    std::int64_t pnl;
    std::vector<std::int64_t> equity;
};

std::vector<result> run(const std::vector<job>& jobs) {
    return admf::optimize::run_parallel(jobs, [](const job& j) { return result{j.fast, {}}; });
}
