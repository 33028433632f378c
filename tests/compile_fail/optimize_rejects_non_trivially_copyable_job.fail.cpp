// SPDX-License-Identifier: MIT
// Must not compile: a job crosses processes as bytes through a shared-memory channel, so it
// must be trivially copyable; this job differs from the control's by a std::string member.
#include <cstdint>
#include <string>
#include <vector>

#include <admf/optimize/optimizer.hpp>

struct job {
    std::uint32_t fast, slow;
    std::string name;
};
struct result {
    std::int64_t pnl;
};

std::vector<result> run(const std::vector<job>& jobs) {
    return admf::optimize::run_parallel(jobs, [](const job& j) { return result{j.fast}; });
}
