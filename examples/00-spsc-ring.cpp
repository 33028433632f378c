// SPDX-License-Identifier: MIT
// Example 00: hand quotes from a feed thread to a strategy thread through an admf::spsc_ring,
// draining in batches with consume(). Copy this as the start of a hand-rolled pipeline stage.
#include <cstdint>
#include <cstdio>
#include <thread>

#include <admf/ring/spsc_ring.hpp>

struct quote {
    std::uint32_t instrument;
    std::uint64_t sequence;
    double bid, ask;
};

int main() {
    constexpr std::uint64_t count = 1'000'000;
    admf::spsc_ring<quote> ring(1024); // rounded up to a power of two; throws on 0

    std::thread feed([&] {
        for (std::uint64_t seq = 0; seq < count; ++seq) {
            // try_push never blocks: on a full ring, back off and retry (or count a drop).
            // (try_emplace(args...) constructs in the slot for types with constructors.)
            const quote q{static_cast<std::uint32_t>(seq % 16), seq, 100.0, 100.01};
            while (!ring.try_push(q)) {
                std::this_thread::yield();
            }
        }
    });

    std::uint64_t received = 0, out_of_order = 0;
    double spread_sum = 0;
    while (received < count) {
        // Up to 256 quotes in place, released with one index store.
        const auto n = ring.consume(
            [&](quote& q) noexcept {
                out_of_order += q.sequence != received;
                spread_sum += q.ask - q.bid;
                ++received;
            },
            256);
        if (n == 0) {
            std::this_thread::yield(); // 2 cores: give the feed thread the CPU
        }
    }
    feed.join();
    std::printf("received=%llu out_of_order=%llu mean_spread=%.4f\n",
                static_cast<unsigned long long>(received),
                static_cast<unsigned long long>(out_of_order), spread_sum / double(count));
    return out_of_order == 0 ? 0 : 1;
}
