// SPDX-License-Identifier: MIT
// admf::write_text: a bus's counters as a table for people.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <ostream>
#include <string_view>

#include <admf/bus/bus_stats.hpp>
#include <admf/core/domain.hpp>

namespace admf {

/// Writes `stats` as an aligned table, a row per partition and the total: published,
/// delivered, not delivered (rejected + timed out + refused + dropped + discarded +
/// conflated), handler errors, backlog.
template <domain_set D>
void write_text(std::ostream& out, const basic_bus_stats<D>& stats) {
    const auto row = [&](std::string_view name, std::uint64_t published, std::uint64_t delivered,
                         std::uint64_t lost, std::uint64_t errors, std::uint64_t backlog) {
        out << std::left << std::setw(14) << name << std::right << std::setw(16) << published
            << std::setw(16) << delivered << std::setw(15) << lost << std::setw(15) << errors
            << std::setw(12) << backlog << '\n';
    };
    out << std::left << std::setw(14) << "partition" << std::right << std::setw(16) << "published"
        << std::setw(16) << "delivered" << std::setw(15) << "not delivered" << std::setw(15)
        << "handler errors" << std::setw(12) << "backlog" << '\n';
    const auto emit = [&](const partition_stats& p) {
        row(p.name, p.published, p.delivered, p.not_delivered(), p.handler_errors, p.backlog);
    };
    for (const partition_stats& p : stats.partitions) {
        emit(p);
    }
    emit(stats.total());
}

} // namespace admf
