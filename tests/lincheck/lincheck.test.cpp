// SPDX-License-Identifier: MIT
// Linearizability of the rings (TESTING.md T5): the checker's own tests on hand-written
// histories (its negative controls), threaded demonstrations of the one way mpmc_ring and
// mpsc_ring are not linearizable, and 10,000 recorded histories per ring checked against a
// bounded FIFO model, strictly and with in-flight hand-over allowed (lincheck.hpp).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <admf/ring/mpmc_ring.hpp>
#include <admf/ring/mpsc_ring.hpp>
#include <admf/ring/spsc_ring.hpp>

#include "catch.hpp"
#include "lincheck.hpp"
#include "ring_histories.hpp"
#include "seed.hpp"

namespace lc = admf_test::lincheck;

namespace {

lc::operation push(int thread, std::uint64_t value, bool ok, std::uint64_t invoke,
                   std::uint64_t ret) {
    return {thread, lc::op_kind::push, value, ok, invoke, ret};
}
lc::operation pop(int thread, std::uint64_t value, std::uint64_t invoke, std::uint64_t ret) {
    return {thread, lc::op_kind::pop, value, true, invoke, ret};
}
lc::operation pop_empty(int thread, std::uint64_t invoke, std::uint64_t ret) {
    return {thread, lc::op_kind::pop, 0, false, invoke, ret};
}

constexpr lc::queue_model strict2{2, lc::relaxation::none};
constexpr lc::queue_model relaxed2{2, lc::relaxation::in_flight_hand_over};

// Whether `order` replays `h` on a FIFO of `cap` (the witness the checker returned).
bool replays(const lc::history& h, const std::vector<std::size_t>& order, std::size_t cap) {
    if (order.size() != h.size()) {
        return false;
    }
    std::vector<std::uint64_t> q;
    for (std::size_t k = 0; k < order.size(); ++k) {
        const auto& op = h[order[k]];
        for (std::size_t j = k + 1; j < order.size(); ++j) {
            if (h[order[j]].ret < op.invoke) {
                return false; // a later call returned before this one was invoked
            }
        }
        if (op.kind == lc::op_kind::push) {
            if (op.ok != (q.size() < cap)) {
                return false;
            }
            if (op.ok) {
                q.push_back(op.value);
            }
        } else {
            if (op.ok != !q.empty() || (op.ok && q.front() != op.value)) {
                return false;
            }
            if (op.ok) {
                q.erase(q.begin());
            }
        }
    }
    return true;
}

} // namespace

// ---------------------------------------------------------------------------------------
// The checker on hand-written histories. Stamps are small integers; equal = overlapping.

TEST_CASE("lincheck accepts sequential FIFO histories and returns a valid witness", "[lincheck]") {
    const lc::history h{push(0, 1, true, 0, 1),   push(0, 2, true, 2, 3), push(0, 3, false, 4, 5),
                        pop(1, 1, 6, 7),          pop(1, 2, 8, 9),        pop_empty(1, 10, 11),
                        push(0, 3, true, 12, 13), pop(1, 3, 14, 15)};
    // value 3 is offered twice: the checker refuses ambiguous histories.
    CHECK_THROWS_AS(lc::check(h, strict2), std::invalid_argument);
    lc::history fixed = h;
    fixed[6].value = 4;
    fixed[7].value = 4;
    const auto v = lc::check(fixed, strict2);
    REQUIRE(v.linearizable);
    CHECK(replays(fixed, v.order, 2));
    CHECK(v.relaxed_steps == 0);
}

TEST_CASE("lincheck accepts overlapping calls in whichever order explains them", "[lincheck]") {
    SECTION("two overlapping pushes may take effect in either order") {
        const lc::history h{push(0, 1, true, 0, 3), push(1, 2, true, 1, 2), pop(2, 2, 4, 5),
                            pop(2, 1, 6, 7)};
        const auto v = lc::check(h, strict2);
        REQUIRE(v.linearizable);
        CHECK(replays(h, v.order, 2));
    }
    SECTION("a pop may return a value whose push has not returned yet") {
        const lc::history h{push(0, 1, true, 0, 3), pop(1, 1, 1, 2)};
        CHECK(lc::check(h, strict2).linearizable);
    }
    SECTION("a pop overlapping the only push may report empty") {
        const lc::history h{push(0, 1, true, 0, 3), pop_empty(1, 1, 2), pop(1, 1, 4, 5)};
        CHECK(lc::check(h, strict2).linearizable);
    }
    SECTION("a push overlapping the pop that makes room may still report full") {
        const lc::history h{push(0, 1, true, 0, 1), push(0, 2, true, 2, 3), pop(1, 1, 4, 7),
                            push(0, 3, false, 5, 6)};
        CHECK(lc::check(h, strict2).linearizable);
    }
    SECTION("equal stamps count as overlapping") {
        const lc::history h{push(0, 1, true, 0, 1), pop(1, 1, 1, 2)};
        CHECK(lc::check(h, strict2).linearizable);
    }
    SECTION("24 calls of 3 threads all overlapping") {
        lc::history h;
        for (int t = 0; t < 3; ++t) {
            for (std::uint64_t k = 0; k < 4; ++k) {
                h.push_back(push(t, 10 * static_cast<std::uint64_t>(t) + k + 1, true, 0, 100));
                h.push_back(pop(t, 10 * static_cast<std::uint64_t>((t + 1) % 3) + k + 1, 0, 100));
            }
        }
        const auto v = lc::check(h, strict2);
        REQUIRE(v.linearizable);
        CHECK(replays(h, v.order, 2));
    }
}

// The negative controls: each history below is not linearizable, under either model.
TEST_CASE("lincheck rejects histories no FIFO queue can produce", "[lincheck]") {
    struct control {
        const char* what;
        lc::history h;
    };
    const std::vector<control> controls{
        {"a pop returns a value pushed after the pop returned",
         {pop(1, 1, 0, 1), push(0, 1, true, 2, 3)}},
        {"two pops return the same value",
         {push(0, 1, true, 0, 1), pop(1, 1, 2, 5), pop(2, 1, 3, 4)}},
        {"FIFO reversed between non-overlapping pushes",
         {push(0, 1, true, 0, 1), push(0, 2, true, 2, 3), pop(1, 2, 4, 5), pop(1, 1, 6, 7)}},
        {"FIFO reversed across threads: pushes and pops each on two threads",
         {push(0, 1, true, 0, 1), push(1, 2, true, 2, 3), pop(2, 2, 4, 5), pop(0, 1, 6, 7)}},
        {"a push reports full while the queue is provably empty",
         {push(0, 1, true, 0, 1), pop(1, 1, 2, 3), push(0, 2, false, 4, 5)}},
        {"a push reports full on a never-used queue", {push(0, 1, false, 0, 1)}},
        {"a push reports full with one element queued of two",
         {push(0, 1, true, 0, 1), push(1, 2, false, 2, 3)}},
        {"a pop reports empty while an element is provably queued",
         {push(0, 1, true, 0, 1), pop_empty(1, 2, 3)}},
        {"a pop returns a value never pushed", {push(0, 1, true, 0, 1), pop(1, 7, 2, 3)}},
        {"a value is lost: pushed, then empty, with no pop in between",
         {push(0, 1, true, 0, 1), push(0, 2, true, 2, 3), pop(1, 1, 4, 5), pop_empty(1, 6, 7)}},
        {"more than capacity elements accepted",
         {push(0, 1, true, 0, 1), push(0, 2, true, 2, 3), push(0, 3, true, 4, 5)}},
    };
    for (const auto& c : controls) {
        INFO(c.what);
        const auto strict = lc::check(c.h, strict2);
        CHECK_FALSE(strict.linearizable);
        CHECK_FALSE(lc::check(c.h, relaxed2).linearizable);
        // The report names the failure and every call of the history.
        CHECK(strict.report.find("NOT linearizable") != std::string::npos);
        CHECK(strict.report.find("longest linearizable prefix") != std::string::npos);
        for (const auto& op : c.h) {
            CHECK(strict.report.find(lc::describe(op)) != std::string::npos);
        }
    }
    std::printf("lincheck negative control, as reported:\n%s",
                lc::check(controls[2].h, strict2).report.c_str());
}

TEST_CASE("lincheck relaxed model allows only in-flight hand-over", "[lincheck]") {
    SECTION("empty while the oldest element's push is still in flight") {
        // T0's push of 1 claimed first and is slow; T1 pushes 2, then finds the ring empty.
        const lc::history h{push(0, 1, true, 0, 7), push(1, 2, true, 1, 2), pop_empty(1, 3, 4),
                            pop(1, 1, 8, 9), pop(1, 2, 10, 11)};
        CHECK_FALSE(lc::check(h, strict2).linearizable);
        const auto v = lc::check(h, relaxed2);
        CHECK(v.linearizable);
        CHECK(v.relaxed_steps == 1);
    }
    SECTION("but not once that push has returned") {
        const lc::history h{push(0, 1, true, 0, 2), push(1, 2, true, 1, 3), pop_empty(1, 4, 5)};
        CHECK_FALSE(lc::check(h, relaxed2).linearizable);
    }
    SECTION("nor when the in-flight push is not the oldest element") {
        // 1 was pushed and returned before the pop: the front is 1, whatever 2 does.
        const lc::history h{push(0, 1, true, 0, 1), push(1, 2, true, 2, 9), pop_empty(2, 3, 4)};
        CHECK_FALSE(lc::check(h, relaxed2).linearizable);
    }
    SECTION("full while the pop that frees the slot one lap back is in flight") {
        const lc::history h{push(0, 1, true, 0, 1), push(0, 2, true, 2, 3), pop(1, 1, 4, 11),
                            pop(0, 2, 5, 6), push(0, 3, false, 7, 8)};
        CHECK_FALSE(lc::check(h, strict2).linearizable);
        CHECK(lc::check(h, relaxed2).linearizable);
    }
    SECTION("but not when that pop has returned, even if a later pop is in flight") {
        // The slot of position 0 (value 1) was emptied by a returned pop; 2's pop is slow.
        const lc::history h{push(0, 1, true, 0, 1), push(0, 2, true, 2, 3),
                            pop(1, 1, 4, 5),        pop(2, 2, 6, 11),
                            push(0, 3, true, 7, 8), push(0, 4, false, 9, 10)};
        CHECK(lc::check(h, strict2).linearizable); // 2's pop may take effect first
        const lc::history g{push(0, 1, true, 0, 1), push(0, 2, true, 2, 3), pop(1, 1, 4, 5),
                            pop(2, 2, 6, 11), push(0, 3, false, 7, 8)};
        CHECK_FALSE(lc::check(g, relaxed2).linearizable);
    }
    SECTION("nor full before any slot has been used once") {
        const lc::history h{push(0, 1, true, 0, 1), pop(1, 1, 2, 9), push(0, 2, false, 3, 4)};
        CHECK_FALSE(lc::check(h, relaxed2).linearizable);
    }
}

namespace {

// The specification written out plainly, for the brute-force comparison: replays `order`
// on a FIFO of `cap`, with the in-flight hand-over rules when `relax`. Independent of
// lincheck.hpp's incremental model on purpose.
bool replay_model(const lc::history& h, const std::vector<std::size_t>& order, std::size_t cap,
                  bool relax) {
    std::vector<std::uint64_t> q;
    std::vector<std::size_t> popper; // popper[k]: the pop of position k
    std::size_t pushed = 0;
    auto push_of = [&](std::uint64_t v) {
        for (std::size_t i = 0; i < h.size(); ++i) {
            if (h[i].kind == lc::op_kind::push && h[i].value == v) {
                return i;
            }
        }
        return h.size();
    };
    for (std::size_t i : order) {
        const auto& op = h[i];
        if (op.kind == lc::op_kind::push) {
            if (op.ok) {
                if (q.size() == cap) {
                    return false;
                }
                q.push_back(op.value);
                ++pushed;
            } else if (q.size() != cap &&
                       !(relax && pushed >= cap && h[popper[pushed - cap]].ret > op.invoke)) {
                return false;
            }
        } else if (op.ok) {
            if (q.empty() || q.front() != op.value) {
                return false;
            }
            q.erase(q.begin());
            popper.push_back(i);
        } else if (!q.empty() && !(relax && h[push_of(q.front())].ret > op.invoke)) {
            return false;
        }
    }
    return true;
}

// Tries every order that respects real time (a call cannot precede one that returned
// before it was invoked).
bool brute_force(const lc::history& h, std::size_t cap, bool relax) {
    std::vector<std::size_t> order;
    std::vector<bool> used(h.size(), false);
    auto dfs = [&](auto& self) -> bool {
        if (order.size() == h.size()) {
            return replay_model(h, order, cap, relax);
        }
        for (std::size_t i = 0; i < h.size(); ++i) {
            if (used[i]) {
                continue;
            }
            bool minimal = true;
            for (std::size_t j = 0; j < h.size() && minimal; ++j) {
                minimal = used[j] || j == i || h[j].ret >= h[i].invoke;
            }
            if (!minimal) {
                continue;
            }
            used[i] = true;
            order.push_back(i);
            if (self(self)) {
                return true;
            }
            order.pop_back();
            used[i] = false;
        }
        return false;
    };
    return dfs(dfs);
}

} // namespace

TEST_CASE("lincheck agrees with a brute-force search on random small histories", "[lincheck]") {
    admf_test::rng r(admf_test::stream_seed(0x6272757465, 0));
    std::size_t agreed[2][2] = {}; // [relaxed][linearizable]
    for (int round = 0; round < 3000; ++round) {
        // A sequential run of a FIFO (call k takes effect at time 4k, its interval reaches up
        // to 9 either side, so neighbours overlap), then, half the time, one call altered.
        const std::size_t cap = 1 + r.below(2);
        const std::size_t n = 3 + r.below(5); // up to 7 calls: 7! orders at most
        lc::history h;
        std::vector<std::uint64_t> q;
        std::uint64_t next_value = 1;
        for (std::size_t k = 0; k < n; ++k) {
            lc::operation op;
            op.thread = static_cast<int>(r.below(3));
            op.invoke = 4 * k - std::min<std::uint64_t>(4 * k, r.below(10));
            op.ret = 4 * k + r.below(10);
            if (r.below(2) == 0) {
                op.kind = lc::op_kind::push;
                op.value = next_value++;
                op.ok = q.size() < cap;
                if (op.ok) {
                    q.push_back(op.value);
                }
            } else {
                op.kind = lc::op_kind::pop;
                op.ok = !q.empty();
                op.value = op.ok ? q.front() : 0;
                if (op.ok) {
                    q.erase(q.begin());
                }
            }
            h.push_back(op);
        }
        if (r.below(2) == 0) {
            lc::operation& op = h[r.below(n)];
            switch (r.below(3)) {
            case 0: // the other result
                op.ok = !op.ok;
                op.value = op.kind == lc::op_kind::push ? op.value : op.ok ? 1 + r.below(n) : 0;
                break;
            case 1: // another value
                op.value = op.kind == lc::op_kind::push ? op.value : 1 + r.below(n);
                break;
            default: // another time
                op.invoke = r.below(4 * n);
                op.ret = op.invoke + r.below(10);
                break;
            }
        }
        for (int relax = 0; relax < 2; ++relax) {
            const lc::queue_model m{cap, relax != 0 ? lc::relaxation::in_flight_hand_over
                                                    : lc::relaxation::none};
            const auto v = lc::check(h, m);
            const bool expected = brute_force(h, cap, relax != 0);
            INFO(lc::describe(h) << "capacity " << cap << (relax != 0 ? ", relaxed" : ", strict"));
            REQUIRE(v.linearizable == expected);
            if (v.linearizable) {
                CHECK(replay_model(h, v.order, cap, relax != 0));
            }
            ++agreed[relax][expected ? 1 : 0];
        }
    }
    std::printf("lincheck vs brute force: strict %zu linearizable / %zu not, relaxed %zu / %zu\n",
                agreed[0][1], agreed[0][0], agreed[1][1], agreed[1][0]);
    // Both verdicts must be exercised, and the relaxation must matter somewhere.
    CHECK(agreed[0][0] > 100);
    CHECK(agreed[0][1] > 100);
    CHECK(agreed[1][1] > agreed[0][1]);
}

// ---------------------------------------------------------------------------------------
// Threaded demonstrations: one thread stopped inside the ring's hand-over window.

namespace {

// Stops the thread whose probe hook it is at its first claim, until release().
class pause_point {
public:
    std::function<void()> hook() {
        return [this] {
            int armed = 0;
            if (state_.compare_exchange_strong(armed, 1)) {
                while (state_.load() != 2) {
                    std::this_thread::yield();
                }
            }
        };
    }
    void wait_paused() const {
        while (state_.load() != 1) {
            std::this_thread::yield();
        }
    }
    void release() { state_.store(2); }

private:
    std::atomic<int> state_{0};
};

template <class Ring>
lc::operation do_push(Ring& ring, int thread, std::uint64_t value) {
    lc::operation op{thread, lc::op_kind::push, value, false, lc::stamp(), 0};
    op.ok = ring.try_push(std::uint64_t{value});
    op.ret = lc::stamp();
    return op;
}

template <class Ring>
lc::operation do_pop(Ring& ring, int thread) {
    std::uint64_t out = 0;
    lc::operation op{thread, lc::op_kind::pop, 0, false, lc::stamp(), 0};
    op.ok = ring.try_pop(out);
    op.ret = lc::stamp();
    op.value = op.ok ? out : 0;
    return op;
}

// T1's push claims position 0 and stops; T0 pushes 2 (position 1) and returns, then pops:
// position 0 is not published, so the ring reports empty although 2 is queued.
template <class Ring>
lc::history empty_while_push_in_flight() {
    Ring ring(2);
    pause_point paused;
    lc::operation slow;
    std::thread t1([&] {
        lc::probe_hooks::after_claim = paused.hook();
        slow = do_push(ring, 1, 1);
        lc::probe_hooks::after_claim = nullptr;
    });
    paused.wait_paused();
    lc::history h{do_push(ring, 0, 2), do_pop(ring, 0)};
    paused.release();
    t1.join();
    h.push_back(slow);
    h.push_back(do_pop(ring, 0));
    h.push_back(do_pop(ring, 0));
    return h;
}

} // namespace

TEST_CASE("mpmc_ring is not linearizable: empty while a push is in flight",
          "[lincheck][mpmc_ring]") {
    const auto h = empty_while_push_in_flight<admf::mpmc_ring<std::uint64_t, lc::probe_atomic>>();
    REQUIRE(h[0].ok);
    REQUIRE_FALSE(h[1].ok); // the ring's behaviour this case documents
    CHECK(h[3].value == 1); // FIFO in claim order once the slow push is done
    CHECK(h[4].value == 2);
    const auto strict = lc::check(h, {2, lc::relaxation::none});
    CHECK_FALSE(strict.linearizable);
    CHECK(lc::check(h, {2, lc::relaxation::in_flight_hand_over}).linearizable);
    std::printf("mpmc_ring, empty while a push is in flight:\n%s", strict.report.c_str());
}

TEST_CASE("mpsc_ring is not linearizable: empty while a push is in flight",
          "[lincheck][mpsc_ring]") {
    const auto h = empty_while_push_in_flight<admf::mpsc_ring<std::uint64_t, lc::probe_atomic>>();
    REQUIRE(h[0].ok);
    REQUIRE_FALSE(h[1].ok);
    CHECK(h[3].value == 1);
    CHECK(h[4].value == 2);
    CHECK_FALSE(lc::check(h, {2, lc::relaxation::none}).linearizable);
    CHECK(lc::check(h, {2, lc::relaxation::in_flight_hand_over}).linearizable);
}

TEST_CASE("mpmc_ring is not linearizable: full while a pop is in flight", "[lincheck][mpmc_ring]") {
    // T0 fills both slots; T1's pop claims position 0 (value 1) and stops; T0 pops 2 and
    // returns, then pushes 3 into position 2, slot 0, which T1 has not handed back: full.
    admf::mpmc_ring<std::uint64_t, lc::probe_atomic> ring(2);
    lc::history h{do_push(ring, 0, 1), do_push(ring, 0, 2)};
    pause_point paused;
    lc::operation slow;
    std::thread t1([&] {
        lc::probe_hooks::after_claim = paused.hook();
        slow = do_pop(ring, 1);
        lc::probe_hooks::after_claim = nullptr;
    });
    paused.wait_paused();
    h.push_back(do_pop(ring, 0));
    h.push_back(do_push(ring, 0, 3));
    paused.release();
    t1.join();
    h.push_back(slow);
    h.push_back(do_push(ring, 0, 4));
    REQUIRE(h[2].value == 2);
    REQUIRE_FALSE(h[3].ok); // the ring's behaviour this case documents
    CHECK(h[4].value == 1);
    CHECK(h[5].ok);
    const auto strict = lc::check(h, {2, lc::relaxation::none});
    CHECK_FALSE(strict.linearizable);
    CHECK(lc::check(h, {2, lc::relaxation::in_flight_hand_over}).linearizable);
    std::printf("mpmc_ring, full while a pop is in flight:\n%s", strict.report.c_str());
}

// ---------------------------------------------------------------------------------------
// Recorded histories: real threads, capacity 2, 8 calls per thread.

namespace {

void report(const char* name, const lc::run_summary& s) {
    std::printf("%s: %zu histories in %.2f s (%s build), %zu with overlapping calls (%zu pairs), "
                "%zu not linearizable (FIFO), %zu not even with in-flight hand-over "
                "(relaxed calls used: %zu)\n",
                name, s.histories, s.seconds,
                admf_test::to_string(admf_test::current_stress_scale()), s.overlapped,
                s.overlapping_pairs, s.strict_failures, s.relaxed_failures, s.relaxed_steps);
    if (!s.first_strict_failure.empty()) {
        std::printf("%s: first non-linearizable history:\n%s", name,
                    s.first_strict_failure.c_str());
    }
    if (!s.first_relaxed_failure.empty()) {
        std::printf("%s: first history failing the relaxed model:\n%s", name,
                    s.first_relaxed_failure.c_str());
    }
    std::fflush(stdout);
}

// T5's 10,000 histories for mpmc_ring (2,000 under TSan, 5,000 under ASan); half for the
// rings with fewer threads.
std::size_t histories(bool full = true) {
    const auto n = admf_test::by_scale<std::size_t>(10'000, 2'000, 5'000);
    return full ? n : n / 2;
}

using lc::role;

template <class Ring>
lc::run_summary run(const char* name, std::vector<role> threads, bool jitter, std::uint64_t salt) {
    lc::run_options o;
    o.histories = histories(threads.size() == 3 && threads[0] == role::mixed);
    o.threads = std::move(threads);
    o.jitter = jitter;
    o.salt = salt;
    const auto s = lc::run_histories<Ring>(o);
    report(name, s);
    CHECK(s.histories == o.histories);
    // Not vacuous: calls must really overlap. With jitter a thread yields inside calls, so
    // they overlap on any host (measured 10-65 % of histories on a 2-core host at load 14);
    // without it that takes two threads on two cores at once, which such a host grants
    // rarely (measured 0-10 %), so there it is reported, not asserted.
    if (jitter) {
        CHECK(s.overlapped >= s.histories / 50);
    } else if (s.overlapped < s.histories / 200) {
        WARN(name << ": only " << s.overlapped << " of " << s.histories
                  << " histories had overlapping calls (a loaded host?)");
    }
    return s;
}

} // namespace

// mpmc_ring and mpsc_ring: the relaxed model must hold in every history; strict failures are
// counted and the first one printed (the demonstrations above show they are real).
TEST_CASE("lincheck histories: mpmc_ring with 3 threads mixing try_push and try_pop",
          "[lincheck][mpmc_ring]") {
    const auto s = run<admf::mpmc_ring<std::uint64_t>>(
        "mpmc_ring", {role::mixed, role::mixed, role::mixed}, false, 0x6d706d63);
    CHECK(s.relaxed_failures == 0);
}

TEST_CASE("lincheck histories: mpmc_ring with jittered hand-over windows",
          "[lincheck][mpmc_ring]") {
    const auto s = run<admf::mpmc_ring<std::uint64_t, lc::probe_atomic>>(
        "mpmc_ring, jittered", {role::mixed, role::mixed, role::mixed}, true, 0x6d706d64);
    CHECK(s.relaxed_failures == 0);
    // The failure stays visible: about half of these histories are not linearizable (a
    // stretched window is a stalled producer or consumer). Should this ever reach 0, the ring
    // became linearizable and docs/rings.md can say so.
    CHECK(s.strict_failures > 0);
}

TEST_CASE("lincheck histories: mpsc_ring with 2 producers and 1 consumer",
          "[lincheck][mpsc_ring]") {
    const auto s = run<admf::mpsc_ring<std::uint64_t>>(
        "mpsc_ring", {role::consumer, role::producer, role::producer}, false, 0x6d707363);
    CHECK(s.relaxed_failures == 0);
}

TEST_CASE("lincheck histories: mpsc_ring with jittered hand-over windows",
          "[lincheck][mpsc_ring]") {
    const auto s = run<admf::mpsc_ring<std::uint64_t, lc::probe_atomic>>(
        "mpsc_ring, jittered", {role::consumer, role::producer, role::producer}, true, 0x6d707364);
    CHECK(s.relaxed_failures == 0);
}

// spsc_ring: linearizable, no relaxation.
TEST_CASE("lincheck histories: spsc_ring with 1 producer and 1 consumer", "[lincheck][spsc_ring]") {
    const auto s = run<admf::spsc_ring<std::uint64_t>>(
        "spsc_ring", {role::consumer, role::producer}, false, 0x73707363);
    CHECK(s.strict_failures == 0);
}

TEST_CASE("lincheck histories: spsc_ring with jittered hand-over windows",
          "[lincheck][spsc_ring]") {
    const auto s = run<admf::spsc_ring<std::uint64_t, lc::probe_atomic>>(
        "spsc_ring, jittered", {role::consumer, role::producer}, true, 0x73707364);
    CHECK(s.strict_failures == 0);
}
