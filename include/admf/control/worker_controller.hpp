// SPDX-License-Identifier: MIT
// admf::worker_controller: samples a bus every interval and sets each partition's workers.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include <admf/bus/bus_config.hpp>
#include <admf/bus/bus_stats.hpp>
#include <admf/control/scaling_policy.hpp>
#include <admf/control/threshold_scaling.hpp>
#include <admf/metrics/latency_histogram.hpp>

namespace admf {

/// What the controller did for one partition: its last interval and its counts so far.
struct partition_control {
    partition_sample sample{};     ///< what the last interval measured
    scaling_decision decision{};   ///< what was decided (and applied, unless `refused` grew)
    std::uint64_t ups = 0;         ///< worker counts raised
    std::uint64_t downs = 0;       ///< worker counts lowered
    std::uint64_t holds = 0;       ///< intervals that kept the count (refusals included)
    std::uint64_t refused = 0;     ///< changes set_workers refused (bus not running)
};

// Design: the adaptive worker controller of DESIGN.md "Metrics and adaptive control". Each
// step() reads bus.stats() once and, per partition that has event types and room to scale
// (max_workers > min_workers), builds an interval sample from the difference to the previous
// step: arrival and service rates from the published/delivered counters, p99 queue time from
// the cumulative queue histogram minus the previous one (latency_histogram::subtract). The
// policy decides within the partition's bounds and the threads the global budget has left,
// and a change goes to bus.set_workers. Then, with a stall budget, one watchdog pass
// (bus.check_stalls). The first step of a partition only takes its baseline: an interval
// needs two ends.
// Threads: step() runs under step_mutex_, so the controller's own thread (start()) and a
// manual step() never interleave; the policy state and baselines belong to that mutex. The
// counters are relaxed atomics and the last sample/decision sit behind last_mutex_, so
// any thread may read them while steps run. start()/stop() belong to the owner's thread.
// Bus requirements: domain_type, partition_count, config(), stats(), workers(d),
// set_workers(d, n) (std::logic_error when not running), check_stalls(budget, report).
// Cost: one stats() (which copies the histograms) and two histogram copies per scaled
// partition per interval, on the controller's thread; nothing on the bus's hot path.
template <class Bus, scaling_policy Policy = threshold_scaling,
          class Clock = std::chrono::steady_clock>
class worker_controller {
public:
    using domain_type = typename Bus::domain_type;
    using clock_type = Clock;
    static constexpr std::size_t partition_count = Bus::partition_count;

    struct options {
        /// Time between steps of the thread start() runs.
        std::chrono::nanoseconds interval{std::chrono::milliseconds(100)};
        /// Workers over all partitions the controller may reach; 0 = unlimited. Partitions
        /// it does not scale count too. It never removes workers to meet the budget.
        std::size_t thread_budget = 0;
        /// A handler call running this long is reported (bus.check_stalls); 0 = no watchdog.
        std::chrono::nanoseconds stall_budget{0};
        /// Called on the stepping thread after each decision (applied or refused); must not
        /// throw.
        std::function<void(domain_type, const partition_sample&, const scaling_decision&)>
            on_decision = {};
        /// Called on the stepping thread for each stall the watchdog reports; must not throw.
        std::function<void(const stall_report&)> on_stall = {};
    };

    /// Keeps a reference to `bus`, which must outlive the controller. Starts nothing.
    explicit worker_controller(Bus& bus, Policy policy = {}, options opts = {})
        : bus_(bus), policy_(std::move(policy)), options_(std::move(opts)),
          stall_forwarder_([this](const stall_report& r) {
              stalls_.fetch_add(1, std::memory_order_relaxed); // a count only, no pairing
              if (options_.on_stall) {
                  options_.on_stall(r);
              }
          }) {}

    worker_controller(const worker_controller&) = delete;
    worker_controller& operator=(const worker_controller&) = delete;
    ~worker_controller() { stop(); }

    /// Starts a thread that steps now (the baseline) and then every options().interval,
    /// waiting on a condition variable so stop() is prompt. Does nothing if started.
    void start() {
        if (thread_.joinable()) {
            return;
        }
        {
            const std::lock_guard lock(wake_mutex_);
            stopping_ = false;
        }
        thread_ = std::thread([this] { run(); });
    }

    /// Wakes and joins the thread; returns once no step of it runs. Idempotent.
    void stop() {
        if (!thread_.joinable()) {
            return;
        }
        {
            const std::lock_guard lock(wake_mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }

    /// One interval ending now, by Clock. Blocks while another step runs; allocates.
    void step() { step(Clock::now()); }

    /// One interval ending at `now` (tests pass their own times). An interval of zero or
    /// negative length gives rates of 0.
    void step(typename Clock::time_point now) {
        const std::lock_guard lock(step_mutex_);
        const auto stats = bus_.stats();
        const auto& config = bus_.config();

        std::array<std::size_t, partition_count> current{};
        std::size_t running = 0;
        for (std::size_t i = 0; i != partition_count; ++i) {
            current[i] = bus_.workers(static_cast<domain_type>(i));
            running += current[i];
        }
        for (std::size_t i = 0; i != partition_count; ++i) {
            const auto d = static_cast<domain_type>(i);
            const partition_config& pc = config.partitions[i];
            const std::size_t lo = pc.min_workers != 0 ? pc.min_workers : pc.workers;
            const std::size_t hi = pc.max_workers != 0 ? pc.max_workers : pc.workers;
            if (current[i] == 0 || hi <= lo) {
                continue;
            }
            baseline& base = baselines_[i];
            const partition_stats& ps = stats.partitions[i];
            // A copy: the bus's snapshot object may be reused by its next stats().
            std::unique_ptr<latency_histogram> queue;
            if (ps.latency) {
                queue = std::make_unique<latency_histogram>(ps.latency->queue);
            }
            if (!base.taken) {
                base.take(now, ps, std::move(queue));
                continue;
            }
            const partition_sample sample = measure(base, now, current[i], ps, queue.get());
            base.take(now, ps, std::move(queue));

            const std::size_t spare =
                options_.thread_budget == 0
                    ? std::numeric_limits<std::size_t>::max()
                    : options_.thread_budget - std::min(options_.thread_budget, running);
            const scaling_bounds bounds{.min_workers = lo, .max_workers = hi,
                                        .spare_threads = spare};
            scaling_decision decision = policy_.decide(sample, bounds, states_[i]);
            counters& c = counters_[i];
            // Every counter below is relaxed: each is a count read on its own; last_mutex_
            // orders the sample/decision pair.
            if (decision.workers != current[i]) {
                try {
                    bus_.set_workers(d, decision.workers);
                    (decision.workers > current[i] ? c.ups : c.downs)
                        .fetch_add(1, std::memory_order_relaxed);
                    running = running - current[i] + decision.workers;
                    current[i] = decision.workers;
                } catch (const std::invalid_argument&) {
                    // The bus's bounds differ from its config's: a bug, but no reason to end
                    // the controller's thread. The count stays.
                    refuse(c, decision, current[i], "set_workers refused: outside its bounds");
                } catch (const std::logic_error&) {
                    // Stopped since workers() was read; the next step retries if it restarts.
                    refuse(c, decision, current[i], "set_workers refused: bus not running");
                }
            } else {
                c.holds.fetch_add(1, std::memory_order_relaxed);
            }
            {
                const std::lock_guard last_lock(last_mutex_);
                last_[i] = {sample, decision};
            }
            if (options_.on_decision) {
                options_.on_decision(d, sample, decision);
            }
        }
        if (options_.stall_budget > std::chrono::nanoseconds::zero()) {
            bus_.check_stalls(options_.stall_budget, stall_forwarder_);
        }
        steps_.fetch_add(1, std::memory_order_relaxed); // a count only, no pairing
    }

    /// Any thread. Worker counts raised / lowered / kept for `d` so far (snapshot).
    [[nodiscard]] std::uint64_t ups(domain_type d) const noexcept { return load(at(d).ups); }
    [[nodiscard]] std::uint64_t downs(domain_type d) const noexcept { return load(at(d).downs); }
    [[nodiscard]] std::uint64_t holds(domain_type d) const noexcept { return load(at(d).holds); }
    /// Any thread. Changes for `d` that set_workers refused (snapshot).
    [[nodiscard]] std::uint64_t refused(domain_type d) const noexcept {
        return load(at(d).refused);
    }

    /// Any thread. `d`'s last sample and decision with its counters; a default sample and
    /// "hold" before its first decision. Takes a mutex a step holds only to copy them.
    [[nodiscard]] partition_control last(domain_type d) const {
        partition_control out;
        {
            const std::lock_guard lock(last_mutex_);
            out.sample = last_[index(d)].first;
            out.decision = last_[index(d)].second;
        }
        out.ups = ups(d);
        out.downs = downs(d);
        out.holds = holds(d);
        out.refused = refused(d);
        return out;
    }

    /// Any thread. Steps completed and stalls reported through check_stalls (snapshots).
    [[nodiscard]] std::uint64_t steps() const noexcept { return load(steps_); }
    [[nodiscard]] std::uint64_t stalls() const noexcept { return load(stalls_); }

private:
    struct counters {
        std::atomic<std::uint64_t> ups{0};
        std::atomic<std::uint64_t> downs{0};
        std::atomic<std::uint64_t> holds{0};
        std::atomic<std::uint64_t> refused{0};
    };

    // The previous step's ends of the interval (step_mutex_).
    struct baseline {
        bool taken = false;
        typename Clock::time_point time{};
        std::uint64_t published = 0;
        std::uint64_t delivered = 0;
        std::unique_ptr<latency_histogram> queue; // null: the bus records no latency

        void take(typename Clock::time_point t, const partition_stats& ps,
                  std::unique_ptr<latency_histogram> q) noexcept {
            taken = true;
            time = t;
            published = ps.published;
            delivered = ps.delivered;
            queue = std::move(q);
        }
    };

    static partition_sample measure(const baseline& base, typename Clock::time_point now,
                                    std::size_t workers, const partition_stats& ps,
                                    const latency_histogram* queue) {
        const double seconds = std::chrono::duration<double>(now - base.time).count();
        // Counters never go back; a bus replaced under the controller would, so clamp.
        const auto delta = [](std::uint64_t now_v, std::uint64_t then_v) {
            return static_cast<double>(now_v - std::min(now_v, then_v));
        };
        partition_sample s;
        s.workers = workers;
        s.backlog = ps.backlog;
        s.arrival_rate = seconds > 0 ? delta(ps.published, base.published) / seconds : 0.0;
        s.service_rate = seconds > 0 ? delta(ps.delivered, base.delivered) / seconds : 0.0;
        if (queue) {
            latency_histogram interval(*queue);
            if (base.queue) {
                interval.subtract(*base.queue);
            }
            s.p99_queue_time = interval.value_at_percentile(99.0);
        }
        return s;
    }

    static void refuse(counters& c, scaling_decision& decision, std::size_t workers,
                       std::string_view why) noexcept {
        c.refused.fetch_add(1, std::memory_order_relaxed); // a count only, no pairing
        c.holds.fetch_add(1, std::memory_order_relaxed);   // a count only, no pairing
        decision = {workers, why};
    }

    void run() {
        step();
        std::unique_lock lock(wake_mutex_);
        auto next = std::chrono::steady_clock::now() + options_.interval;
        while (!wake_.wait_until(lock, next, [this] { return stopping_; })) {
            lock.unlock();
            step();
            lock.lock();
            // A late step starts the next interval from now rather than catching up in a
            // burst of steps with intervals too short to measure.
            next = std::max(next + options_.interval,
                            std::chrono::steady_clock::now() + options_.interval / 2);
        }
    }

    [[nodiscard]] static std::size_t index(domain_type d) noexcept {
        return domain_index(d);
    }
    [[nodiscard]] const counters& at(domain_type d) const noexcept { return counters_[index(d)]; }
    [[nodiscard]] static std::uint64_t load(const std::atomic<std::uint64_t>& a) noexcept {
        return a.load(std::memory_order_relaxed); // a count read on its own: no pairing
    }

    Bus& bus_;
    Policy policy_;
    const options options_;
    const std::function<void(const stall_report&)> stall_forwarder_;

    std::mutex step_mutex_;
    std::array<baseline, partition_count> baselines_{};
    std::array<scaling_state, partition_count> states_{};

    std::array<counters, partition_count> counters_{};
    std::atomic<std::uint64_t> steps_{0};
    std::atomic<std::uint64_t> stalls_{0};
    mutable std::mutex last_mutex_;
    std::array<std::pair<partition_sample, scaling_decision>, partition_count> last_{};

    std::mutex wake_mutex_;
    std::condition_variable wake_;
    bool stopping_ = false; // wake_mutex_
    std::thread thread_;
};

} // namespace admf
