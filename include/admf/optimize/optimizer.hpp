// SPDX-License-Identifier: MIT
// admf::optimize::run_parallel: runs jobs (e.g. backtests on admf::sync_bus over a parameter
// grid) in fork()ed worker processes over admf::ipc channels, retrying the jobs of workers
// that crash or hang; the results come back in job order, as a serial loop would give them.
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <admf/ipc/channel.hpp>
#include <admf/optimize/detail/job_book.hpp>
#include <admf/optimize/detail/worker_pool.hpp>

namespace admf::optimize {

/// What a job function learns besides its job: which job it is and which attempt (1, 2, ...).
struct attempt_info {
    std::size_t job_index;
    std::uint32_t attempt;
};

/// A job function: `Result fn(const Job&)` or `Result fn(const Job&, attempt_info)`.
template <class Fn, class Job>
concept job_function = std::invocable<Fn&, const Job&, attempt_info> ||
                       std::invocable<Fn&, const Job&>;

} // namespace admf::optimize

namespace admf::detail {
template <class Fn, class Job>
struct job_result {
    using type = std::invoke_result_t<Fn&, const Job&>;
};
template <class Fn, class Job>
    requires std::invocable<Fn&, const Job&, optimize::attempt_info>
struct job_result<Fn, Job> {
    using type = std::invoke_result_t<Fn&, const Job&, optimize::attempt_info>;
};
} // namespace admf::detail

namespace admf::optimize {

/// The Result type of a job function.
template <class Fn, class Job>
    requires job_function<Fn, Job>
using job_result_t = std::remove_cvref_t<typename admf::detail::job_result<Fn, Job>::type>;

/// Worker processes to start: the hardware's threads, at least 1.
[[nodiscard]] inline std::size_t default_workers() noexcept {
    return std::max(1u, std::thread::hardware_concurrency());
}

struct options {
    std::size_t workers = default_workers(); // 1..511; more than jobs starts one per job
    std::uint32_t max_attempts = 3;          // per job, in [1, 64]
    std::chrono::nanoseconds job_timeout{0}; // a worker running a job longer is killed; 0: none
    std::size_t max_respawns = 32; // worker deaths replaced; one more makes run_parallel throw
    // Jobs sent ahead to a worker, the running one included, in [1, 4]. 2 hides the round
    // trip between a result and the next job (about 0.1-0.4 ms: both sides poll); a worker
    // that dies loses only its running job's attempt, the queued ones are re-sent as new.
    std::uint32_t jobs_in_flight = 2;
};

/// What happened during run_parallel (filled in also when it throws).
struct report {
    std::size_t jobs = 0;
    std::size_t workers = 0;            // worker processes started at first
    std::size_t attempts = 0;           // job frames sent: first tries and retries
    std::size_t retries = 0;            // jobs re-queued after a failed attempt
    std::size_t failed_attempts = 0;    // crashes, timeouts and exceptions counted against jobs
    std::size_t crashed_workers = 0;    // workers that died on their own (a signal, an exit)
    std::size_t timed_out_workers = 0;  // workers killed for running a job past job_timeout
    std::size_t exceptions = 0;         // attempts in which the job function threw
    std::size_t respawned = 0;          // replacement workers started
    std::size_t duplicates_dropped = 0; // second results of a job (a late one of a failed attempt)
    std::chrono::nanoseconds wall_time{0};
};

/// Thrown by run_parallel when a job's attempts failed max_attempts times; names the job.
class job_failed : public std::runtime_error {
public:
    job_failed(std::size_t job_index, std::uint32_t attempts, const std::string& last_cause)
        : std::runtime_error("admf::optimize: job " + std::to_string(job_index) + " failed " +
                             std::to_string(attempts) + " attempt(s), the last: " + last_cause),
          job_index_(job_index), attempts_(attempts) {}
    [[nodiscard]] std::size_t job_index() const noexcept { return job_index_; }
    [[nodiscard]] std::uint32_t attempts() const noexcept { return attempts_; }

private:
    std::size_t job_index_;
    std::uint32_t attempts_;
};

// Design: the coordinator is the calling thread, in one loop: drain the results channel,
// reap dead workers (waitpid WNOHANG on each) and kill those past their deadline, send queued
// jobs up to jobs_in_flight per worker, then wait for a result at most 1 ms (or until the
// nearest deadline). A dead worker is reaped *before* its committed results are drained and
// only then judged, so a job it finished is never charged with its death; the first of its
// unanswered jobs was running (failed attempt: re-queued at the front, or job_failed after
// max_attempts), the others never started (re-sent with the same attempt number). Results
// are matched to jobs by index; a second result of a job is dropped and counted (the ledger's
// rule, admf::detail::job_book; the ordering above leaves no path that produces one today).
// Workers get fresh job channels; all share one results channel (memfd, inherited by fork).
/// Runs fn over every job in min(o.workers, jobs.size()) fork()ed worker processes and returns
/// the results in job order. A worker that dies or runs past o.job_timeout (it is killed) has
/// its job re-queued for another worker and is replaced; an exception from fn fails that
/// attempt (the worker lives on). Throws job_failed when a job failed o.max_attempts times,
/// std::invalid_argument for bad options, ipc::error / std::system_error for OS failures,
/// std::runtime_error past o.max_respawns deaths; every worker is reaped before it returns or
/// throws. Blocks; starts no thread; `*out`, if given, is filled in either way. Call it from a
/// single-threaded process (fork copies only the calling thread).
template <class Job, class Fn>
    requires job_function<Fn, Job>
std::vector<job_result_t<Fn, Job>> run_parallel(std::span<const Job> jobs, Fn&& fn,
                                                const options& o = {}, report* out = nullptr) {
    using Result = job_result_t<Fn, Job>;
    using clock = std::chrono::steady_clock;
    static_assert(std::is_trivially_copyable_v<Job>,
                  "admf::optimize: a Job crosses processes through a shared-memory channel, so "
                  "it must be trivially copyable (no std::string, std::vector, pointers to the "
                  "coordinator's heap)");
    static_assert(std::is_trivially_copyable_v<Result>,
                  "admf::optimize: a Result crosses processes through a shared-memory channel, "
                  "so it must be trivially copyable (fixed-size arrays, not std::vector)");
    if (o.workers == 0) {
        throw std::invalid_argument("admf::optimize: options.workers must be at least 1");
    }
    if (o.workers > admf::detail::max_workers) {
        throw std::invalid_argument("admf::optimize: options.workers must be at most " +
                                    std::to_string(admf::detail::max_workers));
    }
    if (o.max_attempts < 1 || o.max_attempts > 64) {
        throw std::invalid_argument("admf::optimize: options.max_attempts must be in [1, 64]");
    }
    if (o.jobs_in_flight < 1 || o.jobs_in_flight > 4) {
        throw std::invalid_argument("admf::optimize: options.jobs_in_flight must be in [1, 4]");
    }
    if (o.job_timeout < std::chrono::nanoseconds::zero()) {
        throw std::invalid_argument("admf::optimize: options.job_timeout must not be negative");
    }

    const auto started = clock::now();
    report rep;
    rep.jobs = jobs.size();
    admf::detail::job_book book(jobs.size(), o.max_attempts);
    struct report_on_exit { // fills *out on return and on throw
        report& rep;
        const admf::detail::job_book& book;
        report* out;
        clock::time_point started;
        ~report_on_exit() {
            rep.attempts = book.attempts_sent();
            rep.retries = book.retries();
            rep.failed_attempts = book.failed_attempts();
            rep.duplicates_dropped = book.duplicates();
            rep.wall_time = clock::now() - started;
            if (out != nullptr) {
                *out = rep;
            }
        }
    } report_guard{rep, book, out, started};
    if (jobs.empty()) {
        return {};
    }

    rep.workers = std::min(o.workers, jobs.size());
    admf::detail::worker_pool<Job, Result> pool(rep.workers);
    auto& workers = pool.workers();
    auto run_one = [&fn](const Job& job, std::uint64_t index, std::uint32_t attempt) -> Result {
        if constexpr (std::invocable<Fn&, const Job&, attempt_info>) {
            return std::invoke(fn, job, attempt_info{static_cast<std::size_t>(index), attempt});
        } else {
            return std::invoke(fn, job);
        }
    };
    for (std::size_t i = 0; i != workers.size(); ++i) {
        pool.spawn(i, run_one);
    }
    std::vector<std::optional<Result>> results(jobs.size());

    const auto fail = [&](std::size_t index, std::uint32_t attempt, const std::string& cause) {
        if (book.fail(index, attempt) == admf::detail::job_book::failure::exhausted) {
            throw job_failed(index, book.attempts_of(index), cause);
        }
    };
    const auto on_result = [&](const admf::detail::result_frame<Result>& f) {
        if (f.index >= jobs.size()) {
            return;
        }
        for (auto& w : workers) { // the sender's answered job, unless it was declared dead
            if (w.serial != f.worker) {
                continue;
            }
            const auto it = std::find_if(w.in_flight.begin(), w.in_flight.end(), [&](auto& s) {
                return s.index == f.index && s.attempt == f.attempt;
            });
            if (it != w.in_flight.end()) {
                w.in_flight.erase(it);
                w.deadline = clock::now() + o.job_timeout; // the next one starts now
            }
        }
        if (f.status == admf::detail::result_status::ok) {
            if (book.complete(f.index) == admf::detail::job_book::completion::accepted) {
                results[f.index] = std::bit_cast<Result>(f.result);
            }
        } else {
            ++rep.exceptions;
            fail(f.index, f.attempt, std::string("the job function threw: ") +
                                         std::string(f.what, strnlen(f.what, sizeof(f.what))));
        }
    };
    // A worker is gone: its running job failed (unless it is known to have finished), the
    // ones queued behind it never started: they go back to the queue's front, in order.
    const auto lost = [&](typename admf::detail::worker_pool<Job, Result>::worker& w,
                          const std::string* cause) {
        auto in_flight = std::move(w.in_flight);
        w.in_flight.clear();
        for (auto it = in_flight.rbegin(); it != in_flight.rend(); ++it) {
            if (cause != nullptr && it + 1 == in_flight.rend()) {
                fail(it->index, it->attempt, *cause);
            } else {
                book.unsend(it->index);
            }
        }
    };
    const auto drain = [&] {
        bool any = false;
        while (const auto f = pool.results().try_receive()) {
            on_result(*f);
            any = true;
        }
        return any;
    };
    const auto replace = [&](std::size_t slot) {
        if (book.all_done()) {
            return;
        }
        if (rep.respawned == o.max_respawns) {
            throw std::runtime_error("admf::optimize: more than options.max_respawns (" +
                                     std::to_string(o.max_respawns) + ") worker deaths");
        }
        ++rep.respawned;
        pool.spawn(slot, run_one);
    };

    const auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(o.job_timeout);
    const std::string timeout_cause =
        "worker killed after job_timeout (" + std::to_string(timeout_ms.count()) + " ms)";
    while (!book.all_done()) {
        const bool received = drain();
        // Deaths and timeouts. A dead worker's last result may already be committed: drain
        // first, so it counts, rather than being re-run and dropped as a duplicate.
        for (std::size_t slot = 0; slot != workers.size() && !book.all_done(); ++slot) {
            auto& w = workers[slot];
            std::string cause;
            if (pool.reap_if_dead(w, cause)) {
                drain(); // what it committed before dying counts: results are not re-run
                ++rep.crashed_workers;
                lost(w, &cause);
                replace(slot);
            } else if (!w.in_flight.empty() && o.job_timeout.count() > 0 &&
                       clock::now() >= w.deadline) {
                const auto overdue = w.in_flight.front();
                pool.kill_and_reap(w);
                drain();
                const bool still = !w.in_flight.empty() &&
                                   w.in_flight.front().index == overdue.index &&
                                   w.in_flight.front().attempt == overdue.attempt;
                rep.timed_out_workers += still ? 1 : 0;
                lost(w, still ? &timeout_cause : nullptr); // else it finished just in time
                replace(slot);
            }
        }
        // Dispatch, up to jobs_in_flight per worker.
        for (auto& w : workers) {
            while (w.pid > 0 && w.in_flight.size() < o.jobs_in_flight) {
                const auto d = book.next();
                if (!d) {
                    break;
                }
                admf::detail::job_frame<Job> f{};
                f.index = d->index;
                f.attempt = d->attempt;
                std::memcpy(f.job.data(), &jobs[d->index], sizeof(Job));
                if (w.to_worker->try_send(f) != ipc::send_result::accepted) {
                    throw ipc::error("admf::optimize: a worker's job channel refused a job");
                }
                if (w.in_flight.empty()) {
                    w.deadline = clock::now() + o.job_timeout;
                }
                w.in_flight.push_back({d->index, d->attempt});
            }
        }
        if (!received && !book.all_done()) {
            // Wait for a result, bounded so deaths and timeouts are seen within 1 ms.
            auto wait = std::chrono::nanoseconds(std::chrono::milliseconds(1));
            if (o.job_timeout.count() > 0) {
                for (const auto& w : workers) {
                    if (w.pid > 0 && !w.in_flight.empty()) {
                        wait = std::min(wait, std::max(std::chrono::nanoseconds(0),
                                                       std::chrono::nanoseconds(
                                                           w.deadline - clock::now())));
                    }
                }
            }
            if (const auto f = pool.results().receive(wait)) {
                on_result(*f);
            }
        }
    }
    pool.stop(std::chrono::seconds(2));

    std::vector<Result> ordered;
    ordered.reserve(results.size());
    for (auto& r : results) {
        ordered.push_back(*r);
    }
    return ordered;
}

/// run_parallel over a vector's jobs.
template <class Job, class Fn>
    requires job_function<Fn, Job>
std::vector<job_result_t<Fn, Job>> run_parallel(const std::vector<Job>& jobs, Fn&& fn,
                                                const options& o = {}, report* out = nullptr) {
    return run_parallel(std::span<const Job>(jobs), std::forward<Fn>(fn), o, out);
}

} // namespace admf::optimize
