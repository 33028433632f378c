// SPDX-License-Identifier: MIT
// Forked child processes for the IPC tests: start one running a callable, kill it, reap it.
// Catch2 assertions never run in a child: a child reports through its exit status (0 ok)
// or through shared memory the parent checks.
#pragma once

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace admf_test {

/// A forked child running `f()`; exits 0 when f returns, 3 if it throws. The destructor
/// kills (SIGKILL) and reaps a child still running, so a failing test leaves none behind.
class child_process {
public:
    template <class F>
    explicit child_process(F&& f) {
        pid_ = ::fork();
        if (pid_ < 0) {
            throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
        }
        if (pid_ == 0) {
            int code = 0;
            try {
                std::forward<F>(f)();
            } catch (...) {
                code = 3;
            }
            ::_exit(code);  // no atexit, no destructors of the parent's objects
        }
    }
    child_process(child_process&& o) noexcept : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}
    child_process& operator=(child_process&&) = delete;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            wait();
        }
    }

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    void signal(int sig) const { ::kill(pid_, sig); }

    /// Reaps the child; returns its raw wait status.
    int wait() {
        if (pid_ <= 0) {
            return status_;
        }
        while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return status_;
    }
    /// Kills with SIGKILL and reaps.
    void kill() {
        signal(SIGKILL);
        wait();
    }
    [[nodiscard]] bool exited_ok() {
        const int s = wait();
        return WIFEXITED(s) && WEXITSTATUS(s) == 0;
    }

private:
    pid_t pid_ = -1;
    int status_ = 0;
};

/// An anonymous MAP_SHARED array of T: what a child writes there, the parent reads.
template <class T>
class shared_array {
public:
    explicit shared_array(std::size_t n) : n_(n) {
        void* p = ::mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            throw std::runtime_error("mmap shared_array failed");
        }
        p_ = static_cast<T*>(p);
    }
    shared_array(const shared_array&) = delete;
    shared_array& operator=(const shared_array&) = delete;
    ~shared_array() { ::munmap(p_, n_ * sizeof(T)); }
    T& operator[](std::size_t i) noexcept { return p_[i]; }
    T* data() noexcept { return p_; }
    [[nodiscard]] std::size_t size() const noexcept { return n_; }

private:
    T* p_ = nullptr;
    std::size_t n_;
};

} // namespace admf_test
