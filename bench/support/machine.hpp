// SPDX-License-Identifier: MIT
// What a benchmark report must name about the machine and the build, and thread pinning.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/utsname.h>

namespace admf::bench {

/// CPUs the process may run on (sched_getaffinity), in ascending order.
[[nodiscard]] inline std::vector<int> allowed_cpus() {
    std::vector<int> cpus;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (CPU_ISSET(cpu, &set)) {
                cpus.push_back(cpu);
            }
        }
    }
    return cpus;
}

/// Pins the calling thread to `cpu`; a negative cpu leaves it unpinned. Returns false when
/// the kernel refused (the thread then runs unpinned; the report says which CPUs were used).
inline bool pin_this_thread(int cpu) noexcept {
    if (cpu < 0) {
        return true;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

/// "model name" of the first CPU in /proc/cpuinfo (x86), else "CPU part"/"Hardware" (Arm).
[[nodiscard]] inline std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        for (const char* key : {"model name", "Hardware", "CPU part"}) {
            if (line.rfind(key, 0) == 0) {
                const auto colon = line.find(':');
                if (colon != std::string::npos) {
                    const auto start = line.find_first_not_of(" \t", colon + 1);
                    return start == std::string::npos ? std::string{} : line.substr(start);
                }
            }
        }
    }
    return "unknown";
}

/// "package P core C (SMT siblings L)" from sysfs: whether two pinned threads share a core,
/// which changes every cross-thread figure. "unknown" where sysfs does not say.
[[nodiscard]] inline std::string cpu_topology(int cpu) {
    if (cpu < 0) {
        return "unpinned";
    }
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    auto read = [&](const char* name) {
        std::ifstream in(dir + name);
        std::string value;
        return std::getline(in, value) ? value : std::string("?");
    };
    return "package " + read("physical_package_id") + " core " + read("core_id") +
           " (SMT siblings " + read("thread_siblings_list") + ")";
}

/// Whether /proc/cpuinfo lists the "hypervisor" flag: figures from a VM move with the
/// host's placement of its vCPUs.
[[nodiscard]] inline bool under_hypervisor() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("flags", 0) == 0) {
            return line.find(" hypervisor") != std::string::npos;
        }
    }
    return false;
}

[[nodiscard]] inline std::string kernel_release() {
    utsname u{};
    if (uname(&u) != 0) {
        return "unknown";
    }
    return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

[[nodiscard]] inline std::string compiler_version() {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "g++ " __VERSION__;
#else
    return "unknown";
#endif
}

/// The 1, 5 and 15 minute load averages from /proc/loadavg ("?" where unreadable): above
/// the CPU count, other processes took CPUs from the benchmark's threads.
[[nodiscard]] inline std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    if (!(in >> one >> five >> fifteen)) {
        return "?";
    }
    return one + " " + five + " " + fifteen;
}

/// Median cost of one steady_clock::now() in ns; every latency sample includes one.
[[nodiscard]] inline double clock_read_ns() {
    using clock = std::chrono::steady_clock;
    constexpr int reads = 100000;
    std::vector<double> trials;
    for (int t = 0; t < 5; ++t) {
        const auto start = clock::now();
        auto last = start;
        for (int i = 0; i < reads; ++i) {
            last = clock::now();
        }
        trials.push_back(std::chrono::duration<double, std::nano>(last - start).count() / reads);
    }
    std::sort(trials.begin(), trials.end());
    return trials[trials.size() / 2];
}

} // namespace admf::bench
