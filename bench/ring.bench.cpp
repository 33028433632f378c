// SPDX-License-Identifier: MIT
// admf-ring-bench: throughput and round-trip latency of admf's rings beside peer queues.
//
// Two ways to run it (bench/README.md has the methodology; scripts/bench.sh runs the first):
//   admf-ring-bench --interleaved=7 [--json=out.json]   the driver: 7 rounds, each running
//       every row once in a shuffled order; prints median/min/max per row and the ratios.
//   admf-ring-bench [--benchmark_filter=...]            plain Google Benchmark (rows run one
//       after another; --benchmark_repetitions repeats a row back to back, not interleaved).
// Every sample checks what the consumer received. A violation in one of admf's rings (in any
// row with --strict) makes the exit status 1; a peer's is reported beside its figure.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include <admf/version.hpp>

#include "support/backoff.hpp"
#include "support/machine.hpp"
#include "support/payload.hpp"
#include "support/queues.hpp"
#include "support/report.hpp"
#include "support/scenarios.hpp"
#include "support/stats.hpp"

#ifndef ADMF_BENCH_BUILD_TYPE
#define ADMF_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef ADMF_BENCH_CXX_FLAGS
#define ADMF_BENCH_CXX_FLAGS "unknown"
#endif

namespace {

using namespace admf::bench;

/// A row and how to measure one more repetition of it.
struct bench_case {
    bench_row row;
    std::function<void(const run_config&, bench_row&)> run_once;
};

void record(bench_row& row, const throughput_sample& s) {
    row.mitems_per_s.push_back(s.seconds > 0 ? static_cast<double>(s.items) / s.seconds / 1e6 : 0);
    row.counts.push_back(s.items);
    row.seconds.push_back(s.seconds);
    row.violations += s.violations;
    if (!s.problem.empty()) {
        row.problems.push_back(s.problem);
    }
}

void record(bench_row& row, const round_trip_sample& s) {
    row.p50.push_back(s.p50);
    row.p99.push_back(s.p99);
    row.p999.push_back(s.p999);
    row.max.push_back(s.max);
    row.counts.push_back(s.count);
    row.seconds.push_back(s.seconds);
    row.violations += s.violations;
    if (!s.problem.empty()) {
        row.problems.push_back(s.problem);
    }
}

bench_row make_row(std::string id, const char* key, const char* queue, bool ours,
                   const char* scenario, unsigned payload, const char* mode, const char* batch_api,
                   row_kind kind) {
    bench_row r;
    r.id = std::move(id);
    r.key = key;
    r.queue = queue;
    r.ours = ours;
    r.scenario = scenario;
    r.payload = payload;
    r.mode = mode;
    r.batch_api = batch_api;
    r.kind = kind;
    return r;
}

struct queue_info {
    const char* key;     // BM_<key>_...
    const char* display; // table
    bool ours;
};

template <template <class> class Queue, class T>
void add_rows(std::vector<bench_case>& cases, const queue_info& info) {
    using Q = Queue<T>;
    constexpr unsigned bytes = sizeof(T);
    const std::string base = std::string("BM_") + info.key + "_";
    const char* batch_api = "";
    if constexpr (has_pop_batch<Q>) {
        batch_api = Q::batch_api;
    }
    auto throughput = [&](const char* scenario, unsigned producer_count, consume_mode mode) {
        bench_case c;
        const char* mode_name = mode == consume_mode::single ? "single" : "batched";
        c.row = make_row(base + scenario + "/" + std::to_string(bytes) + "/" + mode_name, info.key,
                         info.display, info.ours, scenario, bytes, mode_name, batch_api,
                         row_kind::throughput);
        c.run_once = [producer_count, mode](const run_config& cfg, bench_row& row) {
            record(row, run_throughput<Q>(cfg, producer_count, mode));
        };
        cases.push_back(std::move(c));
    };
    throughput("1p1c", 1, consume_mode::single);
    if constexpr (has_pop_batch<Q>) {
        throughput("1p1c", 1, consume_mode::batched);
    }
    if constexpr (Q::multi_producer) {
        throughput("2p1c", 2, consume_mode::single);
        if constexpr (has_pop_batch<Q>) {
            throughput("2p1c", 2, consume_mode::batched);
        }
    }
    bench_case rtt;
    rtt.row = make_row(base + "rtt/" + std::to_string(bytes), info.key, info.display, info.ours,
                       "rtt", bytes, "single", "", row_kind::round_trip);
    rtt.run_once = [](const run_config& cfg, bench_row& row) {
        record(row, run_round_trip<Q>(cfg));
    };
    cases.push_back(std::move(rtt));
}

template <template <class> class Queue>
void add_queue(std::vector<bench_case>& cases, const queue_info& info) {
    add_rows<Queue, payload<8>>(cases, info);
    add_rows<Queue, payload<64>>(cases, info);
}

/// Every row, in display order within each scenario; `missing` lists peers not compiled in.
/// `self_test` adds only the rows of a deliberately faulty ring (see faulty_spsc_ring).
std::vector<bench_case> make_cases([[maybe_unused]] std::vector<std::string>& missing,
                                   bool self_test) {
    std::vector<bench_case> cases;
    if (self_test) {
        bench_case faulty;
        faulty.row = make_row("BM_faulty_spsc_ring_1p1c/8/single", "faulty_spsc_ring",
                              "self-test: faulty spsc_ring", true, "1p1c", 8, "single", "",
                              row_kind::throughput);
        faulty.run_once = [](const run_config& cfg, bench_row& row) {
            record(row, run_throughput<faulty_spsc_ring<payload<8>>>(cfg, 1, consume_mode::single));
        };
        cases.push_back(std::move(faulty));
        return cases;
    }
    bench_case ping_pong;
    ping_pong.row = make_row("BM_pingpong_rtt/8", "pingpong", "ping-pong, 1 shared line (ref)",
                             false, "rtt", 8, "-", "", row_kind::round_trip);
    ping_pong.run_once = [](const run_config& cfg, bench_row& row) {
        record(row, run_ping_pong(cfg, true));
    };
    cases.push_back(std::move(ping_pong));
    bench_case ping_pong2;
    ping_pong2.row = make_row("BM_pingpong2_rtt/8", "pingpong2", "ping-pong, 2 lines (ref)", false,
                              "rtt", 8, "-", "", row_kind::round_trip);
    ping_pong2.run_once = [](const run_config& cfg, bench_row& row) {
        record(row, run_ping_pong(cfg, false));
    };
    cases.push_back(std::move(ping_pong2));

    add_queue<spsc_ring_queue>(cases, {"spsc_ring", "admf::spsc_ring", true});
    add_queue<mpmc_ring_queue>(cases, {"mpmc_ring", "admf::mpmc_ring", true});
    add_queue<mpsc_ring_queue>(cases, {"mpsc_ring", "admf::mpsc_ring", true});
#if ADMF_BENCH_HAVE_BOOST
    add_queue<boost_spsc_ring_queue>(cases, {"boost_spsc_ring", "admf::boost_spsc_ring", true});
#else
    missing.emplace_back(
        "admf::boost_spsc_ring, boost::lockfree::spsc_queue, boost::lockfree::queue");
#endif
#if ADMF_BENCH_HAVE_CONCURRENTQUEUE
    add_queue<moodycamel_ring_queue>(cases, {"moodycamel_ring", "admf::moodycamel_ring", true});
#else
    missing.emplace_back("admf::moodycamel_ring, moodycamel::ConcurrentQueue");
#endif
#if ADMF_BENCH_HAVE_READERWRITERQUEUE
    add_queue<reader_writer_queue>(cases,
                                   {"reader_writer_queue", "moodycamel::ReaderWriterQueue", false});
#else
    missing.emplace_back("moodycamel::ReaderWriterQueue");
#endif
#if ADMF_BENCH_HAVE_ATOMIC_QUEUE
    add_queue<atomic_queue_spsc>(cases,
                                 {"atomic_queue_spsc", "atomic_queue::AtomicQueueB2 SPSC", false});
    add_queue<atomic_queue_mpmc>(cases,
                                 {"atomic_queue_mpmc", "atomic_queue::AtomicQueueB2 MPMC", false});
#else
    missing.emplace_back("atomic_queue");
#endif
#if ADMF_BENCH_HAVE_BOOST
    add_queue<boost_spsc_queue>(cases, {"boost_spsc_queue", "boost::lockfree::spsc_queue", false});
    add_queue<boost_queue>(cases, {"boost_queue", "boost::lockfree::queue", false});
#endif
#if ADMF_BENCH_HAVE_CONCURRENTQUEUE
    add_queue<concurrent_queue>(
        cases, {"concurrent_queue", "moodycamel::ConcurrentQueue (tokens)", false});
#endif
    add_queue<mutex_queue>(cases, {"mutex_queue", "std::mutex+deque+condvar", false});
    return cases;
}

// ---- ratios ------------------------------------------------------------------------------

const bench_row* find_row(const std::vector<const bench_row*>& rows, std::string_view key,
                          std::string_view scenario, unsigned payload, std::string_view mode) {
    for (const bench_row* r : rows) {
        if (r->key == key && r->scenario == scenario && r->payload == payload &&
            (mode.empty() || r->mode == mode) && r->repetitions() != 0) {
            return r;
        }
    }
    return nullptr;
}

const std::vector<double>& figures(const bench_row& r) {
    return r.kind == row_kind::throughput ? r.mitems_per_s : r.p50;
}

double median_of(const bench_row& r) {
    return summarize(figures(r)).median;
}

std::vector<ratio> make_ratios(const std::vector<const bench_row*>& rows) {
    std::vector<ratio> out;
    auto add = [&](std::string what, const bench_row* ours, const bench_row* theirs) {
        if (ours == nullptr || theirs == nullptr) {
            return;
        }
        const std::string context = scenario_label(ours->scenario) + ", " +
                                    std::to_string(ours->payload) + " B" +
                                    (ours->scenario == "rtt" ? "" : ", " + ours->mode);
        // Round r of one row ran in the same round as round r of the other.
        std::vector<double> per_round;
        const auto& a = figures(*ours);
        const auto& b = figures(*theirs);
        for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
            if (b[i] > 0) {
                per_round.push_back(a[i] / b[i]);
            }
        }
        out.push_back({std::move(what), context, ours->id, theirs->id, theirs->queue,
                       median_of(*ours), median_of(*theirs), std::move(per_round),
                       ours->kind == row_kind::throughput ? "M items/s" : "ns p50"});
    };
    for (const unsigned payload : {8u, 64u}) {
        for (const char* mode : {"single", "batched"}) {
            const bench_row* best = nullptr;
            for (const char* peer :
                 {"reader_writer_queue", "atomic_queue_spsc", "boost_spsc_queue"}) {
                const bench_row* r = find_row(rows, peer, "1p1c", payload, mode);
                if (r != nullptr && (best == nullptr || median_of(*r) > median_of(*best))) {
                    best = r;
                }
            }
            add("spsc_ring / best SPSC peer", find_row(rows, "spsc_ring", "1p1c", payload, mode),
                best);
        }
    }
    for (const unsigned payload : {8u, 64u}) {
        for (const char* mode : {"single", "batched"}) {
            add("mpmc_ring / ConcurrentQueue (tokens)",
                find_row(rows, "mpmc_ring", "2p1c", payload, mode),
                find_row(rows, "concurrent_queue", "2p1c", payload, mode));
        }
        for (const char* mode : {"single", "batched"}) {
            add("mpsc_ring / ConcurrentQueue (tokens)",
                find_row(rows, "mpsc_ring", "2p1c", payload, mode),
                find_row(rows, "concurrent_queue", "2p1c", payload, mode));
        }
        add("mpmc_ring / boost::lockfree::queue",
            find_row(rows, "mpmc_ring", "2p1c", payload, "single"),
            find_row(rows, "boost_queue", "2p1c", payload, "single"));
    }
    for (const unsigned payload : {8u, 64u}) {
        add("spsc_ring p50 / ping-pong p50", find_row(rows, "spsc_ring", "rtt", payload, ""),
            find_row(rows, "pingpong", "rtt", 8, ""));
        add("spsc_ring p50 / 2-line ping-pong p50", find_row(rows, "spsc_ring", "rtt", payload, ""),
            find_row(rows, "pingpong2", "rtt", 8, ""));
    }
    return out;
}

// ---- command line ------------------------------------------------------------------------

struct options {
    int interleaved = 0; // 0: Google Benchmark mode
    bool quick = false;
    bool list = false;
    bool strict = false;
    bool self_test = false;
    std::string json;
    std::string filter;
    std::optional<long> sample_ms;
    std::optional<long> round_trips;
    std::optional<int> rtt_per_round_flag;
    int rtt_per_round = 3;
    unsigned seed = 20240601;
    std::optional<std::pair<int, int>> cpus;
};

constexpr std::string_view usage = R"(usage: admf-ring-bench [options] [Google Benchmark flags]
  --interleaved=N     driver mode: N rounds, each runs every row once in a shuffled order;
                      prints median/min/max per row, the ratios, and exits 1 on violations
  --quick             tiny samples (5 ms, 500 round trips): proves the build and checkers
  --json=PATH         write every row, repetition and the machine/build context as JSON
  --filter=REGEX      only rows whose name (BM_<queue>_<scenario>/<payload>/<mode>) matches
  --sample-ms=N       producers push for N ms per throughput sample (default 150)
  --round-trips=N     measured round trips per latency sample (default 20000)
  --rtt-per-round=K   latency samples per round-trip row per round, at independent
                      positions in the round (default 3; 1 with --quick)
  --seed=N            shuffle seed for the driver (default 20240601)
  --cpus=P,C          producer/initiator CPU and consumer/echo CPU (default: the first two
                      CPUs this process may use; 2P->1C puts both producers on P)
  --list              print the row names and exit
  --strict            also exit 1 when a peer (not one of admf's rings) shows violations;
                      by default a peer's violations are reported but do not fail the run
  --self-test         run only a deliberately faulty ring, to prove the checker and the exit
                      status catch a lost and a duplicated element (exits 1)
Without --interleaved the Google Benchmark runner runs (e.g. --benchmark_filter=spsc).
)";

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

/// Consumes our flags; leaves the others (Google Benchmark's) in argv. Exits on bad input.
options parse(int& argc, char** argv) {
    options o;
    int kept = 1;
    auto number = [](std::string_view flag, std::string_view text) {
        char* end = nullptr;
        const std::string s(text);
        const long v = std::strtol(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || v < 0) {
            std::cerr << "admf-ring-bench: bad value for " << flag << ": '" << s << "'\n";
            std::exit(2);
        }
        return v;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](std::string_view flag) { return a.substr(flag.size()); };
        if (starts_with(a, "--interleaved=")) {
            o.interleaved = static_cast<int>(number("--interleaved", value("--interleaved=")));
        } else if (a == "--quick") {
            o.quick = true;
        } else if (a == "--list") {
            o.list = true;
        } else if (a == "--strict") {
            o.strict = true;
        } else if (a == "--self-test") {
            o.self_test = true;
        } else if (starts_with(a, "--json=")) {
            o.json = value("--json=");
        } else if (starts_with(a, "--filter=")) {
            o.filter = value("--filter=");
        } else if (starts_with(a, "--sample-ms=")) {
            o.sample_ms = number("--sample-ms", value("--sample-ms="));
        } else if (starts_with(a, "--round-trips=")) {
            o.round_trips = number("--round-trips", value("--round-trips="));
        } else if (starts_with(a, "--rtt-per-round=")) {
            o.rtt_per_round_flag =
                static_cast<int>(number("--rtt-per-round", value("--rtt-per-round=")));
        } else if (starts_with(a, "--seed=")) {
            o.seed = static_cast<unsigned>(number("--seed", value("--seed=")));
        } else if (starts_with(a, "--cpus=")) {
            const std::string_view v = value("--cpus=");
            const auto comma = v.find(',');
            if (comma == std::string_view::npos) {
                std::cerr << "admf-ring-bench: --cpus wants P,C\n";
                std::exit(2);
            }
            o.cpus = std::pair{static_cast<int>(number("--cpus", v.substr(0, comma))),
                               static_cast<int>(number("--cpus", v.substr(comma + 1)))};
        } else if (a == "--help" || a == "-h") {
            std::cout << usage;
            std::exit(0);
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    return o;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : sep) + p;
    }
    return out;
}

// Rows in table order: scenario, payload, mode, then registration order (ours first).
std::vector<const bench_row*> ordered(const std::vector<bench_case>& cases) {
    std::vector<const bench_row*> rows;
    for (const auto& c : cases) {
        if (c.row.repetitions() != 0) {
            rows.push_back(&c.row);
        }
    }
    auto rank = [](const bench_row* r) {
        const int scenario = r->scenario == "1p1c" ? 0 : r->scenario == "2p1c" ? 1 : 2;
        const int mode = r->mode == "batched" ? 1 : 0;
        return std::tuple{scenario, r->payload, mode};
    };
    std::stable_sort(rows.begin(), rows.end(),
                     [&](const bench_row* a, const bench_row* b) { return rank(a) < rank(b); });
    return rows;
}

} // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);

    run_config cfg;
    if (opt.quick) {
        cfg.sample = std::chrono::milliseconds(5);
        cfg.round_trips = 500;
        cfg.warmup_round_trips = 50;
        cfg.round_trip_cap = std::chrono::milliseconds(50);
    }
    if (opt.sample_ms) {
        cfg.sample = std::chrono::milliseconds(*opt.sample_ms);
    }
    if (opt.round_trips) {
        cfg.round_trips = static_cast<std::size_t>(*opt.round_trips);
    }
    const int rtt_per_round =
        std::max(1, opt.rtt_per_round_flag.value_or(opt.quick ? 1 : opt.rtt_per_round));
    const std::vector<int> allowed = allowed_cpus();
    if (opt.cpus) {
        cfg.producer_cpu = opt.cpus->first;
        cfg.consumer_cpu = opt.cpus->second;
    } else if (allowed.size() >= 2) {
        cfg.producer_cpu = allowed[0];
        cfg.consumer_cpu = allowed[1];
    } else {
        cfg.producer_cpu = cfg.consumer_cpu = allowed.empty() ? -1 : allowed[0];
    }

    std::vector<std::string> missing;
    std::vector<bench_case> cases = make_cases(missing, opt.self_test);
    if (!opt.filter.empty()) {
        const std::regex re(opt.filter);
        std::erase_if(cases, [&](const bench_case& c) { return !std::regex_search(c.row.id, re); });
    }
    if (opt.list) {
        for (const auto& c : cases) {
            std::cout << c.row.id << '\n';
        }
        return 0;
    }

    // Pinning can be refused (a CPU outside the cgroup's set, --cpus beyond the machine); the
    // workers then run unpinned, and the report must say so.
    bool pinned = true;
    std::thread([&] {
        pinned = pin_this_thread(cfg.producer_cpu) && pin_this_thread(cfg.consumer_cpu);
    }).join();
    if (!pinned) {
        std::cerr << "admf-ring-bench: WARNING: cannot pin to CPUs " << cfg.producer_cpu << " and "
                  << cfg.consumer_cpu << "; threads run unpinned\n";
    }
    const std::string pinning =
        std::string(pinned ? "" : "REFUSED, threads unpinned: ") +
        "producers and round-trip initiator on CPU " + std::to_string(cfg.producer_cpu) +
        ", consumer and echo on CPU " + std::to_string(cfg.consumer_cpu) +
        " (2P->1C: both producers share CPU " + std::to_string(cfg.producer_cpu) + ")" +
        (cfg.producer_cpu == cfg.consumer_cpu ? " -- ONE CPU ONLY: threads time-share it" : "");
    const double clock_ns = clock_read_ns();
    std::vector<std::pair<std::string, std::string>> context = {
        {"benchmark", "admf-ring-bench"},
        {"admf_version", std::to_string(ADMF_VERSION_MAJOR) + "." +
                             std::to_string(ADMF_VERSION_MINOR) + "." +
                             std::to_string(ADMF_VERSION_PATCH)},
        {"date_utc", utc_now()},
        {"cpu_model", cpu_model()},
        {"#logical_cpus", std::to_string(std::thread::hardware_concurrency())},
        {"#allowed_cpus",
         [&] {
             std::string s = "[";
             for (std::size_t i = 0; i < allowed.size(); ++i) {
                 s += (i ? ", " : "") + std::to_string(allowed[i]);
             }
             return s + "]";
         }()},
        {"kernel", kernel_release()},
        {"#virtualized", under_hypervisor() ? "true" : "false"},
        {"producer_cpu_topology", cpu_topology(cfg.producer_cpu)},
        {"consumer_cpu_topology", cpu_topology(cfg.consumer_cpu)},
        {"compiler", compiler_version()},
        {"build_type", ADMF_BENCH_BUILD_TYPE},
        {"cxx_flags", ADMF_BENCH_CXX_FLAGS},
#ifdef NDEBUG
        {"#ndebug", "true"},
#else
        {"#ndebug", "false"},
#endif
        {"pinning", pinning},
        {"driver", opt.interleaved > 0 ? "interleaved" : "google-benchmark"},
        {"#rounds", std::to_string(opt.interleaved > 0 ? opt.interleaved : 0)},
        {"#seed", std::to_string(opt.seed)},
        {"#sample_ms", std::to_string(cfg.sample.count())},
        {"#capacity", std::to_string(cfg.capacity)},
        {"#batch", std::to_string(cfg.batch)},
        {"#round_trips", std::to_string(cfg.round_trips)},
        {"#warmup_round_trips", std::to_string(cfg.warmup_round_trips)},
        {"#round_trip_cap_ms", std::to_string(cfg.round_trip_cap.count())},
        {"#round_trip_samples_per_round", std::to_string(opt.interleaved > 0 ? rtt_per_round : 1)},
        {"#clock_read_ns", format("%.1f", clock_ns)},
        {"#spin_limit", std::to_string(backoff::spin_limit)},
        {"missing_peers", join(missing, "; ")},
    };

    bool failed = false;
    if (opt.interleaved <= 0) {
        // Google Benchmark mode: one registered benchmark per row, one sample per iteration.
        for (auto& c : cases) {
            auto* b =
                benchmark::RegisterBenchmark(c.row.id.c_str(), [&c, &cfg](benchmark::State& state) {
                    std::uint64_t violations = 0;
                    for (auto _ : state) {
                        const std::uint64_t before = c.row.violations;
                        c.run_once(cfg, c.row);
                        violations += c.row.violations - before;
                        state.SetIterationTime(c.row.seconds.back());
                    }
                    const bench_row& r = c.row;
                    if (r.kind == row_kind::throughput) {
                        state.SetItemsProcessed(static_cast<std::int64_t>(r.counts.back()));
                    } else {
                        state.counters["p50_ns"] = r.p50.back();
                        state.counters["p99_ns"] = r.p99.back();
                        state.counters["p999_ns"] = r.p999.back();
                        state.counters["round_trips"] = static_cast<double>(r.counts.back());
                    }
                    state.counters["violations"] = static_cast<double>(violations);
                    state.SetLabel(r.mode == "batched" ? r.batch_api : r.mode);
                });
            b->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
        }
        benchmark::Initialize(&argc, argv);
        if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
            return 2;
        }
        benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
    } else {
        if (argc > 1) {
            std::cerr << "admf-ring-bench: unknown argument '" << argv[1] << "' (see --help)\n";
            return 2;
        }
        std::cout << "admf-ring-bench " << context[1].second << ": " << cases.size() << " rows x "
                  << opt.interleaved << " interleaved rounds\n"
                  << "  cpu       " << cpu_model() << ", " << std::thread::hardware_concurrency()
                  << " logical CPUs, " << kernel_release()
                  << (under_hypervisor() ? ", virtual machine (figures move with vCPU placement)"
                                         : "")
                  << "\n"
                  << "  pinning   " << pinning << "\n"
                  << "  topology  CPU " << cfg.producer_cpu << ": "
                  << cpu_topology(cfg.producer_cpu) << "; CPU " << cfg.consumer_cpu << ": "
                  << cpu_topology(cfg.consumer_cpu) << "\n"
                  << "  build     " << compiler_version() << ", " << ADMF_BENCH_BUILD_TYPE << ", "
                  << ADMF_BENCH_CXX_FLAGS << "\n"
                  << "  samples   throughput: producers push " << cfg.sample.count()
                  << " ms, capacity " << cfg.capacity << ", batch <= " << cfg.batch
                  << "; round trip: " << rtt_per_round << " x " << cfg.round_trips << " (cap "
                  << cfg.round_trip_cap.count() << " ms) after " << cfg.warmup_round_trips
                  << " warm-up; steady_clock read " << format("%.1f", clock_ns)
                  << " ns (inside every latency sample)\n";
        if (!missing.empty()) {
            std::cout << "  not built " << join(missing, "; ") << "\n";
        }
        std::cout << std::flush;

        std::mt19937 rng(opt.seed);
        // A round-trip row runs `rtt_per_round` times per round, at independent positions: its
        // samples last milliseconds, so each lands wholly inside whatever state the machine is
        // in at that moment (on a VM, fast or slow vCPU placement); more, spread-out samples
        // keep its median from following one unlucky moment. Throughput samples (150 ms) do
        // not need it.
        std::vector<std::size_t> order;
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const int times = cases[i].row.kind == row_kind::round_trip ? rtt_per_round : 1;
            order.insert(order.end(), static_cast<std::size_t>(times), i);
        }
        const auto started = bench_clock::now();
        for (int round = 1; round <= opt.interleaved; ++round) {
            std::shuffle(order.begin(), order.end(), rng);
            for (const std::size_t i : order) {
                cases[i].run_once(cfg, cases[i].row);
            }
            std::cerr << "admf-ring-bench: round " << round << "/" << opt.interleaved << " done, "
                      << format("%.1f",
                                std::chrono::duration<double>(bench_clock::now() - started).count())
                      << " s\n";
        }

        const auto rows = ordered(cases);
        std::vector<const bench_row*> throughput_rows;
        std::vector<const bench_row*> round_trip_rows;
        for (const bench_row* r : rows) {
            (r->kind == row_kind::throughput ? throughput_rows : round_trip_rows).push_back(r);
        }
        if (!throughput_rows.empty()) {
            std::cout
                << "\nThroughput (M items/s; median, min and max over " << opt.interleaved
                << " interleaved rounds; mode single = try_pop loop, batched = see legend)\n\n";
            print_throughput_table(std::cout, throughput_rows);
            std::map<std::string, std::string> legend;
            for (const bench_row* r : throughput_rows) {
                if (r->mode == "batched") {
                    legend.emplace(r->queue, r->batch_api);
                }
            }
            if (!legend.empty()) {
                std::cout << "\nBatched consumer, per queue (no row: the queue has no bulk API):\n";
                for (const auto& [queue, api] : legend) {
                    std::cout << "  " << pad(queue, queue_width) << api << '\n';
                }
            }
        }
        if (!round_trip_rows.empty()) {
            std::cout << "\nRound trip (ns; two queues, one element in flight; medians over "
                      << opt.interleaved << " rounds x " << rtt_per_round << " samples)\n\n";
            print_round_trip_table(std::cout, round_trip_rows);
        }
        const std::vector<ratio> ratios = make_ratios(rows);
        if (!ratios.empty()) {
            std::cout
                << "\nRatios: median [min..max] over rounds of ours/theirs within a round "
                   "(throughput: > 1 = admf faster;\nround trip: 1 = the ping-pong reference, "
                   "higher = slower), then both rows' medians\n";
            print_ratios(std::cout, ratios);
        }
        std::cout << std::flush;
    }

    std::size_t failed_rows = 0;
    for (const auto& c : cases) {
        if (c.row.failed()) {
            const bool fails_run = c.row.ours || opt.strict;
            failed_rows += fails_run ? 1 : 0;
            std::cerr << "admf-ring-bench: "
                      << (fails_run ? "VIOLATION" : "peer violation (reported, not failing)")
                      << " in " << c.row.id << ": " << c.row.violations << " violation(s)"
                      << (c.row.problems.empty() ? "" : "; " + c.row.problems.front()) << '\n';
        }
    }
    failed = failed_rows != 0;

    if (!opt.json.empty()) {
        const auto rows = ordered(cases);
        std::ofstream out(opt.json);
        write_json(out, context, rows, make_ratios(rows));
        if (!out) {
            std::cerr << "admf-ring-bench: cannot write " << opt.json << '\n';
            return 2;
        }
        std::cout << "\nJSON: " << opt.json << '\n';
    }
    if (failed) {
        std::cerr << "admf-ring-bench: " << failed_rows << " row(s) with violations\n";
        return 1;
    }
    return 0;
}
