// SPDX-License-Identifier: MIT
// Must compile: the control of optimize_rejects_*: a trivially copyable job and result.
#include <cstdint>
#include <vector>

#include <admf/optimize/optimizer.hpp>

struct job {
    std::uint32_t fast, slow;
};
struct result {
    std::int64_t pnl;
};

std::vector<result> run(const std::vector<job>& jobs) {
    return admf::optimize::run_parallel(jobs, [](const job& j) { return result{j.fast}; });
}
