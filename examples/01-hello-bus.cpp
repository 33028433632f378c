// SPDX-License-Identifier: MIT
// 01: the smallest engine: a quote makes an order, the order makes a fill.
// The build also runs it with `admf::bus<` replaced by `admf::sync_bus<` (the sync_bus
// variant): the deterministic single-threaded bus for backtests takes the same code.
#include <admf/bus.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string_view>

struct quote { std::uint32_t instrument; double bid, ask; };
struct new_order { std::uint64_t id; std::uint32_t instrument; double price; std::int32_t qty; };
struct fill { std::uint64_t order_id; double price; std::int32_t qty; };

template <> struct admf::event_traits<quote> {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MARKET_DATA.QUOTE";
    static std::uint64_t key(const quote& q) noexcept { return q.instrument; }
};
template <> struct admf::event_traits<new_order> {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.NEW";
    static constexpr admf::priority priority = admf::priority::high;
    static std::uint64_t key(const new_order& o) noexcept { return o.instrument; }
};
template <> struct admf::event_traits<fill> {
    static constexpr admf::domain domain = admf::domain::fill;
    static constexpr std::string_view name = "FILL";
};

int main() {
    admf::bus<quote, new_order, fill> bus;
    std::atomic<int> fills{0};
    auto on_quote = bus.subscribe<quote>([&](const quote& q) {
        if (q.ask - q.bid < 0.02) (void)bus.publish(new_order{1, q.instrument, q.ask, 100});
    });
    auto on_order = bus.subscribe<new_order>([&](const new_order& o, const admf::event_info& info) {
        (void)info.sequence;
        (void)bus.publish(fill{o.id, o.price, o.qty});
    });
    auto on_fill = bus.subscribe<fill>([&](const fill&) { ++fills; });
    bus.start();
    if (bus.publish(quote{7, 100.00, 100.01}) != admf::publish_result::accepted) return 1;
    bus.flush();
    bus.stop();
    std::printf("fills=%d\n", fills.load());
}
