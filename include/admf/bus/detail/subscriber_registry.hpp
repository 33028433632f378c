// SPDX-License-Identifier: MIT
// The subscriber tables of one bus: copy-on-write per event type, read without locks.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <admf/bus/detail/bus_checks.hpp>
#include <admf/bus/detail/quiescence.hpp>
#include <admf/core/asymmetric_fence.hpp>
#include <admf/bus/detail/type_list.hpp>
#include <admf/bus/handler_error.hpp>
#include <admf/bus/handler_for.hpp>
#include <admf/bus/subscription.hpp>
#include <admf/core/domain.hpp>
#include <admf/core/event_info.hpp>
#include <admf/core/event_traits.hpp>
#include <admf/bus/bus_stats.hpp>
#include <admf/metrics/latency_histogram.hpp>

namespace admf::detail {

/// Anything the registry frees after a grace period.
struct retirable {
    virtual ~retirable() = default;
};

/// One handler registered for events E.
template <class E>
struct handler_entry : retirable {
    explicit handler_entry(std::uint64_t subscription_id) noexcept : id(subscription_id) {}
    virtual void call(const E& e, const event_info& info) = 0;

    std::atomic<bool> active{true};
    std::atomic<std::uint64_t> errors{0};
    const std::uint64_t id;
    /// Handler time per worker slot of E's partition (null when latency is not recorded):
    /// slot w is written by that worker only (latency_histogram: one writer).
    std::unique_ptr<std::optional<latency_histogram>[]> times;
    std::size_t time_slots = 0;
};

template <class E, class F>
struct handler_entry_of final : handler_entry<E> {
    handler_entry_of(std::uint64_t subscription_id, F fn)
        : handler_entry<E>(subscription_id), f(std::move(fn)) {}
    void call(const E& e, const event_info& info) override { invoke_handler<E>(f, e, info); }
    F f;
};

/// One batch handler registered for events E (batch_handler_for).
template <class E>
struct batch_entry : retirable {
    explicit batch_entry(std::uint64_t subscription_id) noexcept : id(subscription_id) {}
    virtual void call(std::span<const E> events) = 0;

    std::atomic<bool> active{true};
    std::atomic<std::uint64_t> errors{0};
    const std::uint64_t id;
};

template <class E, class F>
struct batch_entry_of final : batch_entry<E> {
    batch_entry_of(std::uint64_t subscription_id, F fn)
        : batch_entry<E>(subscription_id), f(std::move(fn)) {}
    void call(std::span<const E> events) override { f(events); }
    F f;
};

/// One callable shared by the entries of a domain-wide subscription.
template <class F>
struct shared_handler {
    std::shared_ptr<F> f;
    template <class E>
        requires handler_for<F, E>
    void operator()(const E& e, const event_info& info) {
        invoke_handler<E>(*f, e, info);
    }
};

/// The immutable lists of handlers of E dispatch iterates: per-event and batch handlers.
template <class E>
struct handler_table final : retirable {
    std::vector<handler_entry<E>*> entries;
    std::vector<batch_entry<E>*> batches;

    [[nodiscard]] bool empty() const noexcept { return entries.empty() && batches.empty(); }
};

// Design: one table pointer per event type, swapped (copy-on-write) under `writer_` by
// subscribe/unsubscribe and read by dispatch with one load, no lock and no reference count.
// Removed entries and replaced tables are retired with a snapshot of every dispatcher's
// state and freed once each dispatcher passed the round it was in (see quiescence.hpp);
// retired objects are reclaimed on later writes and when the bus closes. unsubscribe clears
// the entry's `active` flag, which dispatch checks before each call, then waits (outside
// the lock) until no other dispatcher is inside a handler that started earlier.
// Threads: dispatch() from the dispatcher threads; everything else from any thread.
template <class... Events>
class subscriber_registry final : public subscription_owner {
public:
    /// `timing_slots[i]`: handler-time histograms per entry of the i-th event type (the
    /// workers of its partition); empty or 0 records none. `figures`: their precision.
    explicit subscriber_registry(std::size_t dispatchers, error_sink sink,
                                 std::vector<std::size_t> timing_slots = {}, int figures = 2)
        : sink_(sink ? std::move(sink) : error_sink{default_error_sink}),
          timing_slots_(std::move(timing_slots)), timing_figures_(figures) {
        syncs_.reserve(dispatchers);
        for (std::size_t i = 0; i != dispatchers; ++i) {
            syncs_.push_back(std::make_unique<dispatch_sync>());
        }
    }
    subscriber_registry(const subscriber_registry&) = delete;
    subscriber_registry& operator=(const subscriber_registry&) = delete;
    ~subscriber_registry() { close(); }

    [[nodiscard]] dispatch_sync& dispatcher(std::size_t i) noexcept { return *syncs_[i]; }
    [[nodiscard]] const dispatch_sync& dispatcher(std::size_t i) const noexcept { return *syncs_[i]; }
    [[nodiscard]] std::size_t dispatcher_count() const noexcept { return syncs_.size(); }

    /// Registers `f` for E (a batch handler if batch_handler_for<F, E>); returns the
    /// subscription id.
    template <class E, class F>
    std::uint64_t subscribe(F f) {
        std::lock_guard lock{writer_};
        const auto id = ++last_id_;
        using entry_type = std::conditional_t<batch_handler_for<F, E>, batch_entry_of<E, F>,
                                              handler_entry_of<E, F>>;
        auto entry = std::make_unique<entry_type>(id, std::move(f));
        add_entry<E>(*entry, id);
        entry.release(); // owned by the table now (freed by remove or close)
        reclaim();
        return id;
    }

    /// Registers one callable for every E in Es (a domain-wide handler) under one id.
    template <class F, class... Es>
    std::uint64_t subscribe_all(F f, type_list<Es...>) {
        std::lock_guard lock{writer_};
        const auto id = ++last_id_;
        auto shared = std::make_shared<F>(std::move(f));
        (add_entry<Es>(*new handler_entry_of<Es, shared_handler<F>>(id, shared_handler<F>{shared}), id),
         ...);
        reclaim();
        return id;
    }

    void unsubscribe(std::uint64_t id) noexcept override {
        {
            std::lock_guard lock{writer_};
            if (closed_) {
                return;
            }
            auto node = records_.extract(id);
            if (node.empty()) {
                return;
            }
            auto batch = std::make_unique<retired_batch>();
            for (const std::size_t type : node.mapped()) {
                remove_entries(type, id, *batch);
            }
            retire(std::move(batch));
            reclaim();
        }
        // Outside the lock: a handler waited for here may itself be subscribing.
        // retire() fenced (heavy_fence) after clearing the flags, before these state loads.
        const nested_wait nested; // a handler calling this counts as idle meanwhile
        for (const auto& sync : syncs_) {
            if (sync.get() != current_dispatcher) {
                sync->wait_handlers_idle();
            }
        }
    }

    [[nodiscard]] std::uint64_t handler_errors(std::uint64_t id) const noexcept override {
        std::lock_guard lock{writer_};
        std::uint64_t sum = 0;
        if (auto it = records_.find(id); it != records_.end()) {
            for (const std::size_t type : it->second) {
                visit_table(type, [&]<class E>(const handler_table<E>* table) {
                    const auto add = [&](const auto& list) {
                        for (auto* entry : list) {
                            if (entry->id == id) {
                                sum += entry->errors.load(std::memory_order_relaxed);
                            }
                        }
                    };
                    add(table->entries);
                    add(table->batches);
                });
            }
        }
        return sum;
    }

    /// Dispatcher only, inside a dispatch_round. Calls every active handler of E; returns
    /// how many threw. Never throws.
    template <class E>
    std::size_t dispatch(const E& e, const event_info& info) noexcept {
        return dispatch(table_of<E>(), e, info);
    }

    /// Dispatcher only, inside a dispatch_round: E's current table (null: no handler). Valid
    /// until the round ends.
    template <class E>
    [[nodiscard]] const handler_table<E>* table_of() const noexcept {
        // Acquire pairs with the writer's release store of the table; the round's
        // light_fence orders this load after the round's start (quiescence.hpp).
        return std::get<table_slot<E>>(tables_).current.load(std::memory_order_acquire);
    }

    /// As dispatch(e, info), with the table table_of<E>() returned in this round.
    template <class E>
    std::size_t dispatch(const handler_table<E>* table, const E& e, const event_info& info) noexcept {
        if (table == nullptr) {
            return 0;
        }
        return call_each<E>(table->entries, e, info);
    }

    /// As dispatch(table, e, info), noting each call in `watch` for the stall watchdog.
    template <class E>
    std::size_t dispatch(const handler_table<E>* table, const E& e, const event_info& info,
                         dispatch_sync& watch) noexcept {
        if (table == nullptr) {
            return 0;
        }
        return call_each<E>(table->entries, &watch, e, info);
    }

    /// As dispatch(table, e, info, watch), also timing each handler by Clock into its
    /// histogram of worker `slot`. Returns how many threw; `done` gets the time the last
    /// handler returned.
    template <class Clock, class E>
    std::size_t dispatch_timed(const handler_table<E>* table, const E& e, const event_info& info,
                               dispatch_sync& watch, std::size_t slot,
                               std::int64_t& done) noexcept {
        std::size_t errors = 0;
        std::int64_t t = Clock::now();
        if (table != nullptr) {
            for (auto* entry : table->entries) {
                if (!entry->active.load(std::memory_order_relaxed)) { // as in call_each
                    continue;
                }
                errors += call_one<E>(*entry, &watch, e, info);
                const std::int64_t after = Clock::now();
                if (slot < entry->time_slots) {
                    entry->times[slot]->record(after - t);
                }
                t = after;
            }
        }
        done = t;
        return errors;
    }

    /// Handler-time histograms of the subscriptions to any of Es, merged over worker slots
    /// and over the types a domain-wide subscription covers. Any thread; allocates.
    template <class... Es>
    [[nodiscard]] std::vector<handler_latency> handler_latencies(type_list<Es...>) const {
        std::lock_guard lock{writer_}; // entries in current tables stay alive meanwhile
        std::vector<handler_latency> out;
        const auto add = [&]<class E>(const handler_table<E>* table) {
            if (table == nullptr) {
                return;
            }
            for (auto* entry : table->entries) {
                if (entry->time_slots == 0) {
                    continue;
                }
                auto it = std::find_if(out.begin(), out.end(),
                                       [&](const handler_latency& h) { return h.subscription == entry->id; });
                if (it == out.end()) {
                    out.push_back({entry->id, latency_histogram(1, partition_latency::max_ns,
                                                                timing_figures_)});
                    it = out.end() - 1;
                }
                for (std::size_t w = 0; w != entry->time_slots; ++w) {
                    it->time.merge(*entry->times[w]); // other writers live: a snapshot
                }
            }
        };
        (add(std::get<table_slot<Es>>(tables_).current.load(std::memory_order_acquire)), ...);
        return out;
    }

    /// Dispatcher only, inside a dispatch_round. Calls every active batch handler of E with
    /// `events`; returns how many threw. Never throws.
    template <class E>
    std::size_t dispatch_batch(std::span<const E> events) noexcept {
        return dispatch_batch(table_of<E>(), events);
    }

    /// As dispatch_batch(events), with the table table_of<E>() returned in this round.
    template <class E>
    std::size_t dispatch_batch(const handler_table<E>* table, std::span<const E> events) noexcept {
        if (table == nullptr || events.empty()) {
            return 0;
        }
        return call_each<E>(table->batches, events);
    }

    /// Frees every table, entry and retired object; later unsubscribes do nothing. Only
    /// when no dispatcher runs (the bus joined its workers).
    void close() noexcept {
        std::lock_guard lock{writer_};
        if (closed_) {
            return;
        }
        closed_ = true;
        (free_table<Events>(), ...);
        retired_.clear();
        records_.clear();
    }

private:
    template <class E>
    struct table_slot {
        std::atomic<handler_table<E>*> current{nullptr};
    };

    struct retired_batch final : retirable {
        std::vector<std::unique_ptr<retirable>> items;
        std::vector<std::uint64_t> snapshot;
    };

    // Calls entry->call(args...) on every active entry of `list` (handlers of E).
    template <class E, class List, class... Args>
    std::size_t call_each(const List& list, const Args&... args) noexcept {
        return call_each<E>(list, static_cast<dispatch_sync*>(nullptr), args...);
    }
    template <class E, class List, class... Args>
    std::size_t call_each(const List& list, dispatch_sync* watch, const Args&... args) noexcept {
        std::size_t errors = 0;
        for (auto* entry : list) {
            // After the round's light_fence: a remover that did not see this round running
            // cleared the flag before it (quiescence.hpp).
            if (!entry->active.load(std::memory_order_relaxed)) {
                continue;
            }
            errors += call_one<E>(*entry, watch, args...);
        }
        return errors;
    }
    // One call; 1 if it threw (reported to the sink and counted on the entry).
    template <class E, class Entry, class... Args>
    std::size_t call_one(Entry& entry, dispatch_sync* watch, const Args&... args) noexcept {
        if (watch != nullptr) {
            watch->note_call(entry.id);
        }
        std::size_t errors = 0;
        try {
            entry.call(args...);
        } catch (...) {
            errors = 1;
            entry.errors.fetch_add(1, std::memory_order_relaxed); // a tally
            report<E>(entry.id, std::current_exception());
        }
        if (watch != nullptr) {
            watch->note_return();
        }
        return errors;
    }

    template <class E, class Entry>
    void add_entry(Entry& entry, std::uint64_t id) {
        auto& slot = std::get<table_slot<E>>(tables_);
        auto next = std::make_unique<handler_table<E>>();
        handler_table<E>* old = slot.current.load(std::memory_order_relaxed); // writer_ held
        if (old != nullptr) {
            next->entries = old->entries;
            next->batches = old->batches;
        }
        if constexpr (std::is_base_of_v<batch_entry<E>, Entry>) {
            next->batches.push_back(&entry);
        } else {
            if (const std::size_t type = index_of<E, Events...>(); type < timing_slots_.size() &&
                                                                   timing_slots_[type] != 0) {
                const std::size_t n = timing_slots_[type];
                auto times = std::make_unique<std::optional<latency_histogram>[]>(n);
                for (std::size_t w = 0; w != n; ++w) {
                    times[w].emplace(1, partition_latency::max_ns, timing_figures_); // not movable
                }
                entry.times = std::move(times);
                entry.time_slots = n;
            }
            next->entries.push_back(&entry);
        }
        records_[id].push_back(index_of<E, Events...>());
        // Release pairs with dispatch()'s acquire load: the table's contents are visible.
        slot.current.store(next.release(), std::memory_order_release);
        if (old != nullptr) {
            auto batch = std::make_unique<retired_batch>();
            batch->items.emplace_back(old);
            retire(std::move(batch));
        }
    }

    void remove_entries(std::size_t type, std::uint64_t id, retired_batch& batch) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((I == type ? remove_entries_of<Events>(id, batch) : void()), ...);
        }(std::index_sequence_for<Events...>{});
    }

    template <class E>
    void remove_entries_of(std::uint64_t id, retired_batch& batch) {
        auto& slot = std::get<table_slot<E>>(tables_);
        handler_table<E>* old = slot.current.load(std::memory_order_relaxed); // writer_ held
        if (old == nullptr) {
            return;
        }
        auto next = std::make_unique<handler_table<E>>();
        const auto keep_others = [&](const auto& from, auto& to) {
            for (auto* entry : from) {
                if (entry->id == id) {
                    // Relaxed: retire()'s heavy_fence orders it before the dispatcher snapshot.
                    entry->active.store(false, std::memory_order_relaxed);
                    batch.items.emplace_back(entry);
                } else {
                    to.push_back(entry);
                }
            }
        };
        keep_others(old->entries, next->entries);
        keep_others(old->batches, next->batches);
        slot.current.store(next->empty() ? nullptr : next.release(),
                           std::memory_order_release); // pairs with dispatch()'s acquire
        batch.items.emplace_back(old);
    }

    template <class Fn>
    void visit_table(std::size_t type, Fn&& fn) const {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((I == type ? visit_one<Events>(fn) : void()), ...);
        }(std::index_sequence_for<Events...>{});
    }
    template <class E, class Fn>
    void visit_one(Fn& fn) const {
        if (auto* table = std::get<table_slot<E>>(tables_).current.load(std::memory_order_acquire)) {
            fn(table);
        }
    }

    template <class E>
    void free_table() noexcept {
        auto& slot = std::get<table_slot<E>>(tables_);
        std::unique_ptr<handler_table<E>> table{slot.current.exchange(nullptr)};
        if (table) {
            for (auto* entry : table->entries) {
                delete entry;
            }
            for (auto* entry : table->batches) {
                delete entry;
            }
        }
    }

    /// writer_ held. Snapshots every dispatcher after the new tables were stored.
    void retire(std::unique_ptr<retired_batch> batch) {
        heavy_fence(); // pairs with dispatch rounds' light_fence (quiescence.hpp)
        batch->snapshot.reserve(syncs_.size());
        for (const auto& sync : syncs_) {
            batch->snapshot.push_back(sync->state());
        }
        retired_.push_back(std::move(batch));
    }

    /// writer_ held. Frees what no dispatcher can still read.
    void reclaim() noexcept {
        std::erase_if(retired_, [&](const std::unique_ptr<retired_batch>& batch) {
            for (std::size_t i = 0; i != syncs_.size(); ++i) {
                if (!syncs_[i]->passed(batch->snapshot[i])) {
                    return false;
                }
            }
            return true;
        });
    }

    template <class E>
    void report(std::uint64_t id, std::exception_ptr error) noexcept {
        try {
            sink_(handler_error{domain_name(event_domain_v<E>), event_name_v<E>, id,
                                std::move(error)});
        } catch (...) {
            // A throwing sink must not take the worker down; the error is already counted.
        }
    }

    std::tuple<table_slot<Events>...> tables_;
    std::vector<std::unique_ptr<dispatch_sync>> syncs_;
    error_sink sink_;
    const std::vector<std::size_t> timing_slots_; // per event type (see the constructor)
    const int timing_figures_;

    mutable std::mutex writer_;
    std::uint64_t last_id_ = 0;
    bool closed_ = false;
    std::unordered_map<std::uint64_t, std::vector<std::size_t>> records_; // id -> type indexes
    std::vector<std::unique_ptr<retired_batch>> retired_;
};

/// subscribe<E>(f) of basic_bus and basic_sync_bus: checks, registers, wraps the id.
template <class E, class Registry, class F, class... Events>
[[nodiscard]] subscription subscribe_one(const std::shared_ptr<Registry>& registry, F&& handler,
                                         type_list<Events...>) {
    static_assert(one_of_v<E, Events...>,
                  "admf: this event type is not one of the bus's event types: add it to "
                  "admf::bus<...> (or admf::sync_bus<...>)");
    static_assert(handler_for<std::decay_t<F>, E> || batch_handler_for<std::decay_t<F>, E>,
                  "admf: subscribe<E>(f): f must be callable as void(const E&), "
                  "void(const E&, const admf::event_info&) or void(std::span<const E>)");
    const auto id = registry->template subscribe<E>(std::decay_t<F>(std::forward<F>(handler)));
    return subscription{registry, id};
}

/// subscribe<domain>(f) of basic_bus and basic_sync_bus: one generic handler for every
/// event type of domain D.
template <auto D, class Registry, class F, class... Events>
[[nodiscard]] subscription subscribe_domain(const std::shared_ptr<Registry>& registry,
                                            F&& handler, type_list<Events...>) {
    using types = domain_types_t<D, Events...>;
    static_assert(types::size != 0, "admf: subscribe<domain>(f): no event type of the bus "
                                    "belongs to this domain");
    static_assert(handles_all<std::decay_t<F>>(types{}),
                  "admf: subscribe<domain>(f): f must be callable with every event type of "
                  "the domain, as void(const E&) or void(const E&, const admf::event_info&)");
    const auto id = registry->subscribe_all(std::decay_t<F>(std::forward<F>(handler)), types{});
    return subscription{registry, id};
}

} // namespace admf::detail
