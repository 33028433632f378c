// SPDX-License-Identifier: MIT
// Negative controls (TESTING.md T10 applied to T3): deliberately broken protocols that the
// scheduler must catch, and whose printed replay must reproduce the same failure. A search
// that cannot fail proves nothing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "catch.hpp"
#include "explore.hpp"
#include "scenario_support.hpp"

namespace ds = admf_test::dsched;

namespace {

// A two-producer ring with a check-then-act race: a push reads tail_, may be preempted,
// then writes the slot and stores tail_ + 1, so two producers can fill the same position
// (one item lost, or the consumer reads one twice).
class racy_ring {
public:
    [[nodiscard]] bool try_push(const ds::item& e) {
        const auto tail = tail_.load();
        if (tail - head_.load() == slots_.size()) {
            return false;
        }
        slots_[tail % slots_.size()] = e; // plain write: nobody else owns position `tail`?
        tail_.store(tail + 1);            // BUG: not a CAS
        return true;
    }
    [[nodiscard]] bool try_pop(ds::item& out) {
        const auto head = head_.load();
        if (head == tail_.load()) {
            return false;
        }
        out = slots_[head % slots_.size()];
        head_.store(head + 1);
        return true;
    }

private:
    ds::atomic<std::uint64_t> tail_{0};
    ds::atomic<std::uint64_t> head_{0};
    std::array<ds::item, 2> slots_{};
};

// 2 producers x 2 items, 1 consumer that stops when the producers are done and it has
// drained the ring (so a lost item is reported, not waited for forever), or once it has
// popped more items than were sent: a producer's stale `tail_ + 1` store can move tail_
// back below head_, after which head_ != tail_ holds for 2^64 pops and the consumer would
// read duplicates until the step bound called it a livelock (PCT found that schedule).
struct racy_ring_2p1c {
    static constexpr std::size_t threads = 3;
    racy_ring ring;
    ds::received<2, 1> got;
    ds::atomic<int> producers_done{0};

    racy_ring_2p1c() { got.sent.fill(2); }

    void run(std::size_t thread) {
        if (thread < 2) {
            for (std::size_t s = 0; s != 2; ++s) {
                while (!ring.try_push(ds::item::make(thread, s))) {
                    ds::yield();
                }
            }
            producers_done.fetch_add(1);
            return;
        }
        ds::item e;
        for (;;) {
            const bool done = producers_done.load() == 2; // read before the last pop attempt
            if (ring.try_pop(e)) {
                got.add(0, e);
                if (got.total() > 4) {
                    return; // more than was sent: check() reports the duplicate
                }
            } else if (done) {
                return;
            } else {
                ds::yield();
            }
        }
    }
    [[nodiscard]] std::string check() const { return got.check(); }
};

// A blocking wait that checks its predicate before announcing itself: a notify between
// that check and the park sees no waiter and wakes nobody (the lost wake-up that
// basic_blocking_wait's announce / fence / re-check order prevents).
struct lost_wakeup_wait {
    static constexpr std::size_t threads = 2;
    ds::atomic<int> ready{0};
    ds::atomic<std::uint32_t> waiters{0};
    ds::atomic<std::uint32_t> epoch{0};
    bool woke = false;

    void run(std::size_t thread) {
        if (thread == 0) { // notifier
            ready.store(1);
            if (waiters.load() != 0) {
                epoch.fetch_add(1);
                epoch.notify_all();
            }
            return;
        }
        if (ready.load() == 0) {  // BUG: checked before announcing ...
            waiters.fetch_add(1); // ... so the notifier may already have looked
            const auto e = epoch.load();
            epoch.wait(e); // and no re-check of `ready` before parking
            waiters.fetch_sub(1);
        }
        woke = true;
    }
    [[nodiscard]] std::string check() const { return woke ? "" : "waiter did not return"; }
};

// A spin loop that waits for a flag nobody sets: the step bound reports LIVELOCK.
struct spins_forever {
    static constexpr std::size_t threads = 2;
    ds::atomic<int> flag{0};
    void run(std::size_t thread) {
        if (thread == 1) {
            while (flag.load() == 0) {
                ds::yield();
            }
        }
    }
    [[nodiscard]] std::string check() const { return {}; }
};

// The search must find `kind`; then both printed replays must reproduce it exactly.
template <class State>
void require_found(const std::string& name, ds::explore_options o, ds::outcome kind) {
    const auto r = ds::explore<State>(name, o);
    INFO(r.summary());
    REQUIRE(r.found.has_value());
    REQUIRE(r.found->run.kind == kind);
    if (r.replayed) {
        return; // ADMF_DSCHED_REPLAY set by hand: only that schedule ran
    }
    ds::explorer<State> again(o.max_steps);
    const auto by_spec = again.replay(r.found->replay);
    CHECK(by_spec.kind == kind);
    CHECK(by_spec.message == r.found->run.message);
    CHECK(by_spec.schedule == r.found->run.schedule);
    const auto by_schedule = again.replay(r.found->run.schedule);
    CHECK(by_schedule.kind == kind);
    CHECK(by_schedule.message == r.found->run.message);
}

ds::explore_options only_random() {
    auto o = ds::explore_options::for_this_build();
    o.pct_runs = 0;
    o.exhaustive_limit = 0;
    return o;
}
ds::explore_options only_pct() {
    auto o = only_random();
    o.random_runs = 0;
    o.pct_runs = ds::explore_options::for_this_build().pct_runs;
    return o;
}
ds::explore_options only_exhaustive() {
    auto o = only_random();
    o.random_runs = 0;
    o.exhaustive_limit = ds::explore_options::for_this_build().exhaustive_limit;
    return o;
}

} // namespace

TEST_CASE("dsched negative control: a check-then-act push is caught by random schedules", "[dsched][negative]") {
    require_found<racy_ring_2p1c>("NEGATIVE racy push (random)", only_random(), ds::outcome::check_failed);
}

TEST_CASE("dsched negative control: a check-then-act push is caught by PCT", "[dsched][negative]") {
    require_found<racy_ring_2p1c>("NEGATIVE racy push (pct)", only_pct(), ds::outcome::check_failed);
}

TEST_CASE("dsched negative control: a check-then-act push is caught by exhaustive search", "[dsched][negative]") {
    require_found<racy_ring_2p1c>("NEGATIVE racy push (exhaustive)", only_exhaustive(),
                                  ds::outcome::check_failed);
}

TEST_CASE("dsched negative control: a wait that checks before announcing deadlocks under random schedules", "[dsched][negative]") {
    require_found<lost_wakeup_wait>("NEGATIVE lost wake-up (random)", only_random(), ds::outcome::deadlock);
}

TEST_CASE("dsched negative control: a wait that checks before announcing deadlocks under exhaustive search", "[dsched][negative]") {
    require_found<lost_wakeup_wait>("NEGATIVE lost wake-up (exhaustive)", only_exhaustive(),
                                    ds::outcome::deadlock);
}

TEST_CASE("dsched negative control: a spin on a flag nobody sets is a livelock", "[dsched][negative]") {
    auto o = only_random();
    o.max_steps = 200;
    require_found<spins_forever>("NEGATIVE livelock (random)", o, ds::outcome::livelock);
}
