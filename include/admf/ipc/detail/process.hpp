// SPDX-License-Identifier: MIT
// admf::ipc::detail process identity: a pid with its start time, so a recycled pid is
// never taken for the process that died (Linux /proc).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <unistd.h>

namespace admf::ipc::detail {

/// A process as one 64-bit word, for CAS in shared memory: start time (clock ticks since
/// boot, /proc/<pid>/stat field 22) above the pid's 22 bits (Linux's PID_MAX_LIMIT is 2^22).
/// 0 means "nobody".
using process_token = std::uint64_t;

inline constexpr unsigned pid_bits = 22;

[[nodiscard]] constexpr pid_t token_pid(process_token t) noexcept {
    return static_cast<pid_t>(t & ((process_token{1} << pid_bits) - 1));
}

struct proc_stat {
    bool exists = false;
    char state = '?';
    std::uint64_t start_time = 0;
};

/// Reads state and start time of `pid`; exists is false if it has no /proc entry.
inline proc_stat read_proc_stat(pid_t pid) noexcept {
    proc_stat out;
    char path[32];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    std::FILE* f = std::fopen(path, "re");
    if (f == nullptr) {
        return out;
    }
    char buf[1024];
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // The command name (field 2) is in parentheses and may hold spaces or ')': the fields
    // after it start past the last ')'.
    const char* p = std::strrchr(buf, ')');
    if (p == nullptr) {
        return out;
    }
    ++p;
    // Field 3 (state) is the first after ')'; start time is field 22, 19 fields later.
    int field = 2;
    const char* cur = p;
    while (*cur != '\0' && field < 22) {
        while (*cur == ' ') {
            ++cur;
        }
        ++field;
        if (field == 3) {
            out.state = *cur;
        }
        if (field == 22) {
            out.start_time = std::strtoull(cur, nullptr, 10);
            out.exists = true;
            break;
        }
        while (*cur != ' ' && *cur != '\0') {
            ++cur;
        }
    }
    return out;
}

/// The calling process's token (computed once per process; fork()ed children compute their
/// own, since the cache is keyed by pid).
inline process_token self_token() noexcept {
    static thread_local pid_t cached_pid = 0;
    static thread_local process_token cached = 0;
    const pid_t pid = ::getpid();
    if (pid != cached_pid) {
        const proc_stat s = read_proc_stat(pid);
        cached = (s.start_time << pid_bits) | static_cast<process_token>(pid);
        cached_pid = pid;
    }
    return cached;
}

/// Whether the process of `t` still runs: its pid exists, was started at the recorded time
/// (not a recycled pid) and is not a zombie (dead, waiting to be reaped).
[[nodiscard]] inline bool alive(process_token t) noexcept {
    if (t == 0) {
        return false;
    }
    const proc_stat s = read_proc_stat(token_pid(t));
    if (!s.exists || s.state == 'Z' || s.state == 'X' || s.state == 'x') {
        return false;
    }
    return (s.start_time << pid_bits | static_cast<process_token>(token_pid(t))) == t;
}

} // namespace admf::ipc::detail
