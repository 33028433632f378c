// SPDX-License-Identifier: MIT
// admf-ipc-bench: admf::ipc::channel between two processes beside admf::spsc_ring between two
// threads: paced one-way latency, ping-pong round trip and one-way throughput, in one run.
//
// Methodology. Both sides busy-poll (try_receive / try_pop, cpu_relax when empty): exactly two
// spinning threads, one per CPU (pinned to the first two allowed CPUs unless --no-pin). The
// producer stamps steady_clock (CLOCK_MONOTONIC, one clock for every process of the machine)
// into the 32-byte event; the consumer records now - stamp into an admf::latency_histogram.
// The latency run is paced by intended send times (event i is due at start + i / rate; the
// producer spins until then, never sleeps), and two figures are kept: from the actual send
// stamp (the transport) and from the intended time (also counts a producer that was late,
// e.g. descheduled: no coordinated omission). The first 1000 events of a run are warm-up and
// not recorded. Every run checks that events arrive complete and in order (exit 1 otherwise).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <admf/core/platform.hpp>
#include <admf/ipc/channel.hpp>
#include <admf/metrics/latency_histogram.hpp>
#include <admf/ring/spsc_ring.hpp>

#include "support/machine.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct wire_event {
    std::uint64_t sequence;
    std::int64_t intended_ns;  // latency: when it was due; throughput: the producer's start
    std::int64_t sent_ns;      // steady_clock just before try_send / try_push
    std::uint64_t payload;
};
static_assert(sizeof(wire_event) == 32, "the benchmark's events are 32 bytes");

[[nodiscard]] std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
        .count();
}

struct options {
    std::uint64_t events = 10'000'000;       // throughput run
    std::uint64_t latency_events = 500'000;  // paced run (5 s at 100 k/s)
    std::uint64_t round_trips = 200'000;
    std::uint64_t rate = 100'000;            // events/s of the paced run
    std::uint32_t capacity = 4096;           // frames per ring, both transports
    bool pin = true;
    std::string json;
};

// The two CPUs the two spinning sides use (-1: unpinned).
int cpu_a = -1;
int cpu_b = -1;

constexpr std::uint64_t warmup_events = 1000;
constexpr std::int64_t stall_limit_ns = 10'000'000'000;  // no progress for 10 s: a failure

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "admf-ipc-bench: FAILED: %s\n", what);
    std::exit(1);
}

/// Spins until `poll()` is true, with cpu_relax; fails the run after stall_limit_ns.
template <class Poll>
ADMF_ALWAYS_INLINE void spin_until(Poll&& poll, const char* what) {
    std::uint32_t spins = 0;
    std::int64_t since = 0;
    while (!poll()) {
        admf::cpu_relax();
        if ((++spins & 0xffffU) == 0) {
            const std::int64_t t = now_ns();
            if (since == 0) {
                since = t;
            } else if (t - since > stall_limit_ns) {
                fail(what);
            }
        }
    }
}

// ---- the three workloads, over any try_send/try_receive pair --------------------------------

template <class Send>
void produce_paced(Send&& send, std::uint64_t n, std::uint64_t rate) {
    const std::int64_t interval = 1'000'000'000 / static_cast<std::int64_t>(rate);
    const std::int64_t start = now_ns() + 10'000'000;  // 10 ms for the consumer to be spinning
    for (std::uint64_t i = 0; i != n; ++i) {
        wire_event e{i, start + static_cast<std::int64_t>(i) * interval, 0, i * 3};
        while (now_ns() < e.intended_ns) {
            admf::cpu_relax();
        }
        e.sent_ns = now_ns();
        spin_until([&] { return send(e); }, "paced producer: ring stayed full");
    }
}

struct latency_result {
    admf::latency_histogram from_send;
    admf::latency_histogram from_intended;
};

template <class Receive>
void consume_paced(Receive&& receive, std::uint64_t n, latency_result& out) {
    wire_event e{};
    for (std::uint64_t i = 0; i != n; ++i) {
        spin_until([&] { return receive(e); }, "paced consumer: no event for 10 s");
        const std::int64_t t = now_ns();
        if (e.sequence != i || e.payload != i * 3) {
            fail("paced consumer: event out of order or damaged");
        }
        if (i >= warmup_events) {
            out.from_send.record(t - e.sent_ns);
            out.from_intended.record(t - e.intended_ns);
        }
    }
}

template <class Send>
void produce_flat_out(Send&& send, std::uint64_t n) {
    const std::int64_t start = now_ns();
    for (std::uint64_t i = 0; i != n; ++i) {
        const wire_event e{i, start, 0, i * 3};
        spin_until([&] { return send(e); }, "throughput producer: ring stayed full");
    }
}

/// Returns events/s from the producer's start stamp to the last event's arrival.
template <class Receive>
double consume_flat_out(Receive&& receive, std::uint64_t n) {
    wire_event e{};
    std::int64_t start = 0;
    for (std::uint64_t i = 0; i != n; ++i) {
        spin_until([&] { return receive(e); }, "throughput consumer: no event for 10 s");
        if (e.sequence != i || e.payload != i * 3) {
            fail("throughput consumer: event out of order or damaged");
        }
        start = e.intended_ns;
    }
    const double seconds = static_cast<double>(now_ns() - start) * 1e-9;
    return static_cast<double>(n) / seconds;
}

template <class Send, class Receive>
void ping(Send&& send, Receive&& receive, std::uint64_t n, admf::latency_histogram& rtt) {
    wire_event back{};
    for (std::uint64_t i = 0; i != n; ++i) {
        const wire_event e{i, 0, now_ns(), i};
        spin_until([&] { return send(e); }, "ping: ring stayed full");
        spin_until([&] { return receive(back); }, "ping: no reply for 10 s");
        const std::int64_t t = now_ns();
        if (back.sequence != i) {
            fail("ping: reply out of order");
        }
        if (i >= warmup_events) {
            rtt.record(t - back.sent_ns);
        }
    }
}

template <class Send, class Receive>
void pong(Send&& send, Receive&& receive, std::uint64_t n) {
    wire_event e{};
    for (std::uint64_t i = 0; i != n; ++i) {
        spin_until([&] { return receive(e); }, "pong: no ping for 10 s");
        spin_until([&] { return send(e); }, "pong: ring stayed full");
    }
}

// ---- the two transports ---------------------------------------------------------------------

using channel_type = admf::ipc::channel<wire_event>;

/// Runs `child()` in a fork()ed process pinned to cpu_b, while `parent()` runs here; returns
/// when both finished, failing the run if the child did not exit 0.
template <class Child, class Parent>
void across_processes(Child&& child, Parent&& parent) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        fail("fork");
    }
    if (pid == 0) {
        admf::bench::pin_this_thread(cpu_b);
        child();
        std::fflush(nullptr);
        ::_exit(0);  // no destructors: the parent's objects copied by fork() stay untouched
    }
    parent();
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail("the child process did not exit cleanly");
    }
}

/// Runs `other()` on a thread pinned to cpu_b, while `here()` runs on this thread.
template <class Other, class Here>
void across_threads(Other&& other, Here&& here) {
    std::thread t([&] {
        admf::bench::pin_this_thread(cpu_b);
        other();
    });
    here();
    t.join();
}

void check_channel(const channel_type& ch, std::uint64_t expected) {
    const auto s = ch.stats();
    if (s.received != expected || s.corrupt != 0 || s.abandoned != 0) {
        fail("channel stats: received, corrupt or abandoned unexpected");
    }
}

admf::ipc::channel_config config_of(const options& o) {
    return {.capacity = o.capacity, .max_producers = 1};
}

auto sender(admf::ipc::producer<wire_event>& tx) {
    return [&tx](const wire_event& e) { return tx.try_send(e) == admf::ipc::send_result::accepted; };
}
auto receiver(admf::ipc::consumer<wire_event>& rx) {
    return [&rx](wire_event& e) {
        admf::ipc::frame_info info;
        return rx.try_receive(e, info);
    };
}
auto sender(admf::spsc_ring<wire_event>& ring) {
    return [&ring](const wire_event& e) { return ring.try_push(e); };
}
auto receiver(admf::spsc_ring<wire_event>& ring) {
    return [&ring](wire_event& e) { return ring.try_pop(e); };
}

void ipc_latency(const options& o, latency_result& out) {
    auto ch = channel_type::anonymous(config_of(o));
    admf::ipc::consumer<wire_event> rx(ch);
    across_processes(
        [&] {
            admf::ipc::producer<wire_event> tx(ch);
            produce_paced(sender(tx), o.latency_events, o.rate);
        },
        [&] { consume_paced(receiver(rx), o.latency_events, out); });
    check_channel(ch, o.latency_events);
}

void ring_latency(const options& o, latency_result& out) {
    admf::spsc_ring<wire_event> ring(o.capacity);
    across_threads([&] { produce_paced(sender(ring), o.latency_events, o.rate); },
                   [&] { consume_paced(receiver(ring), o.latency_events, out); });
}

void ipc_round_trip(const options& o, admf::latency_histogram& rtt) {
    auto there = channel_type::anonymous(config_of(o));
    auto back = channel_type::anonymous(config_of(o));
    across_processes(
        [&] {
            admf::ipc::consumer<wire_event> rx(there);
            admf::ipc::producer<wire_event> tx(back);
            pong(sender(tx), receiver(rx), o.round_trips);
        },
        [&] {
            admf::ipc::producer<wire_event> tx(there);
            admf::ipc::consumer<wire_event> rx(back);
            ping(sender(tx), receiver(rx), o.round_trips, rtt);
        });
    check_channel(there, o.round_trips);
    check_channel(back, o.round_trips);
}

void ring_round_trip(const options& o, admf::latency_histogram& rtt) {
    admf::spsc_ring<wire_event> there(o.capacity);
    admf::spsc_ring<wire_event> back(o.capacity);
    across_threads([&] { pong(sender(back), receiver(there), o.round_trips); },
                   [&] { ping(sender(there), receiver(back), o.round_trips, rtt); });
}

double ipc_throughput(const options& o) {
    auto ch = channel_type::anonymous(config_of(o));
    admf::ipc::consumer<wire_event> rx(ch);
    double rate = 0;
    across_processes(
        [&] {
            admf::ipc::producer<wire_event> tx(ch);
            produce_flat_out(sender(tx), o.events);
        },
        [&] { rate = consume_flat_out(receiver(rx), o.events); });
    check_channel(ch, o.events);
    return rate;
}

double ring_throughput(const options& o) {
    admf::spsc_ring<wire_event> ring(o.capacity);
    double rate = 0;
    across_threads([&] { produce_flat_out(sender(ring), o.events); },
                   [&] { rate = consume_flat_out(receiver(ring), o.events); });
    return rate;
}

// ---- report -----------------------------------------------------------------------------------

constexpr double percentiles[] = {50.0, 90.0, 99.0, 99.9};

void print_latency_row(const char* name, const admf::latency_histogram& h) {
    std::printf("  %-34s", name);
    for (double p : percentiles) {
        std::printf(" %9" PRId64, h.value_at_percentile(p));
    }
    std::printf(" %9" PRId64 "\n", h.max());
}

void print_ratio_row(const admf::latency_histogram& a, const admf::latency_histogram& b) {
    std::printf("  %-34s", "ipc / ring");
    for (double p : percentiles) {
        std::printf(" %8.2fx", double(a.value_at_percentile(p)) / double(std::max<std::int64_t>(1, b.value_at_percentile(p))));
    }
    std::printf(" %8.2fx\n", double(a.max()) / double(std::max<std::int64_t>(1, b.max())));
}

void json_histogram(std::ofstream& j, const char* name, const admf::latency_histogram& h) {
    j << "    \"" << name << "\": {\"count\": " << h.count();
    for (double p : percentiles) {
        j << ", \"p" << p << "_ns\": " << h.value_at_percentile(p);
    }
    j << ", \"max_ns\": " << h.max() << "},\n";
}

[[nodiscard]] bool parse_u64(std::string_view arg, std::string_view flag, std::uint64_t& out) {
    if (!arg.starts_with(flag)) {
        return false;
    }
    const std::string value(arg.substr(flag.size()));
    char* end = nullptr;
    const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v == 0) {
        std::fprintf(stderr, "admf-ipc-bench: %.*s needs a positive number\n", int(flag.size()), flag.data());
        std::exit(2);
    }
    out = v;
    return true;
}

} // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a(argv[i]);
        std::uint64_t cap = 0;
        if (a == "--quick") {
            o.events = 200'000;
            o.latency_events = 20'000;
            o.round_trips = 10'000;
        } else if (a == "--no-pin") {
            o.pin = false;
        } else if (a.starts_with("--json=")) {
            o.json = std::string(a.substr(7));
        } else if (parse_u64(a, "--events=", o.events) || parse_u64(a, "--latency-events=", o.latency_events) ||
                   parse_u64(a, "--round-trips=", o.round_trips) || parse_u64(a, "--rate=", o.rate)) {
        } else if (parse_u64(a, "--capacity=", cap)) {
            if ((cap & (cap - 1)) != 0 || cap < 2 || cap > (1U << 24)) {
                std::fprintf(stderr, "admf-ipc-bench: --capacity must be a power of two, 2 .. 2^24\n");
                return 2;
            }
            o.capacity = static_cast<std::uint32_t>(cap);
        } else {
            std::fprintf(stderr,
                         "usage: admf-ipc-bench [--events=N] [--latency-events=N] [--round-trips=N]\n"
                         "                      [--rate=EVENTS_PER_S] [--capacity=POW2] [--quick]\n"
                         "                      [--no-pin] [--json=FILE]\n");
            return 2;
        }
    }
    if (o.rate > 1'000'000'000) {
        std::fprintf(stderr, "admf-ipc-bench: --rate above 1e9/s cannot be paced in ns\n");
        return 2;
    }
    const std::vector<int> cpus = admf::bench::allowed_cpus();
    if (o.pin && cpus.size() >= 2) {
        cpu_a = cpus[0];
        cpu_b = cpus[1];
        if (!admf::bench::pin_this_thread(cpu_a)) {
            cpu_a = cpu_b = -1;
        }
    }

    std::printf("admf-ipc-bench: %s, %zu allowed CPUs%s, %s\n", admf::bench::cpu_model().c_str(),
                cpus.size(), admf::bench::under_hypervisor() ? " (VM)" : "",
                admf::bench::compiler_version().c_str());
    if (cpu_a >= 0) {
        std::printf("  pinned: consumer/ping side CPU %d, producer/pong side CPU %d\n", cpu_a, cpu_b);
    } else {
        std::printf("  unpinned\n");
    }
    std::printf("  32-byte events, ring capacity %u (channel and spsc_ring), both sides busy-poll\n",
                o.capacity);
    // Above 2 on this machine, other processes share the two CPUs: the tails show it.
    std::printf("  load average at start: %s\n\n", admf::bench::load_average().c_str());

    latency_result ipc_lat, ring_lat;
    ipc_latency(o, ipc_lat);
    ring_latency(o, ring_lat);
    std::printf("one-way latency, %" PRIu64 " events paced at %" PRIu64 "/s (ns)\n", o.latency_events, o.rate);
    std::printf("  %-34s %9s %9s %9s %9s %9s\n", "", "p50", "p90", "p99", "p99.9", "max");
    print_latency_row("ipc  process->process, from send", ipc_lat.from_send);
    print_latency_row("ring thread->thread,   from send", ring_lat.from_send);
    print_ratio_row(ipc_lat.from_send, ring_lat.from_send);
    print_latency_row("ipc  from intended send time", ipc_lat.from_intended);
    print_latency_row("ring from intended send time", ring_lat.from_intended);

    admf::latency_histogram ipc_rtt, ring_rtt;
    ipc_round_trip(o, ipc_rtt);
    ring_round_trip(o, ring_rtt);
    std::printf("\nround trip (ping-pong, one ring each way), %" PRIu64 " round trips (ns)\n", o.round_trips);
    std::printf("  %-34s %9s %9s %9s %9s %9s\n", "", "p50", "p90", "p99", "p99.9", "max");
    print_latency_row("ipc  process<->process", ipc_rtt);
    print_latency_row("ring thread<->thread", ring_rtt);
    print_ratio_row(ipc_rtt, ring_rtt);

    const double ipc_tp = ipc_throughput(o);
    const double ring_tp = ring_throughput(o);
    std::printf("\nthroughput, %" PRIu64 " events one way\n", o.events);
    std::printf("  %-34s %12.3f M events/s\n", "ipc  process->process", ipc_tp * 1e-6);
    std::printf("  %-34s %12.3f M events/s\n", "ring thread->thread", ring_tp * 1e-6);
    std::printf("  %-34s %12.2fx\n", "ipc / ring", ipc_tp / ring_tp);
    std::printf("\nload average at end: %s\n", admf::bench::load_average().c_str());

    if (!o.json.empty()) {
        std::ofstream j(o.json);
        j << "{\n  \"program\": \"admf-ipc-bench\",\n  \"cpu_model\": \"" << admf::bench::cpu_model()
          << "\",\n  \"cpus\": " << cpus.size() << ",\n  \"pinned\": " << (cpu_a >= 0 ? "true" : "false")
          << ",\n  \"capacity\": " << o.capacity << ",\n  \"rate\": " << o.rate << ",\n  \"results\": {\n";
        json_histogram(j, "ipc_one_way_from_send", ipc_lat.from_send);
        json_histogram(j, "ring_one_way_from_send", ring_lat.from_send);
        json_histogram(j, "ipc_one_way_from_intended", ipc_lat.from_intended);
        json_histogram(j, "ring_one_way_from_intended", ring_lat.from_intended);
        json_histogram(j, "ipc_round_trip", ipc_rtt);
        json_histogram(j, "ring_round_trip", ring_rtt);
        j << "    \"ipc_throughput_events_per_s\": " << ipc_tp << ",\n    \"ring_throughput_events_per_s\": "
          << ring_tp << ",\n    \"events\": " << o.events << "\n  }\n}\n";
        if (!j) {
            std::fprintf(stderr, "admf-ipc-bench: cannot write %s\n", o.json.c_str());
            return 1;
        }
    }
    return 0;
}
