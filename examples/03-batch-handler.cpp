// SPDX-License-Identifier: MIT
// 03: a batch handler over conflated market data. The handler gets up to max_batch quotes
// per call (one virtual call and one loop per batch instead of per event); while it falls
// behind, backpressure::conflate keeps only each instrument's newest quote, so the feed
// never waits and the strategy always ends with the latest price of every instrument.
#include <admf/bus.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string_view>

struct quote { std::uint32_t instrument; std::uint32_t seq; double bid, ask; };

template <> struct admf::event_traits<quote> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.QUOTE";
    static std::uint64_t key(const quote& q) noexcept { return q.instrument; }
};

int main() {
    constexpr std::uint32_t instruments = 8;
    constexpr std::uint32_t updates = 50'000;
    admf::bus_config cfg;
    auto& md = cfg[admf::domain::market_data];
    md.on_full = admf::backpressure::conflate; // newest quote per instrument while behind
    md.capacity = 1024;                        // with conflate: distinct instruments per lane
    md.max_batch = 64;                         // quotes per batch handler call, at most
    admf::bus<quote> bus{cfg};

    std::array<std::uint32_t, instruments> last_seen{}; // one worker: no lock needed
    std::uint64_t calls = 0;
    auto sub = bus.subscribe<quote>([&](std::span<const quote> batch) {
        ++calls;
        for (const quote& q : batch) last_seen[q.instrument] = q.seq;
    });
    bus.start();
    for (std::uint32_t seq = 1; seq <= updates; ++seq) {
        for (std::uint32_t i = 0; i != instruments; ++i) {
            const double mid = 100.0 + i + seq * 1e-4;
            if (bus.publish(quote{i, seq, mid - 0.01, mid + 0.01}) != admf::publish_result::accepted) return 1;
        }
    }
    bus.flush();
    bus.stop();

    bool latest = true;
    for (auto seq : last_seen) latest = latest && seq == updates;
    const auto s = bus.stats().partition(admf::domain::market_data);
    std::printf("every instrument ends at its last quote: %s\n", latest ? "yes" : "NO");
    std::printf("published == delivered + conflated: %s\n",
                s.published == s.delivered + s.conflated ? "yes" : "NO");
    std::printf("published %llu, delivered %llu in %llu batch calls, conflated %llu\n",
                 static_cast<unsigned long long>(s.published), static_cast<unsigned long long>(s.delivered),
                 static_cast<unsigned long long>(calls), static_cast<unsigned long long>(s.conflated));
    return latest ? 0 : 1;
}
