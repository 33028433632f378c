// SPDX-License-Identifier: MIT
// Fuzz target (TESTING.md T9b): admf::sync_bus (bus/sync_bus.hpp) against a reference model
// of its documented run-to-completion rules. Byte 0 configures the partitions (capacity *
// lanes bound of market_data and order, max_batch of their batch handlers); the rest drives
// outer calls (subscribe per-event, domain-wide or batch handlers into 8 slots,
// unsubscribe, publish at each level or the type's default, publish_batch, start, stop
// drain/discard, flush, poll) and, one byte per handler call, what each handler does
// inside its call (publish, publish_batch, subscribe, unsubscribe itself or another,
// throw, stop, flush, start, poll). The same driver runs once on the bus and once on the
// model; the call traces (handler, event, payload, sequence, level, end_of_batch; batch
// contents; errors reported to the sink; every publish result and logic_error) and the
// partitions' counters must match exactly. Recursion is bounded by the bus itself (a
// publish inside a handler only queues) and the work by the input (one byte per action).
#include <admf/bus.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

#define CHECK(cond, a, b) ADMF_FUZZ_CHECK("sync_bus", cond, a, b)

namespace {

struct ev_a {
    std::uint64_t v;
};
struct ev_b {
    std::uint64_t v;
};
struct ev_c {
    std::uint64_t v;
};

} // namespace

template <>
struct admf::event_traits<ev_a> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "FUZZ.A";
};
template <>
struct admf::event_traits<ev_b> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "FUZZ.B";
};
template <>
struct admf::event_traits<ev_c> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "FUZZ.C";
    static constexpr admf::priority priority = admf::priority::high;
};

namespace {

using admf::priority;
using admf::publish_result;
using bus_type = admf::sync_bus<ev_a, ev_b, ev_c>;

constexpr std::size_t slots = 8;
constexpr std::size_t md = 0;    // domain_index(market_data)
constexpr std::size_t order = 2; // domain_index(order)
constexpr std::size_t partition_of[3] = {md, order, order};

// Handler kinds: per-event of a, b, c; domain-wide of order (b and c); batch of a, b.
enum kind : unsigned { on_a, on_b, on_c, on_order, batch_a, batch_b, kinds };

struct settings {
    std::size_t limit[2];     // capacity * lanes of market_data, order
    std::size_t max_batch[2]; // of market_data, order
};

enum trace_tag : std::uint64_t { t_call = 1, t_batch, t_error, t_result, t_logic };

struct thrown_by_handler : std::runtime_error {
    thrown_by_handler() : std::runtime_error("fuzz handler") {}
};

// The calls both backends take, and what a handler does, decoded from the same bytes.
template <class Backend>
struct driver {
    admf_fuzz::reader in;
    Backend& b;
    std::vector<std::uint64_t> trace;
    std::uint64_t serial = 0;

    void publish_from(std::uint8_t arg) {
        const unsigned type = arg % 3;
        const unsigned how = (arg / 3) % 4; // 3: the type's default priority
        const publish_result r = b.publish(type, ++serial, how == 3 ? -1 : static_cast<int>(how));
        trace.insert(trace.end(), {t_result, static_cast<std::uint64_t>(r), 1});
    }
    void publish_batch_from(std::uint8_t arg) {
        const unsigned type = arg % 3;
        const std::size_t n = (arg / 3) % 5;
        const std::uint64_t first = serial + 1;
        serial += n;
        std::size_t accepted = 99;
        const publish_result r = b.publish_batch(type, first, n, accepted);
        trace.insert(trace.end(), {t_result, static_cast<std::uint64_t>(r), 100 + accepted});
    }
    void logic(std::uint64_t what, bool threw) {
        trace.insert(trace.end(), {t_logic, what, threw ? 1U : 0U});
    }

    // One outer call; false when the input is used up.
    bool outer() {
        if (in.done()) {
            return false;
        }
        const std::uint8_t op = in.byte();
        const std::uint8_t arg = in.byte();
        switch (op % 12) {
        case 0:
        case 1:
            b.subscribe(arg % slots, static_cast<unsigned>((arg / slots) % kinds));
            break;
        case 2:
            b.unsubscribe(arg % slots);
            break;
        case 3:
        case 4:
        case 5:
            publish_from(arg);
            break;
        case 6:
            publish_batch_from(arg);
            break;
        case 7:
            logic(1, b.start());
            break;
        case 8:
            if (arg % 4 == 0) { // rarer than the rest: nothing happens after the last stop
                b.stop(arg % 8 == 0);
            }
            break;
        case 9:
            logic(2, b.flush());
            break;
        case 10:
            b.poll();
            break;
        default:
            break;
        }
        return true;
    }

    // A handler's call: traced by the backend before; returns whether it throws.
    bool act() {
        if (in.done()) {
            return false;
        }
        const std::uint8_t a = in.byte();
        switch (a % 16) {
        case 0:
        case 1:
        case 2:
        case 3:
            publish_from(in.byte());
            break;
        case 4:
            publish_batch_from(in.byte());
            break;
        case 5:
            b.subscribe(in.byte() % slots, (a / 16) % kinds);
            break;
        case 6:
            b.unsubscribe(in.byte() % slots); // itself, now and then
            break;
        case 7:
            return true;
        case 8:
            if ((a & 0x30) == 0) {
                b.stop((a & 0x40) != 0);
            }
            break;
        case 9:
            logic(3, b.flush()); // always logic_error inside a handler
            break;
        case 10:
            logic(4, b.start()); // a no-op while running, logic_error once stopping
            break;
        case 11:
            b.poll();
            break;
        default:
            break;
        }
        return false;
    }
};

// ---- the bus ----------------------------------------------------------------------------

struct real_backend {
    driver<real_backend>* d = nullptr;
    std::optional<bus_type> bus;
    std::array<admf::subscription, slots> slot{};
    std::map<std::uint64_t, std::uint64_t> index_of_id; // subscription id -> handler index
    std::uint64_t next_index = 0;
    std::vector<std::pair<std::uint64_t, admf::subscription*>> live; // for handler_errors

    void make(const settings& s) {
        admf::bus_config cfg;
        cfg[admf::domain::market_data].capacity = s.limit[0];
        cfg[admf::domain::order].capacity = s.limit[1];
        cfg[admf::domain::market_data].max_batch = s.max_batch[0];
        cfg[admf::domain::order].max_batch = s.max_batch[1];
        cfg.on_error = [this](const admf::handler_error& e) {
            const auto it = index_of_id.find(e.subscription);
            CHECK(it != index_of_id.end(), e.subscription, 0);
            const std::uint64_t type = e.event == "FUZZ.A" ? 0 : e.event == "FUZZ.B" ? 1 : 2;
            CHECK(e.partition == (type == 0 ? "market_data" : "order"), type, 0);
            d->trace.insert(d->trace.end(), {t_error, it->second, type});
        };
        bus.emplace(cfg);
    }

    template <class E>
    void call(std::uint64_t index, std::uint64_t type, const E& e, const admf::event_info& info) {
        d->trace.insert(d->trace.end(), {t_call, index, type, e.v, info.sequence,
                                         static_cast<std::uint64_t>(info.level),
                                         info.end_of_batch ? 1U : 0U});
        if (d->act()) {
            throw thrown_by_handler{};
        }
    }
    template <class E>
    void batch(std::uint64_t index, std::uint64_t type, std::span<const E> events) {
        d->trace.insert(d->trace.end(), {t_batch, index, type, events.size()});
        for (const E& e : events) {
            d->trace.push_back(e.v);
        }
        if (d->act()) {
            throw thrown_by_handler{};
        }
    }

    void subscribe(std::size_t s, unsigned k) {
        const std::uint64_t i = next_index++;
        admf::subscription sub;
        switch (k) {
        case on_a:
            sub = bus->subscribe<ev_a>(
                [this, i](const ev_a& e, const admf::event_info& info) { call(i, 0, e, info); });
            break;
        case on_b:
            sub = bus->subscribe<ev_b>(
                [this, i](const ev_b& e, const admf::event_info& info) { call(i, 1, e, info); });
            break;
        case on_c:
            sub = bus->subscribe<ev_c>(
                [this, i](const ev_c& e, const admf::event_info& info) { call(i, 2, e, info); });
            break;
        case on_order:
            sub = bus->subscribe<admf::domain::order>(
                [this, i](const auto& e, const admf::event_info& info) {
                    call(i, std::is_same_v<std::decay_t<decltype(e)>, ev_b> ? 1 : 2, e, info);
                });
            break;
        case batch_a:
            sub = bus->subscribe<ev_a>([this, i](std::span<const ev_a> es) { batch(i, 0, es); });
            break;
        default:
            sub = bus->subscribe<ev_b>([this, i](std::span<const ev_b> es) { batch(i, 1, es); });
            break;
        }
        index_of_id[sub.id()] = i;
        slot[s] = std::move(sub); // ends the slot's previous registration
    }
    void unsubscribe(std::size_t s) { slot[s].unsubscribe(); }

    publish_result publish(unsigned type, std::uint64_t v, int level) {
        const auto go = [&](const auto& e) {
            return level < 0 ? bus->publish(e) : bus->publish(e, static_cast<priority>(level));
        };
        return type == 0 ? go(ev_a{v}) : type == 1 ? go(ev_b{v}) : go(ev_c{v});
    }
    publish_result publish_batch(unsigned type, std::uint64_t first, std::size_t n,
                                 std::size_t& accepted) {
        const auto go = [&](auto tag) {
            using E = decltype(tag);
            std::vector<E> es;
            for (std::size_t i = 0; i != n; ++i) {
                es.push_back(E{first + i});
            }
            return bus->publish_batch(std::span<const E>(es), &accepted);
        };
        return type == 0 ? go(ev_a{}) : type == 1 ? go(ev_b{}) : go(ev_c{});
    }
    bool start() {
        try {
            bus->start();
        } catch (const std::logic_error&) {
            return true;
        }
        return false;
    }
    void stop(bool discard) { bus->stop(discard ? admf::stop_mode::discard : admf::stop_mode::drain); }
    bool flush() {
        try {
            bus->flush();
        } catch (const std::logic_error&) {
            return true;
        }
        return false;
    }
    void poll() { bus->poll(); }
};

// ---- the model --------------------------------------------------------------------------

struct model_backend {
    enum class state { idle, running, stopping, stopped };
    struct handler {
        unsigned k;
        bool active = true;
        std::uint64_t errors = 0;
    };
    struct queued {
        unsigned type;
        std::uint64_t v;
        unsigned level;
    };
    struct counters {
        std::uint64_t published = 0, delivered = 0, rejected = 0, refused = 0, discarded = 0,
                      handler_errors = 0, queued = 0, sequence = 0;
        std::array<std::uint64_t, 3> level_delivered{}, level_queued{};
    };

    driver<model_backend>* d = nullptr;
    settings s{};
    std::vector<handler> handlers;
    std::array<std::optional<std::uint64_t>, slots> slot{};
    std::array<std::vector<std::uint64_t>, 3> per_event{}, per_batch{}; // subscription order
    std::array<std::deque<queued>, 3> queues{};                         // by level
    std::array<std::vector<std::uint64_t>, 3> gathered{};               // batch buffers by type
    std::array<counters, 5> part{};
    std::size_t total_queued = 0, depth = 0, held = 0;
    state st = state::idle;
    bool discard = false;

    static std::size_t pi(unsigned type) { return partition_of[type] == md ? 0 : 1; }

    void subscribe(std::size_t sl, unsigned k) {
        const std::uint64_t i = handlers.size();
        handlers.push_back({k});
        switch (k) {
        case on_a:
        case on_b:
        case on_c:
            per_event[k].push_back(i);
            break;
        case on_order:
            per_event[1].push_back(i);
            per_event[2].push_back(i);
            break;
        case batch_a:
            per_batch[0].push_back(i);
            break;
        default:
            per_batch[1].push_back(i);
            break;
        }
        if (slot[sl]) {
            remove(*slot[sl]);
        }
        slot[sl] = i;
    }
    void remove(std::uint64_t i) {
        handlers[i].active = false;
        for (auto* lists : {&per_event, &per_batch}) {
            for (auto& l : *lists) {
                std::erase(l, i);
            }
        }
    }
    void unsubscribe(std::size_t sl) {
        if (slot[sl]) {
            remove(*slot[sl]);
            slot[sl].reset();
        }
    }

    // One call of handler i; true if it threw (then reported to the sink).
    bool call_one(std::uint64_t i, unsigned type) {
        if (d->act()) {
            ++handlers[i].errors;
            d->trace.insert(d->trace.end(), {t_error, i, type});
            return true;
        }
        return false;
    }
    std::uint64_t deliver(unsigned type) {
        // The handlers subscribed now get the whole buffer; publishes inside only queue.
        ++depth;
        const std::vector<std::uint64_t> events = std::move(gathered[type]);
        gathered[type].clear();
        held -= events.size();
        std::uint64_t errors = 0;
        const std::vector<std::uint64_t> table = per_batch[type];
        for (const std::uint64_t i : table) {
            if (!handlers[i].active) {
                continue;
            }
            d->trace.insert(d->trace.end(), {t_batch, i, type, events.size()});
            d->trace.insert(d->trace.end(), events.begin(), events.end());
            errors += call_one(i, type) ? 1 : 0;
        }
        --depth;
        return errors;
    }
    void dispatch(unsigned type, std::uint64_t v, unsigned level) {
        counters& c = part[partition_of[type]];
        const std::uint64_t sequence = c.sequence++;
        const bool end = total_queued == 0;
        // The tables as they are when dispatch starts: later subscribers wait for the next
        // event, unsubscribed ones are skipped.
        const std::vector<std::uint64_t> table = per_event[type];
        const bool gather = !per_batch[type].empty();
        std::uint64_t errors = 0;
        for (const std::uint64_t i : table) {
            if (!handlers[i].active) {
                continue;
            }
            d->trace.insert(d->trace.end(), {t_call, i, type, v, sequence, level, end ? 1U : 0U});
            errors += call_one(i, type) ? 1 : 0;
        }
        if (gather) {
            gathered[type].push_back(v);
            ++held;
            if (gathered[type].size() >= s.max_batch[pi(type)]) {
                errors += deliver(type);
            }
        }
        ++c.delivered;
        ++c.level_delivered[level];
        c.handler_errors += errors;
    }
    void run_queue() {
        while (total_queued != 0) {
            std::deque<queued>* q = nullptr;
            for (std::size_t l = 3; l-- != 0;) {
                if (!queues[l].empty()) {
                    q = &queues[l];
                    break;
                }
            }
            const queued item = q->front();
            q->pop_front();
            --total_queued;
            counters& c = part[partition_of[item.type]];
            --c.queued;
            --c.level_queued[item.level];
            if (discard && st >= state::stopping) {
                ++c.discarded;
                continue;
            }
            ++depth;
            dispatch(item.type, item.v, item.level);
            --depth;
        }
        if (st == state::stopping && depth == 0) {
            st = state::stopped;
        }
    }
    // settle(): mode 0 all, 1 due (max_wait is 0: every partial batch), 2 aged (none).
    void settle(int mode) {
        while (held != 0) {
            bool any = false;
            for (unsigned t = 0; t != 3; ++t) {
                if (!gathered[t].empty() && mode != 2) {
                    part[partition_of[t]].handler_errors += deliver(t);
                    any = true;
                }
            }
            if (!any) {
                return;
            }
            run_queue();
        }
    }
    publish_result publish_one(unsigned type, std::uint64_t v, unsigned level) {
        counters& c = part[partition_of[type]];
        if (st >= state::stopping) {
            ++c.refused;
            return publish_result::stopped;
        }
        if (c.queued >= s.limit[pi(type)]) {
            ++c.rejected;
            return publish_result::full;
        }
        ++c.published;
        if (depth != 0 || st == state::idle) {
            queues[level].push_back({type, v, level});
            ++c.queued;
            ++c.level_queued[level];
            ++total_queued;
            return publish_result::accepted;
        }
        settle(2);
        ++depth;
        dispatch(type, v, level);
        --depth;
        run_queue();
        return publish_result::accepted;
    }
    static unsigned default_level(unsigned type) {
        return static_cast<unsigned>(type == 0   ? admf::event_priority_v<ev_a>
                                     : type == 1 ? admf::event_priority_v<ev_b>
                                                 : admf::event_priority_v<ev_c>);
    }
    publish_result publish(unsigned type, std::uint64_t v, int level) {
        const publish_result r =
            publish_one(type, v, level < 0 ? default_level(type) : static_cast<unsigned>(level));
        if (r == publish_result::accepted && depth == 0 && st != state::idle) {
            settle(1);
        }
        return r;
    }
    publish_result publish_batch(unsigned type, std::uint64_t first, std::size_t n,
                                 std::size_t& accepted) {
        std::size_t done = 0;
        publish_result r = publish_result::accepted;
        for (; done != n; ++done) {
            r = publish_one(type, first + done, default_level(type));
            if (r != publish_result::accepted) {
                counters& c = part[partition_of[type]];
                (r == publish_result::full ? c.rejected : c.refused) += n - done - 1;
                break;
            }
        }
        if (done != 0 && depth == 0 && st != state::idle) {
            settle(1);
        }
        accepted = done;
        return r;
    }
    bool start() {
        if (st == state::running) {
            return false;
        }
        if (st != state::idle) {
            return true;
        }
        st = state::running;
        if (depth == 0) {
            run_queue();
            settle(1);
        }
        return false;
    }
    void stop(bool discard_queued) {
        if (st == state::stopped) {
            return;
        }
        discard = discard_queued;
        st = state::stopping;
        if (depth == 0) {
            run_queue();
            settle(0);
            st = state::stopped;
        }
    }
    bool flush() {
        if (st == state::idle || depth != 0) {
            return true;
        }
        settle(0);
        return false;
    }
    void poll() {
        if (depth == 0 && st != state::idle) {
            settle(1);
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::uint8_t c = data[0];
    const settings s{{1U + (c & 3U), 1U + ((c >> 2) & 7U)}, {1U + ((c >> 5) & 1U), 1U + (c >> 6)}};

    model_backend model;
    model.s = s;
    driver<model_backend> md_run{admf_fuzz::reader(data + 1, size - 1), model, {}, 0};
    model.d = &md_run;
    while (md_run.outer()) {
    }
    model.stop(false);

    real_backend real;
    driver<real_backend> real_run{admf_fuzz::reader(data + 1, size - 1), real, {}, 0};
    real.d = &real_run;
    real.make(s);
    while (real_run.outer()) {
    }
    real.stop(false);

    const auto& a = real_run.trace;
    const auto& b = md_run.trace;
    for (std::size_t i = 0; i != std::min(a.size(), b.size()); ++i) {
        CHECK(a[i] == b[i], i, a[i] * 1000 + b[i]);
    }
    CHECK(a.size() == b.size(), a.size(), b.size());

    const auto st = real.bus->stats();
    for (const std::size_t p : {md, order}) {
        const auto& r = st.partitions[p];
        const auto& m = model.part[p];
        CHECK(r.published == m.published, r.published, m.published);
        CHECK(r.delivered == m.delivered, r.delivered, m.delivered);
        CHECK(r.rejected == m.rejected, r.rejected, m.rejected);
        CHECK(r.refused == m.refused, r.refused, m.refused);
        CHECK(r.discarded == m.discarded, r.discarded, m.discarded);
        CHECK(r.handler_errors == m.handler_errors, r.handler_errors, m.handler_errors);
        CHECK(r.backlog == 0 && m.queued == 0, r.backlog, m.queued);
        CHECK(r.published == r.delivered + r.discarded, r.published, r.delivered + r.discarded);
        for (std::size_t l = 0; l != 3; ++l) {
            CHECK(r.levels[l].delivered == m.level_delivered[l], r.levels[l].delivered,
                  m.level_delivered[l]);
        }
    }
    CHECK(!real.bus->running(), 0, 0);
    for (std::size_t i = 0; i != slots; ++i) {
        CHECK(real.slot[i].active() == model.slot[i].has_value(), i, model.slot[i].has_value());
        if (model.slot[i]) {
            CHECK(real.slot[i].handler_errors() == model.handlers[*model.slot[i]].errors,
                  real.slot[i].handler_errors(), model.handlers[*model.slot[i]].errors);
        }
    }
    // Subscriptions end before the bus (slot is destroyed first, as it was declared later).
    return 0;
}
