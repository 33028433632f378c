// SPDX-License-Identifier: MIT
// Test-only: dsched's deterministic scheduler (folly DeterministicSchedule style): real
// threads, one at a time, each atomic operation a choice point (atomic.hpp is the atomic).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "baton.hpp"

namespace admf_test::dsched {

// Design: the threads of one execution are real std::threads, but only the one holding the
// baton runs; every other waits in its own baton (detail::baton: spin, yield, futex).
// Each operation on a dsched::atomic first calls scheduler::step(), where the strategy picks
// the next thread among the runnable ones and the baton moves there. So an execution is a
// sequentially consistent interleaving of atomic operations, fixed entirely by the choices
// (recorded in `trace_` as one digit per choice): the same choices replay the same run.
// atomic::wait blocks its thread in the scheduler (not runnable) until a notify on that
// address, as a futex would; when no thread is runnable and some have not finished, the
// execution is a DEADLOCK (a lost wake-up shows up here), and more than `max_steps` steps
// is a LIVELOCK. A stuck execution cannot be unwound (the rings are noexcept), so its
// threads stay parked forever: the scheduler is then abandoned (leaked) by its owner.
// Data race freedom: every hand-over is a release store / acquire load pair, so plain
// memory (ring slots, the atomics' values, the scheduler's own fields) written by one
// thread happens-before the next thread's reads; TSan sees the same order.

inline constexpr std::size_t max_threads = 8;

/// Why the scheduler asks for a choice.
enum class point_kind {
    start,   ///< the execution begins: any thread may go first
    step,    ///< before an atomic operation; candidates[0] is the thread that can go on
    yield,   ///< the running thread spins (dsched::yield()): switching away is free
    blocked, ///< the running thread parked in atomic::wait
    finished ///< the running thread returned
};

/// One decision: pick an index into `candidates` (thread ids, ascending except that a
/// thread able to continue comes first). `continuing`: picking index != 0 is a preemption.
struct choice_point {
    std::array<std::size_t, max_threads> candidates{};
    std::size_t count = 0;
    bool continuing = false;
    point_kind kind = point_kind::start;
    std::size_t from = 0; ///< the thread that was running (none at start)
};

/// How the next thread is picked (random, PCT, bounded DFS, replay: strategies.hpp).
class strategy {
public:
    static constexpr std::size_t diverged = static_cast<std::size_t>(-1);
    virtual ~strategy() = default;
    /// Before each execution of `threads` threads.
    virtual void begin(std::size_t threads) = 0;
    /// Only called when count > 1. Returns an index < count, or `diverged` (a replay that
    /// no longer matches the program).
    virtual std::size_t choose(const choice_point& point) = 0;
};

enum class outcome { ok, deadlock, livelock, check_failed, diverged, exception };

inline const char* to_string(outcome o) noexcept {
    switch (o) {
    case outcome::ok:
        return "ok";
    case outcome::deadlock:
        return "DEADLOCK";
    case outcome::livelock:
        return "LIVELOCK";
    case outcome::check_failed:
        return "CHECK FAILED";
    case outcome::diverged:
        return "REPLAY DIVERGED";
    case outcome::exception:
        return "EXCEPTION";
    }
    return "?";
}

/// What one execution did: its outcome, its schedule (one digit per choice) and steps.
struct execution {
    outcome kind = outcome::ok;
    std::string schedule;
    std::size_t steps = 0;
    std::string message;
};

class scheduler;

namespace detail {
// Set only on the scheduler's worker threads: the main thread's atomics (setup, checks)
// are plain operations.
inline thread_local scheduler* running_scheduler = nullptr;
inline thread_local std::size_t running_thread = 0;

} // namespace detail

class scheduler {
public:
    /// Starts `threads` workers, parked until run() hands them the baton.
    explicit scheduler(std::size_t threads) : workers_(threads) {
        for (std::size_t i = 0; i != threads; ++i) {
            workers_[i] = std::make_unique<worker>();
        }
        for (std::size_t i = 0; i != threads; ++i) {
            workers_[i]->thread = std::thread([this, i] { worker_main(i); });
        }
    }
    /// Joins the workers. Only valid when stuck() is false (else call abandon()).
    ~scheduler() {
        shutdown_ = true; // the workers are all parked in take(): the post orders it
        for (auto& w : workers_) {
            w->baton.post();
        }
        for (auto& w : workers_) {
            if (w->thread.joinable()) {
                w->thread.join();
            }
        }
    }
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    [[nodiscard]] std::size_t threads() const noexcept { return workers_.size(); }
    /// Whether the last execution left threads parked forever (deadlock or livelock).
    [[nodiscard]] bool stuck() const noexcept { return stuck_; }
    /// Detaches the workers of a stuck execution; the caller then leaks this object.
    void abandon() {
        for (auto& w : workers_) {
            w->thread.detach();
        }
    }

    /// Runs `body(i)` on thread i for every thread, one at a time as `pick` chooses, and
    /// returns when all returned or the execution got stuck. Called from one (main) thread.
    execution run(strategy& pick, std::function<void(std::size_t)> body, std::size_t max_steps) {
        body_ = std::move(body);
        strategy_ = &pick;
        max_steps_ = max_steps;
        steps_ = 0;
        block_seq_ = 0;
        result_ = execution{};
        for (auto& w : workers_) {
            w->state = thread_state::runnable;
            w->spinning = false;
            w->blocked_on = nullptr;
        }
        pick.begin(workers_.size());
        const auto first = choose(point_kind::start, none);
        if (first == none || first == stop) {
            if (first == stop) {
                main_baton_.take(0, 0); // fail() posted it
            }
            return result_;
        }
        workers_[first]->baton.post();
        main_baton_.take(0, 0); // posted by the thread that ends it; sleep, leave the CPUs
        if (!stuck_) {
            body_ = nullptr; // a stuck execution's threads still use the state it holds
        }
        result_.steps = steps_;
        return result_;
    }

    // ---- called from dsched::atomic and dsched::yield on a worker thread ----

    /// Before an atomic operation.
    void step(std::size_t me) {
        count_step(me);
        switch_to(me, choose(point_kind::step, me));
    }
    /// After an operation that wrote: spinning threads may now see something new.
    void wrote() noexcept {
        for (auto& w : workers_) {
            w->spinning = false;
        }
    }
    /// A spin-loop iteration: another runnable thread goes next, without a preemption.
    void yield(std::size_t me) {
        count_step(me);
        workers_[me]->spinning = true;
        const auto next = choose(point_kind::yield, me);
        switch_to(me, next == none ? me : next);
    }
    /// atomic::wait found the value unchanged: not runnable until notify(addr).
    void block_on(std::size_t me, const void* addr) {
        worker& w = *workers_[me];
        w.state = thread_state::blocked;
        w.blocked_on = addr;
        w.blocked_seq = ++block_seq_;
        const auto next = choose(point_kind::blocked, me);
        if (next == none) {
            fail(outcome::deadlock, "every unfinished thread is blocked in atomic::wait (" +
                                        describe_threads() + ")");
            park_forever(me);
        }
        switch_to(me, next);
    }
    /// Makes the oldest (or every) thread blocked on `addr` runnable; no switch.
    void notify(const void* addr, bool all) {
        worker* oldest = nullptr;
        for (auto& w : workers_) {
            if (w->state == thread_state::blocked && w->blocked_on == addr) {
                if (all) {
                    w->state = thread_state::runnable;
                } else if (oldest == nullptr || w->blocked_seq < oldest->blocked_seq) {
                    oldest = w.get();
                }
            }
        }
        if (oldest != nullptr) {
            oldest->state = thread_state::runnable;
        }
    }

private:
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    static constexpr std::size_t stop = none - 1; // the replay diverged: fail() has run
    enum class thread_state { runnable, blocked, finished };
    struct worker {
        std::thread thread;
        detail::baton baton;
        thread_state state = thread_state::finished;
        bool spinning = false; // yielded, and nothing was written since
        const void* blocked_on = nullptr;
        std::uint64_t blocked_seq = 0;
    };

    void worker_main(std::size_t me) {
        detail::running_scheduler = this;
        detail::running_thread = me;
        for (;;) {
            workers_[me]->baton.take();
            if (shutdown_) {
                return;
            }
            std::string error;
            try {
                body_(me);
            } catch (const std::exception& e) {
                error = e.what();
            } catch (...) {
                error = "unknown exception";
            }
            if (!error.empty() && result_.kind == outcome::ok) {
                result_.kind = outcome::exception;
                result_.message = "thread " + std::to_string(me) + " threw: " + error;
            }
            workers_[me]->state = thread_state::finished;
            const auto next = choose(point_kind::finished, me);
            if (next == stop) {
                continue; // fail() has ended the execution
            }
            if (next != none) {
                workers_[next]->baton.post();
            } else if (all_finished()) {
                stuck_ = false;
                main_baton_.post();
            } else {
                fail(outcome::deadlock, "thread " + std::to_string(me) +
                                            " finished; the others are blocked in atomic::wait (" +
                                            describe_threads() + ")");
            }
        }
    }

    // Runnable threads as a choice point; asks the strategy when there is a choice.
    // A spinning thread (it yielded, and nobody wrote since) would only re-read the same
    // values and yield again, so it is a candidate only when no other thread is: this
    // prunes stutter schedules and keeps two spinners from yielding to each other forever.
    std::size_t choose(point_kind kind, std::size_t from) {
        choice_point p;
        p.kind = kind;
        p.from = from;
        p.continuing = kind == point_kind::step;
        if (p.continuing) {
            p.candidates[p.count++] = from;
        }
        for (const bool spinners : {false, true}) {
            for (std::size_t i = 0; i != workers_.size(); ++i) {
                if (i != from && workers_[i]->state == thread_state::runnable &&
                    workers_[i]->spinning == spinners) {
                    p.candidates[p.count++] = i;
                }
            }
            if (p.count != 0) {
                break; // a spinner is a candidate only when nobody else is (never to preempt)
            }
        }
        std::size_t next = none;
        if (p.count == 1) {
            next = p.candidates[0];
        } else if (p.count > 1) {
            const auto index = strategy_->choose(p);
            if (index >= p.count) {
                fail(outcome::diverged,
                     "the replayed schedule does not match this program at choice " +
                         std::to_string(result_.schedule.size()));
                return stop;
            }
            next = p.candidates[index];
            result_.schedule.push_back(static_cast<char>('0' + next));
        }
        if (next != none) {
            workers_[next]->spinning = false; // it runs: its next yield marks it again
        }
        return next;
    }

    void count_step(std::size_t me) {
        if (++steps_ > max_steps_) {
            fail(outcome::livelock, "no end after " + std::to_string(max_steps_) +
                                        " steps (" + describe_threads() + ")");
            park_forever(me);
        }
    }

    // Gives the baton to `next` (maybe `me` itself) and returns once it is back.
    void switch_to(std::size_t me, std::size_t next) {
        if (next == stop) { // fail() has already woken the main thread
            park_forever(me);
        }
        if (next == me) {
            return;
        }
        workers_[next]->baton.post();
        workers_[me]->baton.take();
    }

    // Ends the execution with `kind` and wakes the main thread; no thread runs any more.
    void fail(outcome kind, std::string message) {
        if (result_.kind == outcome::ok || result_.kind == outcome::exception) {
            result_.kind = kind;
            result_.message = std::move(message);
        }
        stuck_ = !all_finished();
        main_baton_.post();
    }

    [[noreturn]] void park_forever(std::size_t me) {
        for (;;) {
            workers_[me]->baton.take(); // nobody posts it again
        }
    }

    [[nodiscard]] bool all_finished() const {
        for (const auto& w : workers_) {
            if (w->state != thread_state::finished) {
                return false;
            }
        }
        return true;
    }

    [[nodiscard]] std::string describe_threads() const {
        std::string s;
        for (std::size_t i = 0; i != workers_.size(); ++i) {
            s += (i == 0 ? "thread " : ", thread ") + std::to_string(i) + ": ";
            s += workers_[i]->state == thread_state::finished  ? "finished"
                 : workers_[i]->state == thread_state::blocked ? "blocked"
                                                                : "runnable";
        }
        return s;
    }

    // Fields below are touched only by the thread holding the baton (or by the main
    // thread between executions); the batons' release/acquire pairs order every access.
    std::vector<std::unique_ptr<worker>> workers_;
    detail::baton main_baton_;
    bool shutdown_ = false;
    bool stuck_ = false;
    std::function<void(std::size_t)> body_;
    strategy* strategy_ = nullptr;
    std::size_t steps_ = 0;
    std::size_t max_steps_ = 0;
    std::uint64_t block_seq_ = 0;
    execution result_;
};

} // namespace admf_test::dsched
