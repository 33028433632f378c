// SPDX-License-Identifier: MIT
// admf::conflating_ring under real threads: P producers publish self-checking values over
// 64 keys (each producer its own keys, or all producers all keys) while one consumer
// drains with random batch sizes. Judged by:
// - torn: every value carries (key, producer, sequence) and a checksum of them;
// - per key and producer, delivered sequences strictly increase (newer values only);
// - end_of_batch is true on the last value of each consume call and only there;
// - at the end (producers joined, consumer drained), each key's last delivered value is its
//   last published one (shared keys: the last write of one of the producers, that is, of
//   the write with the highest version);
// - published == delivered + conflated_approx() == claimed_approx() + merged_approx(), and
//   the positions consume() returned add up to claimed_approx().
// A watchdog (tests/support/ring_stress.hpp) aborts with a state dump after 30 s without
// progress. The [.one_core] cases run through `taskset -c 0` (ctest
// conflating_ring.stress.one_core): preemption-only interleavings, a writer descheduled
// inside its seqlock.
//
// Sizes (values per producer) by ADMF_STRESS_SCALE (rel|tsan|asan, default: this binary's
// sanitizer). Measured on the shared 2-core machine, the slowest case (4P shared) takes
// 2.4 s rel, 7.5 s tsan (clang-14 -O1, a build running alongside), 2.3 s asan (g++-12 -O1
// with UBSan); all cases together 8 s, 23 s and 7 s:
//   case                         rel        tsan       asan
//   2 or 4 producers             20 M       1.5 M      10 M
//   one core                     2 M        300 k      1 M

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

// Counts the index-queue push retries, which the design says never happen (defined before
// any admf header, as platform.hpp asks).
namespace admf_test {
inline std::atomic<std::uint64_t> push_retries{0};
inline void test_point(const char* name) noexcept {
    if (std::strcmp(name, "conflating_ring.push_retry") == 0) {
        push_retries.fetch_add(1, std::memory_order_relaxed);
    }
}
} // namespace admf_test
#define ADMF_TEST_POINT(name) admf_test::test_point(name)

#include <admf/ring/conflating_ring.hpp>

#include "catch.hpp"
#include "ring_stress.hpp"
#include "seed.hpp"

using admf_test::by_scale;

namespace {

constexpr std::size_t key_count = 64;
constexpr std::uint64_t no_value = ~std::uint64_t{0};

// One published value: which key, who wrote it and when (its index in that producer's
// stream), and a checksum of the three, so a torn copy cannot pass for a real value.
struct sample {
    std::uint64_t key;
    std::uint64_t producer;
    std::uint64_t seq;
    std::uint64_t check;

    static constexpr std::uint64_t check_of(std::uint64_t k, std::uint64_t p, std::uint64_t s) {
        return admf::detail::conflation_hash({k * 0x9e37'79b9'7f4a'7c15ULL + s, static_cast<std::uint32_t>(p)});
    }
    [[nodiscard]] bool intact() const noexcept { return check == check_of(key, producer, seq); }
};

// Odd and even keys are different types with the same value: both halves are exercised.
struct sample_key {
    admf::conflation_key operator()(const sample& s) const noexcept {
        return {s.key / 2, static_cast<std::uint32_t>(s.key % 2)};
    }
};

using ring = admf::conflating_ring<sample, sample_key>;

struct run_config {
    std::string label;
    std::size_t producers = 2;
    bool shared_keys = false;
    admf::producers mode = admf::producers::many;
    std::uint64_t per_producer = 0;
    std::uint64_t salt = 0;
};

// What the consumer saw; owned by its thread, read after join().
struct consumer_view {
    std::vector<std::vector<std::uint64_t>> last_seq; // [key][producer], no_value if none
    std::vector<sample> last; // per key, key == no_value if none
    std::uint64_t delivered = 0;
    std::uint64_t positions = 0;
    std::uint64_t torn = 0;
    std::uint64_t not_newer = 0;
    std::uint64_t bad_ends = 0;
    std::uint64_t calls = 0;
    std::vector<std::string> notes;

    explicit consumer_view(std::size_t producers)
        : last_seq(key_count, std::vector<std::uint64_t>(producers, no_value)),
          last(key_count, sample{no_value, 0, 0, 0}) {}

    // One consume call: checks each value and that only the last says end_of_batch.
    void take(ring& r, std::size_t max) {
        std::size_t in_call = 0;
        bool ended = false;
        positions += r.consume(
            [&](sample& s, bool end_of_batch) noexcept {
                ++in_call;
                if (ended) {
                    ++bad_ends; // a value after one flagged end_of_batch
                }
                ended = end_of_batch;
                ++delivered;
                if (!s.intact() || s.key >= key_count || s.producer >= last_seq[0].size()) {
                    if (++torn <= 3) {
                        notes.push_back("torn value: key " + std::to_string(s.key) + ", producer " +
                                        std::to_string(s.producer) + ", seq " + std::to_string(s.seq));
                    }
                    return;
                }
                std::uint64_t& prev = last_seq[s.key][s.producer];
                if (prev != no_value && s.seq <= prev) {
                    if (++not_newer <= 3) {
                        notes.push_back("key " + std::to_string(s.key) + ", producer " +
                                        std::to_string(s.producer) + ": seq " + std::to_string(s.seq) +
                                        " after " + std::to_string(prev));
                    }
                }
                prev = s.seq;
                last[s.key] = s;
            },
            max);
        if (in_call != 0) {
            ++calls;
            if (!ended) {
                ++bad_ends; // the call's last value was not flagged
            }
        }
    }
};

// Publishes per_producer values over the producer's keys (every key when shared); records
// each key's last value it wrote.
void produce(ring& r, const run_config& cfg, std::size_t p, std::vector<sample>& last_written,
             admf_test::detail::progress_counter& progress, std::uint64_t& refused) {
    admf_test::rng rng(admf_test::stream_seed(cfg.salt, p));
    const std::size_t owned = cfg.shared_keys ? key_count : key_count / cfg.producers;
    for (std::uint64_t seq = 0; seq != cfg.per_producer; ++seq) {
        // A hot subset (a quarter of the keys) takes half the writes, so merges are common.
        const std::uint64_t pick = rng.below(2) == 0 ? rng.below(std::max<std::size_t>(1, owned / 4))
                                                     : rng.below(owned);
        const std::uint64_t key = cfg.shared_keys ? pick : pick * cfg.producers + p;
        const sample s{key, p, seq, sample::check_of(key, p, seq)};
        if (r.try_push(s)) {
            last_written[key] = s;
        } else {
            ++refused; // never: 64 keys fit
        }
        if ((seq & 255) == 0) {
            progress.set(seq);
            if (rng.below(8) == 0) {
                std::this_thread::yield(); // vary the interleavings
            }
        }
    }
    progress.set(cfg.per_producer);
}

void run(const run_config& cfg) {
    const std::size_t P = cfg.producers;
    INFO(cfg.label << ", ADMF_SEED=" << admf_test::run_seed() << ", scale "
                   << admf_test::to_string(admf_test::current_stress_scale()));
    std::printf("[stress] %s: %zu producer(s) x %llu values over %zu %s keys\n", cfg.label.c_str(), P,
                static_cast<unsigned long long>(cfg.per_producer), key_count,
                cfg.shared_keys ? "shared" : "disjoint");
    std::fflush(stdout);

    const std::uint64_t retries_before = admf_test::push_retries.load();
    ring r(key_count, cfg.mode);
    std::vector<std::vector<sample>> last_written(P, std::vector<sample>(key_count, sample{no_value, 0, 0, 0}));
    std::vector<std::uint64_t> refused(P, 0);
    std::vector<admf_test::detail::progress_counter> pushed(P);
    admf_test::detail::progress_counter consumed;
    consumer_view view(P);
    std::atomic<std::size_t> producers_done{0};

    const auto t0 = std::chrono::steady_clock::now();
    {
        const admf_test::watchdog guard(
            admf_test::stall_limit(std::chrono::seconds(30)),
            [&] {
                std::uint64_t sum = consumed.get();
                for (const auto& c : pushed) {
                    sum += c.get();
                }
                return sum;
            },
            [&] {
                std::fprintf(stderr, "  case %s: claimed %llu, merged %llu, conflated %llu, consumed %llu\n",
                             cfg.label.c_str(), static_cast<unsigned long long>(r.claimed_approx()),
                             static_cast<unsigned long long>(r.merged_approx()),
                             static_cast<unsigned long long>(r.conflated_approx()),
                             static_cast<unsigned long long>(consumed.get()));
                for (std::size_t p = 0; p != P; ++p) {
                    std::fprintf(stderr, "  producer %zu: %llu of %llu\n", p,
                                 static_cast<unsigned long long>(pushed[p].get()),
                                 static_cast<unsigned long long>(cfg.per_producer));
                }
            });
        std::thread consumer([&] {
            admf_test::rng rng(admf_test::stream_seed(cfg.salt, 1000));
            admf_test::backoff idle;
            for (;;) {
                // Acquire pairs with the producers' release increments: once all are done,
                // every push they made is visible, so the drain below sees it.
                const bool done = producers_done.load(std::memory_order_acquire) == P;
                if (r.front_ready()) {
                    idle.reset();
                    view.take(r, 1 + rng.below(rng.below(4) == 0 ? 256 : 16));
                    consumed.set(view.positions);
                } else if (done) {
                    break;
                } else {
                    idle.pause(); // threads outnumber cores: spinning alone would starve them
                }
            }
        });
        std::vector<std::thread> producers;
        for (std::size_t p = 0; p != P; ++p) {
            producers.emplace_back([&, p] {
                produce(r, cfg, p, last_written[p], pushed[p], refused[p]);
                producers_done.fetch_add(1, std::memory_order_release); // pairs with the consumer
            });
        }
        for (auto& t : producers) {
            t.join();
        }
        consumer.join();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::uint64_t published = 0;
    for (std::size_t p = 0; p != P; ++p) {
        published += cfg.per_producer - refused[p];
        CHECK(refused[p] == 0);
    }
    const std::uint64_t conflated = r.conflated_approx();
    const std::uint64_t merged = r.merged_approx();
    const std::uint64_t claimed = r.claimed_approx();
    for (const auto& n : view.notes) {
        UNSCOPED_INFO(n);
    }
    CHECK(view.torn == 0);
    CHECK(view.not_newer == 0);
    CHECK(view.bad_ends == 0);
    CHECK_FALSE(r.front_ready());

    // Each key's last delivered value is the last write of one of its producers (with
    // disjoint keys there is one), so newest-version-wins holds.
    std::uint64_t last_mismatches = 0;
    for (std::size_t k = 0; k != key_count; ++k) {
        const sample& got = view.last[k];
        bool written = false;
        bool matches = false;
        for (std::size_t p = 0; p != P; ++p) {
            const sample& w = last_written[p][k];
            if (w.key == no_value) {
                continue;
            }
            written = true;
            matches = matches || (got.key == k && got.producer == p && got.seq == w.seq);
        }
        if (written != matches || (!written && got.key != no_value)) {
            ++last_mismatches;
            UNSCOPED_INFO("key " << k << ": last delivered producer " << got.producer << " seq "
                                 << got.seq << " is no producer's last write");
        }
    }
    CHECK(last_mismatches == 0);
    CHECK(published == view.delivered + conflated);
    CHECK(published == claimed + merged);
    CHECK(view.positions == claimed);
    CHECK(admf_test::push_retries.load() == retries_before); // the index queue never filled

    std::printf("[stress] %s: %.2f s, %.2f M publishes/s; delivered %llu, conflated %llu, merged "
                "%llu, positions %llu in %llu calls\n",
                cfg.label.c_str(), seconds, static_cast<double>(published) / seconds / 1e6,
                static_cast<unsigned long long>(view.delivered),
                static_cast<unsigned long long>(conflated), static_cast<unsigned long long>(merged),
                static_cast<unsigned long long>(view.positions),
                static_cast<unsigned long long>(view.calls));
    std::fflush(stdout);
}

std::uint64_t values_per_producer() {
    return by_scale<std::uint64_t>(20'000'000, 1'500'000, 10'000'000);
}
std::uint64_t one_core_values() { return by_scale<std::uint64_t>(2'000'000, 300'000, 1'000'000); }

run_config config(std::string label, std::size_t producers, bool shared, std::uint64_t n) {
    run_config cfg;
    cfg.salt = admf::detail::conflation_hash({std::hash<std::string>{}(label), 0});
    cfg.label = std::move(label);
    cfg.producers = producers;
    cfg.shared_keys = shared;
    cfg.per_producer = n;
    return cfg;
}

} // namespace

TEST_CASE("conflating_ring stress: 2 producers on disjoint keys deliver each key's newest "
          "value, untorn",
          "[conflating_ring][stress]") {
    run(config("2P disjoint", 2, false, values_per_producer()));
}

TEST_CASE("conflating_ring stress: 4 producers on disjoint keys deliver each key's newest "
          "value, untorn",
          "[conflating_ring][stress]") {
    run(config("4P disjoint", 4, false, values_per_producer()));
}

TEST_CASE("conflating_ring stress: 2 producers sharing every key deliver the newest write "
          "of each, untorn",
          "[conflating_ring][stress]") {
    run(config("2P shared", 2, true, values_per_producer()));
}

TEST_CASE("conflating_ring stress: 4 producers sharing every key deliver the newest write "
          "of each, untorn",
          "[conflating_ring][stress]") {
    run(config("4P shared", 4, true, values_per_producer()));
}

TEST_CASE("conflating_ring stress: 1 producer in producers::single mode delivers each key's "
          "newest value, untorn",
          "[conflating_ring][stress]") {
    run_config cfg = config("1P single", 1, false, values_per_producer());
    cfg.mode = admf::producers::single;
    run(cfg);
}

// One core: hidden here, run by the ctest conflating_ring.stress.one_core under taskset -c 0.
TEST_CASE("conflating_ring stress on one core: 4 producers sharing every key deliver the "
          "newest write of each, untorn",
          "[conflating_ring][stress][.one_core]") {
    run(config("one core 4P shared", 4, true, one_core_values()));
}

TEST_CASE("conflating_ring stress on one core: 2 producers on disjoint keys deliver each "
          "key's newest value, untorn",
          "[conflating_ring][stress][.one_core]") {
    run(config("one core 2P disjoint", 2, false, one_core_values()));
}
