// SPDX-License-Identifier: MIT
// Test and bench support: a real nats-server (JetStream on) on 127.0.0.1 and a free port.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace admf_test {

// Design: the server is a child process (fork + exec, killed with us: PR_SET_PDEATHSIG); only
// loopback addresses are ever used (-a 127.0.0.1). The port is one the kernel handed out for a
// socket bound to port 0 (then closed: a tiny window where another process could take it, reported
// as a start failure, never silently). start() returns once a TCP connect to the port succeeds,
// polling with a deadline. kill9() and start() again reuse the port and the store
// directory, so JetStream recovers its streams and consumers as after a crash.
// One thread drives it (the test's main thread).
class nats_server {
public:
    explicit nats_server(std::string binary, bool jetstream = true)
        : binary_(std::move(binary)), jetstream_(jetstream), port_(free_port()) {
        char tmpl[] = "/tmp/admf-nats-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            throw std::runtime_error("nats_server: mkdtemp failed");
        }
        dir_ = tmpl;
        start();
    }

    nats_server(const nats_server&) = delete;
    nats_server& operator=(const nats_server&) = delete;

    ~nats_server() {
        kill9();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    /// Starts the server (again) on the same port and store; waits until it accepts a
    /// TCP connection (at most 10 s). Throws std::runtime_error with the log's tail otherwise.
    void start() {
        if (pid_ > 0) {
            return;
        }
        const std::string port = std::to_string(port_);
        const std::string log = dir_ + "/server.log";
        std::vector<std::string> args = {binary_, "-a", "127.0.0.1", "-p", port, "-l", log};
        if (jetstream_) {
            args.insert(args.end(), {"-js", "-sd", dir_ + "/store"});
        }
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        // fork + exec rather than posix_spawn: the child asks to be SIGKILLed when we die, so
        // a crashed or killed test leaves no server behind.
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) {
            pid_ = -1;
            throw std::runtime_error("nats_server: fork failed");
        }
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) {
                ::_exit(127); // the parent died before prctl took effect
            }
            const int null_fd = ::open("/dev/null", O_WRONLY);
            ::dup2(null_fd, 1);
            ::dup2(null_fd, 2);
            ::execv(binary_.c_str(), argv.data());
            ::_exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        while (!accepts()) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("nats_server: exited at start; log " + log + ":\n" +
                                         tail(log));
            }
            if (std::chrono::steady_clock::now() > deadline) {
                kill9();
                throw std::runtime_error("nats_server: no connection within 10 s; log:\n" +
                                         tail(log));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{5}); // poll interval
        }
    }

    /// SIGKILL, as a crash: no flush, no goodbye to clients. Waits until the process is gone.
    void kill9() {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

    [[nodiscard]] std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] int port() const noexcept { return port_; }
    [[nodiscard]] bool running() const noexcept { return pid_ > 0; }

    /// A port nothing listens on (for the connect-failure test).
    static int free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            if (fd >= 0) {
                ::close(fd);
            }
            throw std::runtime_error("nats_server: cannot pick a free loopback port");
        }
        ::close(fd);
        return ntohs(a.sin_port);
    }

private:
    [[nodiscard]] bool accepts() const {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            return false;
        }
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(port_));
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        return ok;
    }

    static std::string tail(const std::string& path) {
        std::string text;
        if (FILE* f = std::fopen(path.c_str(), "r")) {
            char buf[4096];
            std::size_t n = 0;
            while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
                text.append(buf, n);
            }
            std::fclose(f);
        }
        return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
    }

    std::string binary_;
    bool jetstream_;
    int port_;
    std::string dir_;
    pid_t pid_ = -1;
};

} // namespace admf_test
