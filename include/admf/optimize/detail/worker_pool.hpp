// SPDX-License-Identifier: MIT
// admf::detail::worker_pool: the worker processes of admf::optimize::run_parallel, their
// channels and frames, and the job loop a worker runs after fork().
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <admf/ipc/channel.hpp>

namespace admf::detail {

// Frames carry Job and Result as bytes, so neither needs a default constructor.
template <class Job>
struct job_frame {
    std::uint64_t index;
    std::uint32_t attempt;
    std::uint32_t stop; // 1: the worker exits
    std::array<unsigned char, sizeof(Job)> job;
};

enum class result_status : std::uint32_t { ok, threw };

template <class Result>
struct result_frame {
    std::uint64_t index;
    std::uint32_t attempt;
    std::uint32_t worker; // the sender's serial number (workers are numbered as started)
    result_status status;
    char what[116];       // status threw: the exception's what(), truncated
    std::array<unsigned char, sizeof(Result)> result;
};

// admf::ipc::channel_config's limit on max_producers, and the most workers whose
// 2 * workers + 2 result slots fit in it.
inline constexpr std::size_t max_channel_producers = 1024;
inline constexpr std::size_t max_workers = (max_channel_producers - 2) / 2;

// Frames per job channel: room for the jobs in flight (options::jobs_in_flight, at most
// 4) and the stop frame.
inline constexpr std::uint32_t job_ring_capacity = 8;

// How long a worker waits in receive/send before it checks that its coordinator lives.
inline constexpr std::chrono::milliseconds worker_check_interval{100};

// The worker process: receives jobs, sends results, never returns into the caller (the
// coordinator's stack, its objects and its atexit handlers are not the child's to run).
template <class Job, class Result, class RunOne>
[[noreturn]] void worker_main(ipc::channel<job_frame<Job>>& jobs,
                              ipc::channel<result_frame<Result>>& results, std::uint32_t serial,
                              pid_t coordinator, RunOne& run_one) noexcept {
    // Dies with the coordinator, even one killed by SIGKILL; the getppid check closes the race
    // with a coordinator that died before prctl.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != coordinator) {
        ::_exit(0);
    }
    int status = 0;
    try {
        ipc::consumer<job_frame<Job>> in(jobs);
        ipc::producer<result_frame<Result>> out(results);
        for (;;) {
            const std::optional<job_frame<Job>> f = in.receive(worker_check_interval);
            if (!f) {
                if (jobs.is_closed() || ::getppid() != coordinator) {
                    break;
                }
                continue;
            }
            if (f->stop != 0) {
                break;
            }
            result_frame<Result> r{};
            r.index = f->index;
            r.attempt = f->attempt;
            r.worker = serial;
            try {
                const Job job = std::bit_cast<Job>(f->job);
                const Result res = run_one(job, f->index, f->attempt);
                std::memcpy(r.result.data(), &res, sizeof(Result));
                r.status = result_status::ok;
            } catch (const std::exception& e) {
                r.status = result_status::threw;
                std::strncpy(r.what, e.what(), sizeof(r.what) - 1);
            } catch (...) {
                r.status = result_status::threw;
                std::strncpy(r.what, "an exception not derived from std::exception",
                             sizeof(r.what) - 1);
            }
            ipc::send_result s;
            while ((s = out.send(r, worker_check_interval)) == ipc::send_result::full) {
                if (::getppid() != coordinator) {
                    ::_exit(0);
                }
            }
            if (s == ipc::send_result::closed) {
                break;
            }
        }
    } catch (...) {
        status = 3; // ipc::error: no producer slot, a broken channel
    }
    ::_exit(status);
}

// Why a worker is gone, from its waitpid status.
inline std::string describe_exit(int status) {
    if (WIFSIGNALED(status)) {
        const char* name = ::strsignal(WTERMSIG(status));
        return "worker killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               (name != nullptr ? name : "?") + ")";
    }
    if (WIFEXITED(status)) {
        return "worker exited with status " + std::to_string(WEXITSTATUS(status));
    }
    return "worker gone";
}

// One job frame a worker has not answered yet.
struct sent_job {
    std::size_t index;
    std::uint32_t attempt;
};

// Design: the coordinator's side of the workers. One thread (the caller of run_parallel)
// owns everything here; no threads are started, so fork() copies a single-threaded process
// (TSan and the allocator's locks stay consistent in the child). Each worker has its own job
// channel (coordinator -> worker, made fresh per process so a dead worker's unread frame is
// never run twice); all share the results channel, 2 * workers + 2 producer slots.
// The destructor SIGKILLs and reaps every worker still running, so no exit path of
// run_parallel leaves a child or a zombie behind.
template <class Job, class Result>
class worker_pool {
public:
    struct worker {
        pid_t pid = -1;
        std::uint32_t serial = 0;
        std::unique_ptr<ipc::channel<job_frame<Job>>> jobs;
        std::unique_ptr<ipc::producer<job_frame<Job>>> to_worker;
        // Jobs sent and not answered, in the order sent: the worker runs them in that order,
        // so the first is running (since `deadline` - job_timeout) and the rest wait.
        std::deque<sent_job> in_flight;
        std::chrono::steady_clock::time_point deadline{};
    };

    explicit worker_pool(std::size_t workers)
        : results_(ipc::channel<result_frame<Result>>::anonymous(
              // Live producers are at most `workers`; a replacement takes a free slot or the
              // slot of a reaped worker (the channel hands a dead owner's slot over, after its
              // frames, which the coordinator drains before respawning). The spare slots make
              // a race with the consumer's own reclaim of one of them harmless.
              {.capacity = 4,
               .max_producers = static_cast<std::uint32_t>(
                   std::min<std::size_t>(2 * workers + 2, max_channel_producers))})),
          from_workers_(results_), workers_(workers) {}
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;
    ~worker_pool() {
        for (worker& w : workers_) {
            kill_and_reap(w);
        }
    }

    std::vector<worker>& workers() noexcept { return workers_; }
    ipc::consumer<result_frame<Result>>& results() noexcept { return from_workers_; }

    /// Starts worker `slot` (again), running `run_one(job, index, attempt) -> Result` on each
    /// job. Throws std::system_error if fork fails, ipc::error if the channel cannot be made.
    template <class RunOne>
    void spawn(std::size_t slot, RunOne& run_one) {
        worker& w = workers_[slot];
        w.to_worker.reset(); // the producer detaches from the channel before it is unmapped
        w.jobs.reset();
        w.in_flight.clear();
        using job_channel = ipc::channel<job_frame<Job>>;
        w.jobs = std::make_unique<job_channel>(
            job_channel::anonymous({.capacity = job_ring_capacity, .max_producers = 1}));
        w.serial = ++serials_;
        const pid_t self = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) {
            throw std::system_error(errno, std::generic_category(), "admf::optimize: fork");
        }
        if (pid == 0) {
            worker_main<Job, Result>(*w.jobs, results_, w.serial, self, run_one);
        }
        w.pid = pid;
        w.to_worker = std::make_unique<ipc::producer<job_frame<Job>>>(*w.jobs);
    }

    /// Whether worker w has died; reaps it and sets `cause`. Does not block.
    bool reap_if_dead(worker& w, std::string& cause) {
        int status = 0;
        const pid_t r = ::waitpid(w.pid, &status, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR)) {
            return false;
        }
        cause = r == w.pid ? describe_exit(status) : "worker vanished (SIGCHLD ignored?)";
        w.pid = -1;
        return true;
    }

    /// SIGKILLs worker w and waits for it (blocks only until the kernel has killed it).
    static void kill_and_reap(worker& w) noexcept {
        if (w.pid <= 0) {
            return;
        }
        ::kill(w.pid, SIGKILL);
        int status = 0;
        while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
        }
        w.pid = -1;
    }

    /// Asks every worker to exit, waits up to `grace` for them, then kills the rest.
    void stop(std::chrono::nanoseconds grace) {
        for (worker& w : workers_) {
            if (w.pid > 0) {
                job_frame<Job> f{};
                f.stop = 1;
                if (w.to_worker->try_send(f) != ipc::send_result::accepted) {
                    kill_and_reap(w);
                }
            }
        }
        const auto deadline = std::chrono::steady_clock::now() + grace;
        for (worker& w : workers_) {
            std::string cause;
            while (w.pid > 0 && !reap_if_dead(w, cause)) {
                if (std::chrono::steady_clock::now() >= deadline) {
                    kill_and_reap(w);
                    break;
                }
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        }
    }

private:
    ipc::channel<result_frame<Result>> results_;
    ipc::consumer<result_frame<Result>> from_workers_;
    std::vector<worker> workers_;
    std::uint32_t serials_ = 0;
};

} // namespace admf::detail
