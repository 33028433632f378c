// SPDX-License-Identifier: MIT
// Unit tests of admf::optimize::run_parallel (include/admf/optimize/optimizer.hpp), tagged
// [optimize]: results equal a serial loop, workers SIGKILLed or hanging are replaced and their
// jobs retried elsewhere, a job that always fails or throws ends in job_failed, edge cases
// (no jobs, more workers than jobs, bad options), no child process left behind; and the
// retry/duplicate rules of admf::detail::job_book. Catch2 assertions run only in this (the
// coordinator) process: a worker reports through its Result or shared memory.
#include <admf/optimize/optimizer.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catch.hpp"

namespace {

using admf::optimize::attempt_info;
using admf::optimize::job_failed;
using admf::optimize::options;
using admf::optimize::report;
using admf::optimize::run_parallel;
using namespace std::chrono_literals;

enum class misbehave : std::uint32_t { none, crash_once, crash_always, hang_once, throw_once,
                                       throw_always, throw_int_always };

struct job {
    std::uint32_t a, b;
    misbehave how = misbehave::none;
};

struct result {
    std::uint64_t value;
    std::uint32_t attempt;
    std::int32_t pid;
};

// Some deterministic work per job (a few microseconds).
std::uint64_t work(const job& j) {
    std::uint64_t x = j.a * 1000003ull + j.b;
    for (int i = 0; i != 2000; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
    return x;
}

std::vector<job> grid(std::uint32_t n) {
    std::vector<job> jobs;
    for (std::uint32_t i = 0; i != n; ++i) {
        jobs.push_back({i % 7, i / 7});
    }
    return jobs;
}

// A page shared with the workers: the pid of each job's crashed attempt, written by the
// worker before it dies, read here after run_parallel reaped it.
struct shared_pids {
    static constexpr std::size_t size = 64;
    std::int32_t* pid = static_cast<std::int32_t*>(::mmap(nullptr, size * sizeof(std::int32_t),
                                                          PROT_READ | PROT_WRITE,
                                                          MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    shared_pids() { REQUIRE(pid != MAP_FAILED); }
    ~shared_pids() { ::munmap(pid, size * sizeof(std::int32_t)); }
};

// The job function of most cases; `crashed` records the pid of a crashing attempt.
auto job_fn(std::int32_t* crashed = nullptr) {
    return [crashed](const job& j, attempt_info info) -> result {
        const bool first = info.attempt == 1;
        switch (j.how) {
        case misbehave::crash_once:
        case misbehave::crash_always:
            if (first || j.how == misbehave::crash_always) {
                if (crashed != nullptr) {
                    crashed[info.job_index] = static_cast<std::int32_t>(::getpid());
                }
                ::raise(SIGKILL);
            }
            break;
        case misbehave::hang_once:
            while (first) {
                ::pause(); // until the coordinator's SIGKILL
            }
            break;
        case misbehave::throw_once:
        case misbehave::throw_always:
            if (first || j.how == misbehave::throw_always) {
                throw std::runtime_error("bad parameters " + std::to_string(j.a));
            }
            break;
        case misbehave::throw_int_always:
            throw 42;
        case misbehave::none:
            break;
        }
        return {work(j), info.attempt, static_cast<std::int32_t>(::getpid())};
    };
}

// True when this process has no child left, running or zombie.
bool no_children() {
    return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

// The message of the std::exception f throws ("" if none): Catch2 v2 and v3 spell their
// string matchers differently.
template <class F>
std::string what_thrown(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

void check_equal_serial(const std::vector<job>& jobs, const std::vector<result>& got) {
    REQUIRE(got.size() == jobs.size());
    for (std::size_t i = 0; i != jobs.size(); ++i) {
        INFO("job " << i);
        CHECK(got[i].value == work(jobs[i]));
        CHECK(got[i].pid != static_cast<std::int32_t>(::getpid())); // ran in a worker
    }
}

} // namespace

TEST_CASE("run_parallel: the results of a grid equal a serial loop, in job order", "[optimize]") {
    const std::vector<job> jobs = grid(40);
    report r;
    const std::vector<result> got = run_parallel(jobs, job_fn(), {.workers = 2}, &r);
    check_equal_serial(jobs, got);
    CHECK(r.jobs == 40);
    CHECK(r.workers == 2);
    CHECK(r.attempts == 40);
    CHECK(r.retries == 0);
    CHECK(r.failed_attempts == 0);
    CHECK(r.crashed_workers == 0);
    CHECK(r.respawned == 0);
    CHECK(r.duplicates_dropped == 0);
    CHECK(r.wall_time > 0ns);
    CHECK(no_children());
}

TEST_CASE("run_parallel: a job function taking only the job works too", "[optimize]") {
    const std::vector<job> jobs = grid(5);
    const auto got = run_parallel(jobs, [](const job& j) { return work(j); }, {.workers = 2});
    REQUIRE(got.size() == 5);
    for (std::size_t i = 0; i != 5; ++i) {
        CHECK(got[i] == work(jobs[i]));
    }
    CHECK(no_children());
}

TEST_CASE("run_parallel: jobs of SIGKILLed workers are retried elsewhere", "[optimize]") {
    std::vector<job> jobs = grid(20);
    for (const std::size_t i : {3u, 4u, 17u}) {
        jobs[i].how = misbehave::crash_once;
    }
    const std::uint32_t depth = GENERATE(1u, 2u, 4u); // jobs queued ahead per worker
    INFO("jobs_in_flight " << depth);
    shared_pids crashed;
    report r;
    const auto got =
        run_parallel(jobs, job_fn(crashed.pid), {.workers = 2, .jobs_in_flight = depth}, &r);
    check_equal_serial(jobs, got);
    for (const std::size_t i : {3u, 4u, 17u}) {
        INFO("job " << i);
        CHECK(got[i].attempt == 2);
        CHECK(crashed.pid[i] > 0);
        CHECK(got[i].pid != crashed.pid[i]); // another process ran the retry
    }
    CHECK(got[0].attempt == 1);
    CHECK(r.attempts == 23);
    CHECK(r.retries == 3);
    CHECK(r.failed_attempts == 3);
    CHECK(r.crashed_workers == 3);
    CHECK(r.respawned == 3);
    CHECK(r.timed_out_workers == 0);
    CHECK(no_children());
}

TEST_CASE("run_parallel: replacements reuse the result slots of reaped workers", "[optimize]") {
    std::vector<job> jobs = grid(12);
    for (const std::size_t i : {0u, 2u, 3u, 5u, 8u, 9u, 11u}) {
        jobs[i].how = misbehave::crash_once; // 7 deaths, 4 result-channel slots for 1 worker
    }
    report r;
    const auto got = run_parallel(jobs, job_fn(), {.workers = 1}, &r);
    check_equal_serial(jobs, got);
    CHECK(r.crashed_workers == 7);
    CHECK(r.respawned == 7);
    CHECK(r.retries == 7);
    CHECK(no_children());
}

TEST_CASE("run_parallel: a worker hanging past job_timeout is killed and its job retried",
          "[optimize]") {
    std::vector<job> jobs = grid(10);
    jobs[6].how = misbehave::hang_once;
    const std::uint32_t depth = GENERATE(1u, 2u);
    INFO("jobs_in_flight " << depth);
    report r;
    const auto start = std::chrono::steady_clock::now();
    const auto got = run_parallel(
        jobs, job_fn(), {.workers = 2, .job_timeout = 500ms, .jobs_in_flight = depth}, &r);
    check_equal_serial(jobs, got);
    CHECK(std::chrono::steady_clock::now() - start >= 500ms);
    CHECK(got[6].attempt == 2);
    CHECK(r.timed_out_workers == 1);
    CHECK(r.crashed_workers == 0);
    CHECK(r.retries == 1);
    CHECK(r.respawned == 1);
    CHECK(no_children());
}

TEST_CASE("run_parallel: a job crashing on every attempt throws job_failed naming it",
          "[optimize]") {
    std::vector<job> jobs = grid(8);
    jobs[2].how = misbehave::crash_always;
    report r;
    try {
        (void)run_parallel(jobs, job_fn(), {.workers = 2, .max_attempts = 3}, &r);
        FAIL("run_parallel returned");
    } catch (const job_failed& e) {
        CHECK(e.job_index() == 2);
        CHECK(e.attempts() == 3);
        const std::string what = e.what();
        CHECK(what.find("job 2 failed 3 attempt(s)") != std::string::npos);
        CHECK(what.find("signal 9") != std::string::npos);
    }
    CHECK(r.failed_attempts == 3);
    CHECK(r.crashed_workers == 3);
    CHECK(no_children());
}

TEST_CASE("run_parallel: an exception from the job function fails that attempt only",
          "[optimize]") {
    std::vector<job> jobs = grid(12);
    SECTION("thrown once: retried, the worker lives on") {
        jobs[5].how = misbehave::throw_once;
        report r;
        const auto got = run_parallel(jobs, job_fn(), {.workers = 2}, &r);
        check_equal_serial(jobs, got);
        CHECK(got[5].attempt == 2);
        CHECK(r.exceptions == 1);
        CHECK(r.retries == 1);
        CHECK(r.crashed_workers == 0);
        CHECK(r.respawned == 0);
    }
    SECTION("thrown on every attempt: job_failed carries the exception's message") {
        jobs[5].how = misbehave::throw_always;
        report r;
        try {
            (void)run_parallel(jobs, job_fn(), {.workers = 2, .max_attempts = 2}, &r);
            FAIL("run_parallel returned");
        } catch (const job_failed& e) {
            CHECK(e.job_index() == 5);
            CHECK(std::string(e.what()).find("threw: bad parameters 5") != std::string::npos);
        }
        CHECK(r.exceptions == 2);
        CHECK(r.crashed_workers == 0);
    }
    SECTION("an exception not derived from std::exception is reported as such") {
        jobs[0].how = misbehave::throw_int_always;
        const std::string what = what_thrown(
            [&] { (void)run_parallel(jobs, job_fn(), {.workers = 2, .max_attempts = 1}); });
        CHECK(what.find("job 0 failed 1 attempt(s)") != std::string::npos);
        CHECK(what.find("not derived from std::exception") != std::string::npos);
    }
    CHECK(no_children());
}

TEST_CASE("run_parallel: more deaths than max_respawns throws", "[optimize]") {
    std::vector<job> jobs = grid(6);
    jobs[1].how = misbehave::crash_once;
    jobs[4].how = misbehave::crash_once;
    report r;
    const std::string what = what_thrown(
        [&] { (void)run_parallel(jobs, job_fn(), {.workers = 1, .max_respawns = 1}, &r); });
    CHECK(what.find("max_respawns") != std::string::npos);
    CHECK(r.respawned == 1);
    CHECK(no_children());
}

TEST_CASE("run_parallel: edge cases of jobs and workers", "[optimize]") {
    SECTION("no jobs: no worker is started") {
        report r;
        const auto got = run_parallel(std::vector<job>{}, job_fn(), {.workers = 2}, &r);
        CHECK(got.empty());
        CHECK(r.workers == 0);
        CHECK(r.attempts == 0);
    }
    SECTION("more workers than jobs: one worker per job") {
        const std::vector<job> jobs = grid(3);
        report r;
        const auto got = run_parallel(jobs, job_fn(), {.workers = 8}, &r);
        check_equal_serial(jobs, got);
        CHECK(r.workers == 3);
    }
    SECTION("one worker") {
        const std::vector<job> jobs = grid(9);
        check_equal_serial(jobs, run_parallel(jobs, job_fn(), {.workers = 1}));
    }
    SECTION("bad options") {
        const std::vector<job> jobs = grid(3);
        CHECK_THROWS_AS(run_parallel(jobs, job_fn(), {.workers = 0}), std::invalid_argument);
        CHECK_THROWS_AS(run_parallel(jobs, job_fn(), {.workers = 512}), std::invalid_argument);
        CHECK_THROWS_AS(run_parallel(jobs, job_fn(), {.workers = 1, .max_attempts = 0}),
                        std::invalid_argument);
        CHECK_THROWS_AS(run_parallel(jobs, job_fn(), {.workers = 1, .max_attempts = 65}),
                        std::invalid_argument);
        CHECK_THROWS_AS(run_parallel(jobs, job_fn(), {.workers = 1, .jobs_in_flight = 0}),
                        std::invalid_argument);
        CHECK_THROWS_AS(run_parallel(jobs, job_fn(), {.workers = 1, .jobs_in_flight = 5}),
                        std::invalid_argument);
    }
    CHECK(no_children());
}

TEST_CASE("job_book: a failed attempt is retried first, a late result counts once",
          "[optimize]") {
    using book_t = admf::detail::job_book;
    book_t book(3, 3);
    const auto a = book.next(); // job 0, attempt 1
    REQUIRE(a);
    CHECK(a->index == 0);
    CHECK(a->attempt == 1);
    const auto b = book.next(); // job 1, attempt 1
    REQUIRE(b);

    // Attempt 1 of job 0 is declared dead (timeout); its exception frame arrives later:
    // the one failure is counted once, and the job goes to the front of the queue.
    CHECK(book.fail(0, 1) == book_t::failure::retry);
    CHECK(book.fail(0, 1) == book_t::failure::stale);
    CHECK(book.failed_attempts() == 1);
    const auto retry = book.next();
    REQUIRE(retry);
    CHECK(retry->index == 0);
    CHECK(retry->attempt == 2);

    // The dead attempt's result was committed just before it died: accepted; the retry's
    // result is then a duplicate, dropped and counted.
    CHECK(book.complete(0) == book_t::completion::accepted);
    CHECK(book.complete(0) == book_t::completion::duplicate);
    CHECK(book.duplicates() == 1);
    CHECK(book.fail(0, 2) == book_t::failure::stale); // done: no more failures count

    CHECK(book.complete(1) == book_t::completion::accepted);
    CHECK_FALSE(book.all_done());
    const auto c = book.next();
    REQUIRE(c);
    CHECK(c->index == 2);
    CHECK(book.fail(2, 1) == book_t::failure::retry);
    // A late result finishes job 2 while its retry is queued: next() skips it.
    CHECK(book.complete(2) == book_t::completion::accepted);
    CHECK_FALSE(book.next());
    CHECK(book.all_done());
    CHECK(book.attempts_sent() == 4);
    CHECK(book.retries() == 2);
}

TEST_CASE("job_book: an attempt sent but never started goes back unchanged", "[optimize]") {
    using book_t = admf::detail::job_book;
    book_t book(2, 3);
    REQUIRE(book.next()); // job 0 running
    REQUIRE(book.next()); // job 1 queued behind it; then the worker dies
    book.unsend(1);
    CHECK(book.fail(0, 1) == book_t::failure::retry);
    const auto first = book.next();
    const auto second = book.next();
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->index == 0);
    CHECK(first->attempt == 2);
    CHECK(second->index == 1);
    CHECK(second->attempt == 1); // not counted as tried
    CHECK(book.attempts_sent() == 3);
    CHECK(book.failed_attempts() == 1);
}

TEST_CASE("job_book: max_attempts failures exhaust a job", "[optimize]") {
    using book_t = admf::detail::job_book;
    book_t book(1, 2);
    REQUIRE(book.next());
    CHECK(book.fail(0, 1) == book_t::failure::retry);
    const auto second = book.next();
    REQUIRE(second);
    CHECK(second->attempt == 2);
    CHECK(book.fail(0, 2) == book_t::failure::exhausted);
    CHECK(book.attempts_of(0) == 2);
}
