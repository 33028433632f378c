// SPDX-License-Identifier: MIT
// admf::basic_sync_bus and admf::sync_bus: the deterministic, single-threaded bus (backtest).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <admf/bus/bus_config.hpp>
#include <admf/bus/bus_stats.hpp>
#include <admf/bus/bus_traits.hpp>
#include <admf/bus/detail/batch_buffer.hpp>
#include <admf/bus/detail/bus_checks.hpp>
#include <admf/bus/detail/quiescence.hpp>
#include <admf/bus/detail/subscriber_registry.hpp>
#include <admf/bus/detail/type_list.hpp>
#include <admf/bus/handler_for.hpp>
#include <admf/bus/subscription.hpp>
#include <admf/core/event_info.hpp>
#include <admf/core/event_traits.hpp>
#include <admf/core/publish_result.hpp>
#include <admf/policy/batching_policy.hpp>

namespace admf {

// Design: everything runs on the caller's thread, run to completion. A publish from outside
// any handler dispatches the event at once, then every event its handlers published, in
// priority order (high first) and FIFO within a priority, until none is left. A publish
// from inside a handler only queues. So the same calls produce the same handler call
// sequence on every run: no thread, no clock, no address decides anything.
// Same API as basic_bus; the partition settings it honours: `capacity * lanes` bounds the
// events one partition may have queued (a runaway cascade gets publish_result::full, since
// nothing could make room while the publisher waits). Threads: one at a time, the same one
// that runs handlers. Not thread-safe.
// Batch handlers (Traits::batching_policy): events are gathered per type, in dispatch order;
// a batch goes out when it holds max_batch events, and a partial one, with max_wait 0, when
// the cascade that gathered it is done; with max_wait > 0, once it is max_wait old by the
// bus's clock, checked before and after each outermost publish and by poll(); flush() and
// stop() deliver every partial batch. Replace the clock (Traits::clock) to replay time.
template <class Traits, class... Events>
class basic_sync_bus {
    static_assert(detail::bus_events_ok<Events...>());

public:
    using traits_type = Traits;
    using domain_type = detail::bus_domain_t<Events...>;
    using config_type = basic_bus_config<domain_type>;
    using stats_type = basic_bus_stats<domain_type>;
    static constexpr std::size_t partition_count = domain_traits<domain_type>::count;

    /// Throws std::invalid_argument if a partition's capacity or lanes is 0.
    explicit basic_sync_bus(config_type config = {})
        : config_(std::move(config)),
          registry_(std::make_shared<registry_type>(1, config_.on_error)) {
        for (std::size_t i = 0; i != partition_count; ++i) {
            const auto& c = config_.partitions[i];
            if (c.capacity == 0 || c.lanes == 0) {
                throw std::invalid_argument(
                    "admf: sync_bus partition " +
                    std::string(domain_traits<domain_type>::names[i]) +
                    ": capacity and lanes must be at least 1");
            }
            if (c.max_batch == 0 || c.max_wait.count() < 0) {
                throw std::invalid_argument(
                    "admf: sync_bus partition " +
                    std::string(domain_traits<domain_type>::names[i]) +
                    ": max_batch must be at least 1 and max_wait not negative");
            }
            stats_[i].name = domain_traits<domain_type>::names[i];
            limit_[i] = c.capacity * c.lanes;
            limits_[i] = batching_type::limits({c.max_batch, c.max_wait});
        }
        if constexpr (batching_type::gathers) {
            (std::get<detail::batch_buffer<Events>>(batches_).reserve(
                 limits_[domain_index(event_domain_v<Events>)].max_batch),
             ...);
        }
        static_cast<void>(Traits::clock::now()); // calibrates tsc_clock once, here
    }
    basic_sync_bus(const basic_sync_bus&) = delete;
    basic_sync_bus& operator=(const basic_sync_bus&) = delete;
    ~basic_sync_bus() {
        if (depth_ == 0) {
            stop(stop_mode::drain);
        }
        registry_->close();
    }

    template <class E, class F>
    [[nodiscard]] subscription subscribe(F&& handler) {
        return detail::subscribe_one<E>(registry_, std::forward<F>(handler),
                                        detail::type_list<Events...>{});
    }

    template <auto D, class F>
        requires std::same_as<std::remove_cv_t<decltype(D)>, domain_type>
    [[nodiscard]] subscription subscribe(F&& handler) {
        return detail::subscribe_domain<D>(registry_, std::forward<F>(handler),
                                           detail::type_list<Events...>{});
    }

    /// Outside a handler (and started): dispatches `e` and everything it causes, then
    /// returns accepted. Inside a handler, or before start(): queues it. After stop():
    /// stopped. Never throws (handler exceptions go to the error sink).
    template <class E>
    [[nodiscard]] publish_result publish(const E& e) noexcept {
        return publish(e, event_priority_v<E>);
    }

    template <class E>
    [[nodiscard]] publish_result publish(const E& e, priority level) noexcept {
        const publish_result r = publish_one(e, level);
        if (r == publish_result::accepted && depth_ == 0 && state_ != state::idle) {
            settle(settle_mode::due);
        }
        return r;
    }

    /// Publishes each event as publish() does, in order; stops at the first not accepted
    /// (that one and the rest are counted with its outcome). Batch handlers see the whole
    /// call as one cascade: with max_wait 0 they get up to max_batch of these events at once.
    template <class E>
    [[nodiscard]] publish_result publish_batch(std::span<const E> events,
                                               std::size_t* accepted = nullptr) noexcept {
        std::size_t n = 0;
        publish_result r = publish_result::accepted;
        for (; n != events.size(); ++n) {
            r = publish_one(events[n], event_priority_v<E>);
            if (r != publish_result::accepted) {
                count_rest(r, events.size() - n - 1, domain_index(event_domain_v<E>));
                break;
            }
        }
        if (n != 0 && depth_ == 0 && state_ != state::idle) {
            settle(settle_mode::due);
        }
        if (accepted != nullptr) {
            *accepted = n;
        }
        return r;
    }

    /// Dispatches what was published before start(). Throws std::logic_error after stop().
    void start() {
        if (state_ == state::running) {
            return;
        }
        if (state_ != state::idle) {
            throw std::logic_error("admf: sync_bus::start() after stop(): a bus does not restart");
        }
        state_ = state::running;
        if (depth_ == 0) {
            run_queue();
            settle(settle_mode::due);
        }
    }

    /// Delivers the partial batches that are max_wait old by the bus's clock (and what their
    /// handlers publish). For a backtest whose clock moves without events. Not inside a handler.
    void poll() noexcept {
        if (depth_ == 0 && state_ != state::idle) {
            settle(settle_mode::due);
        }
    }

    /// Every accepted event has been handled by its per-event handlers when a publish
    /// returns; this also hands every partial batch to its batch handlers. Throws
    /// std::logic_error before start() and inside a handler.
    void flush() {
        if (state_ == state::idle) {
            throw std::logic_error("admf: sync_bus::flush() before start(): nothing would handle the events");
        }
        if (depth_ != 0) {
            throw std::logic_error("admf: sync_bus::flush() from inside a handler would wait for itself");
        }
        settle(settle_mode::all);
    }

    /// Publishes from now on return stopped. drain: queued events are still dispatched;
    /// discard: they are counted as discarded. From inside a handler, the rest happens when
    /// the outermost dispatch returns.
    void stop(stop_mode mode = stop_mode::drain) {
        if (state_ == state::stopped) {
            return;
        }
        discard_ = mode == stop_mode::discard;
        state_ = state::stopping;
        if (depth_ == 0) {
            run_queue();
            settle(settle_mode::all); // partial batches were dispatched already: they go out
            state_ = state::stopped;
        }
    }

    [[nodiscard]] bool running() const noexcept { return state_ == state::running; }

    [[nodiscard]] stats_type stats() const noexcept {
        stats_type s;
        for (std::size_t i = 0; i != partition_count; ++i) {
            s.partitions[i] = stats_[i];
            s.partitions[i].backlog = queued_[i];
            for (std::size_t l = 0; l != priority_levels; ++l) {
                s.partitions[i].levels[l].backlog = queued_by_level_[i][l];
            }
        }
        return s;
    }

    [[nodiscard]] const config_type& config() const noexcept { return config_; }

private:
    using registry_type = detail::subscriber_registry<Events...>;
    using batching_type = typename Traits::batching_policy;
    static_assert(batching_policy<batching_type>,
                  "admf: Traits::batching_policy must satisfy admf::batching_policy "
                  "(policy/batching_policy.hpp)");
    enum class state : unsigned char { idle, running, stopping, stopped };


    struct queued {
        template <class E>
        queued(std::int64_t t, priority l, const E& e) noexcept
            : time(t), level(l), event(std::in_place_type<E>, e) {}
        std::int64_t time;
        priority level;
        std::variant<Events...> event;
    };

    // A FIFO that keeps its memory: pops advance `head`, and it resets when emptied.
    struct fifo {
        std::vector<queued> items;
        std::size_t head = 0;
        [[nodiscard]] bool empty() const noexcept { return head == items.size(); }
    };

    struct depth_guard {
        basic_sync_bus& bus;
        explicit depth_guard(basic_sync_bus& b) noexcept : bus(b) { ++bus.depth_; }
        ~depth_guard() { --bus.depth_; }
        depth_guard(const depth_guard&) = delete;
        depth_guard& operator=(const depth_guard&) = delete;
    };

    template <class E>
    void enqueue(std::int64_t time, priority level, const E& e) noexcept {
        // Grows only while a cascade is deeper than ever before (then keeps the memory).
        // Allocation failure here is treated like any other out-of-memory: terminate.
        queues_[static_cast<std::size_t>(level)].items.emplace_back(time, level, e);
        ++queued_[domain_index(event_domain_v<E>)];
        ++queued_by_level_[domain_index(event_domain_v<E>)][static_cast<std::size_t>(level)];
        ++total_queued_;
    }

    template <class E>
    void dispatch(const E& e, std::int64_t time, priority level) noexcept {
        constexpr std::size_t p = domain_index(event_domain_v<E>);
        const event_info info{sequence_[p]++, time, 0, level, total_queued_ == 0};
        std::size_t errors = 0;
        bool gather = false;
        {
            const detail::dispatch_round round{registry_->dispatcher(0),
                                               detail::dispatch_round::same_thread_t{}};
            const auto* table = registry_->template table_of<E>();
            errors = registry_->dispatch(table, e, info);
            if constexpr (!batching_type::gathers) {
                errors += registry_->dispatch_batch(table, std::span<const E>(&e, 1));
            } else {
                gather = table != nullptr && !table->batches.empty();
            }
        }
        if (gather) {
            auto& buf = std::get<detail::batch_buffer<E>>(batches_);
            buf.push(e, time);
            ++held_;
            if (buf.size() >= limits_[p].max_batch) {
                errors += deliver(buf);
            }
        }
        ++stats_[p].delivered;
        ++stats_[p].levels[static_cast<std::size_t>(level)].delivered;
        stats_[p].handler_errors += errors;
    }

    // publish() but for the batches of the cascade: outside a handler, dispatches e and
    // what it causes; inside one (or before start), queues it.
    template <class E>
    publish_result publish_one(const E& e, priority level) noexcept {
        detail::check_declared<E, Events...>();
        constexpr std::size_t p = domain_index(event_domain_v<E>);
        if (state_ >= state::stopping) {
            ++stats_[p].refused;
            return publish_result::stopped;
        }
        if (queued_[p] >= limit_[p]) {
            ++stats_[p].rejected;
            return publish_result::full;
        }
        ++stats_[p].published;
        const auto time = Traits::clock::now();
        if (depth_ != 0 || state_ == state::idle) {
            enqueue(time, level, e);
            return publish_result::accepted;
        }
        settle(settle_mode::aged); // batches max_wait old go before the new event
        {
            const depth_guard guard{*this};
            dispatch(e, time, level);
        }
        run_queue();
        return publish_result::accepted;
    }

    template <class E>
    std::size_t dispatch_batch(std::span<const E> events) noexcept {
        const depth_guard guard{*this}; // what batch handlers publish is queued
        const detail::dispatch_round round{registry_->dispatcher(0),
                                           detail::dispatch_round::same_thread_t{}};
        return registry_->dispatch_batch(events);
    }

    template <class E>
    std::size_t deliver(detail::batch_buffer<E>& buf) noexcept {
        // Nothing gathers into buf meanwhile: what the batch handlers publish is queued.
        const std::size_t errors = dispatch_batch(buf.events());
        held_ -= buf.size();
        buf.clear();
        return errors;
    }

    // Outside any handler: delivers the partial batches `mode` names, and runs what their
    // handlers publish, until none is left to deliver.
    enum class settle_mode : unsigned char {
        all,  // every partial batch
        due,  // those max_wait old, and all of a partition with max_wait 0
        aged, // only those max_wait old (max_wait > 0)
    };

    void settle(settle_mode mode) noexcept {
        if constexpr (batching_type::gathers) {
            while (held_ != 0) {
                bool any = false;
                const std::int64_t now = mode == settle_mode::all ? 0 : Traits::clock::now();
                std::apply([&](auto&... buf) { ((any = deliver_if(buf, mode, now) || any), ...); },
                           batches_);
                if (!any) {
                    return;
                }
                run_queue();
            }
        }
    }

    // Delivers buf if it holds events and is due; returns whether it did.
    template <class E>
    bool deliver_if(detail::batch_buffer<E>& buf, settle_mode mode, std::int64_t now) noexcept {
        constexpr std::size_t p = domain_index(event_domain_v<E>);
        const auto wait = limits_[p].max_wait.count();
        const bool due = mode == settle_mode::all ||
                         (wait == 0 ? mode == settle_mode::due : now - buf.first_time() >= wait);
        if (buf.empty() || !due) {
            return false;
        }
        stats_[p].handler_errors += deliver(buf);
        return true;
    }

    // Dispatches (or discards) queued events, highest priority first, until none is left.
    void run_queue() noexcept {
        while (total_queued_ != 0) {
            fifo* q = nullptr;
            for (std::size_t level = priority_levels; level-- != 0;) {
                if (!queues_[level].empty()) {
                    q = &queues_[level];
                    break;
                }
            }
            // Moved out first: the handlers may grow this very vector.
            queued item = std::move(q->items[q->head++]);
            if (q->empty()) {
                q->items.clear();
                q->head = 0;
            }
            --total_queued_;
            std::visit(
                [&](const auto& e) {
                    constexpr std::size_t p = domain_index(event_domain_v<std::decay_t<decltype(e)>>);
                    --queued_[p];
                    --queued_by_level_[p][static_cast<std::size_t>(item.level)];
                    if (discard_ && state_ >= state::stopping) {
                        ++stats_[p].discarded;
                        return;
                    }
                    const depth_guard guard{*this};
                    dispatch(e, item.time, item.level);
                },
                item.event);
        }
        if (state_ == state::stopping && depth_ == 0) {
            state_ = state::stopped;
        }
    }

    void count_rest(publish_result r, std::size_t n, std::size_t p) noexcept {
        switch (r) {
        case publish_result::full:
            stats_[p].rejected += n;
            break;
        case publish_result::timed_out:
            stats_[p].timed_out += n;
            break;
        case publish_result::stopped:
            stats_[p].refused += n;
            break;
        case publish_result::accepted:
            break;
        }
    }

    const config_type config_;
    std::shared_ptr<registry_type> registry_;
    std::array<fifo, priority_levels> queues_{};
    std::array<std::size_t, partition_count> queued_{};
    std::array<std::array<std::size_t, priority_levels>, partition_count> queued_by_level_{};
    std::array<std::size_t, partition_count> limit_{};
    std::array<std::uint64_t, partition_count> sequence_{};
    std::array<partition_stats, partition_count> stats_{};
    std::size_t total_queued_ = 0;
    std::size_t depth_ = 0;
    state state_ = state::idle;
    bool discard_ = false;
    std::array<batch_limits, partition_count> limits_{};
    std::tuple<detail::batch_buffer<Events>...> batches_{};
    std::size_t held_ = 0; // events in batches_
};

/// The backtest bus with the default policies.
template <class... Events>
using sync_bus = basic_sync_bus<default_bus_traits, Events...>;

} // namespace admf
