// SPDX-License-Identifier: MIT
// Bus stress tests (TESTING.md T2 and T6): the threaded admf::bus under real threads that
// outnumber the cores (4 producers + 6 workers + the watchdog on 2 CPUs).
//
// T2  4 producers publish self-checking events (single publish, publish with a priority,
//     publish_batch) over the 5 default partitions, 64 keys each, 4 lanes each, under a
//     backpressure mix: block (market_data with 2 workers, order, fill), reject (signal)
//     and drop_oldest (system). Judged by: per partition, what the producers were told
//     (accepted/full/timed_out/stopped) equals the stats; published == delivered + dropped
//     (+ discarded) after stop(); the accepted and delivered bitmaps of every
//     (partition, producer, key) stream are equal, except on the drop_oldest partition where
//     the difference is exactly `dropped`; per key, sequence numbers arrive strictly
//     increasing (gaps only on reject/drop_oldest); a checksum over every field (torn
//     events); each key stays on one lane; event_info::sequence counts each lane from 0
//     without a gap; event_info::level is the priority published. Run once at full size with
//     the default wait (blocking), and once per wait strategy at a reduced size.
// T6  stop() under load (drain and discard), unsubscribe churn with handler state freed
//     right after unsubscribe() returns (ASan heap-use-after-free, TSan race with the free,
//     and an `alive` canary in rel), self-unsubscribe and subscribe/unsubscribe from inside
//     handlers, and destroying a bus with events in flight without stop().
//
// Every case runs a watchdog (tests/support/ring_stress.hpp): no delivered event for 30 s
// (ADMF_STALL_SECONDS) aborts with a state dump, so a hang fails fast. Randomness (operation
// mix, keys, stop points, wait strategies per iteration) comes from ADMF_SEED, printed at
// the start and in every failure: `ADMF_SEED=<n> admf_bus_stress '<case>'` replays the
// choices; thread interleavings are the OS's.
//
// Sizes: ADMF_STRESS_SCALE=rel|tsan|asan picks a column. Budget for the whole executable
// on the 2-core CI machines: <= 3 min rel, <= 6 min tsan, <= 4 min asan.
//
//   case                                   rel             tsan            asan
//   T2 full size, blocking wait            4 x 5 M         4 x 1 M         4 x 1 M
//   T2 per wait strategy (4 runs)          4 x 250 k       4 x 250 k       4 x 250 k
//   T6 stop under load, drain              1000 iter.      200 iter.       500 iter.
//   T6 stop under load, discard            1000 iter.      200 iter.       500 iter.
//   T6 unsubscribe churn: cycles           10 000          10 000          10 000
//                         events (min.)    1 M             250 k           250 k
//   T6 destroy a running bus: iterations   200             100             100
//      (each: 4 producers x 5 partitions x 256 events, plus 64 owned events each)
//
// TESTING.md T2 gives no tsan size for the full run (4 x 1 M here: it fits) and "4 x 1 M"
// for asan. The churn producers publish until the churn is done, so they usually send far
// more than the minimum. Measured on the shared 2-core machine, seconds, quiet - loaded
// (g++-12 -O2 / clang-14 -O1 TSan / g++-12 -O1 ASan+UBSan):
//   T2 full size                           7 - 33          6 - 8           2.3 - 5.3
//   T2 busy_spin                           16 - 26         13 - 24         12 - 31
//   T2 yielding, backoff, blocking (each)  0.1 - 0.9       0.7 - 2.8       0.3 - 0.9
//   T6 stop under load, drain / discard    9 - 21 each     2.2 - 4.2 each  4.2 - 5.2 each
//   T6 unsubscribe churn                   7 - 9           27 - 40         14 - 16
//   T6 destroy a running bus               1.3 - 1.9       4 - 6.3         1.1 - 1.5
//   whole executable                       45 - 105        55 - 94         40 - 65
// busy_spin dominates T2: 6 workers spinning on 2 cores leave the producers little CPU
// (0.03-0.08 M events/s, as the busy_spin_wait header warns); it must still complete.

#include <admf/bus.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "ring_stress.hpp"
#include "seed.hpp"

namespace {

using admf::domain;
using admf::publish_result;
using admf_test::by_scale;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t partition_count = 5;
constexpr std::size_t producer_count = 4;
constexpr std::size_t key_count = 64;
constexpr std::size_t lane_count = 4;

// ----- Sizes: the table at the top --------------------------------------------------------

std::uint64_t t2_full_per_producer() {
    return by_scale<std::uint64_t>(5'000'000, 1'000'000, 1'000'000);
}
std::uint64_t t2_strategy_per_producer() {
    return by_scale<std::uint64_t>(250'000, 250'000, 250'000);
}
std::size_t t6_stop_iterations() { return by_scale<std::size_t>(1000, 200, 500); }
std::size_t t6_churn_cycles() { return by_scale<std::size_t>(10'000, 10'000, 10'000); }
std::uint64_t t6_churn_events() { return by_scale<std::uint64_t>(1'000'000, 250'000, 250'000); }
std::size_t t6_destroy_iterations() { return by_scale<std::size_t>(200, 100, 100); }

// FNV-1a: a stable salt per case, so each case draws its own random streams from ADMF_SEED.
std::uint64_t salt_of(std::string_view text) {
    std::uint64_t h = 0xcbf2'9ce4'8422'2325ULL;
    for (const char ch : text) {
        h = (h ^ static_cast<unsigned char>(ch)) * 0x100'0000'01b3ULL;
    }
    return h;
}

std::string seed_text() {
    return "ADMF_SEED=" + std::to_string(admf_test::run_seed()) +
           " ADMF_STRESS_SCALE=" + admf_test::to_string(admf_test::current_stress_scale());
}

const char* wait_name(admf::wait_kind w) {
    switch (w) {
    case admf::wait_kind::busy_spin:
        return "busy_spin";
    case admf::wait_kind::yielding:
        return "yielding";
    case admf::wait_kind::backoff:
        return "backoff";
    case admf::wait_kind::blocking:
        return "blocking";
    }
    return "?";
}

// ----- The events: one type per default domain, self-checking --------------------------

constexpr std::uint64_t mix(std::uint64_t k) noexcept {
    k ^= k >> 31;
    k *= 0x7fb5'd329'728e'a185ULL;
    k ^= k >> 27;
    k *= 0x81da'def4'bc2d'd44dULL;
    k ^= k >> 33;
    return k;
}

constexpr std::uint64_t checksum_of(std::uint64_t d, std::uint64_t producer, std::uint64_t key,
                                    std::uint64_t seq, std::uint64_t level) noexcept {
    return mix(mix(mix(seq ^ (d << 56) ^ (producer << 48) ^ (key << 40) ^ (level << 36)) + key) ^
               producer);
}

/// One event of partition D: who published it, its key, its place in the (producer, key)
/// stream, the priority it was published with, and a checksum over all of them, so a
/// torn, stale or half-copied slot cannot pass for a real event.
template <domain D>
struct stress_event {
    static constexpr admf::domain domain = D;
    static constexpr std::string_view name = admf::domain_name(D);
    static std::uint64_t key(const stress_event& e) noexcept { return e.k; }

    std::uint32_t producer = 0;
    std::uint32_t k = 0;
    std::uint64_t seq = 0;
    admf::priority level = admf::priority::medium;
    std::uint64_t check = 0;

    stress_event() = default;
    stress_event(std::uint64_t p, std::uint64_t key_, std::uint64_t s, admf::priority l) noexcept
        : producer(static_cast<std::uint32_t>(p)), k(static_cast<std::uint32_t>(key_)), seq(s),
          level(l), check(checksum_of(admf::domain_index(D), p, key_, s, static_cast<std::uint64_t>(l))) {}

    [[nodiscard]] bool intact() const noexcept {
        return producer < producer_count && k < key_count &&
               check == checksum_of(admf::domain_index(D), producer, k, seq,
                                    static_cast<std::uint64_t>(level));
    }
};

using md_event = stress_event<domain::market_data>;
using signal_event = stress_event<domain::signal>;
using order_event = stress_event<domain::order>;
using fill_event = stress_event<domain::fill>;
using system_event = stress_event<domain::system>;
using stress_bus = admf::bus<md_event, signal_event, order_event, fill_event, system_event>;

template <domain D>
using domain_constant = std::integral_constant<domain, D>;

/// Calls f(domain_constant<D>{}) for the domain with index d.
template <class F>
void with_domain(std::size_t d, F&& f) {
    switch (d) {
    case 0:
        f(domain_constant<domain::market_data>{});
        break;
    case 1:
        f(domain_constant<domain::signal>{});
        break;
    case 2:
        f(domain_constant<domain::order>{});
        break;
    case 3:
        f(domain_constant<domain::fill>{});
        break;
    default:
        f(domain_constant<domain::system>{});
        break;
    }
}
template <class F>
void for_each_domain(F&& f) {
    for (std::size_t d = 0; d != partition_count; ++d) {
        with_domain(d, f);
    }
}

constexpr std::size_t index_of(domain d) noexcept { return admf::domain_index(d); }

/// What producers were told, per partition.
struct tally {
    std::uint64_t attempts = 0;
    std::uint64_t accepted = 0;
    std::uint64_t full = 0;
    std::uint64_t timed_out = 0;
    std::uint64_t stopped = 0;

    void outcome(publish_result r, std::uint64_t n) noexcept {
        switch (r) {
        case publish_result::accepted:
            accepted += n;
            break;
        case publish_result::full:
            full += n;
            break;
        case publish_result::timed_out:
            timed_out += n;
            break;
        case publish_result::stopped:
            stopped += n;
            break;
        }
    }
    tally& operator+=(const tally& o) noexcept {
        attempts += o.attempts;
        accepted += o.accepted;
        full += o.full;
        timed_out += o.timed_out;
        stopped += o.stopped;
        return *this;
    }
    [[nodiscard]] std::string describe() const {
        return "attempts " + std::to_string(attempts) + ", accepted " + std::to_string(accepted) +
               ", full " + std::to_string(full) + ", timed_out " + std::to_string(timed_out) +
               ", stopped " + std::to_string(stopped);
    }
};

std::string describe(const admf::partition_stats& s) {
    std::ostringstream o;
    o << s.name << ": published " << s.published << ", delivered " << s.delivered << ", rejected "
      << s.rejected << ", timed_out " << s.timed_out << ", refused " << s.refused << ", dropped "
      << s.dropped << ", discarded " << s.discarded << ", handler_errors " << s.handler_errors
      << ", backlog " << s.backlog;
    return o.str();
}

void dump_stats(const admf::bus_stats& s) {
    for (const auto& p : s.partitions) {
        std::fprintf(stderr, "  %s\n", describe(p).c_str());
    }
}

/// The first few failures, from any thread.
class failure_log {
public:
    void add(std::string text) {
        const std::lock_guard lock(mutex_);
        ++count_;
        if (notes_.size() < 12) {
            notes_.push_back(std::move(text));
        }
    }
    [[nodiscard]] std::string text() const {
        const std::lock_guard lock(mutex_);
        std::string out = std::to_string(count_) + " failure note(s)";
        for (const auto& n : notes_) {
            out += "\n  " + n;
        }
        return out;
    }
    [[nodiscard]] std::uint64_t count() const {
        const std::lock_guard lock(mutex_);
        return count_;
    }

private:
    mutable std::mutex mutex_;
    std::uint64_t count_ = 0;
    std::vector<std::string> notes_;
};

/// A counter written by one thread at a time, read by the watchdog.
struct alignas(128) owned_counter {
    std::atomic<std::uint64_t> value{0};
    void add(std::uint64_t n) noexcept {
        value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }
    [[nodiscard]] std::uint64_t get() const noexcept { return value.load(std::memory_order_acquire); }
};

/// Waits (sleeping 100 µs a round) until pred() or the deadline; returns pred().
template <class Pred>
bool wait_for(Pred&& pred, std::chrono::milliseconds limit) {
    const auto deadline = clock_type::now() + limit;
    while (!pred()) {
        if (clock_type::now() >= deadline) {
            return pred();
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
}

// =========================================================================================
// T2: N producers over 5 partitions
// =========================================================================================

constexpr domain t2_reject = domain::signal;
constexpr domain t2_drop = domain::system;

// block on market_data (2 workers), order, fill; reject on signal; drop_oldest on system.
// Capacities are small (16-1024 per lane), so every policy meets full lanes often; system's
// max_batch 4 leaves droppable events in a lane while its worker holds a claimed run.
// 6 workers in total.
admf::bus_config t2_config(admf::wait_kind wait) {
    admf::bus_config cfg;
    for (auto& p : cfg.partitions) {
        p.lanes = lane_count;
        p.workers = 1;
        p.wait = wait;
        p.producer_mode = admf::producers::many;
        p.on_full = admf::backpressure::block;
    }
    cfg[domain::market_data].workers = 2;
    cfg[domain::market_data].capacity = 1024;
    cfg[t2_reject].capacity = 16;
    cfg[t2_reject].on_full = admf::backpressure::reject;
    cfg[domain::order].capacity = 64;
    cfg[domain::fill].capacity = 4096;
    cfg[t2_drop].capacity = 16;
    cfg[t2_drop].on_full = admf::backpressure::drop_oldest;
    cfg[t2_drop].max_batch = 4;
    return cfg;
}

/// One (partition, producer, key) stream as received: written only by the worker owning
/// the key's lane (each key has one lane, each lane one owner).
struct alignas(128) received_stream {
    std::vector<std::uint64_t> bits; // bit seq: delivered
    std::uint64_t next = 0;          // 1 + the highest seq received
    std::uint64_t received = 0;
    std::uint64_t gaps = 0;          // seqs skipped over (never delivered before a later one)
};

/// One lane as its owner sees it.
struct alignas(128) lane_track {
    owned_counter delivered;
    std::uint64_t next_sequence = 0; // the event_info::sequence expected next
};

/// The handlers' side of a T2 run.
class t2_receiver {
public:
    t2_receiver() : streams_(partition_count * producer_count * key_count) {
        for (auto& l : lane_of_key_) {
            l = -1;
        }
    }

    void attach(const stress_bus& bus, std::uint64_t reserve_bits) {
        bus_ = &bus;
        for (auto& s : streams_) {
            s.bits.reserve(reserve_bits / 64 + 1);
        }
    }

    template <domain D>
    void on(const stress_event<D>& e, const admf::event_info& info) {
        constexpr std::size_t d = index_of(D);
        if (info.lane >= lane_count) {
            lane_errors.fetch_add(1, std::memory_order_relaxed);
            log.add(std::string(admf::domain_name(D)) + ": event_info::lane " + std::to_string(info.lane));
            return;
        }
        lane_track& lane = lanes_[d * lane_count + info.lane];
        if (info.sequence != lane.next_sequence) {
            sequence_errors.fetch_add(1, std::memory_order_relaxed);
            log.add(std::string(admf::domain_name(D)) + " lane " + std::to_string(info.lane) +
                    ": event_info::sequence " + std::to_string(info.sequence) + ", expected " +
                    std::to_string(lane.next_sequence));
        }
        lane.next_sequence = info.sequence + 1;
        lane.delivered.add(1);
        if (!e.intact()) {
            torn.fetch_add(1, std::memory_order_relaxed);
            log.add(std::string(admf::domain_name(D)) + ": torn event producer=" +
                    std::to_string(e.producer) + " key=" + std::to_string(e.k) + " seq=" +
                    std::to_string(e.seq) + " check=" + std::to_string(e.check));
            return;
        }
        if (info.level != e.level) {
            level_errors.fetch_add(1, std::memory_order_relaxed);
        }
        int& owner_lane = lane_of_key_[d * key_count + e.k];
        if (owner_lane < 0) {
            owner_lane = static_cast<int>(info.lane);
        } else if (owner_lane != static_cast<int>(info.lane)) {
            lane_errors.fetch_add(1, std::memory_order_relaxed);
            log.add(std::string(admf::domain_name(D)) + ": key " + std::to_string(e.k) +
                    " arrived on lane " + std::to_string(info.lane) + " after lane " +
                    std::to_string(owner_lane));
        }
        received_stream& s = mutable_stream(d, e.producer, e.k);
        if (e.seq < s.next) {
            order_errors.fetch_add(1, std::memory_order_relaxed);
            log.add(std::string(admf::domain_name(D)) + ": producer " + std::to_string(e.producer) +
                    " key " + std::to_string(e.k) + ": seq " + std::to_string(e.seq) +
                    " after seq " + std::to_string(s.next - 1));
        } else {
            s.gaps += e.seq - s.next;
            s.next = e.seq + 1;
        }
        const std::size_t word = e.seq / 64;
        if (word >= s.bits.size()) {
            s.bits.resize(std::max(word + 1, s.bits.size() * 2));
        }
        const std::uint64_t mask = std::uint64_t{1} << (e.seq % 64);
        if ((s.bits[word] & mask) != 0) {
            duplicates.fetch_add(1, std::memory_order_relaxed);
        }
        s.bits[word] |= mask;
        ++s.received;
        if constexpr (D == t2_reject || D == t2_drop) {
            gate<D>();
        }
    }

    [[nodiscard]] std::uint64_t delivered() const noexcept {
        std::uint64_t sum = 0;
        for (const auto& l : lanes_) {
            sum += l.delivered.get();
        }
        return sum;
    }
    [[nodiscard]] std::uint64_t delivered(std::size_t d) const noexcept {
        std::uint64_t sum = 0;
        for (std::size_t l = 0; l != lane_count; ++l) {
            sum += lanes_[d * lane_count + l].delivered.get();
        }
        return sum;
    }
    [[nodiscard]] const received_stream& stream(std::size_t d, std::size_t p, std::size_t k) const {
        return streams_[(d * producer_count + p) * key_count + k];
    }

    std::atomic<std::uint64_t> torn{0};
    std::atomic<std::uint64_t> order_errors{0};
    std::atomic<std::uint64_t> duplicates{0};
    std::atomic<std::uint64_t> lane_errors{0};
    std::atomic<std::uint64_t> sequence_errors{0};
    std::atomic<std::uint64_t> level_errors{0};
    std::atomic<std::uint64_t> gate_timeouts{0};
    std::atomic<std::size_t> producers_running{0};
    failure_log log;

private:
    received_stream& mutable_stream(std::size_t d, std::size_t p, std::size_t k) {
        return streams_[(d * producer_count + p) * key_count + k];
    }

    // Once per run, the (single) worker of the reject and drop_oldest partitions holds its
    // 64th event until the producers have met a full lane there (rejected / dropped > 0) or
    // have finished: the overflow policies are then exercised whatever the machine's speed.
    template <domain D>
    void gate() {
        constexpr std::size_t d = index_of(D);
        if (++gate_seen_[d] != 64) {
            return;
        }
        const bool met = wait_for(
            [&] {
                const auto s = bus_->stats().partition(D);
                return (D == t2_reject ? s.rejected : s.dropped) != 0 ||
                       producers_running.load(std::memory_order_acquire) == 0;
            },
            std::chrono::seconds(20));
        if (!met) {
            gate_timeouts.fetch_add(1, std::memory_order_relaxed);
        }
    }

    std::vector<received_stream> streams_;
    std::array<lane_track, partition_count * lane_count> lanes_{};
    std::array<int, partition_count * key_count> lane_of_key_{};
    std::array<std::uint64_t, partition_count> gate_seen_{}; // single-worker partitions only
    const stress_bus* bus_ = nullptr;
};

/// One producer's side: what it published and what it was told. Its own thread only
/// (read by the main thread after join), except `progress`.
struct t2_producer {
    std::vector<std::vector<std::uint64_t>> accepted =
        std::vector<std::vector<std::uint64_t>>(partition_count * key_count); // bit seq: accepted
    std::array<std::uint64_t, partition_count * key_count> next_seq{};
    std::array<tally, partition_count> tallies{};
    std::uint64_t inconsistent = 0; // publish_batch results that contradict their count
    owned_counter progress;

    void mark(std::size_t d, std::size_t k, std::uint64_t seq) {
        auto& bits = accepted[d * key_count + k];
        const std::size_t word = seq / 64;
        if (word >= bits.size()) {
            bits.resize(std::max(word + 1, bits.size() * 2));
        }
        bits[word] |= std::uint64_t{1} << (seq % 64);
    }
};

void t2_produce(stress_bus& bus, t2_producer& me, std::uint64_t p, std::uint64_t n,
                std::uint64_t seed) {
    admf_test::rng r(seed);
    std::uint64_t done = 0;
    while (done < n) {
        const std::size_t d = r.below(partition_count);
        const bool batch = r.below(4) == 0;
        with_domain(d, [&](auto dc) {
            constexpr domain D = decltype(dc)::value;
            using E = stress_event<D>;
            tally& t = me.tallies[d];
            if (!batch) {
                const std::uint64_t k = r.below(key_count);
                const auto choice = r.below(4); // 0..2: publish(e, level); 3: publish(e)
                const auto level = choice == 3 ? admf::event_priority_v<E>
                                               : static_cast<admf::priority>(choice);
                const E e(p, k, me.next_seq[d * key_count + k]++, level);
                const publish_result res = choice == 3 ? bus.publish(e) : bus.publish(e, level);
                ++t.attempts;
                t.outcome(res, 1);
                if (res == publish_result::accepted) {
                    me.mark(d, k, e.seq);
                }
                done += 1;
                return;
            }
            const std::size_t size = 1 + r.below(std::min<std::uint64_t>(64, n - done));
            std::vector<E> events;
            events.reserve(size);
            for (std::size_t i = 0; i != size; ++i) {
                const std::uint64_t k = r.below(key_count);
                events.emplace_back(p, k, me.next_seq[d * key_count + k]++, admf::event_priority_v<E>);
            }
            std::size_t accepted = 0;
            const publish_result res = bus.publish_batch(std::span<const E>(events), &accepted);
            if ((res == publish_result::accepted) != (accepted == size) || accepted > size) {
                ++me.inconsistent;
                accepted = std::min(accepted, size);
            }
            for (std::size_t i = 0; i != accepted; ++i) {
                me.mark(d, events[i].k, events[i].seq);
            }
            t.attempts += size;
            t.accepted += accepted;
            if (accepted != size) {
                t.outcome(res == publish_result::accepted ? publish_result::full : res, size - accepted);
            }
            done += size;
        });
        me.progress.value.store(done, std::memory_order_release);
    }
}

void run_t2(const std::string& label, admf::wait_kind wait, std::uint64_t per_producer) {
    INFO(seed_text() << " case: " << label);
    const std::uint64_t salt = salt_of(label);
    const auto cfg = t2_config(wait);
    t2_receiver receiver;
    std::vector<std::unique_ptr<t2_producer>> producers;
    for (std::size_t p = 0; p != producer_count; ++p) {
        producers.push_back(std::make_unique<t2_producer>());
        for (auto& bits : producers.back()->accepted) {
            bits.reserve(per_producer / (partition_count * key_count * 64) * 2 + 2);
        }
    }
    std::atomic<std::uint64_t> fill_generic_calls{0};

    stress_bus bus(cfg);
    receiver.attach(bus, 2 * per_producer / (partition_count * key_count) + 64);
    std::vector<admf::subscription> subs;
    for_each_domain([&](auto dc) {
        constexpr domain D = decltype(dc)::value;
        subs.push_back(bus.subscribe<stress_event<D>>(
            [&receiver](const stress_event<D>& e, const admf::event_info& info) { receiver.on(e, info); }));
    });
    // A second handler on fill, registered for the whole domain: it sees every event too.
    subs.push_back(bus.subscribe<domain::fill>([&fill_generic_calls](const auto& e) {
        if (e.intact()) {
            fill_generic_calls.fetch_add(1, std::memory_order_relaxed);
        }
    }));

    const auto t0 = clock_type::now();
    {
        admf_test::watchdog dog(
            admf_test::stall_limit(std::chrono::seconds(30)), [&] { return receiver.delivered(); },
            [&] {
                std::fprintf(stderr, "  %s, %s: delivered %llu\n", label.c_str(), seed_text().c_str(),
                             static_cast<unsigned long long>(receiver.delivered()));
                for (std::size_t p = 0; p != producer_count; ++p) {
                    std::fprintf(stderr, "  producer %zu: published %llu of %llu\n", p,
                                 static_cast<unsigned long long>(producers[p]->progress.get()),
                                 static_cast<unsigned long long>(per_producer));
                }
                dump_stats(bus.stats());
            });
        bus.start();
        receiver.producers_running.store(producer_count, std::memory_order_release);
        std::vector<std::thread> threads;
        for (std::size_t p = 0; p != producer_count; ++p) {
            threads.emplace_back([&, p] {
                t2_produce(bus, *producers[p], p, per_producer, admf_test::stream_seed(salt, p));
                receiver.producers_running.fetch_sub(1, std::memory_order_acq_rel);
            });
        }
        for (auto& t : threads) {
            t.join();
        }
        bus.stop(); // drain: every accepted event is delivered before it returns
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    const auto stats = bus.stats();

    INFO(receiver.log.text());
    CHECK(receiver.torn.load() == 0);
    CHECK(receiver.order_errors.load() == 0);
    CHECK(receiver.duplicates.load() == 0);
    CHECK(receiver.lane_errors.load() == 0);
    CHECK(receiver.sequence_errors.load() == 0);
    CHECK(receiver.level_errors.load() == 0);
    CHECK(receiver.gate_timeouts.load() == 0);

    std::uint64_t total_attempts = 0;
    for (std::size_t d = 0; d != partition_count; ++d) {
        const auto dom = static_cast<domain>(d);
        tally t;
        std::uint64_t inconsistent = 0;
        for (const auto& p : producers) {
            t += p->tallies[d];
            inconsistent += p->inconsistent;
        }
        total_attempts += t.attempts;
        const auto& s = stats.partition(dom);
        // Exactly once, per stream: accepted vs delivered bitmaps.
        std::uint64_t lost = 0;     // accepted, never delivered
        std::uint64_t phantom = 0;  // delivered, never accepted
        std::uint64_t gaps = 0;
        std::uint64_t received = 0;
        std::uint64_t delivered_bits = 0;
        for (std::size_t p = 0; p != producer_count; ++p) {
            for (std::size_t k = 0; k != key_count; ++k) {
                const auto& acc = producers[p]->accepted[d * key_count + k];
                const auto& got = receiver.stream(d, p, k);
                gaps += got.gaps;
                received += got.received;
                const std::size_t words = std::max(acc.size(), got.bits.size());
                for (std::size_t w = 0; w != words; ++w) {
                    const std::uint64_t a = w < acc.size() ? acc[w] : 0;
                    const std::uint64_t g = w < got.bits.size() ? got.bits[w] : 0;
                    lost += static_cast<std::uint64_t>(std::popcount(a & ~g));
                    phantom += static_cast<std::uint64_t>(std::popcount(g & ~a));
                    delivered_bits += static_cast<std::uint64_t>(std::popcount(g));
                }
            }
        }
        INFO(describe(s) << "\n  producers: " << t.describe() << "\n  handlers: delivered "
                         << receiver.delivered(d) << ", distinct " << delivered_bits << ", lost "
                         << lost << ", phantom " << phantom << ", gaps " << gaps);
        CHECK(inconsistent == 0);
        CHECK(t.attempts == t.accepted + t.full + t.timed_out + t.stopped);
        CHECK(s.published == t.accepted);
        CHECK(s.rejected == t.full);
        CHECK(s.timed_out == t.timed_out);
        CHECK(s.refused == t.stopped);
        CHECK(t.stopped == 0); // stop() came after every producer finished
        CHECK(s.published == s.delivered + s.dropped + s.discarded);
        CHECK(s.discarded == 0);
        CHECK(s.backlog == 0);
        CHECK(s.handler_errors == 0);
        CHECK(receiver.delivered(d) == s.delivered);
        CHECK(received == s.delivered);
        CHECK(delivered_bits == received);
        CHECK(phantom == 0);
        if (dom == t2_drop) {
            CHECK(lost == s.dropped); // 0 silent loss: every missing event is counted dropped
            CHECK(s.dropped > 0);
            // A drop_oldest publish answers full when nothing queued may be dropped (every
            // queued event is being dispatched or still being written): counted, not lost.
            CHECK(gaps <= s.dropped + t.full);
        } else {
            CHECK(lost == 0); // every accepted event delivered exactly once
            CHECK(s.dropped == 0);
            if (dom == t2_reject) {
                CHECK(t.full > 0);
                CHECK(gaps <= t.full);
            } else {
                CHECK(t.full == 0);
                CHECK(gaps == 0);
            }
        }
        if (dom == domain::fill) {
            CHECK(fill_generic_calls.load() == s.delivered);
        }
    }
    CHECK(total_attempts == producer_count * per_producer);
    const auto total = stats.total();
    std::printf("[stress] %s: %llu events in %.2f s (%.2f M/s), delivered %llu, rejected %llu, "
                "dropped %llu\n",
                label.c_str(), static_cast<unsigned long long>(total_attempts), seconds,
                static_cast<double>(total_attempts) / seconds / 1e6,
                static_cast<unsigned long long>(total.delivered),
                static_cast<unsigned long long>(total.rejected),
                static_cast<unsigned long long>(total.dropped));
    std::fflush(stdout);
}

// =========================================================================================
// T6: stop under load
// =========================================================================================

// Like T2's mix, plus a block timeout on order (timed_out outcomes).
admf::bus_config t6_config(admf::wait_kind wait) {
    auto cfg = t2_config(wait);
    cfg[domain::market_data].capacity = 64;
    cfg[domain::order].capacity = 16;
    cfg[domain::order].block_timeout = std::chrono::microseconds(200);
    cfg[domain::fill].capacity = 256;
    return cfg;
}

struct alignas(128) stop_counters {
    std::atomic<std::uint64_t> delivered{0};
};

/// Handler side of one stop iteration.
struct stop_receiver {
    std::atomic<bool> stop_returned{false};
    std::atomic<std::uint64_t> handler_after_stop{0};
    std::atomic<std::uint64_t> torn{0};
    std::atomic<std::uint64_t> order_errors{0};
    std::array<stop_counters, partition_count> delivered{};
    // next seq per (partition, producer, key); written by the key's lane owner only.
    std::vector<std::uint64_t> next = std::vector<std::uint64_t>(partition_count * producer_count * key_count, 0);

    template <domain D>
    void on(const stress_event<D>& e) {
        if (stop_returned.load(std::memory_order_seq_cst)) {
            handler_after_stop.fetch_add(1, std::memory_order_relaxed);
        }
        delivered[index_of(D)].delivered.fetch_add(1, std::memory_order_relaxed);
        if (!e.intact()) {
            torn.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        auto& n = next[(index_of(D) * producer_count + e.producer) * key_count + e.k];
        if (e.seq < n) {
            order_errors.fetch_add(1, std::memory_order_relaxed);
        }
        n = e.seq + 1;
    }
};

struct stop_producer {
    std::array<tally, partition_count> tallies{};
    std::array<std::uint64_t, partition_count * key_count> next_seq{};
    std::uint64_t accepted_after_stop = 0; // accepted publishes that started after stop() returned
    std::uint64_t inconsistent = 0;
};

// Publishes until it has made 8 publishes that started after stop() returned.
void stop_produce(stress_bus& bus, stop_producer& me, const stop_receiver& rx, std::uint64_t p,
                  std::uint64_t seed) {
    admf_test::rng r(seed);
    std::uint64_t after = 0;
    while (after < 8) {
        const bool started_after = rx.stop_returned.load(std::memory_order_seq_cst);
        const std::size_t d = r.below(partition_count);
        const bool batch = r.below(4) == 0;
        std::uint64_t accepted_now = 0;
        bool refused = false;
        with_domain(d, [&](auto dc) {
            constexpr domain D = decltype(dc)::value;
            using E = stress_event<D>;
            tally& t = me.tallies[d];
            if (!batch) {
                const std::uint64_t k = r.below(key_count);
                const E e(p, k, me.next_seq[d * key_count + k]++, admf::event_priority_v<E>);
                const publish_result res = bus.publish(e);
                ++t.attempts;
                t.outcome(res, 1);
                accepted_now = res == publish_result::accepted ? 1 : 0;
                refused = res == publish_result::stopped;
                return;
            }
            const std::size_t size = 1 + r.below(16);
            std::array<E, 16> events{};
            for (std::size_t i = 0; i != size; ++i) {
                const std::uint64_t k = r.below(key_count);
                events[i] = E(p, k, me.next_seq[d * key_count + k]++, admf::event_priority_v<E>);
            }
            std::size_t accepted = 0;
            const publish_result res =
                bus.publish_batch(std::span<const E>(events.data(), size), &accepted);
            if ((res == publish_result::accepted) != (accepted == size) || accepted > size) {
                ++me.inconsistent;
                accepted = std::min(accepted, size);
            }
            t.attempts += size;
            t.accepted += accepted;
            if (accepted != size) {
                t.outcome(res == publish_result::accepted ? publish_result::full : res, size - accepted);
            }
            accepted_now = accepted;
            refused = res == publish_result::stopped;
        });
        if (refused) {
            std::this_thread::yield(); // stopping: let the workers drain (2 cores)
        }
        if (started_after) {
            me.accepted_after_stop += accepted_now;
            ++after;
        }
    }
}

void run_stop_under_load(admf::stop_mode mode, const char* label) {
    const std::size_t iterations = t6_stop_iterations();
    const std::uint64_t salt = salt_of(label);
    admf_test::rng choices(admf_test::stream_seed(salt, 999));
    std::atomic<std::uint64_t> progress{0};
    std::atomic<std::size_t> iteration_now{0};
    failure_log log;
    std::array<std::uint64_t, 4> per_wait{};
    std::uint64_t total_accepted = 0;
    std::uint64_t total_discarded = 0;
    std::uint64_t total_stopped = 0;
    const auto t0 = clock_type::now();
    admf_test::watchdog dog(
        admf_test::stall_limit(std::chrono::seconds(30)),
        [&] { return progress.load(std::memory_order_relaxed); },
        [&] {
            std::fprintf(stderr, "  %s, %s: iteration %zu of %zu\n", label, seed_text().c_str(),
                         iteration_now.load(), iterations);
        });
    for (std::size_t it = 0; it != iterations; ++it) {
        iteration_now.store(it, std::memory_order_relaxed);
        const auto wait = static_cast<admf::wait_kind>(choices.below(4));
        ++per_wait[static_cast<std::size_t>(wait)];
        const auto stop_after = std::chrono::microseconds(choices.below(5001));
        INFO(seed_text() << " case: " << label << ", iteration " << it << ", wait "
                         << wait_name(wait) << ", stop after " << stop_after.count() << " us");
        stop_receiver rx;
        std::array<stop_producer, producer_count> producers{};
        stress_bus bus(t6_config(wait));
        std::vector<admf::subscription> subs;
        for_each_domain([&](auto dc) {
            constexpr domain D = decltype(dc)::value;
            subs.push_back(bus.subscribe<stress_event<D>>([&rx, &progress](const stress_event<D>& e) {
                rx.on(e);
                progress.fetch_add(1, std::memory_order_relaxed);
            }));
        });
        bus.start();
        std::vector<std::thread> threads;
        for (std::size_t p = 0; p != producer_count; ++p) {
            threads.emplace_back([&, p] {
                stop_produce(bus, producers[p], rx, p, admf_test::stream_seed(salt, it * 8 + p));
            });
        }
        std::this_thread::sleep_for(stop_after); // a random point of the load, not a sync
        bus.stop(mode);
        rx.stop_returned.store(true, std::memory_order_seq_cst);
        for (auto& t : threads) {
            t.join();
        }
        progress.fetch_add(1, std::memory_order_relaxed);
        const bool late_publish_refused =
            bus.publish(md_event(0, 0, 0, admf::priority::medium)) == publish_result::stopped;

        const auto stats = bus.stats();
        bool ok = late_publish_refused && rx.handler_after_stop.load() == 0 &&
                  rx.torn.load() == 0 && rx.order_errors.load() == 0;
        std::string detail;
        std::uint64_t stopped_here = 0;
        for (std::size_t d = 0; d != partition_count; ++d) {
            tally t;
            std::uint64_t after = 0;
            std::uint64_t inconsistent = 0;
            for (const auto& p : producers) {
                t += p.tallies[d];
                after += p.accepted_after_stop;
                inconsistent += p.inconsistent;
            }
            const auto& s = stats.partition(static_cast<domain>(d));
            const std::uint64_t delivered = rx.delivered[d].delivered.load();
            const std::uint64_t counted_gone =
                s.dropped + (mode == admf::stop_mode::discard ? s.discarded : 0);
            // The main thread's late publish (market_data) was refused too.
            const std::uint64_t late = d == index_of(domain::market_data) ? 1 : 0;
            const bool part_ok =
                after == 0 && inconsistent == 0 && s.published == t.accepted &&
                s.rejected == t.full && s.timed_out == t.timed_out && s.refused == t.stopped + late &&
                s.delivered == delivered && t.accepted == delivered + counted_gone &&
                s.published == s.delivered + s.dropped + s.discarded && s.backlog == 0 &&
                (mode == admf::stop_mode::discard || s.discarded == 0) && s.handler_errors == 0;
            if (!part_ok) {
                ok = false;
                detail += "\n  " + describe(s) + "\n    producers: " + t.describe() +
                          ", accepted after stop returned " + std::to_string(after) +
                          ", inconsistent batch results " + std::to_string(inconsistent) +
                          "\n    handlers: delivered " + std::to_string(delivered);
            }
            total_accepted += t.accepted;
            total_discarded += s.discarded;
            stopped_here += t.stopped;
        }
        total_stopped += stopped_here;
        // Each producer made at least 8 publishes after stop() returned, all refused.
        if (stopped_here < producer_count * 8) {
            ok = false;
            detail += "\n  only " + std::to_string(stopped_here) + " publishes answered stopped";
        }
        if (!ok) {
            log.add("iteration " + std::to_string(it) + " (wait " + wait_name(wait) +
                    ", stop after " + std::to_string(stop_after.count()) + " us): handler calls after stop " +
                    std::to_string(rx.handler_after_stop.load()) + ", torn " + std::to_string(rx.torn.load()) +
                    ", order errors " + std::to_string(rx.order_errors.load()) +
                    ", late publish refused " + (late_publish_refused ? "yes" : "NO") + detail);
        }
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    INFO(seed_text() << " case: " << label);
    INFO(log.text());
    CHECK(log.count() == 0);
    CHECK(total_accepted > 0);
    if (mode == admf::stop_mode::discard) {
        // Not asserted per iteration (a stop may find the lanes empty), only overall.
        CHECK(total_discarded > 0);
    }
    std::printf("[stress] %s: %zu iterations (busy_spin %llu, yielding %llu, backoff %llu, "
                "blocking %llu) in %.2f s; accepted %llu, discarded %llu, refused %llu\n",
                label, iterations, static_cast<unsigned long long>(per_wait[0]),
                static_cast<unsigned long long>(per_wait[1]),
                static_cast<unsigned long long>(per_wait[2]),
                static_cast<unsigned long long>(per_wait[3]), seconds,
                static_cast<unsigned long long>(total_accepted),
                static_cast<unsigned long long>(total_discarded),
                static_cast<unsigned long long>(total_stopped));
    std::fflush(stdout);
}

// =========================================================================================
// T6: unsubscribe churn
// =========================================================================================

constexpr std::uint64_t alive_magic = 0xA11C'E0FF'1CE5'0001ULL;

/// Heap state of a churned handler, deleted right after unsubscribe() returns. `alive` is
/// cleared just before the delete: a call after that reads 0 (rel), or touches freed memory
/// (ASan: heap-use-after-free; TSan: a race with the free).
struct churn_state {
    std::atomic<std::uint64_t> alive{alive_magic};
    std::atomic<std::uint64_t> calls{0};
};

/// A handler that ends its own subscription from inside its call.
struct self_state {
    std::atomic<std::uint64_t> alive{alive_magic};
    admf::subscription sub;                  // set before `ready`
    std::atomic<bool> ready{false};
    std::atomic<bool> claimed{false};        // the call that unsubscribes
    std::atomic<bool> unsubscribed{false};   // set right after the self-unsubscribe returned
    std::atomic<bool> finished{false};       // the last access of that call
};

struct churn_checks {
    std::atomic<std::uint64_t> dead_calls{0};          // canary: called after its state died
    std::atomic<std::uint64_t> after_self_unsub{0};    // called after a self-unsubscribe returned
    std::atomic<std::uint64_t> torn{0};
    std::atomic<std::uint64_t> churned_calls{0};
    std::atomic<std::uint64_t> nested_subscribes{0};
    std::atomic<std::uint64_t> nested_unsubscribes{0};
    std::atomic<std::uint64_t> nested_calls{0};
    std::array<stop_counters, partition_count> delivered{}; // permanent handlers
};

template <domain D>
void check_churn_call(churn_checks& c, const std::atomic<std::uint64_t>& alive,
                      const stress_event<D>& e) {
    if (alive.load(std::memory_order_relaxed) != alive_magic) {
        c.dead_calls.fetch_add(1, std::memory_order_relaxed);
    }
    if (!e.intact()) {
        c.torn.fetch_add(1, std::memory_order_relaxed);
    }
}

/// Subscribes a churned handler for partition d (as subscribe<E> or, for form 1, as a
/// domain-wide subscribe<D>).
admf::subscription churn_subscribe(stress_bus& bus, churn_checks& c, churn_state* s, std::size_t d,
                                   bool domain_wide) {
    admf::subscription sub;
    with_domain(d, [&](auto dc) {
        constexpr domain D = decltype(dc)::value;
        if (domain_wide) {
            sub = bus.subscribe<D>([&c, s](const auto& e) {
                check_churn_call<D>(c, s->alive, e);
                s->calls.fetch_add(1, std::memory_order_relaxed);
            });
        } else {
            sub = bus.subscribe<stress_event<D>>([&c, s](const stress_event<D>& e, const admf::event_info&) {
                check_churn_call<D>(c, s->alive, e);
                s->calls.fetch_add(1, std::memory_order_relaxed);
            });
        }
    });
    return sub;
}

void free_churned(churn_checks& c, churn_state* s) {
    c.churned_calls.fetch_add(s->calls.load(std::memory_order_relaxed), std::memory_order_relaxed);
    s->alive.store(0, std::memory_order_relaxed);
    delete s;
}

/// The signal handler that subscribes and unsubscribes other handlers from inside its call
/// (signal has one worker, so this state is touched by one thread at a time).
struct nester {
    std::vector<std::pair<admf::subscription, churn_state*>> held;
    std::uint64_t seen = 0;
};

} // namespace

// ---------------------------------------------------------------------------------------
// T2

TEST_CASE("bus stress: 4 producers over 5 partitions lose nothing silently and keep per-key "
          "order (blocking wait at full size)",
          "[bus][stress]") {
    run_t2("T2 full size, wait blocking", admf::wait_kind::blocking, t2_full_per_producer());
}

TEST_CASE("bus stress: 4 producers and 6 workers on 2 cores complete with every wait strategy "
          "and lose nothing silently",
          "[bus][stress]") {
    const auto wait = GENERATE(admf::wait_kind::busy_spin, admf::wait_kind::yielding,
                               admf::wait_kind::backoff, admf::wait_kind::blocking);
    run_t2(std::string("T2 per strategy, wait ") + wait_name(wait), wait, t2_strategy_per_producer());
}

// ---------------------------------------------------------------------------------------
// T6 stop under load: 4 producers publish (single and batches) into every backpressure
// policy while the main thread stops the bus at a random point of 0-5 ms; the wait
// strategy is drawn per iteration. Proves: accepted == delivered (+ dropped) in drain mode,
// accepted == delivered + discarded (+ dropped) with stop_mode::discard; the stats match
// what producers were told; no publish that started after stop() returned is accepted; no
// handler runs after stop() returned; blocked publishers are released (the run ends).

TEST_CASE("bus stress: stop() under load delivers every accepted event then refuses and runs "
          "no handler",
          "[bus][stress]") {
    run_stop_under_load(admf::stop_mode::drain, "T6 stop under load, drain");
}

TEST_CASE("bus stress: stop(discard) under load counts every accepted event delivered or "
          "discarded then refuses and runs no handler",
          "[bus][stress]") {
    run_stop_under_load(admf::stop_mode::discard, "T6 stop under load, discard");
}

// ---------------------------------------------------------------------------------------
// T6 unsubscribe churn: while 3 producers keep events flowing, one thread subscribes and
// unsubscribes handlers (per type and domain-wide) whose state is deleted right after
// unsubscribe() returns; every 16th waits until its handler was called, so unsubscribes
// really race dispatch. Every 8th cycle is a handler that unsubscribes itself from inside
// its call (on market_data, two workers may be calling it at once). A permanent signal
// handler subscribes and unsubscribes handlers from inside its calls. Proves: no call
// after unsubscribe() returned (canary / ASan / TSan), no call after a self-unsubscribe
// returned, and every accepted event reached the permanent handlers.

TEST_CASE("bus stress: unsubscribe churn under load never calls a handler after unsubscribe() "
          "returned",
          "[bus][stress]") {
    const std::string label = "T6 unsubscribe churn";
    INFO(seed_text() << " case: " << label);
    const std::uint64_t salt = salt_of(label);
    const std::size_t cycles = t6_churn_cycles();
    const std::uint64_t min_events = t6_churn_events();
    constexpr std::size_t churn_producers = 3;

    churn_checks c;
    nester nest;
    std::atomic<std::uint64_t> progress{0};
    std::atomic<bool> churn_done{false};
    std::atomic<std::size_t> cycle_now{0};
    std::array<std::array<tally, partition_count>, churn_producers> tallies{};
    std::uint64_t self_unsubscribes = 0;
    std::uint64_t waited_cycles = 0;

    auto cfg = t2_config(admf::wait_kind::blocking);
    for (auto& p : cfg.partitions) {
        p.on_full = admf::backpressure::block;
        p.capacity = 256;
    }
    stress_bus bus(cfg);
    std::vector<admf::subscription> permanent;
    for_each_domain([&](auto dc) {
        constexpr domain D = decltype(dc)::value;
        permanent.push_back(bus.subscribe<stress_event<D>>([&](const stress_event<D>& e) {
            if (!e.intact()) {
                c.torn.fetch_add(1, std::memory_order_relaxed);
            }
            c.delivered[index_of(D)].delivered.fetch_add(1, std::memory_order_relaxed);
            progress.fetch_add(1, std::memory_order_relaxed);
        }));
    });
    // Subscribe from inside a handler: every 64th signal event, subscribe a handler (to a
    // rotating partition, signal itself included) or unsubscribe and free the oldest one.
    permanent.push_back(bus.subscribe<signal_event>([&](const signal_event&) {
        if (++nest.seen % 64 != 0) {
            return;
        }
        const std::uint64_t step = nest.seen / 64;
        if (nest.held.size() < 4 && step % 3 != 2) {
            auto* s = new churn_state;
            nest.held.emplace_back(churn_subscribe(bus, c, s, step % partition_count, step % 2 == 0), s);
            c.nested_subscribes.fetch_add(1, std::memory_order_relaxed);
        } else if (!nest.held.empty()) {
            auto [sub, s] = std::move(nest.held.front());
            nest.held.erase(nest.held.begin());
            sub.unsubscribe(); // from inside a handler: waits for the other workers
            c.nested_calls.fetch_add(s->calls.load(std::memory_order_relaxed), std::memory_order_relaxed);
            free_churned(c, s);
            c.nested_unsubscribes.fetch_add(1, std::memory_order_relaxed);
        }
    }));

    const auto t0 = clock_type::now();
    {
        admf_test::watchdog dog(
            admf_test::stall_limit(std::chrono::seconds(30)),
            [&] { return progress.load(std::memory_order_relaxed); },
            [&] {
                std::fprintf(stderr, "  %s, %s: cycle %zu of %zu, delivered %llu\n", label.c_str(),
                             seed_text().c_str(), cycle_now.load(), cycles,
                             static_cast<unsigned long long>(progress.load()));
                dump_stats(bus.stats());
            });
        bus.start();
        std::vector<std::thread> threads;
        for (std::size_t p = 0; p != churn_producers; ++p) {
            threads.emplace_back([&, p] {
                admf_test::rng r(admf_test::stream_seed(salt, p));
                std::array<std::uint64_t, partition_count * key_count> next_seq{};
                std::uint64_t sent = 0;
                while (sent < min_events / churn_producers || !churn_done.load(std::memory_order_acquire)) {
                    const std::size_t d = sent % partition_count;
                    with_domain(d, [&](auto dc) {
                        constexpr domain D = decltype(dc)::value;
                        const std::uint64_t k = r.below(key_count);
                        const stress_event<D> e(p, k, next_seq[d * key_count + k]++, admf::priority::medium);
                        const publish_result res = bus.publish(e);
                        ++tallies[p][d].attempts;
                        tallies[p][d].outcome(res, 1);
                    });
                    ++sent;
                }
            });
        }
        threads.emplace_back([&] {
            admf_test::rng r(admf_test::stream_seed(salt, 100));
            for (std::size_t cycle = 0; cycle != cycles; ++cycle) {
                cycle_now.store(cycle, std::memory_order_relaxed);
                const std::size_t d = r.below(partition_count);
                if (cycle % 8 == 7) {
                    // Self-unsubscribe: the handler ends its own subscription from inside.
                    auto* s = new self_state;
                    with_domain(d, [&](auto dc) {
                        constexpr domain D = decltype(dc)::value;
                        s->sub = bus.subscribe<stress_event<D>>([&c, s](const stress_event<D>& e) {
                            check_churn_call<D>(c, s->alive, e);
                            if (s->unsubscribed.load(std::memory_order_acquire)) {
                                c.after_self_unsub.fetch_add(1, std::memory_order_relaxed);
                            }
                            if (!s->ready.load(std::memory_order_acquire) ||
                                s->claimed.exchange(true, std::memory_order_acq_rel)) {
                                return;
                            }
                            s->sub.unsubscribe();
                            s->unsubscribed.store(true, std::memory_order_release);
                            s->finished.store(true, std::memory_order_release); // last access
                        });
                    });
                    s->ready.store(true, std::memory_order_release);
                    // Events of every partition keep flowing until churn_done: it will be called.
                    while (!s->finished.load(std::memory_order_acquire)) {
                        std::this_thread::yield();
                    }
                    s->alive.store(0, std::memory_order_relaxed);
                    delete s;
                    ++self_unsubscribes;
                    continue;
                }
                auto* s = new churn_state;
                auto sub = churn_subscribe(bus, c, s, d, r.below(4) == 0);
                if (cycle % 16 == 0) {
                    ++waited_cycles;
                    while (s->calls.load(std::memory_order_relaxed) == 0) {
                        std::this_thread::yield();
                    }
                } else if (r.below(2) == 0) {
                    std::this_thread::yield();
                }
                sub.unsubscribe();
                free_churned(c, s); // right after unsubscribe() returned
            }
            churn_done.store(true, std::memory_order_release);
        });
        for (auto& t : threads) {
            t.join();
        }
        bus.stop();
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    // The handlers the nester still holds: the workers are joined, nothing calls them.
    for (auto& [sub, s] : nest.held) {
        sub.unsubscribe();
        free_churned(c, s);
    }
    nest.held.clear();

    const auto stats = bus.stats();
    CHECK(c.dead_calls.load() == 0);
    CHECK(c.after_self_unsub.load() == 0);
    CHECK(c.torn.load() == 0);
    CHECK(self_unsubscribes == cycles / 8);
    CHECK(c.churned_calls.load() >= waited_cycles); // each waited cycle saw a call
    CHECK(c.nested_subscribes.load() > 0);
    CHECK(c.nested_unsubscribes.load() > 0);
    std::uint64_t events = 0;
    for (std::size_t d = 0; d != partition_count; ++d) {
        tally t;
        for (const auto& p : tallies) {
            t += p[d];
        }
        const auto& s = stats.partition(static_cast<domain>(d));
        INFO(describe(s) << "\n  producers: " << t.describe() << "\n  permanent handler: "
                         << c.delivered[d].delivered.load());
        CHECK(t.accepted == t.attempts);
        CHECK(s.published == t.accepted);
        CHECK(s.delivered == t.accepted);
        CHECK(c.delivered[d].delivered.load() == t.accepted);
        CHECK(s.handler_errors == 0);
        events += t.accepted;
    }
    CHECK(events >= min_events - churn_producers);
    std::printf("[stress] %s: %zu cycles (%llu self-unsubscribes), %llu events in %.2f s; "
                "churned handlers called %llu times; nested subscribe/unsubscribe %llu/%llu "
                "(called %llu times)\n",
                label.c_str(), cycles, static_cast<unsigned long long>(self_unsubscribes),
                static_cast<unsigned long long>(events), seconds,
                static_cast<unsigned long long>(c.churned_calls.load()),
                static_cast<unsigned long long>(c.nested_subscribes.load()),
                static_cast<unsigned long long>(c.nested_unsubscribes.load()),
                static_cast<unsigned long long>(c.nested_calls.load()));
    std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------
// T6 destroy a running bus: producers publish a burst and are joined while one market_data
// worker holds its first event until the bus is being destroyed, so the destructor (no
// stop()) meets queued events; every 4th iteration the bus is never started (the destructor
// starts it to drain). One event type owns heap memory (a shared_ptr token). Proves: no
// hang, every accepted event reaches the handlers, counted by the test outside the bus;
// every slot copy is destroyed (the token's use count returns to 1); a subscription that
// outlives its bus is harmless; LSan (asan) finds no leak.

namespace {

struct owned_event {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "STRESS.OWNED";
    static std::uint64_t key(const owned_event& e) noexcept { return e.k; }
    std::uint64_t k = 0;
    std::shared_ptr<const int> token;
};
using destroy_bus = admf::bus<md_event, signal_event, order_event, fill_event, system_event, owned_event>;

} // namespace

TEST_CASE("bus stress: destroying a running bus without stop() delivers every accepted event "
          "and leaks nothing",
          "[bus][stress]") {
    const std::string label = "T6 destroy a running bus";
    INFO(seed_text() << " case: " << label);
    const std::uint64_t salt = salt_of(label);
    const std::size_t iterations = t6_destroy_iterations();
    constexpr std::uint64_t per_partition = 256; // per producer; a lane holds 4096

    std::atomic<std::uint64_t> progress{0};
    std::atomic<std::size_t> iteration_now{0};
    failure_log log;
    std::uint64_t queued_at_destruction = 0;
    const auto t0 = clock_type::now();
    admf_test::watchdog dog(
        admf_test::stall_limit(std::chrono::seconds(30)),
        [&] { return progress.load(std::memory_order_relaxed); },
        [&] {
            std::fprintf(stderr, "  %s, %s: iteration %zu of %zu\n", label.c_str(),
                         seed_text().c_str(), iteration_now.load(), iterations);
        });
    for (std::size_t it = 0; it != iterations; ++it) {
        iteration_now.store(it, std::memory_order_relaxed);
        const bool started = it % 4 != 0;
        // Owned by the test, outside the bus, and outliving it.
        std::array<stop_counters, partition_count + 1> delivered{};
        std::array<std::atomic<std::uint64_t>, partition_count + 1> accepted{};
        std::atomic<std::uint64_t> torn{0};
        std::atomic<bool> gate_timed_out{false};
        const auto token = std::make_shared<const int>(42);
        admf::subscription survivor;
        std::uint64_t backlog = 0;
        {
            admf::bus_config cfg;
            for (auto& p : cfg.partitions) {
                p.lanes = lane_count;
                p.capacity = 4096;
                p.wait = static_cast<admf::wait_kind>((it / 4) % 4);
            }
            cfg[domain::market_data].workers = 2;
            auto bus = std::make_unique<destroy_bus>(cfg);
            const destroy_bus* const self = bus.get();
            std::vector<admf::subscription> subs;
            for_each_domain([&](auto dc) {
                constexpr domain D = decltype(dc)::value;
                subs.push_back(bus->subscribe<stress_event<D>>([&, self](const stress_event<D>& e,
                                                                          const admf::event_info& info) {
                    if (D == domain::market_data && info.sequence == 0 && info.lane == 0 &&
                        self->running()) {
                        // Hold lane 0's worker until the destructor has begun to stop the
                        // bus: the events behind this one are still queued then.
                        if (!wait_for([self] { return !self->running(); }, std::chrono::seconds(20))) {
                            gate_timed_out.store(true, std::memory_order_relaxed);
                        }
                    }
                    if (!e.intact()) {
                        torn.fetch_add(1, std::memory_order_relaxed);
                    }
                    delivered[index_of(D)].delivered.fetch_add(1, std::memory_order_relaxed);
                    progress.fetch_add(1, std::memory_order_relaxed);
                }));
            });
            survivor = bus->subscribe<owned_event>([&](const owned_event& e) {
                if (e.token == nullptr || *e.token != 42) {
                    torn.fetch_add(1, std::memory_order_relaxed);
                }
                delivered[partition_count].delivered.fetch_add(1, std::memory_order_relaxed);
                progress.fetch_add(1, std::memory_order_relaxed);
            });
            if (started) {
                bus->start();
            }
            std::vector<std::thread> threads;
            for (std::size_t p = 0; p != producer_count; ++p) {
                threads.emplace_back([&, p] {
                    admf_test::rng r(admf_test::stream_seed(salt, it * 8 + p));
                    std::array<std::uint64_t, partition_count * key_count> next_seq{};
                    for (std::uint64_t i = 0; i != per_partition * partition_count; ++i) {
                        const std::size_t d = r.below(partition_count);
                        with_domain(d, [&](auto dc) {
                            constexpr domain D = decltype(dc)::value;
                            const std::uint64_t k = r.below(key_count);
                            const stress_event<D> e(p, k, next_seq[d * key_count + k]++, admf::priority::medium);
                            if (bus->publish(e) == publish_result::accepted) {
                                accepted[d].fetch_add(1, std::memory_order_relaxed);
                            }
                        });
                        if (i % 20 == 0) {
                            const owned_event o{r.below(key_count), token};
                            if (bus->publish(o) == publish_result::accepted) {
                                accepted[partition_count].fetch_add(1, std::memory_order_relaxed);
                            }
                        }
                    }
                });
            }
            for (auto& t : threads) {
                t.join();
            }
            backlog = bus->stats().total().backlog;
            bus.reset(); // no stop(): the destructor drains and joins
        }
        queued_at_destruction += backlog;
        const bool token_released = token.use_count() == 1;
        survivor.unsubscribe(); // outlived its bus: harmless
        bool ok = token_released && torn.load() == 0 && !gate_timed_out.load() && backlog > 0;
        std::string detail;
        for (std::size_t d = 0; d != partition_count + 1; ++d) {
            if (delivered[d].delivered.load() != accepted[d].load()) {
                ok = false;
                detail += " partition " + std::to_string(d) + ": accepted " +
                          std::to_string(accepted[d].load()) + ", delivered " +
                          std::to_string(delivered[d].delivered.load()) + ";";
            }
        }
        if (!ok) {
            log.add("iteration " + std::to_string(it) + (started ? " (started)" : " (never started)") +
                    ": backlog before destruction " + std::to_string(backlog) + ", token use count " +
                    std::to_string(token.use_count()) + ", torn " + std::to_string(torn.load()) +
                    ", gate timed out " + (gate_timed_out.load() ? "yes" : "no") + ";" + detail);
        }
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    INFO(log.text());
    CHECK(log.count() == 0);
    std::printf("[stress] %s: %zu iterations in %.2f s, %llu events queued at destruction\n",
                label.c_str(), iterations, seconds,
                static_cast<unsigned long long>(queued_at_destruction));
    std::fflush(stdout);
}
