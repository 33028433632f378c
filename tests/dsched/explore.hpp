// SPDX-License-Identifier: MIT
// Test-only: runs one dsched scenario under random, PCT and bounded-exhaustive schedules,
// stops at the first failing schedule and says how to replay it (ADMF_DSCHED_REPLAY).
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "dsched.hpp"
#include "seed.hpp"
#include "strategies.hpp"

namespace admf_test::dsched {

// A scenario is a State type: `static constexpr std::size_t threads`, a default constructor
// (fresh ring etc., run on the main thread before each execution), `void run(std::size_t
// thread)` (one thread's operations; spin loops call dsched::yield()) and
// `std::string check() const` (after all threads returned: empty, or what went wrong).
template <class State>
concept scenario = requires(State& s, const State& cs, std::size_t i) {
    { State::threads } -> std::convertible_to<std::size_t>;
    s.run(i);
    { cs.check() } -> std::convertible_to<std::string>;
};

struct explore_options {
    std::size_t random_runs = 100'000;
    std::size_t pct_runs = 10'000;
    std::size_t pct_depth = 3;
    std::size_t max_preemptions = 2;
    std::size_t exhaustive_limit = 2'000'000; ///< stop (and say so) past this many schedules
    std::size_t max_steps = 5'000;            ///< an execution longer than this is a livelock

    /// The CI sizes: 100 000 random schedules in rel, 10 000 under TSan and ASan (each ~3-10x
    /// slower, and the schedules they would add find nothing a sanitizer adds to: the
    /// scheduler runs one thread at a time; rel explores the full count). The exhaustive
    /// bound is 250 000 under both.
    /// ADMF_DSCHED_RANDOM, ADMF_DSCHED_PCT and ADMF_DSCHED_EXHAUSTIVE override them (the
    /// nightly run uses ADMF_DSCHED_RANDOM=1000000).
    static explore_options for_this_build() {
        explore_options o;
        o.random_runs = from_env("ADMF_DSCHED_RANDOM", by_scale<std::size_t>(100'000, 10'000, 10'000));
        o.pct_runs = from_env("ADMF_DSCHED_PCT", by_scale<std::size_t>(10'000, 1'000, 1'000));
        o.exhaustive_limit =
            from_env("ADMF_DSCHED_EXHAUSTIVE", by_scale<std::size_t>(2'000'000, 250'000, 250'000));
        return o;
    }
    static std::size_t from_env(const char* name, std::size_t otherwise) {
        const char* v = std::getenv(name);
        return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : otherwise;
    }
};

/// A failing schedule: which search found it, how to replay it, and what happened.
struct failure {
    std::string found_by;
    std::string replay; ///< value for ADMF_DSCHED_REPLAY
    execution run;
};

struct report {
    std::string scenario;
    std::size_t random_runs = 0;
    std::size_t pct_runs = 0;
    std::size_t exhaustive_runs = 0;
    bool exhaustive_complete = false;
    bool replayed = false; ///< ADMF_DSCHED_REPLAY was set: only that schedule ran
    std::size_t choices = 0; ///< scheduling choices made over all executions
    double seconds = 0;
    std::optional<failure> found;

    [[nodiscard]] std::string summary() const {
        std::string s = "dsched: " + scenario + ": ";
        if (replayed) {
            s += "replayed ADMF_DSCHED_REPLAY only";
        } else {
            s += "random " + std::to_string(random_runs) + ", pct " + std::to_string(pct_runs) +
                 " (depth 3), exhaustive " + std::to_string(exhaustive_runs) +
                 " (<=2 preemptions, " +
                 (exhaustive_complete ? "complete" : found ? "stopped at the failure"
                                                           : "NOT complete: limit reached") +
                 ")";
            if (current_stress_scale() != stress_scale::rel) {
                s += " [sanitizer build: 10x fewer random/pct schedules]";
            }
        }
        const auto runs = random_runs + pct_runs + exhaustive_runs;
        char t[96];
        std::snprintf(t, sizeof t, ", %.1f choices/schedule, %.1f s",
                      runs == 0 ? 0.0 : static_cast<double>(choices) / static_cast<double>(runs),
                      seconds);
        s += t;
        if (found) {
            s += "\n  " + std::string(to_string(found->run.kind)) + " found by " +
                 found->found_by + " after " + std::to_string(found->run.steps) +
                 " steps: " + found->run.message + "\n  schedule: " + found->run.schedule +
                 "\n  replay: ADMF_DSCHED_REPLAY=" + found->replay;
        }
        return s;
    }
};

/// Runs executions of one scenario on one scheduler, replacing it when an execution
/// leaves its threads stuck (their state stays alive with the leaked scheduler).
template <scenario State>
class explorer {
public:
    explicit explorer(std::size_t max_steps)
        : max_steps_(max_steps), scheduler_(std::make_unique<scheduler>(State::threads)) {}

    execution run(strategy& pick) {
        auto state = std::make_shared<State>();
        execution e = scheduler_->run(pick, [state](std::size_t i) { state->run(i); }, max_steps_);
        if (scheduler_->stuck()) {
            scheduler_->abandon();
            static_cast<void>(scheduler_.release()); // its parked threads still use it
            scheduler_ = std::make_unique<scheduler>(State::threads);
        } else if (e.kind == outcome::ok) {
            std::string problem = state->check();
            if (!problem.empty()) {
                e.kind = outcome::check_failed;
                e.message = std::move(problem);
            }
        }
        choices_ += e.schedule.size();
        return e;
    }
    [[nodiscard]] std::size_t choices() const noexcept { return choices_; }

    /// Replays `spec`: "random:<seed>", "pct:<seed>:<length>" or a schedule of digits.
    execution replay(const std::string& spec) {
        if (spec.rfind("random:", 0) == 0) {
            random_strategy pick(std::strtoull(spec.c_str() + 7, nullptr, 0));
            return run(pick);
        }
        if (spec.rfind("pct:", 0) == 0) {
            char* end = nullptr;
            const auto seed = std::strtoull(spec.c_str() + 4, &end, 0);
            const auto length = std::strtoull(end != nullptr && *end == ':' ? end + 1 : "64",
                                              nullptr, 0);
            pct_strategy pick(seed, 3, length);
            return run(pick);
        }
        replay_strategy pick(spec);
        return run(pick);
    }

private:
    std::size_t max_steps_;
    std::size_t choices_ = 0;
    std::unique_ptr<scheduler> scheduler_;
};

inline std::uint64_t name_hash(const std::string& s) noexcept {
    std::uint64_t h = 1469598103934665603ULL; // FNV-1a
    for (const char c : s) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    return h;
}

/// Explores `name`: random, then PCT, then DFS with <= max_preemptions; stops at the first
/// failing schedule. With ADMF_DSCHED_REPLAY set, runs only that schedule. Prints summary().
template <scenario State>
report explore(const std::string& name, const explore_options& o = explore_options::for_this_build()) {
    const auto started = std::chrono::steady_clock::now();
    report r;
    r.scenario = name;
    explorer<State> x(o.max_steps);
    auto finish = [&] {
        r.choices = x.choices();
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf("%s\n", r.summary().c_str());
        std::fflush(stdout);
        return r;
    };
    if (const char* spec = std::getenv("ADMF_DSCHED_REPLAY"); spec != nullptr && *spec != '\0') {
        r.replayed = true;
        if (auto e = x.replay(spec); e.kind != outcome::ok) {
            r.found = failure{"replay", spec, std::move(e)};
        }
        return finish();
    }
    rng seeds(stream_seed(name_hash(name), 0));
    for (; r.random_runs != o.random_runs; ++r.random_runs) {
        const auto seed = seeds.next();
        random_strategy pick(seed);
        if (auto e = x.run(pick); e.kind != outcome::ok) {
            const auto spec = "random:" + std::to_string(seed);
            r.found = failure{spec, spec, std::move(e)};
            ++r.random_runs;
            return finish();
        }
    }
    std::size_t length = 16; // PCT's k: the longest execution seen so far, in choices
    for (; r.pct_runs != o.pct_runs; ++r.pct_runs) {
        const auto seed = seeds.next();
        pct_strategy pick(seed, o.pct_depth, length);
        auto e = x.run(pick);
        if (e.kind != outcome::ok) {
            const auto spec = "pct:" + std::to_string(seed) + ":" + std::to_string(length);
            r.found = failure{spec, spec, std::move(e)};
            ++r.pct_runs;
            return finish();
        }
        length = std::max(length, e.schedule.size());
    }
    dfs_strategy dfs(o.max_preemptions);
    while (r.exhaustive_runs < o.exhaustive_limit) {
        auto e = x.run(dfs);
        ++r.exhaustive_runs;
        if (e.kind != outcome::ok) {
            const auto schedule = e.schedule;
            r.found = failure{"exhaustive schedule #" + std::to_string(r.exhaustive_runs),
                              schedule, std::move(e)};
            return finish();
        }
        if (!dfs.advance()) {
            r.exhaustive_complete = true;
            break;
        }
    }
    return finish();
}

} // namespace admf_test::dsched
