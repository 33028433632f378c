// SPDX-License-Identifier: MIT
// Fuzz target (TESTING.md T9a): the rings' single-threaded API against models. The first
// bytes choose the ring (spsc_ring with a turn in each slot or the tail index, mpsc_ring,
// mpmc_ring, conflating_ring with one or many producers), its capacity (1, 2, 3, 4, 5, 7,
// 8, 16, 17, 31, 64: rounded up as each ring documents) and its starting sequence (0, or
// just below 2^64 to cross the wrap-around); the rest is an op sequence (try_push,
// try_emplace, try_push_n, try_pop, try_pop_n, consume with and without end_of_batch, with
// a throwing or noexcept f, front_ready, size_approx, claimed_approx). Queue rings are
// checked against a std::deque, the conflating ring against a key -> newest-value model
// with its counters (claimed, merged, conflated). Queue elements count their live objects,
// so a leaked or doubly destroyed element is caught when the ring is destroyed.
#include <admf/ring/conflating_ring.hpp>
#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/mpsc_ring.hpp>
#include <admf/ring/spsc_ring.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"

#define CHECK(cond, a, b) ADMF_FUZZ_CHECK("ring", cond, a, b)

namespace {

std::int64_t live = 0; // tracked objects alive

// A queue element that counts itself and remembers a moved-from state.
struct tracked {
    std::uint64_t v = 0;
    bool valid = true;
    tracked() noexcept { ++live; }
    explicit tracked(std::uint64_t x) noexcept : v(x) { ++live; }
    tracked(const tracked& o) noexcept : v(o.v), valid(o.valid) { ++live; }
    tracked(tracked&& o) noexcept : v(o.v), valid(o.valid) {
        o.valid = false;
        ++live;
    }
    tracked& operator=(const tracked& o) noexcept = default;
    tracked& operator=(tracked&& o) noexcept {
        v = o.v;
        valid = o.valid;
        o.valid = false;
        return *this;
    }
    ~tracked() { --live; }
};

struct thrown {};

constexpr std::size_t capacities[] = {1, 2, 3, 4, 5, 7, 8, 16, 17, 31, 64};

// Drives a queue ring (spsc, mpsc, mpmc) and a deque side by side.
template <class Ring>
void run_queue(admf_fuzz::reader& in, std::size_t requested, std::size_t minimum,
               std::uint64_t start) {
    const std::size_t expected_capacity = std::bit_ceil(std::max(requested, minimum));
    Ring ring(requested, admf::initial_sequence{start});
    CHECK(ring.capacity() == expected_capacity, ring.capacity(), expected_capacity);
    std::deque<std::uint64_t> model;
    std::uint64_t next = 1;
    std::uint64_t pushed = 0;
    const auto check_front = [&](const tracked& t) {
        CHECK(!model.empty(), 0, 0);
        CHECK(t.valid, t.v, 0);
        CHECK(t.v == model.front(), t.v, model.front());
        model.pop_front();
    };
    for (unsigned ops = 0; !in.done() && ops != 4096; ++ops) {
        const std::uint8_t op = in.byte();
        const std::uint8_t arg = in.byte();
        const std::size_t cap = ring.capacity();
        switch (op % 11) {
        case 0: { // try_push (move)
            tracked t(next);
            const bool ok = ring.try_push(std::move(t));
            CHECK(ok == (model.size() < cap), ok, model.size());
            if (ok) {
                model.push_back(next++);
                ++pushed;
            }
            break;
        }
        case 1: { // try_emplace
            const bool ok = ring.try_emplace(next);
            CHECK(ok == (model.size() < cap), ok, model.size());
            if (ok) {
                model.push_back(next++);
                ++pushed;
            }
            break;
        }
        case 2: { // try_push_n: a prefix of the input moves
            const std::size_t n = arg % (cap + 3);
            std::vector<tracked> src;
            for (std::size_t i = 0; i != n; ++i) {
                src.emplace_back(next + i);
            }
            const std::size_t got = ring.try_push_n(src.begin(), n);
            const std::size_t want = std::min(n, cap - model.size());
            CHECK(got == want, got, want);
            for (std::size_t i = 0; i != n; ++i) {
                CHECK(src[i].valid == (i >= got), i, got); // moved exactly the prefix
            }
            for (std::size_t i = 0; i != got; ++i) {
                model.push_back(next + i);
            }
            next += n;
            pushed += got;
            break;
        }
        case 3: { // try_pop
            tracked out;
            const bool ok = ring.try_pop(out);
            CHECK(ok == !model.empty(), ok, model.size());
            if (ok) {
                check_front(out);
            }
            break;
        }
        case 4: { // try_pop_n into a vector
            const std::size_t max = arg % (cap + 3);
            std::vector<tracked> out(max);
            const std::size_t got = ring.try_pop_n(out.begin(), max);
            const std::size_t want = std::min(max, model.size());
            CHECK(got == want, got, want);
            for (std::size_t i = 0; i != got; ++i) {
                check_front(out[i]);
            }
            break;
        }
        case 5: { // consume(f(T&)), f may throw on its k-th call
            const std::size_t max = arg % (cap + 3);
            const std::size_t throw_at = in.byte() % (cap + 4); // >= max: never
            std::size_t calls = 0;
            bool threw = false;
            std::size_t got = 0;
            try {
                got = ring.consume(
                    [&](tracked& t) {
                        check_front(t);
                        if (calls++ == throw_at) {
                            throw thrown{};
                        }
                    },
                    max);
            } catch (const thrown&) {
                threw = true;
            }
            const std::size_t want = std::min(max, calls + model.size());
            if (threw) {
                CHECK(calls == throw_at + 1, calls, throw_at);
            } else {
                CHECK(got == calls && got == want, got, want);
            }
            break;
        }
        case 6: { // consume(f(T&, bool end_of_batch)) noexcept: the flag on the last only
            const std::size_t max = arg % (cap + 3);
            const std::size_t want = std::min(max, model.size());
            std::size_t calls = 0;
            const std::size_t got = ring.consume(
                [&](tracked& t, bool end) noexcept {
                    ++calls;
                    CHECK(end == (calls == want), calls, want);
                    check_front(t);
                },
                max);
            CHECK(got == want && calls == want, got, want);
            break;
        }
        case 7: { // consume(f(T&, bool)) that may throw (mpmc: one claim at a time)
            const std::size_t max = arg % (cap + 3);
            const std::size_t want = std::min(max, model.size());
            std::size_t calls = 0;
            const std::size_t got = ring.consume(
                [&](tracked& t, bool end) {
                    ++calls;
                    CHECK(end == (calls == want), calls, want);
                    check_front(t);
                    if (calls > cap + 3) {
                        throw thrown{}; // never (calls <= max): only makes f potentially-throwing
                    }
                },
                max);
            CHECK(got == want && calls == want, got, want);
            break;
        }
        case 8:
            CHECK(ring.front_ready() == !model.empty(), ring.front_ready(), model.size());
            break;
        case 9:
            CHECK(ring.size_approx() == model.size(), ring.size_approx(), model.size());
            break;
        default:
            CHECK(ring.claimed_approx() == start + pushed, ring.claimed_approx(), start + pushed);
            break;
        }
        CHECK(ring.size_approx() == model.size(), ring.size_approx(), model.size());
    }
    // ~Ring destroys what is still queued: only the ring holds tracked objects now.
    CHECK(live == static_cast<std::int64_t>(model.size()), live, model.size());
}

struct quote {
    std::uint64_t key;
    std::uint32_t type;
    std::uint32_t serial;
};
struct quote_key {
    admf::conflation_key operator()(const quote& q) const noexcept { return {q.key, q.type}; }
};

// The conflating ring's documented single-threaded behaviour, step by step as consume runs.
struct conflating_model {
    struct cell {
        quote latest{};
        std::uint64_t version = 0;
        std::uint64_t delivered_version = 0;
        bool queued = false;
    };
    std::size_t keys;
    std::map<std::pair<std::uint64_t, std::uint32_t>, cell> cells;
    std::deque<std::pair<std::uint64_t, std::uint32_t>> queue;
    std::optional<quote> held;
    std::uint64_t claimed = 0, merged = 0, conflated = 0;

    bool push(const quote& q) {
        const auto k = std::make_pair(q.key, q.type);
        auto it = cells.find(k);
        if (it == cells.end()) {
            if (cells.size() == keys) {
                return false;
            }
            it = cells.emplace(k, cell{}).first;
        }
        cell& c = it->second;
        c.latest = q;
        ++c.version;
        if (!c.queued) {
            c.queued = true;
            queue.push_back(k);
            ++claimed;
        } else {
            ++merged;
        }
        return true;
    }

    // As conflating_ring::consume: positions popped; f(value, end_of_batch) per value.
    template <class F>
    std::size_t consume(F&& f, std::size_t max) {
        std::size_t done = 0;
        while (done != max && !queue.empty()) {
            cell& c = cells[queue.front()];
            queue.pop_front();
            ++done;
            c.queued = false;
            conflated += c.version - c.delivered_version - 1;
            c.delivered_version = c.version;
            std::optional<quote> previous = std::exchange(held, c.latest);
            if (previous) {
                f(*previous, false);
            }
        }
        if (held) {
            const quote q = *held;
            held.reset();
            f(q, true);
        }
        return done;
    }
};

bool same(const quote& a, const quote& b) {
    return a.key == b.key && a.type == b.type && a.serial == b.serial;
}

void run_conflating(admf_fuzz::reader& in, std::size_t keys, admf::producers mode) {
    admf::conflating_ring<quote, quote_key> ring(keys, mode);
    CHECK(ring.capacity() == keys, ring.capacity(), keys);
    conflating_model model{keys, {}, {}, {}};
    std::uint32_t serial = 0;
    const auto make = [&](std::uint8_t b) {
        // Keys 0..keys+1 of two types: enough to fill the table and be refused.
        return quote{b % (keys + 2), static_cast<std::uint32_t>((b >> 6) & 1), ++serial};
    };
    for (unsigned ops = 0; !in.done() && ops != 4096; ++ops) {
        const std::uint8_t op = in.byte();
        const std::uint8_t arg = in.byte();
        switch (op % 8) {
        case 0:
        case 1: {
            const quote q = make(arg);
            const bool ok = op % 8 == 0 ? ring.try_push(q) : ring.try_emplace(q);
            const bool want = model.push(q);
            CHECK(ok == want, ok, want);
            break;
        }
        case 2: { // try_push_n: stops at the first refused
            const std::size_t n = arg % 6;
            std::vector<quote> src;
            for (std::size_t i = 0; i != n; ++i) {
                src.push_back(make(in.byte()));
            }
            const std::size_t got = ring.try_push_n(src.begin(), n);
            std::size_t want = 0;
            while (want != n && model.push(src[want])) {
                ++want;
            }
            CHECK(got == want, got, want);
            break;
        }
        case 3: { // try_pop
            quote out{};
            const bool ok = ring.try_pop(out);
            std::optional<quote> want;
            model.consume([&](const quote& q, bool) { want = q; }, want || model.held ? 0 : 1);
            CHECK(ok == want.has_value(), ok, want.has_value());
            if (ok) {
                CHECK(same(out, *want), out.serial, want->serial);
            }
            break;
        }
        case 4: { // try_pop_n
            const std::size_t max = arg % (keys + 3);
            std::vector<quote> out(max);
            const std::size_t got = ring.try_pop_n(out.begin(), max);
            std::vector<quote> want;
            while (want.size() != max && (model.held || !model.queue.empty())) {
                model.consume([&](const quote& q, bool) { want.push_back(q); },
                              model.held ? 0 : 1);
            }
            CHECK(got == want.size(), got, want.size());
            for (std::size_t i = 0; i != got; ++i) {
                CHECK(same(out[i], want[i]), out[i].serial, want[i].serial);
            }
            break;
        }
        case 5: { // consume(f(T&, bool)) that may throw on its k-th call
            const std::size_t max = arg % (keys + 3);
            const std::size_t throw_at = in.byte() % (keys + 4);
            std::vector<std::pair<quote, bool>> seen, want;
            std::size_t got = 0, want_got = 0;
            bool threw = false, want_threw = false;
            try {
                got = ring.consume(
                    [&](quote& q, bool end) {
                        seen.emplace_back(q, end);
                        if (seen.size() == throw_at + 1) {
                            throw thrown{};
                        }
                    },
                    max);
            } catch (const thrown&) {
                threw = true;
            }
            try {
                want_got = model.consume(
                    [&](const quote& q, bool end) {
                        want.emplace_back(q, end);
                        if (want.size() == throw_at + 1) {
                            throw thrown{};
                        }
                    },
                    max);
            } catch (const thrown&) {
                want_threw = true;
            }
            CHECK(threw == want_threw, threw, want_threw);
            CHECK(threw || got == want_got, got, want_got);
            CHECK(seen.size() == want.size(), seen.size(), want.size());
            for (std::size_t i = 0; i != seen.size(); ++i) {
                CHECK(same(seen[i].first, want[i].first), seen[i].first.serial,
                      want[i].first.serial);
                CHECK(seen[i].second == want[i].second, i, want[i].second);
            }
            break;
        }
        case 6: {
            const bool want = model.held.has_value() || !model.queue.empty();
            CHECK(ring.front_ready() == want, ring.front_ready(), want);
            break;
        }
        default:
            break;
        }
        CHECK(ring.size_approx() == model.queue.size(), ring.size_approx(), model.queue.size());
        CHECK(ring.claimed_approx() == model.claimed, ring.claimed_approx(), model.claimed);
        CHECK(ring.merged_approx() == model.merged, ring.merged_approx(), model.merged);
        CHECK(ring.conflated_approx() == model.conflated, ring.conflated_approx(),
              model.conflated);
    }
}

template <class Ring>
void expect_capacity_errors() {
    bool threw = false;
    try {
        Ring r(0);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw, 0, 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    admf_fuzz::reader in(data, size);
    const std::uint8_t kind = in.byte();
    const std::uint8_t shape = in.byte();
    const std::size_t requested = capacities[shape % std::size(capacities)];
    // Start at 0, or a few positions before 2^64 so the sequences wrap mid-run.
    const std::uint64_t start = (shape & 0x80) != 0 ? ~std::uint64_t{0} - (shape & 0x0f) : 0;
    live = 0;
    switch (kind % 7) {
    case 0:
        run_queue<admf::spsc_ring<tracked>>(in, requested, 1, start);
        break;
    case 1:
        run_queue<admf::spsc_ring<tracked, std::atomic, admf::spsc_ready_signal::tail_index>>(
            in, requested, 1, start);
        break;
    case 2:
        run_queue<admf::mpsc_ring<tracked>>(in, requested, 1, start);
        break;
    case 3:
        run_queue<admf::mpmc_ring<tracked>>(in, requested, 2, start);
        break;
    case 4:
        run_conflating(in, requested, admf::producers::single);
        break;
    case 5:
        run_conflating(in, requested, admf::producers::many);
        break;
    default:
        expect_capacity_errors<admf::spsc_ring<tracked>>();
        expect_capacity_errors<admf::mpsc_ring<tracked>>();
        expect_capacity_errors<admf::mpmc_ring<tracked>>();
        expect_capacity_errors<admf::conflating_ring<quote, quote_key>>();
        break;
    }
    CHECK(live == 0, live, 0);
    return 0;
}
