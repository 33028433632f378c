// SPDX-License-Identifier: MIT
// Test-only: how dsched picks the next thread: uniform random, PCT, bounded-preemption DFS
// and replay of a recorded schedule.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler.hpp"
#include "seed.hpp"

namespace admf_test::dsched {

/// Uniform choice among the runnable threads at every point, from a seed.
class random_strategy final : public strategy {
public:
    explicit random_strategy(std::uint64_t seed) noexcept : rng_(seed) {}
    void begin(std::size_t) override {}
    std::size_t choose(const choice_point& p) override { return rng_.below(p.count); }

private:
    rng rng_;
};

/// PCT (Burckhardt et al., ASPLOS 2010) with depth `depth`: random distinct thread
/// priorities, the highest runnable thread always runs, and at `depth - 1` random points
/// among the first `length` choices the running thread drops below every other. A thread
/// that yields (spins) drops too, so a spinning high-priority thread cannot starve the rest.
class pct_strategy final : public strategy {
public:
    pct_strategy(std::uint64_t seed, std::size_t depth, std::size_t length) noexcept
        : rng_(seed), depth_(depth), length_(std::max<std::size_t>(length, 1)) {}

    void begin(std::size_t threads) override {
        for (std::size_t i = 0; i != threads; ++i) {
            priority_[i] = static_cast<std::int64_t>(depth_ + i);
        }
        for (std::size_t i = threads; i > 1; --i) { // Fisher-Yates shuffle
            std::swap(priority_[i - 1], priority_[rng_.below(i)]);
        }
        changes_.clear();
        for (std::size_t i = 0; i + 1 < depth_; ++i) {
            changes_.push_back(rng_.below(length_));
        }
        next_low_ = static_cast<std::int64_t>(depth_) - 1;
        choices_ = 0;
    }

    std::size_t choose(const choice_point& p) override {
        if (p.kind == point_kind::step &&
            std::find(changes_.begin(), changes_.end(), choices_) != changes_.end()) {
            priority_[p.from] = next_low_--;
        }
        if (p.kind == point_kind::yield) {
            priority_[p.from] = next_low_--;
        }
        ++choices_;
        std::size_t best = 0;
        for (std::size_t i = 1; i != p.count; ++i) {
            if (priority_[p.candidates[i]] > priority_[p.candidates[best]]) {
                best = i;
            }
        }
        return best;
    }

private:
    rng rng_;
    std::size_t depth_;
    std::size_t length_;
    std::array<std::int64_t, max_threads> priority_{};
    std::vector<std::size_t> changes_;
    std::int64_t next_low_ = 0;
    std::size_t choices_ = 0;
};

/// Follows a recorded schedule (one thread digit per choice); `diverged` when the program
/// asks for a choice the record does not have, or names a thread that cannot run.
class replay_strategy final : public strategy {
public:
    explicit replay_strategy(std::string schedule) : schedule_(std::move(schedule)) {}
    void begin(std::size_t) override { at_ = 0; }
    std::size_t choose(const choice_point& p) override {
        if (at_ == schedule_.size()) {
            return diverged;
        }
        const auto thread = static_cast<std::size_t>(schedule_[at_++] - '0');
        for (std::size_t i = 0; i != p.count; ++i) {
            if (p.candidates[i] == thread) {
                return i;
            }
        }
        return diverged;
    }

private:
    std::string schedule_;
    std::size_t at_ = 0;
};

/// Exhaustive depth-first search over every schedule with at most `max_preemptions`
/// preemptions (CHESS's bound; loom's default in tokio and crossbeam CI is 2 as well).
/// Stateless: each execution replays the stack's prefix, then takes choice 0 (the running
/// thread goes on) at each new point; advance() then moves to the next untried branch.
class dfs_strategy final : public strategy {
public:
    explicit dfs_strategy(std::size_t max_preemptions) noexcept
        : max_preemptions_(max_preemptions) {}

    void begin(std::size_t) override {
        depth_ = 0;
        preemptions_ = 0;
    }

    std::size_t choose(const choice_point& p) override {
        if (depth_ == stack_.size()) {
            stack_.push_back(frame{0, p.count, p.continuing, preemptions_});
        } else if (stack_[depth_].count != p.count ||
                   stack_[depth_].continuing != p.continuing) {
            return diverged; // the scenario is not deterministic given its schedule
        }
        const frame& f = stack_[depth_++];
        if (f.continuing && f.chosen != 0) {
            ++preemptions_;
        }
        return f.chosen;
    }

    /// After an execution: steps to the next schedule; false when all were explored.
    bool advance() {
        stack_.resize(depth_);
        while (!stack_.empty()) {
            frame& f = stack_.back();
            const std::size_t cost = f.continuing ? 1 : 0; // every index past 0 preempts
            if (f.chosen + 1 < f.count && f.preemptions_before + cost <= max_preemptions_) {
                ++f.chosen;
                return true;
            }
            stack_.pop_back();
        }
        return false;
    }

private:
    struct frame {
        std::size_t chosen;
        std::size_t count;
        bool continuing;
        std::size_t preemptions_before;
    };
    std::size_t max_preemptions_;
    std::vector<frame> stack_;
    std::size_t depth_ = 0;
    std::size_t preemptions_ = 0;
};

} // namespace admf_test::dsched
