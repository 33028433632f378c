// SPDX-License-Identifier: MIT
// One partition of a basic_bus: the lanes of one domain and the workers that own them.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include <admf/bus/bus_config.hpp>
#include <admf/bus/bus_stats.hpp>
#include <admf/bus/detail/any_wait.hpp>
#include <admf/bus/detail/batch_buffer.hpp>
#include <admf/bus/detail/lane.hpp>
#include <admf/bus/detail/quiescence.hpp>
#include <admf/bus/detail/type_list.hpp>
#include <admf/core/asymmetric_fence.hpp>
#include <admf/core/clock.hpp>
#include <admf/core/domain.hpp>
#include <admf/core/event_info.hpp>
#include <admf/core/event_traits.hpp>
#include <admf/core/platform.hpp>
#include <admf/core/publish_result.hpp>
#include <admf/metrics/latency_histogram.hpp>
#include <admf/metrics/latency_metrics.hpp>
#include <admf/policy/batching_policy.hpp>
#include <admf/policy/priority_policy.hpp>

namespace admf::detail {

/// Lifecycle of a bus, shared by its partitions.
enum class bus_state : int { idle, running, stopping, stopped };

struct bus_control {
    /// Publishers read it after counting their attempt (the stop handshake, basic_bus).
    alignas(false_sharing_range) std::atomic<bus_state> state{bus_state::idle};
    /// Set by stop() once the handshake's heavy_fence returned: workers may now trust
    /// `attempts` and exit when their lanes are resolved. Read-mostly, like `state`.
    std::atomic<bool> drain{false};
    std::atomic<bool> discard{false}; // written before `drain`
    /// Bumped by flush(): workers then hand every partial batch to its batch handlers.
    std::atomic<std::uint64_t> flush_epoch{0};
};

/// The worker range of a partition (partition_config: 0 means `workers`).
[[nodiscard]] inline std::size_t min_workers_of(const partition_config& c) noexcept {
    return c.min_workers == 0 ? c.workers : c.min_workers;
}
[[nodiscard]] inline std::size_t max_workers_of(const partition_config& c) noexcept {
    return c.max_workers == 0 ? c.workers : c.max_workers;
}

/// Throws std::invalid_argument naming the partition when its config cannot work.
/// What validate() needs to know of a partition besides its config.
struct partition_facts {
    bool multi_consumer_ring; ///< drop_oldest's ring takes many consumers
    bool critical;            ///< domain_traits::critical
    bool has_clock;           ///< the traits' clock is not no_clock
    bool conflatable;         ///< every event type trivially copyable and with a key
};

inline void validate(const partition_config& c, std::string_view name, const partition_facts& f) {
    const auto fail = [&](const char* what) {
        throw std::invalid_argument("admf: partition " + std::string(name) + ": " + what);
    };
    if (c.lanes == 0 || (c.lanes & (c.lanes - 1)) != 0) {
        fail("lanes must be a power of two (1, 2, 4, ...)");
    }
    if (c.workers == 0 || c.workers > c.lanes) {
        fail("workers must be between 1 and lanes (a lane is owned by one worker)");
    }
    if (min_workers_of(c) > c.workers || c.workers > max_workers_of(c)) {
        fail("min_workers <= workers <= max_workers must hold (0 means `workers`)");
    }
    if (max_workers_of(c) > c.lanes) {
        fail("max_workers must not exceed lanes (a worker without a lane has nothing to run)");
    }
    if (c.capacity == 0) {
        fail("capacity must be at least 1");
    }
    if (c.max_batch == 0) {
        fail("max_batch must be at least 1");
    }
    if (std::any_of(c.weights.begin(), c.weights.end(), [](std::uint32_t w) { return w == 0; })) {
        fail("every priority weight must be at least 1 (weighted_priority would starve a level)");
    }
    if (c.block_timeout.count() < 0) {
        fail("block_timeout must not be negative");
    }
    if (c.max_wait.count() < 0) {
        fail("max_wait must not be negative");
    }
    if (c.max_wait.count() > 0 && !f.has_clock) {
        fail("max_wait needs a clock to measure it: the traits' clock is no_clock");
    }
    if ((c.on_full == backpressure::drop_oldest || c.on_full == backpressure::conflate) &&
        f.critical) {
        fail("backpressure::drop_oldest or conflate on a critical partition (orders and fills "
             "are never dropped or replaced; see domain_traits::critical)");
    }
    if (c.on_full == backpressure::conflate && !f.conflatable) {
        fail("backpressure::conflate needs every event type of the partition trivially "
             "copyable and with a key (event_traits<E>::key): it keeps the newest per key");
    }
    if (c.on_full == backpressure::drop_oldest && !f.multi_consumer_ring) {
        fail("backpressure::drop_oldest needs a ring publishers may pop from "
             "(producer_mode = producers::many with a multi-consumer ring)");
    }
}

/// What a bus hands each partition it builds.
template <class Registry>
struct partition_args {
    const partition_config& config;
    bus_control& control;
    Registry& registry;
    std::size_t first_dispatcher; ///< the registry dispatcher slot of its first worker
};

template <class Traits, auto Domain, class Registry, class Types>
class partition;

/// A domain no event type of the bus belongs to: no lanes, no threads.
template <class Traits, auto Domain, class Registry>
class partition<Traits, Domain, Registry, type_list<>> {
public:
    explicit partition(const partition_args<Registry>&) {}
    void start() {}
    void notify_all() noexcept {}
    void notify_workers() noexcept {}
    void join() {}
    [[nodiscard]] bool resolved() const noexcept { return true; }
    void snapshot_claims(std::vector<std::uint64_t>&) const {}
    [[nodiscard]] bool caught_up(const std::vector<std::uint64_t>&, std::size_t&) const noexcept {
        return true;
    }
    void snapshot_gathered(std::vector<std::uint64_t>&) const {}
    [[nodiscard]] bool batches_caught_up(const std::vector<std::uint64_t>&,
                                         std::size_t&) const noexcept {
        return true;
    }
    [[nodiscard]] partition_stats stats() const {
        partition_stats s;
        s.name = domain_name(Domain);
        return s;
    }
    [[nodiscard]] std::size_t workers() const noexcept { return 0; }
    void set_workers(std::size_t) {
        throw std::invalid_argument("admf: partition " + std::string(domain_name(Domain)) +
                                    " has no event types: it runs no workers");
    }
    std::size_t check_stalls(std::chrono::steady_clock::time_point, std::chrono::nanoseconds,
                             const std::function<void(const stall_report&)>&) {
        return 0;
    }
};

// Design: lanes are fixed at construction; lane i is owned by worker i % workers, the only
// thread that consumes it (drop_oldest publishers excepted, on multi-consumer rings), so
// events of one key are dispatched in publish order. A worker drains up to max_batch events
// per lane per round inside one dispatch_round (the subscriber tables' quiescent-state
// bracket), then waits on its own wait strategy; a publisher notifies the owner of the lane
// it pushed to. Stop: see basic_bus.
// Batching (Traits::batching_policy): a worker takes up to max_batch events per lane per
// round. Events of a type with batch handlers are also copied, in take order, into the
// lane's buffer for that type (owner only; reserved at construction); a full buffer goes to
// the batch handlers at once, a partial one at the end of the lane's drain (max_wait 0) or
// once it is max_wait old, the worker bounding its idle wait by the oldest partial buffer.
// `gathered` and `batched` count events into and out of the buffers, so flush() can wait
// for what was gathered; before a worker exits at stop() it delivers every buffer.
// Scaling (set_workers): max_workers threads run; lane i is *assigned* to worker i % n and
// *held* by at most one worker at a time (lane::holder). A worker looks at the assignment
// between rounds (assign_epoch_): a lane assigned elsewhere it claims (holder: me ->
// releasing), hands its partial batches out, and releases (-> in_transit, release); the
// assigned worker takes it with an acquire CAS (in_transit -> me), stores its own wait as
// the lane's owner_wait and heavy_fence()s before its first drain (see notify_owner). So
// no two workers ever run one lane and a lane's events keep their order across moves.
// Workers without lanes sleep on assign_epoch_ (a futex), whatever their wait strategy.
// Stall watchdog (check_stalls): a worker marks the lane it drains in `busy` (release +
// light_fence) and then checks `revoke`; the watchdog, seeing one handler call run past the
// budget, reassigns the worker's other lanes, bumps `revoke`, heavy_fence()s, re-reads
// `busy` and, if the worker is still in the stalled lane, releases those lanes for it
// (CAS holder: worker -> in_transit). The worker sees `revoke` before it enters another
// lane, and drops them. Latency (Traits::latency_metrics): per lane histograms written by
// the lane's holder (they move with it), merged by stats().
template <class Traits, auto Domain, class Registry, class... Es>
class partition<Traits, Domain, Registry, type_list<Es...>> {
public:
    using slot_type = event_slot<Es...>;
    using priority_type = typename Traits::priority_policy;
    using lane_type = lane<slot_type, Traits, priority_type::levels>;
    using clock = typename Traits::clock;
    using batching_type = typename Traits::batching_policy;
    static_assert(batching_policy<batching_type>,
                  "admf: Traits::batching_policy must satisfy admf::batching_policy "
                  "(policy/batching_policy.hpp)");
    using metrics_type = typename Traits::latency_metrics;
    static_assert(latency_metrics_policy<metrics_type>,
                  "admf: Traits::latency_metrics must be record_latency, no_latency_metrics or "
                  "alike (metrics/latency_metrics.hpp)");
    /// Whether latency histograms are recorded (they need a clock).
    static constexpr bool records = metrics_type::enabled && !std::is_same_v<clock, no_clock>;

    explicit partition(const partition_args<Registry>& args)
        : config_(args.config), control_(args.control), registry_(args.registry),
          limits_(batching_type::limits({config_.max_batch, config_.max_wait})) {
        const std::size_t first_dispatcher = args.first_dispatcher;
        validate(config_, domain_name(Domain),
                 partition_facts{
                     .multi_consumer_ring = config_.producer_mode == producers::many &&
                                            lane_type::mpmc_type::consumer_mode == consumers::many,
                     .critical = domain_traits<std::remove_cv_t<decltype(Domain)>>::critical(Domain),
                     .has_clock = !std::is_same_v<clock, no_clock>,
                     .conflatable = conflatable_v<slot_type> && (event_has_key_v<Es> && ...),
                 });
        lanes_.reserve(config_.lanes);
        for (std::size_t i = 0; i != config_.lanes; ++i) {
            lanes_.push_back(std::make_unique<lane_type>(config_, static_cast<std::uint32_t>(i)));
        }
        batches_ = std::make_unique<lane_batches[]>(config_.lanes);
        if constexpr (batching_type::gathers) {
            for (std::size_t i = 0; i != config_.lanes; ++i) {
                std::apply([&](auto&... b) { (b.reserve(limits_.max_batch), ...); },
                           batches_[i].buffers);
            }
        }
        if constexpr (records) {
            latency_.reserve(config_.lanes);
            for (std::size_t i = 0; i != config_.lanes; ++i) {
                latency_.push_back(std::make_unique<lane_latency>(metrics_type::significant_figures));
            }
        }
        const std::size_t threads = max_workers_of(config_);
        workers_.reserve(threads);
        for (std::size_t w = 0; w != threads; ++w) {
            workers_.push_back(std::make_unique<worker>(registry_.dispatcher(first_dispatcher + w),
                                                        config_.wait, static_cast<std::uint32_t>(w)));
        }
        for (std::size_t i = 0; i != config_.lanes; ++i) {
            const auto w = static_cast<std::uint32_t>(i % config_.workers);
            worker& owner = *workers_[w];
            owner.lanes.push_back(lanes_[i].get());
            // Relaxed: the worker threads start later (std::thread's start synchronizes).
            lanes_[i]->assigned.store(w, std::memory_order_relaxed);
            lanes_[i]->holder.store(w, std::memory_order_relaxed);
            lanes_[i]->owner_wait.store(&owner.wait, std::memory_order_relaxed);
            lanes_[i]->owner.store(&owner.sync, std::memory_order_relaxed);
        }
        active_.store(config_.workers, std::memory_order_relaxed);
    }
    partition(const partition&) = delete;
    partition& operator=(const partition&) = delete;
    ~partition() { join(); }

    template <class E>
    [[nodiscard]] ADMF_ALWAYS_INLINE publish_result publish(const E& e, priority level) noexcept {
        lane_type& l = lane_for(e);
        if (!enter(l, 1)) {
            return publish_result::stopped;
        }
        const auto time = clock::now();
        const std::size_t q = priority_type::level_of(level);
        if (l.try_emplace(q, time, level, e)) {
            l.notify_owner();
            return publish_result::accepted;
        }
        return when_full(l, [&] { return l.try_emplace(q, time, level, e); });
    }

    /// Publishes a prefix of `events`, each run of one lane with one claim where the ring
    /// allows. Returns the outcome of the first event not queued (accepted if none); that
    /// event and all after it are counted with that outcome.
    template <class E>
    [[nodiscard]] publish_result publish_batch(std::span<const E> events, priority level,
                                               std::size_t& accepted) noexcept {
        accepted = 0;
        const auto time = clock::now();
        const std::size_t q = priority_type::level_of(level);
        while (accepted != events.size()) {
            lane_type& l = lane_for(events[accepted]);
            std::size_t run = 1;
            while (accepted + run != events.size() && &lane_for(events[accepted + run]) == &l) {
                ++run;
            }
            if (!enter(l, run)) {
                refuse_rest(events, accepted + run);
                return publish_result::stopped;
            }
            std::size_t done = 0;
            publish_result result = publish_result::accepted;
            while (done != run) {
                const std::size_t pushed = l.try_push_n(q,
                    slot_maker<E>{&events[accepted + done], time, level},
                    run - done);
                done += pushed;
                if (pushed != 0) {
                    l.notify_owner();
                    continue;
                }
                // Full: one event through the backpressure policy, then batches again.
                const E& next = events[accepted + done];
                result = when_full(l, [&] { return l.try_emplace(q, time, level, next); });
                if (result != publish_result::accepted) {
                    count(l, result, run - done - 1); // the rest of this run
                    break;
                }
                ++done;
            }
            accepted += done;
            if (result != publish_result::accepted) {
                count_rest(events, accepted + (run - done), result);
                return result;
            }
        }
        return publish_result::accepted;
    }

    void start() {
        for (std::size_t i = 0; i != workers_.size(); ++i) {
            workers_[i]->thread = std::thread([this, i] { run(*workers_[i]); });
        }
    }

    /// Workers running lanes (the count set_workers set last).
    [[nodiscard]] std::size_t workers() const noexcept {
        return active_.load(std::memory_order_relaxed); // a setting, read for display
    }

    /// Assigns lane i to worker i % n; the workers hand the lanes over between rounds.
    /// Throws std::invalid_argument outside [min_workers, max_workers].
    void set_workers(std::size_t n) {
        if (n < min_workers_of(config_) || n > max_workers_of(config_)) {
            throw std::invalid_argument(
                "admf: partition " + std::string(domain_name(Domain)) + ": set_workers(" +
                std::to_string(n) + ") outside [min_workers " +
                std::to_string(min_workers_of(config_)) + ", max_workers " +
                std::to_string(max_workers_of(config_)) + "]");
        }
        std::lock_guard lock{scaling_};
        active_.store(n, std::memory_order_relaxed);
        assign_nominal();
    }

    /// The stall watchdog's step (one thread at a time; see Design): reports each handler
    /// call that ran at least `budget` (seen since an earlier call of this at the same
    /// progress), once per call, and moves the worker's other lanes to other workers. When a
    /// stalled call returns, the assignment of set_workers is restored.
    std::size_t check_stalls(std::chrono::steady_clock::time_point now,
                             std::chrono::nanoseconds budget,
                             const std::function<void(const stall_report&)>& report) {
        std::lock_guard lock{scaling_};
        std::size_t reports = 0;
        bool recovered = false;
        for (auto& wp : workers_) {
            worker& w = *wp;
            watch_state& t = w.watch;
            // Relaxed: progress values compared over time; the hand-over re-reads `busy`
            // with acquire after its fence (move_lanes_off).
            const auto busy = w.busy.load(std::memory_order_relaxed);
            const auto calls = w.sync.calls_approx();
            const auto state = w.sync.state(); // rounds and nested waits move it
            if (busy == idle_lane || busy != t.lane || calls != t.calls || state != t.state) {
                recovered = recovered || t.reported;
                t = watch_state{calls, state, busy, now, false};
                continue;
            }
            if (t.reported || now - t.since < budget) {
                continue;
            }
            t.reported = true;
            stalls_.fetch_add(1, std::memory_order_relaxed); // a tally
            const std::size_t moved = move_lanes_off(w, busy);
            ++reports;
            if (report) {
                report(stall_report{
                    .partition = domain_name(Domain),
                    .worker = w.index,
                    .lane = busy,
                    .subscription = w.sync.calling_approx(),
                    .duration = std::chrono::duration_cast<std::chrono::nanoseconds>(now - t.since),
                    .lanes_moved = moved,
                });
            }
        }
        if (recovered) {
            assign_nominal();
        }
        return reports;
    }

    void notify_workers() noexcept {
        for (auto& w : workers_) {
            w->wait.notify();
        }
    }

    void notify_all() noexcept {
        announce_assignment(); // wakes workers parked without lanes, too
        for (auto& l : lanes_) {
            l->room.notify(); // publishers blocked for room see `stopping`
        }
    }

    void join() {
        for (auto& w : workers_) {
            if (w->thread.joinable()) {
                w->thread.join();
            }
        }
    }

    [[nodiscard]] bool resolved() const noexcept {
        return std::all_of(lanes_.begin(), lanes_.end(), [](const auto& l) { return l->resolved(); });
    }

    /// Appends each lane's claimed positions (flush's target).
    void snapshot_claims(std::vector<std::uint64_t>& out) const {
        for (const auto& l : lanes_) {
            for (std::size_t q = 0; q != lane_type::levels; ++q) {
                out.push_back(l->claimed_approx(q));
            }
        }
    }

    /// Whether each lane consumed the positions `targets` recorded (from index `at` on).
    [[nodiscard]] bool caught_up(const std::vector<std::uint64_t>& targets,
                                 std::size_t& at) const noexcept {
        bool all = true;
        for (const auto& l : lanes_) {
            for (std::size_t q = 0; q != lane_type::levels; ++q) {
                all = all && l->consumed(q) >= targets[at];
                ++at;
            }
        }
        return all;
    }

    /// Appends each lane's count of events gathered for batch handlers (flush's second target).
    void snapshot_gathered(std::vector<std::uint64_t>& out) const {
        for (std::size_t i = 0; i != lanes_.size(); ++i) {
            // Acquire pairs with the owner's release bump: read after caught_up() saw the
            // takes that gathered them.
            out.push_back(batches_[i].gathered.load(std::memory_order_acquire));
        }
    }

    /// Whether each lane's batch handlers received what snapshot_gathered() recorded.
    [[nodiscard]] bool batches_caught_up(const std::vector<std::uint64_t>& targets,
                                         std::size_t& at) const noexcept {
        bool all = true;
        for (std::size_t i = 0; i != lanes_.size(); ++i) {
            // Acquire pairs with deliver()'s release bump, after the batch handlers returned.
            all = all && batches_[i].batched.load(std::memory_order_acquire) >= targets[at];
            ++at;
        }
        return all;
    }

    [[nodiscard]] partition_stats stats() const {
        partition_stats s;
        s.name = domain_name(Domain);
        std::uint64_t attempts = 0;
        for (const auto& l : lanes_) {
            s.delivered += l->delivered.load(std::memory_order_acquire);
            s.discarded += l->discarded.load(std::memory_order_acquire);
            s.dropped += l->dropped();
            s.conflated += l->conflated();
            s.rejected += l->rejected.load(std::memory_order_acquire);
            s.timed_out += l->timed_out.load(std::memory_order_acquire);
            s.refused += l->refused.load(std::memory_order_acquire);
            attempts += l->attempts.load(std::memory_order_acquire);
            for (std::size_t level = 0; level != priority_levels; ++level) {
                auto& out = s.levels[level];
                const auto& c = l->by_level[level];
                out.delivered += c.delivered.load(std::memory_order_acquire); // pairs with bump
                out.queue_time_total += c.queue_time_total.load(std::memory_order_acquire); // bump
                // Relaxed: a gauge, the owner's latest maximum; nothing is read through it.
                out.queue_time_max =
                    std::max(out.queue_time_max, c.queue_time_max.load(std::memory_order_relaxed));
                if constexpr (lane_type::levels == priority_levels) {
                    // One queue per level: its backlog is claimed minus consumed.
                    const auto claimed = l->claimed_approx(level);
                    const auto gone = l->consumed(level);
                    out.backlog += claimed > gone ? claimed - gone : 0;
                }
            }
        }
        // Publishes under way count as published: they are claimed or about to be.
        s.published = attempts - std::min(attempts, s.rejected + s.timed_out + s.refused);
        const auto gone = s.delivered + s.discarded + s.dropped + s.conflated;
        s.backlog = s.published > gone ? s.published - gone : 0;
        s.handler_errors = handler_errors_.load(std::memory_order_relaxed);
        s.workers = workers();
        s.handovers = handovers_.load(std::memory_order_relaxed); // tallies
        s.stalls = stalls_.load(std::memory_order_relaxed);
        if constexpr (records) {
            auto lat = std::make_shared<partition_latency>(metrics_type::significant_figures);
            for (const auto& l : latency_) {
                // Histograms are read while their writer records: each count is a snapshot.
                for (std::size_t level = 0; level != priority_levels; ++level) {
                    lat->queue_by_level[level].merge(l->queue[level]);
                    lat->queue.merge(l->queue[level]);
                }
                lat->end_to_end.merge(l->end_to_end);
            }
            lat->handlers = registry_.handler_latencies(type_list<Es...>{});
            lat->sample_every = metrics_type::sample_every;
            s.latency = std::move(lat);
        }
        return s;
    }

private:
    static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

    // One per lane, owned by the lane's worker; flush() reads the two counters.
    struct lane_batches {
        std::tuple<batch_buffer<Es>...> buffers;
        std::size_t held = 0;              // events in the buffers now
        std::uint64_t gathered_here = 0;   // events gathered so far; `gathered` lags a take
        alignas(false_sharing_range) std::atomic<std::uint64_t> gathered{0};
        std::atomic<std::uint64_t> batched{0};
    };

    static constexpr std::uint32_t idle_lane = ~std::uint32_t{0};

    // What the watchdog last saw of a worker (scaling_ held).
    struct watch_state {
        std::uint64_t calls = 0;
        std::uint64_t state = 0;
        std::uint32_t lane = idle_lane;
        std::chrono::steady_clock::time_point since{};
        bool reported = false;
    };

    struct worker {
        worker(dispatch_sync& s, wait_kind kind, std::uint32_t i) : sync(s), wait(kind), index(i) {}
        dispatch_sync& sync;
        any_wait wait;
        const std::uint32_t index;
        std::vector<lane_type*> lanes; // the lanes it holds (sorted by index)
        std::thread thread;
        std::uint64_t flush_seen = 0;
        std::uint32_t assign_seen = 0; // assign_epoch_ at its last rebalance
        std::uint32_t revoke_seen = 0;
        /// The lane it is in (drain, batch delivery), idle_lane between; see Design.
        alignas(false_sharing_range) std::atomic<std::uint32_t> busy{idle_lane};
        /// Bumped by the watchdog when it takes lanes from this worker.
        std::atomic<std::uint32_t> revoke{0};
        watch_state watch; // scaling_ held
    };

    // One histogram burst per priority level over a take (records only; else empty).
    struct bursts_of_levels {
        explicit bursts_of_levels(auto* lat) noexcept
            : low(lat->queue[0]), medium(lat->queue[1]), high(lat->queue[2]) {}
        [[nodiscard]] latency_histogram::burst& at(std::size_t level) noexcept {
            return level == 0 ? low : level == 1 ? medium : high;
        }
        latency_histogram::burst low, medium, high;
    };
    struct no_bursts {
        explicit no_bursts(const void*) noexcept {}
    };
    using level_bursts = std::conditional_t<records, bursts_of_levels, no_bursts>;

    // Owner-written latency histograms of one lane (records only).
    struct lane_latency {
        explicit lane_latency(int figures)
            : queue{latency_histogram(1, partition_latency::max_ns, figures),
                    latency_histogram(1, partition_latency::max_ns, figures),
                    latency_histogram(1, partition_latency::max_ns, figures)},
              end_to_end(1, partition_latency::max_ns, figures) {}
        std::array<latency_histogram, priority_levels> queue;
        latency_histogram end_to_end;
    };

    // Bumps the assignment epoch (release: a worker's acquire load then sees the lane
    // assignments and releases stored before) and wakes every worker to look at it.
    void announce_assignment() noexcept {
        assign_epoch_.fetch_add(1, std::memory_order_release);
        assign_epoch_.notify_all(); // workers without lanes sleep on it
        notify_workers();
    }

    // scaling_ held: lane i to worker i % active_.
    void assign_nominal() noexcept {
        const auto n = active_.load(std::memory_order_relaxed);
        for (std::size_t i = 0; i != lanes_.size(); ++i) {
            // Relaxed: announce_assignment's release publishes it.
            lanes_[i]->assigned.store(static_cast<std::uint32_t>(i % n), std::memory_order_relaxed);
        }
        announce_assignment();
    }

    // scaling_ held. The watchdog's half of the hand-over (see Design): moves the lanes
    // `from` holds, except the stalled one, to workers not stalled. Returns how many.
    std::size_t move_lanes_off(worker& from, std::uint32_t stalled) noexcept {
        std::vector<std::uint32_t> targets; // active workers first, then spare threads
        for (std::size_t pass = 0; pass != 2; ++pass) {
            for (const auto& w : workers_) {
                const bool active = w->index < active_.load(std::memory_order_relaxed);
                if (w.get() != &from && !w->watch.reported && active == (pass == 0)) {
                    targets.push_back(w->index);
                }
            }
        }
        std::vector<lane_type*> moving;
        for (auto& l : lanes_) {
            // Relaxed: who holds it; the CAS below decides.
            if (l->index != stalled && l->holder.load(std::memory_order_relaxed) == from.index) {
                moving.push_back(l.get());
            }
        }
        if (targets.empty() || moving.empty()) {
            return 0;
        }
        // Spread over the active targets only, unless there are none.
        std::size_t pool = 0;
        while (pool != targets.size() && targets[pool] < active_.load(std::memory_order_relaxed)) {
            ++pool;
        }
        pool = pool == 0 ? targets.size() : pool;
        for (std::size_t k = 0; k != moving.size(); ++k) {
            moving[k]->assigned.store(targets[k % pool], std::memory_order_relaxed); // announced below
        }
        from.revoke.fetch_add(1, std::memory_order_relaxed);
        heavy_fence(); // pairs with enter_lane's light_fence: see Design
        // Acquire pairs with enter_lane's release store: what `from` did to its other
        // lanes before it entered the stalled one is visible, and handed on by the CAS.
        if (from.busy.load(std::memory_order_acquire) == stalled) {
            for (lane_type* l : moving) {
                std::uint32_t expected = from.index;
                // acq_rel: the taker's acquire CAS of in_transit synchronizes with it.
                static_cast<void>(l->holder.compare_exchange_strong(
                    expected, lane_type::in_transit, std::memory_order_acq_rel,
                    std::memory_order_relaxed));
            }
        } // else the call returned: `from` sees the new assignment and hands them over itself
        announce_assignment();
        return moving.size();
    }

    // Owner: marks `l` as the lane it works in; false if the watchdog revoked lanes since
    // the last rebalance (then it must not touch any lane before rebalancing).
    [[nodiscard]] ADMF_ALWAYS_INLINE bool enter_lane(worker& w, const lane_type& l) noexcept {
        // Release: pairs with move_lanes_off's acquire load (what it may then hand over).
        w.busy.store(l.index, std::memory_order_release);
        light_fence(); // pairs with move_lanes_off's heavy_fence: see Design
        return w.revoke.load(std::memory_order_relaxed) == w.revoke_seen;
    }
    static void leave_lanes(worker& w) noexcept {
        w.busy.store(idle_lane, std::memory_order_release); // the watchdog moves nothing now
    }

    // Whether a lane assigned to w is not held by it yet (it must wait for the hand-over).
    [[nodiscard]] bool awaiting(const worker& w) const noexcept {
        return std::any_of(lanes_.begin(), lanes_.end(), [&](const auto& l) {
            return l->assigned.load(std::memory_order_relaxed) == w.index &&
                   l->holder.load(std::memory_order_relaxed) != w.index;
        });
    }

    // Owner, between rounds: releases the lanes assigned elsewhere, drops those the
    // watchdog took, and takes those assigned to it that are in transit (see Design).
    void rebalance(worker& w) {
        // Acquire pairs with announce_assignment's release: the new `assigned` values.
        w.assign_seen = assign_epoch_.load(std::memory_order_acquire);
        w.revoke_seen = w.revoke.load(std::memory_order_relaxed); // read with busy == idle
        const std::uint32_t me = w.index;
        bool released = false;
        std::size_t errors = 0;
        for (auto it = w.lanes.begin(); it != w.lanes.end();) {
            lane_type& l = **it;
            std::uint32_t expected = me;
            // One load for both tests: read twice, a set_workers between the reads could
            // make the lane look moved (first read) and still ours (second), and it would
            // be dropped with holder == me, drained by nobody (found by
            // tests/models/lane_handover.pml, variant CPP_REREAD_ASSIGNED).
            const bool assigned_here = l.assigned.load(std::memory_order_relaxed) == me;
            if (assigned_here && l.holder.load(std::memory_order_relaxed) == me) {
                ++it;
                continue;
            }
            // Claim the release, so the watchdog cannot move the lane meanwhile; if it
            // moved it already, drop it untouched.
            if (assigned_here ||
                !l.holder.compare_exchange_strong(expected, lane_type::releasing,
                                                  std::memory_order_relaxed)) {
                it = w.lanes.erase(it);
                continue;
            }
            {
                dispatch_round round{w.sync};
                deliver_due(batches_[l.index], true, errors); // in lane order, before it moves
            }
            // Release pairs with the taker's acquire CAS: all this worker did to the lane
            // (ring positions, sequence, policy state, buffers, histograms) happens-before.
            l.holder.store(lane_type::in_transit, std::memory_order_release);
            it = w.lanes.erase(it);
            released = true;
        }
        count_errors(errors);
        bool took = false;
        for (auto& lp : lanes_) {
            lane_type& l = *lp;
            if (l.assigned.load(std::memory_order_relaxed) != me ||
                std::find(w.lanes.begin(), w.lanes.end(), &l) != w.lanes.end()) {
                continue;
            }
            std::uint32_t expected = lane_type::in_transit;
#if defined(ADMF_FAULT_SKIP_HANDOVER)
            // TEST-ONLY negative control (tests/negative/README.md): no wait for the release.
            expected = l.holder.load(std::memory_order_relaxed); // its old owner may be in it
#endif
            // Acquire pairs with the releaser's release store (or the watchdog's CAS).
            if (l.holder.compare_exchange_strong(expected, me, std::memory_order_acquire,
                                                 std::memory_order_relaxed)) {
                l.owner.store(&w.sync, std::memory_order_relaxed); // read by block()
                l.owner_wait.store(&w.wait, std::memory_order_relaxed); // see notify_owner
                w.lanes.push_back(&l);
                took = true;
                handovers_.fetch_add(1, std::memory_order_relaxed); // a tally
            }
        }
        if (took) {
            std::sort(w.lanes.begin(), w.lanes.end(),
                      [](const lane_type* a, const lane_type* b) { return a->index < b->index; });
            heavy_fence(); // pairs with notify_owner's light_fence: see lane::notify_owner
        }
        if (released) {
            announce_assignment(); // the takers may be asleep
        }
    }

    template <class E>
    [[nodiscard]] lane_type& lane_for(const E& e) noexcept {
        if constexpr (event_has_key_v<E>) {
            return *lanes_[mix_key(event_key(e)) & (lanes_.size() - 1)];
        } else {
            return *lanes_[0];
        }
    }

    // The publisher's half of the handshake with stop(): count the attempts, light_fence,
    // then look at the state. Either stop() (store, heavy_fence) makes its workers see these
    // attempts and wait for their outcome, or this sees `stopping` and refuses.
    [[nodiscard]] bool enter(lane_type& l, std::size_t n) noexcept {
        if (config_.producer_mode == producers::single) {
            // One publishing thread: a plain increment, no locked instruction.
            l.attempts.store(l.attempts.load(std::memory_order_relaxed) + n,
                             std::memory_order_relaxed);
        } else {
            l.attempts.fetch_add(n, std::memory_order_relaxed);
        }
        light_fence(); // pairs with the heavy_fence in basic_bus::stop()
        if (control_.state.load(std::memory_order_relaxed) >= bus_state::stopping) {
            l.refused.fetch_add(n, std::memory_order_release); // read by resolved()
            return false;
        }
        if (auto* d = current_dispatcher) {
            d->count_publish(n); // lets flush() follow events handlers publish
        }
        return true;
    }

    void count(lane_type& l, publish_result r, std::size_t n) noexcept {
        if (n == 0) {
            return;
        }
        // Release: read by resolved() with acquire, before `attempts`.
        switch (r) {
        case publish_result::full:
            l.rejected.fetch_add(n, std::memory_order_release);
            break;
        case publish_result::timed_out:
            l.timed_out.fetch_add(n, std::memory_order_release);
            break;
        case publish_result::stopped:
            l.refused.fetch_add(n, std::memory_order_release);
            break;
        case publish_result::accepted:
            break;
        }
    }

    // Counts events [from, end) of a batch that were never attempted: attempt + outcome.
    template <class E>
    void count_rest(std::span<const E> events, std::size_t from, publish_result r) noexcept {
        for (std::size_t i = from; i != events.size(); ++i) {
            lane_type& l = lane_for(events[i]);
            l.attempts.fetch_add(1, std::memory_order_relaxed); // decided at once: no handshake
            count(l, r, 1);
        }
    }
    template <class E>
    void refuse_rest(std::span<const E> events, std::size_t from) noexcept {
        count_rest(events, from, publish_result::stopped);
    }

    // The lane was full: apply the partition's backpressure. `push` retries once.
    template <class Push>
    [[nodiscard]] publish_result when_full(lane_type& l, Push&& push) noexcept {
        publish_result r = publish_result::accepted;
        switch (config_.on_full) {
        case backpressure::reject:
        case backpressure::conflate: // full only when a new key finds every key slot taken
            r = publish_result::full;
            break;
        case backpressure::drop_oldest:
            // Drop until there is room. When nothing is left to drop (every queued event is
            // being dispatched right now, or the oldest is still being written), the lane
            // is full of events no one may drop: answer `full` rather than spin.
            for (;;) {
                if (push()) {
                    break;
                }
                if (!l.drop_oldest()) {
                    if (!push()) { // room may have appeared meanwhile
                        r = publish_result::full;
                    }
                    break;
                }
            }
            break;
        case backpressure::block:
            r = block(l, push);
            break;
        }
        if (r == publish_result::accepted) {
            l.notify_owner();
        } else {
            count(l, r, 1);
        }
        return r;
    }

    template <class Push>
    [[nodiscard]] publish_result block(lane_type& l, Push& push) noexcept {
        // The owner waiting for itself would never wake: the lane's holder, or the worker
        // it is assigned to (mid hand-over). Relaxed: a worker reads its own stores here.
        if (l.owner.load(std::memory_order_relaxed) == current_dispatcher ||
            &workers_[l.assigned.load(std::memory_order_relaxed)]->sync == current_dispatcher) {
            return publish_result::full;
        }
        bool pushed = false;
        const auto done = [&] {
            pushed = push();
            return pushed || control_.state.load(std::memory_order_acquire) >= bus_state::stopping;
        };
        // A handler waiting here counts as not running one, so an unsubscribe() on the
        // worker that would make room cannot end up waiting for this handler in turn.
        const nested_wait nested;
        if (config_.block_timeout.count() == 0) {
            l.room.wait(done); // parks; the owner notifies `room` after freeing slots
        } else if (!l.room.wait_until(done, std::chrono::steady_clock::now() + config_.block_timeout)) {
            return publish_result::timed_out;
        }
        return pushed ? publish_result::accepted : publish_result::stopped;
    }

    void run(worker& w) {
        if (!config_.cpus.empty()) {
            static_cast<void>(pin_current_thread(config_.cpus[w.index % config_.cpus.size()]));
        }
        const auto has_work = [&w] {
            return std::any_of(w.lanes.begin(), w.lanes.end(),
                               [](lane_type* l) { return l->front_ready(); });
        };
        const auto mine_resolved = [&w] {
            return std::all_of(w.lanes.begin(), w.lanes.end(),
                               [](const lane_type* l) { return l->resolved(); });
        };
        const auto reassigned = [&] {
            // Relaxed: only decides to rebalance, which re-reads the epoch with acquire.
            return assign_epoch_.load(std::memory_order_relaxed) != w.assign_seen ||
                   w.revoke.load(std::memory_order_relaxed) != w.revoke_seen;
        };
        for (;;) {
            if (reassigned()) {
                rebalance(w);
            }
            if (w.lanes.empty()) {
                // Acquire pairs with stop()'s release of `drain`.
                if (control_.drain.load(std::memory_order_acquire) && !awaiting(w)) {
                    return;
                }
                // No lane: sleep until the assignment changes (set_workers, a release by
                // another worker, stop()'s notify_all), whatever the wait strategy.
                assign_epoch_.wait(w.assign_seen, std::memory_order_relaxed); // rebalance acquires
                continue;
            }
            std::size_t done = 0;
            bool revoked = false;
            {
                dispatch_round round{w.sync};
                for (lane_type* l : w.lanes) {
                    if (!enter_lane(w, *l)) {
                        revoked = true; // the watchdog took lanes: touch none before rebalancing
                        break;
                    }
                    done += drain(w, *l);
                }
                leave_lanes(w);
            }
            if (revoked) {
                continue;
            }
            // Acquire pairs with flush()'s release bump, made after it recorded its targets.
            if (const auto epoch = control_.flush_epoch.load(std::memory_order_acquire);
                epoch != w.flush_seen) {
                w.flush_seen = epoch;
                deliver_all(w);
            }
            if (done != 0 || reassigned()) {
                continue;
            }
            // Acquire pairs with stop()'s release of `drain`, stored after its heavy_fence:
            // every attempt a publisher made before seeing `stopping` is visible now, and so
            // is `discard` (read per event by the next round).
            if (control_.drain.load(std::memory_order_acquire)) {
                deliver_all(w); // partial batches go out before the worker may exit
                if (!reassigned() && mine_resolved() && !awaiting(w)) {
                    return;
                }
                // A publisher is mid-publish (maybe preempted between claim and commit), or
                // a lane is on its way here: let them run, threads may outnumber cores.
                std::this_thread::yield();
                continue;
            }
            const auto wake = [&] {
                // Relaxed epoch: only wakes the worker; the loop's acquire load above reads it.
                return has_work() || control_.drain.load(std::memory_order_acquire) ||
                       control_.flush_epoch.load(std::memory_order_relaxed) != w.flush_seen ||
                       reassigned();
            };
            const std::int64_t due = earliest_due(w);
            if (due == never) {
                w.wait.wait(wake);
                continue;
            }
            // A partial batch waits for max_wait: sleep no longer than until it is due (by
            // the bus clock; a replaced clock that stands still is re-read after as long).
            const std::int64_t left = due - clock::now();
            if (left > 0) {
                static_cast<void>(w.wait.wait_until(
                    wake, std::chrono::steady_clock::now() + std::chrono::nanoseconds(left)));
            }
        }
    }

    // Owner only. Gathers `e` for E's batch handlers (size_or_timeout_batching), or hands it
    // to them alone, in place (no_batching).
    template <class E>
    ADMF_ALWAYS_INLINE void to_batch_handlers(lane_batches& b, const auto* table, const E& e,
                                              std::int64_t time, std::size_t& errors) noexcept {
        if constexpr (!batching_type::gathers) {
            errors += registry_.dispatch_batch(table, std::span<const E>(&e, 1));
        } else {
            if (table == nullptr || table->batches.empty()) {
                return;
            }
            auto& buf = std::get<batch_buffer<E>>(b.buffers);
            buf.push(e, time);
            ++b.held;
            ++b.gathered_here; // published to `gathered` once per take
            if (buf.size() >= limits_.max_batch) {
                deliver(b, buf, errors);
            }
        }
    }

    // Owner only, inside a dispatch_round: one buffer to the batch handlers.
    template <class E>
    void deliver(lane_batches& b, batch_buffer<E>& buf, std::size_t& errors) noexcept {
        const std::size_t n = buf.size();
        errors += registry_.dispatch_batch(buf.events());
        buf.clear();
        b.held -= n;
        lane_type::bump(b.batched, n); // release: flush() reads it after the handlers returned
    }

    // Owner only, inside a dispatch_round: delivers the lane's partial batches that are due
    // (all of them with `all`, or with max_wait 0).
    void deliver_due(lane_batches& b, bool all, std::size_t& errors) noexcept {
        if (b.held == 0) {
            return;
        }
        const bool hold = !all && limits_.max_wait.count() != 0;
        const std::int64_t oldest_allowed = hold ? clock::now() - limits_.max_wait.count() : never;
        std::apply(
            [&](auto&... buf) {
                ((!buf.empty() && buf.first_time() <= oldest_allowed ? deliver(b, buf, errors)
                                                                          : void()),
                 ...);
            },
            b.buffers);
    }

    void deliver_all(worker& w) noexcept {
        std::size_t errors = 0;
        {
            dispatch_round round{w.sync};
            for (lane_type* l : w.lanes) {
                if (!enter_lane(w, *l)) {
                    break; // revoked: the loop rebalances first
                }
                deliver_due(batches_[l->index], true, errors);
            }
            leave_lanes(w);
        }
        count_errors(errors);
    }

    // When the oldest partial batch of w's lanes is due, by the bus clock; `never` if none.
    [[nodiscard]] std::int64_t earliest_due(const worker& w) const noexcept {
        std::int64_t due = never;
        for (const lane_type* l : w.lanes) {
            const lane_batches& b = batches_[l->index];
            if (b.held == 0) {
                continue;
            }
            std::apply(
                [&](const auto&... buf) {
                    ((due = buf.empty()
                                ? due
                                : std::min(due, buf.first_time() + limits_.max_wait.count())),
                     ...);
                },
                b.buffers);
        }
        return due;
    }

    void count_errors(std::size_t errors) noexcept {
        if (errors != 0) {
            handler_errors_.fetch_add(errors, std::memory_order_relaxed); // a tally
        }
    }

    // The view of a lane's queues a priority_policy drains (policy/priority_policy.hpp).
    struct lane_queues {
        partition& self;
        worker& w;
        lane_type& l;
        lane_batches& batches;
        lane_latency* latency; // null unless records
        bool discard = false; // latched once stop(discard) is seen, for the rest of the round
        std::size_t errors = 0;

        [[nodiscard]] bool ready(std::size_t q) noexcept { return l.front_ready(q); }

        std::size_t take(std::size_t q, std::size_t max) noexcept {
            std::size_t discarded = 0;
            std::size_t calls = 0; // events handed over: a conflated position may hold none
            // Queue time per level: one clock read per take, shared by the events it takes.
            constexpr bool timed = !std::is_same_v<clock, no_clock>;
            const std::int64_t taken_at = timed ? clock::now() : 0;
            std::array<std::uint64_t, priority_levels> count{}, total{}, longest{};
            // The queue-time histograms of the take's levels: totals updated once per take.
            [[maybe_unused]] level_bursts bursts{latency};
            const std::size_t n = l.consume(
                q,
                [&](slot_type& s, bool end_of_batch) noexcept {
                    ++calls;
                    // Per event: stop(discard) also cuts a batch short (read-mostly line).
                    if (discard || self.control_.discard.load(std::memory_order_relaxed)) {
                        discard = true;
                        ++discarded;
                        return;
                    }
                    const event_info info{l.next_sequence++, s.publish_time, l.index, s.level,
                                          end_of_batch};
                    const auto level = static_cast<std::size_t>(s.level);
                    ++count[level];
#if defined(ADMF_FAULT_DROP_ONE_PER_MILLION)
                    // TEST-ONLY negative control (tests/negative/README.md): silent loss.
                    static std::atomic<std::uint64_t> fault_taken{0}; // every lane's, a tally
                    if (fault_taken.fetch_add(1, std::memory_order_relaxed) % 1'000'000 == 999'999) {
                        return; // counted as delivered above, never dispatched
                    }
#endif
                    if constexpr (timed) {
                        const auto waited = static_cast<std::uint64_t>(
                            std::max<std::int64_t>(0, taken_at - s.publish_time));
                        total[level] += waited;
                        longest[level] = std::max(longest[level], waited);
                        if constexpr (records) {
                            bursts.at(level).record(static_cast<std::int64_t>(waited));
                        }
                    }
                    std::visit(
                        [&](const auto& e) {
                            using E = std::decay_t<decltype(e)>;
                            const auto* table = self.registry_.template table_of<E>();
                            if constexpr (records) {
                                // One event in sample_every per lane: handler and end-to-end
                                // times (two clock reads per handler; see record_latency).
                                if ((info.sequence & (metrics_type::sample_every - 1)) == 0) {
                                    std::int64_t done = 0;
                                    errors += self.registry_.template dispatch_timed<clock>(
                                        table, e, info, w.sync, w.index, done);
                                    latency->end_to_end.record(done - s.publish_time);
                                } else {
                                    errors += self.registry_.dispatch(table, e, info, w.sync);
                                }
                            } else {
                                errors += self.registry_.dispatch(table, e, info, w.sync);
                            }
                            self.to_batch_handlers(batches, table, e, s.publish_time, errors);
                        },
                        s.event);
                },
                max);
            if (n != 0) {
                for (std::size_t level = 0; level != priority_levels; ++level) {
                    if (count[level] != 0) {
                        auto& c = l.by_level[level];
                        lane_type::bump(c.delivered, count[level]);
                        lane_type::bump(c.queue_time_total, total[level]);
                        // Relaxed: the owner is this gauge's only writer.
                        if (longest[level] > c.queue_time_max.load(std::memory_order_relaxed)) {
                            c.queue_time_max.store(longest[level], std::memory_order_relaxed); // a gauge
                        }
                    }
                }
                // Relaxed load: the owner is `gathered`'s only writer.
                if (batches.gathered_here != batches.gathered.load(std::memory_order_relaxed)) {
                    // Before count_taken's release of `taken`: flush() reads taken, then this.
                    batches.gathered.store(batches.gathered_here, std::memory_order_release);
                }
                l.count_taken(q, n, calls - discarded, discarded);
            }
            return n;
        }
    };

    std::size_t drain(worker& w, lane_type& l) noexcept {
        lane_batches& batches = batches_[l.index];
        lane_latency* latency = nullptr;
        if constexpr (records) {
            latency = latency_[l.index].get();
        }
        lane_queues queues{*this, w, l, batches, latency};
        const std::size_t n =
            priority_type::drain(queues, l.policy_state, config_.weights, limits_.max_batch);
        if (n != 0) {
            l.room.notify(); // a load (and a futex wake only if a publisher sleeps for room)
        }
        deliver_due(batches, false, queues.errors);
        count_errors(queues.errors);
        return n;
    }

    const partition_config config_;
    bus_control& control_;
    Registry& registry_;
    std::vector<std::unique_ptr<lane_type>> lanes_;
    std::vector<std::unique_ptr<worker>> workers_;
    const batch_limits limits_;
    std::unique_ptr<lane_batches[]> batches_; // one per lane, by lane index
    std::vector<std::unique_ptr<lane_latency>> latency_; // one per lane (records only)
    std::atomic<std::uint64_t> handler_errors_{0};
    alignas(false_sharing_range) std::atomic<std::uint32_t> assign_epoch_{0};
    std::atomic<std::size_t> active_{1};
    std::atomic<std::uint64_t> handovers_{0};
    std::atomic<std::uint64_t> stalls_{0};
    std::mutex scaling_; // set_workers and check_stalls
};

} // namespace admf::detail
