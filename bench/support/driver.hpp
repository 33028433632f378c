// SPDX-License-Identifier: MIT
// The driver the bus-level benchmarks share: rows and their samples, the common flags, the
// machine header and context, interleaved rounds, Google Benchmark mode, ratio cells.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include <admf/bus/bus_config.hpp>
#include <admf/version.hpp>

#include "support/machine.hpp"
#include "support/report.hpp"
#include "support/stats.hpp"

// Set by bench/CMakeLists.txt from the active configuration.
#ifndef ADMF_BENCH_BUILD_TYPE
#define ADMF_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef ADMF_BENCH_CXX_FLAGS
#define ADMF_BENCH_CXX_FLAGS "unknown"
#endif

namespace admf::bench {

// ---- samples and rows -----------------------------------------------------------------------

/// One throughput sample: `items` handled in `seconds`, and what its checks found.
struct rate_sample {
    double seconds = 0;
    std::uint64_t items = 0;
    std::uint64_t violations = 0;
    std::string problem;
};

/// One latency sample: nearest-rank percentiles (ns) of `count` recorded events.
struct latency_sample {
    double seconds = 0;
    std::size_t count = 0;       // recorded
    std::uint64_t published = 0; // warm-up included
    double p50 = 0, p99 = 0, p999 = 0, max = 0;
    std::uint64_t violations = 0;
    std::string problem;
};

inline void record(bench_row& row, const rate_sample& s) {
    row.mitems_per_s.push_back(s.seconds > 0 ? static_cast<double>(s.items) / s.seconds / 1e6 : 0);
    row.counts.push_back(s.items);
    row.seconds.push_back(s.seconds);
    row.violations += s.violations;
    if (!s.problem.empty()) {
        row.problems.push_back(s.problem);
    }
}

inline void record(bench_row& row, const latency_sample& s) {
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

/// A row and how to measure one more repetition of it under `Config`.
template <class Config>
struct bench_case {
    bench_row row;
    std::function<void(const Config&, bench_row&)> run_once;
};

/// A bus benchmark row: every row's checker fails the run (`ours`), baselines included.
[[nodiscard]] inline bench_row make_row(std::string id, std::string key, std::string display,
                                        std::string scenario, unsigned payload, std::string mode,
                                        row_kind kind) {
    bench_row r;
    r.id = std::move(id);
    r.key = std::move(key);
    r.queue = std::move(display);
    r.ours = true;
    r.scenario = std::move(scenario);
    r.payload = payload;
    r.mode = std::move(mode);
    r.kind = kind;
    return r;
}

/// The rows that ran at least once, in registration order.
template <class Config>
[[nodiscard]] std::vector<const bench_row*> rows_of(const std::vector<bench_case<Config>>& cases) {
    std::vector<const bench_row*> rows;
    for (const auto& c : cases) {
        if (c.row.repetitions() != 0) {
            rows.push_back(&c.row);
        }
    }
    return rows;
}

[[nodiscard]] inline const char* wait_name(admf::wait_kind w) noexcept {
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

// ---- ratios -----------------------------------------------------------------------------------

/// a[i] / b[i] for every round both rows ran (round i of one ran in round i of the other).
[[nodiscard]] inline std::vector<double> within_rounds(const std::vector<double>& a,
                                                       const std::vector<double>& b) {
    std::vector<double> per_round;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        if (b[i] > 0) {
            per_round.push_back(a[i] / b[i]);
        }
    }
    return per_round;
}

/// The ratio of `ours_id` whose `what` starts with `what_prefix`, or nullptr.
[[nodiscard]] inline const ratio* find_ratio(const std::vector<ratio>& ratios,
                                             const std::string& ours_id,
                                             std::string_view what_prefix) {
    for (const ratio& q : ratios) {
        if (q.ours_id == ours_id && q.what.rfind(what_prefix, 0) == 0) {
            return &q;
        }
    }
    return nullptr;
}

/// "0.72x [0.61..0.80]" and, when a bar applies, whether the median meets it ("ok"/"LOW").
/// `fmt` (printf, one double) replaces the default "%.2f" ("%.3f" below 0.1).
[[nodiscard]] inline std::string ratio_cell(const ratio* q, std::optional<double> bar,
                                            bool higher_is_better, const char* fmt = nullptr) {
    if (q == nullptr || q->per_round.empty()) {
        return "-";
    }
    const summary v = q->value();
    if (fmt == nullptr) {
        fmt = v.median < 0.1 ? "%.3f" : "%.2f";
    }
    std::string cell = format(fmt, v.median) + "x [" + format(fmt, v.min) + ".." +
                       format(fmt, v.max) + "]";
    if (bar) {
        const bool ok = higher_is_better ? v.median >= *bar : v.median <= *bar;
        cell += ok ? " ok" : " LOW";
    }
    return cell;
}

// ---- command line -----------------------------------------------------------------------------

/// The flags every bus-level driver takes (each program's usage text documents them).
struct driver_options {
    int interleaved = 0; // 0: Google Benchmark mode
    bool quick = false;
    bool list = false;
    bool self_test = false;
    std::string json;
    std::string filter;
    unsigned seed = 20240601;
    std::optional<long> sample_ms;
    std::optional<std::pair<int, int>> cpus;
};

[[nodiscard]] inline bool starts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.substr(0, prefix.size()) == prefix;
}

/// A non-negative decimal flag value; exits 2 naming the flag otherwise.
[[nodiscard]] inline long parse_number(std::string_view program, std::string_view flag,
                                       std::string_view text) {
    char* end = nullptr;
    const std::string s(text);
    const long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v < 0) {
        std::cerr << program << ": bad value for " << flag << ": '" << s << "'\n";
        std::exit(2);
    }
    return v;
}

/// Parses the common flags; `extra(arg)` is offered every other argument first and returns
/// whether it took it. What neither takes stays in argv (argc shrinks) for Google Benchmark.
/// --help prints `usage` and exits 0.
template <class Extra>
driver_options parse_driver_options(int& argc, char** argv, std::string_view program,
                                    std::string_view usage, Extra&& extra) {
    driver_options o;
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](std::string_view flag) { return a.substr(flag.size()); };
        if (extra(a)) {
            continue;
        }
        if (starts_with(a, "--interleaved=")) {
            o.interleaved =
                static_cast<int>(parse_number(program, "--interleaved", value("--interleaved=")));
        } else if (a == "--quick") {
            o.quick = true;
        } else if (a == "--list") {
            o.list = true;
        } else if (a == "--self-test") {
            o.self_test = true;
        } else if (starts_with(a, "--json=")) {
            o.json = value("--json=");
        } else if (starts_with(a, "--filter=")) {
            o.filter = value("--filter=");
        } else if (starts_with(a, "--sample-ms=")) {
            o.sample_ms = parse_number(program, "--sample-ms", value("--sample-ms="));
        } else if (starts_with(a, "--seed=")) {
            o.seed = static_cast<unsigned>(parse_number(program, "--seed", value("--seed=")));
        } else if (starts_with(a, "--cpus=")) {
            const std::string_view v = value("--cpus=");
            const auto comma = v.find(',');
            if (comma == std::string_view::npos) {
                std::cerr << program << ": --cpus wants two CPUs, A,B\n";
                std::exit(2);
            }
            const long a_cpu = parse_number(program, "--cpus", v.substr(0, comma));
            const long b_cpu = parse_number(program, "--cpus", v.substr(comma + 1));
            o.cpus = std::pair{static_cast<int>(a_cpu), static_cast<int>(b_cpu)};
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

/// Keeps the cases whose row name matches `filter` (a regex; empty keeps all).
template <class Config>
void apply_filter(std::vector<bench_case<Config>>& cases, const std::string& filter) {
    if (!filter.empty()) {
        const std::regex re(filter);
        std::erase_if(cases, [&](const bench_case<Config>& c) {
            return !std::regex_search(c.row.id, re);
        });
    }
}

// ---- machine ------------------------------------------------------------------------------

[[nodiscard]] inline std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

[[nodiscard]] inline std::string admf_version() {
    return std::to_string(ADMF_VERSION_MAJOR) + "." + std::to_string(ADMF_VERSION_MINOR) + "." +
           std::to_string(ADMF_VERSION_PATCH);
}

/// The two CPUs a driver uses: --cpus, else the first two this process may run on (both
/// the same one, or -1 = unpinned, where fewer are allowed).
[[nodiscard]] inline std::pair<int, int> choose_cpus(const driver_options& opt) {
    if (opt.cpus) {
        return *opt.cpus;
    }
    const std::vector<int> allowed = allowed_cpus();
    if (allowed.size() >= 2) {
        return {allowed[0], allowed[1]};
    }
    const int only = allowed.empty() ? -1 : allowed[0];
    return {only, only};
}

/// Whether a thread may be pinned to both CPUs (tried on a scratch thread); warns if not.
[[nodiscard]] inline bool can_pin(std::string_view program, int cpu_a, int cpu_b) {
    bool pinned = true;
    std::thread([&] { pinned = pin_this_thread(cpu_a) && pin_this_thread(cpu_b); }).join();
    if (!pinned) {
        std::cerr << program << ": WARNING: cannot pin to CPUs " << cpu_a << " and " << cpu_b
                  << "; threads run unpinned\n";
    }
    return pinned;
}

/// A JSON context entry per machine and build fact, and the driver's own; `role_a` / `role_b`
/// name what runs on each CPU in the topology keys ("producer", "consumer").
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>>
machine_context(std::string_view program, const driver_options& opt, int cpu_a, int cpu_b,
                const std::string& role_a, const std::string& role_b, const std::string& pinning) {
    const std::vector<int> allowed = allowed_cpus();
    std::string allowed_list = "[";
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        allowed_list += (i ? ", " : "") + std::to_string(allowed[i]);
    }
    allowed_list += "]";
    return {
        {"benchmark", std::string(program)},
        {"admf_version", admf_version()},
        {"date_utc", utc_now()},
        {"cpu_model", cpu_model()},
        {"#logical_cpus", std::to_string(std::thread::hardware_concurrency())},
        {"#allowed_cpus", allowed_list},
        {"kernel", kernel_release()},
        {"#virtualized", under_hypervisor() ? "true" : "false"},
        {role_a + "_cpu_topology", cpu_topology(cpu_a)},
        {role_b + "_cpu_topology", cpu_topology(cpu_b)},
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
    };
}

/// The first lines of an interleaved run's output: rows and rounds, CPU, pinning, topology,
/// build. The program prints its own sample sizes after them.
inline void print_machine_header(std::ostream& out, std::string_view program, std::size_t rows,
                                 int rounds, int cpu_a, int cpu_b, const std::string& pinning) {
    out << program << " " << admf_version() << ": " << rows << " rows x " << rounds
        << " interleaved rounds\n"
        << "  cpu       " << cpu_model() << ", " << std::thread::hardware_concurrency()
        << " logical CPUs, " << kernel_release()
        << (under_hypervisor() ? ", virtual machine (figures move with vCPU placement)" : "")
        << "\n"
        << "  pinning   " << pinning << "\n"
        << "  topology  CPU " << cpu_a << ": " << cpu_topology(cpu_a) << "; CPU " << cpu_b << ": "
        << cpu_topology(cpu_b) << "\n"
        << "  build     " << compiler_version() << ", " << ADMF_BENCH_BUILD_TYPE << ", "
        << ADMF_BENCH_CXX_FLAGS << "\n";
}

// ---- running ----------------------------------------------------------------------------------

/// `rounds` rounds; each runs every case `times(row)` times, all in one order shuffled per
/// round (seeded), so slow phases of the machine spread over all rows. Progress on stderr.
template <class Config, class Times>
void run_interleaved(std::vector<bench_case<Config>>& cases, const Config& cfg, int rounds,
                     unsigned seed, std::string_view program, Times times) {
    std::mt19937 rng(seed);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        order.insert(order.end(), static_cast<std::size_t>(std::max(1, times(cases[i].row))), i);
    }
    const auto started = std::chrono::steady_clock::now();
    for (int round = 1; round <= rounds; ++round) {
        std::shuffle(order.begin(), order.end(), rng);
        for (const std::size_t i : order) {
            cases[i].run_once(cfg, cases[i].row);
        }
        std::cerr << program << ": round " << round << "/" << rounds << " done, "
                  << format("%.1f", std::chrono::duration<double>(
                                        std::chrono::steady_clock::now() - started)
                                        .count())
                  << " s\n";
    }
}

/// Plain Google Benchmark mode: one benchmark per case, one repetition per iteration,
/// manual time = the sample's duration. Returns the exit status (2: unknown flags).
template <class Config>
int run_google_benchmark(std::vector<bench_case<Config>>& cases, const Config& cfg, int& argc,
                         char** argv) {
    for (auto& c : cases) {
        auto* b =
            benchmark::RegisterBenchmark(c.row.id.c_str(), [&c, &cfg](benchmark::State& state) {
                std::uint64_t violations = 0;
                for (auto _ : state) {
                    const std::uint64_t before = c.row.violations;
                    c.run_once(cfg, c.row);
                    violations += c.row.violations - before;
                    state.SetIterationTime(std::max(c.row.seconds.back(), 1e-9));
                }
                const bench_row& r = c.row;
                if (r.kind == row_kind::throughput) {
                    state.SetItemsProcessed(static_cast<std::int64_t>(r.counts.back()));
                } else {
                    state.counters["p50_ns"] = r.p50.back();
                    state.counters["p99_ns"] = r.p99.back();
                    state.counters["p999_ns"] = r.p999.back();
                    state.counters["events"] = static_cast<double>(r.counts.back());
                }
                state.counters["violations"] = static_cast<double>(violations);
                state.SetLabel(r.mode);
            });
        b->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 2;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

/// Prints "VIOLATION in <row>: ..." on stderr for every failed row; returns how many.
template <class Config>
std::size_t report_violations(const std::vector<bench_case<Config>>& cases,
                              std::string_view program) {
    std::size_t failed = 0;
    for (const auto& c : cases) {
        if (c.row.failed()) {
            ++failed;
            std::cerr << program << ": VIOLATION in " << c.row.id << ": " << c.row.violations
                      << " violation(s)"
                      << (c.row.problems.empty() ? "" : "; " + c.row.problems.front()) << '\n';
        }
    }
    return failed;
}

/// Writes the JSON report to `path`; false (with a message) when it cannot.
inline bool write_json_file(const std::string& path, std::string_view program,
                            const std::vector<std::pair<std::string, std::string>>& context,
                            const std::vector<const bench_row*>& rows,
                            const std::vector<ratio>& ratios) {
    std::ofstream out(path);
    write_json(out, context, rows, ratios);
    if (!out) {
        std::cerr << program << ": cannot write " << path << '\n';
        return false;
    }
    std::cout << "\nJSON: " << path << '\n';
    return true;
}

} // namespace admf::bench
