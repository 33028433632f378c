// SPDX-License-Identifier: MIT
// Writes a live bus's stats as Prometheus exposition on stdout, for the ctest
// metrics.prometheus.promtool (`promtool check metrics` must accept it). Exit 1 on failure.
#include <admf/bus.hpp>
#include <admf/metrics/prometheus_exporter.hpp>

#include <cstdint>
#include <iostream>
#include <string_view>

namespace {
struct quote {
    static constexpr admf::domain domain = admf::domain::market_data;
    static constexpr std::string_view name = "MD.QUOTE";
    std::uint64_t seq;
};
struct order {
    static constexpr admf::domain domain = admf::domain::order;
    static constexpr std::string_view name = "ORDER.NEW";
    std::uint64_t seq;
};
} // namespace

int main() {
    admf::bus<quote, order> bus;
    auto s1 = bus.subscribe<quote>([](const quote&) {});
    auto s2 = bus.subscribe<order>([](const order&) {});
    bus.start();
    for (std::uint64_t i = 0; i != 1000; ++i) {
        if (bus.publish(quote{i}) != admf::publish_result::accepted ||
            bus.publish(order{i}, admf::priority::high) != admf::publish_result::accepted) {
            return 1;
        }
    }
    bus.flush();
    admf::write_prometheus(std::cout, bus.stats());
    return std::cout.good() ? 0 : 1;
}
