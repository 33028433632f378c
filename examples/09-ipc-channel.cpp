// SPDX-License-Identifier: MIT
// 09: a feed handler in its own process publishes quotes into a named shared-memory channel;
// the engine process receives them and publishes each one into its local bus. The feed can
// crash or restart without taking the engine down (docs/ipc.md: failure outcomes).
#include <admf/bus.hpp>
#include <admf/ipc/channel.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <sys/wait.h>
#include <unistd.h>

struct quote { std::uint64_t sequence; std::uint32_t instrument; double bid, ask; };

// A declared name makes the channel's type check independent of the compiler's spelling.
template <> struct admf::event_traits<quote> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.QUOTE";
    static std::uint64_t key(const quote& q) noexcept { return q.instrument; }
};

constexpr std::uint64_t count = 10'000;

// The feed process: opens the channel by name, as an unrelated program would.
int run_feed(const std::string& name) {
    auto ch = admf::ipc::channel<quote>::open(name);
    admf::ipc::producer<quote> feed(ch);  // takes a free producer slot
    for (std::uint64_t s = 0; s < count; ++s) {
        const double bid = 100.0 + double(s % 100) / 100;
        const quote q{s, static_cast<std::uint32_t>(s % 4), bid, bid + 0.01};
        // send() retries while the ring is full (a slow engine); gives up after 5 s.
        if (feed.send(q, std::chrono::seconds(5)) != admf::ipc::send_result::accepted) return 1;
    }
    return 0;
}

int main() {
    const std::string name = "example-quotes-" + std::to_string(::getpid());
    int status = 0;
    std::uint64_t received = 0, handled = 0, producers_seen = 0, corrupt = 0;
    bool in_order = true;
    {
        // create() removes a stale segment of that name; the name goes when `ch` is destroyed.
        auto ch = admf::ipc::channel<quote>::create(name, {.capacity = 1024, .max_producers = 2});
        admf::ipc::consumer<quote> engine_rx(ch);  // attach before the feed starts: nothing lost
        std::fflush(nullptr);
        const pid_t feed_pid = ::fork();
        if (feed_pid == 0) ::_exit(run_feed(name));

        admf::sync_bus<quote> bus;
        auto on_quote = bus.subscribe<quote>([&](const quote& q) { handled += q.ask > q.bid; });
        bus.start();

        std::uint64_t next[2] = {0, 0};  // per producer slot: FIFO holds per producer
        bool seen[2] = {false, false};
        quote q;
        admf::ipc::frame_info from;
        while (received < count && engine_rx.receive(q, from, std::chrono::seconds(5))) {
            in_order = in_order && from.sequence == next[from.producer] && q.sequence == received;
            next[from.producer] = from.sequence + 1;
            producers_seen += seen[from.producer] ? 0 : 1;
            seen[from.producer] = true;
            ++received;
            // A frame becomes an ordinary event of the local bus: its handlers run here.
            if (bus.publish(q) != admf::publish_result::accepted) return 1;
        }
        ::waitpid(feed_pid, &status, 0);
        bus.stop();
        corrupt = ch.stats().corrupt;
    }
    const bool removed = ::access(("/dev/shm/admf." + name).c_str(), F_OK) != 0;
    std::printf("received %llu quotes from %llu producer, corrupt %llu, in order: %s\n",
                static_cast<unsigned long long>(received), static_cast<unsigned long long>(producers_seen),
                static_cast<unsigned long long>(corrupt), in_order ? "yes" : "no");
    std::printf("bus handled %llu quotes\n", static_cast<unsigned long long>(handled));
    std::printf("feed exited %d, segment removed: %s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                removed ? "yes" : "no");
    return received == count && handled == count && in_order && removed ? 0 : 1;
}
