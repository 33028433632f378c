// SPDX-License-Identifier: MIT
// admf::basic_bus and admf::bus: the partitioned, lock-free, multi-threaded event bus.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <admf/bus/bus_config.hpp>
#include <admf/bus/bus_stats.hpp>
#include <admf/bus/bus_traits.hpp>
#include <admf/bus/detail/bus_checks.hpp>
#include <admf/bus/detail/partition.hpp>
#include <admf/bus/detail/quiescence.hpp>
#include <admf/bus/detail/subscriber_registry.hpp>
#include <admf/bus/detail/type_list.hpp>
#include <admf/bus/handler_for.hpp>
#include <admf/bus/subscription.hpp>
#include <admf/core/asymmetric_fence.hpp>
#include <admf/core/event_traits.hpp>
#include <admf/core/publish_result.hpp>

namespace admf {

// Design: one partition per domain of the events' domain set, each with its own lanes
// (rings holding only that domain's types) and its own worker threads, so partitions never
// share a queue or a thread. Lane = hash(key) & (lanes - 1); a lane has one owning worker,
// which gives per-key FIFO. Handlers are found through copy-on-write subscriber tables read
// without locks (detail/subscriber_registry.hpp).
// Threads: publish*, subscribe, unsubscribe and stats from any thread, also from handlers;
// start, flush and stop from any thread but the bus's own workers (they would wait for
// themselves), and not concurrently with the destructor.
// Stop, the handshake: a publisher counts its attempt on its lane, light_fence(), then
// reads the state; stop() stores `stopping`, heavy_fence() (a membarrier: it makes every
// running thread fence), then sets `drain`, and each worker returns only once its lanes are
// resolved: every attempt decided and every accepted event consumed. So a publish either
// sees `stopping` and is refused, or its attempt is visible to workers that saw `drain`,
// which then wait for it: nothing accepted is left behind, and nothing is accepted after
// stop() returns. Publishers pay no locked instruction for it (asymmetric_fence.hpp).
template <class Traits, class... Events>
class basic_bus {
    static_assert(detail::bus_events_ok<Events...>());

public:
    using traits_type = Traits;
    using domain_type = detail::bus_domain_t<Events...>;
    using config_type = basic_bus_config<domain_type>;
    using stats_type = basic_bus_stats<domain_type>;
    static constexpr std::size_t partition_count = domain_traits<domain_type>::count;

    /// Builds the partitions (rings are allocated here, threads start in start()).
    /// Throws std::invalid_argument on a configuration that cannot work (the message names
    /// the partition and the setting), std::length_error on an unaddressable capacity.
    explicit basic_bus(config_type config = {})
        : basic_bus(std::move(config), std::make_index_sequence<partition_count>{}) {
        // One-time process set-up here rather than on the first publish: the clock's
        // calibration (tsc_clock: 5 ms) and the membarrier registration.
        static_cast<void>(Traits::clock::now());
        static_cast<void>(detail::membarrier_ready());
    }

    basic_bus(const basic_bus&) = delete;
    basic_bus& operator=(const basic_bus&) = delete;

    /// Stops (draining: every accepted event is delivered) and joins the workers.
    ~basic_bus() {
        stop(stop_mode::drain);
        registry_->close();
    }

    /// Registers `handler` for events E; it runs on the workers of E's partition. Any
    /// thread, also inside a handler. Allocates (the subscriber table is copied).
    template <class E, class F>
    [[nodiscard]] subscription subscribe(F&& handler) {
        return detail::subscribe_one<E>(registry_, std::forward<F>(handler),
                                        detail::type_list<Events...>{});
    }

    /// Registers one generic `handler` for every event type of domain D (journals, risk
    /// checks): it must be callable with each of them, as subscribe<E> requires.
    template <auto D, class F>
        requires std::same_as<std::remove_cv_t<decltype(D)>, domain_type>
    [[nodiscard]] subscription subscribe(F&& handler) {
        return detail::subscribe_domain<D>(registry_, std::forward<F>(handler),
                                           detail::type_list<Events...>{});
    }

    /// Queues `e` on its lane with E's default priority. Never throws; does not allocate.
    /// accepted: it will be delivered (or counted as dropped/discarded). Otherwise the
    /// result says why, and the publish is counted: full (backpressure::reject, or a worker
    /// publishing into a full lane it owns itself), timed_out, stopped.
    template <class E>
    [[nodiscard]] ADMF_ALWAYS_INLINE publish_result publish(const E& e) noexcept {
        return publish(e, event_priority_v<E>);
    }

    /// As publish(e), with an explicit priority (carried to event_info::level).
    template <class E>
    [[nodiscard]] ADMF_ALWAYS_INLINE publish_result publish(const E& e, priority level) noexcept {
        detail::check_declared<E, Events...>();
        return partition_of<E>().publish(e, level);
    }

    /// Publishes `events` in order, claiming ring slots for each run of one lane at once.
    /// Returns accepted when all were queued; otherwise the outcome of the first event not
    /// queued, and that event and all after it were not queued and are counted with it.
    /// `*accepted` (if given) receives how many were queued.
    template <class E>
    [[nodiscard]] publish_result publish_batch(std::span<const E> events,
                                               std::size_t* accepted = nullptr) noexcept {
        detail::check_declared<E, Events...>();
        std::size_t n = 0;
        const auto r = partition_of<E>().publish_batch(events, event_priority_v<E>, n);
        if (accepted != nullptr) {
            *accepted = n;
        }
        return r;
    }

    /// Starts the worker threads. Events published before start() wait in their lanes.
    /// Throws std::logic_error after stop() (a bus does not restart).
    void start() {
        std::lock_guard lock{lifecycle_};
        const auto state = control_.state.load(std::memory_order_relaxed); // lifecycle_ held
        if (state == detail::bus_state::running) {
            return;
        }
        if (state != detail::bus_state::idle) {
            throw std::logic_error("admf: bus::start() after stop(): a bus does not restart");
        }
        control_.state.store(detail::bus_state::running, std::memory_order_seq_cst);
        std::apply([](auto&... p) { (p.start(), ...); }, partitions_);
    }

    /// Returns once every event accepted before the call, and every event its handlers
    /// published in turn (transitively), has been handled (or dropped/discarded), batch
    /// handlers included (flush hands them every partial batch at once). Under a
    /// load that never pauses it returns when the bus has caught up with those events.
    /// Throws std::logic_error before start() and from inside a handler of this bus.
    void flush() {
        check_not_worker("flush");
        const auto state = control_.state.load(std::memory_order_acquire);
        if (state == detail::bus_state::idle) {
            throw std::logic_error("admf: bus::flush() before start(): nothing would handle the events");
        }
        std::vector<std::uint64_t> targets;
        for (;;) {
            const auto before = handler_publishes();
            targets.clear();
            std::apply([&](const auto&... p) { (p.snapshot_claims(targets), ...); }, partitions_);
            backoff_wait waiter;
            waiter.wait([&] {
                std::size_t at = 0;
                bool all = true;
                std::apply([&](const auto&... p) { ((all = p.caught_up(targets, at) && all), ...); },
                           partitions_);
                return all;
            });
            // Then what was gathered for batch handlers up to now: the workers hand their
            // partial batches over at once when they see the new flush epoch.
            targets.clear();
            std::apply([&](const auto&... p) { (p.snapshot_gathered(targets), ...); }, partitions_);
            // Release pairs with the workers' acquire load of the epoch.
            control_.flush_epoch.fetch_add(1, std::memory_order_release);
            std::apply([](auto&... p) { (p.notify_workers(), ...); }, partitions_);
            waiter.wait([&] {
                std::size_t at = 0;
                bool all = true;
                std::apply(
                    [&](const auto&... p) { ((all = p.batches_caught_up(targets, at) && all), ...); },
                    partitions_);
                return all;
            });
            if (handler_publishes() == before) {
                return; // no handler published while we waited: nothing more to follow
            }
        }
    }

    /// Stops the bus: publishes from now on return `stopped`; drain delivers every accepted
    /// event first, discard counts them as discarded instead; then the workers are joined.
    /// No handler runs after it returns. A bus never started is started to drain (or
    /// discard) only. Idempotent.
    /// Throws std::logic_error from inside a handler of this bus.
    void stop(stop_mode mode = stop_mode::drain) {
        check_not_worker("stop");
        std::lock_guard lock{lifecycle_};
        auto state = control_.state.load(std::memory_order_relaxed); // lifecycle_ held
        if (state == detail::bus_state::stopped) {
            return;
        }
        control_.discard.store(mode == stop_mode::discard, std::memory_order_relaxed);
        control_.state.store(detail::bus_state::stopping, std::memory_order_relaxed);
        heavy_fence(); // the stopper's half of the handshake (see Design)
        // Release pairs with the workers' acquire: they see `discard` and every attempt.
        control_.drain.store(true, std::memory_order_release);
        if (state == detail::bus_state::idle) {
            // Started only now, with `drain` and `discard` already set (std::thread's
            // constructor synchronizes with the worker's first step): a never-started bus
            // stopped with discard dispatches nothing, even to a worker that starts at once.
            std::apply([](auto&... p) { (p.start(), ...); }, partitions_);
        } else {
            std::apply([](auto&... p) { (p.notify_all(), ...); }, partitions_);
        }
        std::apply([](auto&... p) { (p.join(), ...); }, partitions_);
        control_.state.store(detail::bus_state::stopped, std::memory_order_seq_cst);
    }

    /// Whether start() ran and stop() did not begin.
    [[nodiscard]] bool running() const noexcept {
        return control_.state.load(std::memory_order_acquire) == detail::bus_state::running;
    }

    /// A snapshot of the counters and latency histograms, per partition and in total. Any
    /// thread. Allocates (the histogram snapshots) when the traits record latency; throws
    /// only std::bad_alloc.
    [[nodiscard]] stats_type stats() const {
        stats_type s;
        std::size_t i = 0;
        std::apply([&](const auto&... p) { ((s.partitions[i++] = p.stats()), ...); }, partitions_);
        return s;
    }

    [[nodiscard]] const config_type& config() const noexcept { return config_; }

    /// Workers running partition d's lanes now (0 for a domain without event types).
    [[nodiscard]] std::size_t workers(domain_type d) const noexcept {
        std::size_t n = 0;
        visit_partition(d, [&](const auto& p) { n = p.workers(); });
        return n;
    }

    /// Runs partition d's lanes on n workers (lane i on worker i % n): each lane moves
    /// between rounds, after its partial batches went out, and is never run by two workers
    /// at once, so per-key order holds across the change. Returns at once; the workers
    /// hand the lanes over within a round each. Any thread but the bus's workers... and its
    /// handlers may call it too (it does not wait). Throws std::invalid_argument outside
    /// [min_workers, max_workers] (partition_config) or for a domain without event types,
    /// std::logic_error once stop() began.
    std::size_t set_workers(domain_type d, std::size_t n) {
        std::lock_guard lock{lifecycle_};
        if (control_.state.load(std::memory_order_relaxed) >= detail::bus_state::stopping) { // lifecycle_ held
            throw std::logic_error("admf: bus::set_workers() after stop()");
        }
        visit_partition(d, [&](auto& p) { p.set_workers(n); });
        return n;
    }

    /// The stall watchdog's step (worker_controller calls it every interval; one thread at
    /// a time): reports each handler call that has run for at least `budget` once, naming
    /// partition, worker, lane and subscription, and moves that worker's other lanes to
    /// other workers of the partition so they keep flowing; when the call returns, the
    /// assignment of set_workers comes back. A call is seen as running from the first
    /// check_stalls that found it, so check at intervals well below `budget`. Returns the
    /// reports made. Does nothing once stop() began.
    std::size_t check_stalls(std::chrono::nanoseconds budget,
                             const std::function<void(const stall_report&)>& report) {
        std::unique_lock lock{lifecycle_, std::try_to_lock};
        if (!lock.owns_lock() ||
            control_.state.load(std::memory_order_relaxed) != detail::bus_state::running) {
            return 0; // starting or stopping: stop() holds the lock while it drains
        }
        const auto now = std::chrono::steady_clock::now();
        std::size_t n = 0;
        std::apply([&](auto&... p) { ((n += p.check_stalls(now, budget, report)), ...); },
                   partitions_);
        return n;
    }

private:
    using registry_type = detail::subscriber_registry<Events...>;

    template <std::size_t I>
    using partition_at = detail::partition<Traits, static_cast<domain_type>(I), registry_type,
                                           detail::domain_types_t<static_cast<domain_type>(I), Events...>>;

    template <class Seq>
    struct partitions_of;
    template <std::size_t... I>
    struct partitions_of<std::index_sequence<I...>> {
        using type = std::tuple<partition_at<I>...>;
    };
    using partitions_type = typename partitions_of<std::make_index_sequence<partition_count>>::type;

    // Each worker thread of each partition (max_workers of them) gets one dispatcher slot
    // of the registry, in order.
    static std::size_t total_workers(const config_type& config) {
        std::size_t n = 0;
        for_each_used([&](std::size_t i) { n += detail::max_workers_of(config.partitions[i]); });
        return n;
    }

    // Handler-time histograms per entry of each event type: one per worker thread of its
    // partition, when the traits record latency.
    static std::vector<std::size_t> timing_slots(const config_type& config) {
        using metrics = typename Traits::latency_metrics;
        if constexpr (!metrics::enabled || std::is_same_v<typename Traits::clock, no_clock>) {
            return {};
        } else {
            return {detail::max_workers_of(config.partitions[domain_index(event_domain_v<Events>)])...};
        }
    }

    template <class Fn>
    void visit_partition(domain_type d, Fn&& fn) const {
        const auto i = domain_index(d);
        std::size_t at = 0;
        std::apply([&](const auto&... p) { ((at++ == i ? fn(p) : void()), ...); }, partitions_);
    }
    template <class Fn>
    void visit_partition(domain_type d, Fn&& fn) {
        const auto i = domain_index(d);
        std::size_t at = 0;
        std::apply([&](auto&... p) { ((at++ == i ? fn(p) : void()), ...); }, partitions_);
    }
    template <class Fn>
    static void for_each_used(Fn&& fn) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((detail::domain_types_t<static_cast<domain_type>(I), Events...>::size != 0 ? fn(I)
                                                                                        : void()),
             ...);
        }(std::make_index_sequence<partition_count>{});
    }

    template <std::size_t... I>
    basic_bus(config_type config, std::index_sequence<I...>)
        : config_(std::move(config)),
          registry_(std::make_shared<registry_type>(total_workers(config_), config_.on_error,
                                                    timing_slots(config_),
                                                    Traits::latency_metrics::significant_figures)),
          partitions_(args_for(I)...) {}

    [[nodiscard]] detail::partition_args<registry_type> args_for(std::size_t index) {
        std::size_t first = 0;
        for_each_used([&](std::size_t i) {
            if (i < index) {
                first += detail::max_workers_of(config_.partitions[i]);
            }
        });
        return {config_.partitions[index], control_, *registry_, first};
    }

    template <class E>
    [[nodiscard]] auto& partition_of() noexcept {
        return std::get<domain_index(event_domain_v<E>)>(partitions_);
    }

    [[nodiscard]] std::uint64_t handler_publishes() const noexcept {
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i != registry_->dispatcher_count(); ++i) {
            sum += registry_->dispatcher(i).publishes();
        }
        return sum;
    }

    void check_not_worker(const char* what) const {
        const auto* self = detail::current_dispatcher;
        if (self == nullptr) {
            return;
        }
        for (std::size_t i = 0; i != registry_->dispatcher_count(); ++i) {
            if (&registry_->dispatcher(i) == self) {
                throw std::logic_error(std::string("admf: bus::") + what +
                                       "() from inside a handler of the same bus would wait "
                                       "for itself");
            }
        }
    }

    const config_type config_;
    detail::bus_control control_;
    std::shared_ptr<registry_type> registry_;
    partitions_type partitions_;
    std::mutex lifecycle_;
};

/// The live bus with the default policies (default_bus_traits).
template <class... Events>
using bus = basic_bus<default_bus_traits, Events...>;

} // namespace admf
