/* parking.pml: the blocking_wait parking protocol (no lost wake-up), in both of its uses
 * in a partition: a worker parked on its own wait (w.wait) for work, and a publisher
 * parked on the lane's `room` wait (backpressure::block) for space.
 *
 * Size: 2 publishers (2 events + 1 event) into one lane (ring capacity 2), 1 worker, 1 stopper.
 *
 * Mapping (Promela step -> C++):
 *   BW_WAIT(W, PRED)        wait/blocking_wait.hpp: basic_blocking_wait::wait(pred)
 *     first PRED            the spin phase: `spins_` checks of pred() before parking (one
 *                           check here; more add no behaviour: each is a read of the
 *                           same condition at a later instant)
 *     waiters[W]++          waiters_.fetch_add(1, relaxed) followed by heavy_fence()
 *     e = epoch[W]          epoch_.load(acquire)
 *     PRED again            the re-check `if (pred()) break;` after announcing
 *     (epoch[W] != e)       epoch_.wait(epoch, acquire): a futex that blocks while the
 *                           word still equals `e` (std::atomic::wait semantics)
 *     waiters[W]--          waiters_.fetch_sub(1, relaxed)
 *   BW_NOTIFY(W)            notify(): light_fence(); notify_fenced(): load waiters_, and if
 *                           non-zero epoch_.fetch_add(1, release) + notify_all()
 *   publisher               partition.hpp: partition::publish -> l.try_emplace (PUSH),
 *                           l.notify_owner() (lane.hpp: light_fence + owner_wait->
 *                           notify_fenced); when full: when_full -> block() ->
 *                           l.room.wait(done) whose pred is the push itself
 *   worker                  partition.hpp: partition::run: a round (drain: consume
 *                           what front_ready shows, then `l.room.notify()` when it took
 *                           any), `done != 0 -> continue`, `control_.drain` -> exit once
 *                           resolved, else `w.wait.wait(wake)` with wake = has_work() ||
 *                           drain
 *   stopper                 basic_bus.hpp: stop(): here only `drain = true` and
 *                           notify_all() after the publishers returned (the publish/stop
 *                           race itself is stop_drain.pml)
 *
 * Memory order: Promela is sequentially consistent. The C++ code gets SC for exactly the
 * two accesses that matter by Dekker's handshake, asymmetric_fence.hpp: the waiter's
 * store waiters_++ then heavy_fence() (membarrier) then load of the condition, against the
 * notifier's store of the condition (the push: ring slot turn, release) then
 * light_fence() then load of waiters_. heavy/light pair like two seq_cst fences, so at
 * least one of the two loads sees the other's store: the SC interleavings modelled here.
 * The acquire/release on epoch_ only carries the data (pairs with notify's release bump).
 * BUG_NOTIFY_NO_FENCE models what a missing fence allows: the notifier's load of waiters_
 * is satisfied before its push leaves the store buffer (store->load reordering, TSO).
 *
 * Negative controls (spin -DBUG_...):
 *   BUG_NO_RECHECK       the waiter parks without re-checking pred after announcing
 *   BUG_NOTIFY_NO_FENCE  the notifier reads waiters_ before its push is visible
 * Both lose a wake-up: a thread parks forever with its condition true (invalid end
 * state; `all_delivered` fails).
 */

#define CAP   2
#define PUBS  2
#define TOTAL 3      /* publisher 0 sends 2, publisher 1 sends 1 */

#define WORKER 0   /* w.wait */
#define ROOM   1   /* l.room */

byte head;          /* ring: consumed positions (worker) */
byte tail;          /* ring: pushed positions (publishers; a claim+commit, one step here) */
byte waiters[2];    /* blocking_wait::waiters_ */
byte epoch[2];      /* blocking_wait::epoch_ */
bool drain;         /* bus_control::drain */
byte delivered;     /* ghost: events handed to handlers */
byte accepted;      /* ghost: publishes that returned accepted */
byte pubs_done;     /* ghost: publishers returned */
bool worker_exited;

/* blocking_wait::wait(pred). PRED sets local `ok`. Locals e, ok declared by the caller. */
#ifdef BUG_NO_RECHECK
#define PARK_FIRST(W) e = epoch[W]; (epoch[W] != e);
#else
#define PARK_FIRST(W) skip;
#endif

#define BW_WAIT(W, PRED)                                            \
    PRED;                                                           \
    if                                                              \
    :: ok -> ok = false                                             \
    :: else ->                                                      \
        waiters[W]++;  /* fetch_add + heavy_fence */                \
        PARK_FIRST(W)                                               \
        do                                                          \
        :: e = epoch[W];                                            \
           PRED;                                                    \
           if                                                       \
           :: ok -> break                                           \
           :: else -> (epoch[W] != e)  /* futex wait */             \
           fi                                                       \
        od;                                                         \
        waiters[W]--;                                               \
        e = 0; ok = false                                           \
    fi

/* blocking_wait::notify(): (light_fence) load waiters_, bump + wake if any. */
#define BW_NOTIFY(W)                                                \
    w = waiters[W];                                                 \
    if                                                              \
    :: w != 0 -> epoch[W]++   /* fetch_add(release) + notify_all */  \
    :: else -> skip                                                 \
    fi;                                                             \
    w = 0

/* lane::try_emplace: one step (claim + commit); ok says whether it pushed. */
#define PUSH atomic { if :: tail - head < CAP -> tail++; ok = 1 :: else -> ok = 0 fi }
#define HAS_WORK atomic { ok = (head != tail) || drain }

proctype publisher(byte each) {
    byte i, e, w;
    bool ok;
    for (i : 1 .. each) {
#ifdef BUG_NOTIFY_NO_FENCE
        /* the load of waiters_ overtakes the push still in the store buffer */
        w = waiters[WORKER];
        PUSH;
        if
        :: !ok -> BW_WAIT(ROOM, PUSH)   /* block(): room.wait(done), done = push() */
        :: else -> skip
        fi;
        accepted++;
        if
        :: w != 0 -> epoch[WORKER]++
        :: else -> skip
        fi
#else
        PUSH;                           /* publish: l.try_emplace */
        if
        :: !ok -> BW_WAIT(ROOM, PUSH)   /* when_full -> block(): room.wait(done) */
        :: else -> skip
        fi;
        accepted++;
        BW_NOTIFY(WORKER)               /* l.notify_owner() */
#endif
    }
    pubs_done++
}

proctype worker() {
    byte n, e, w;
    bool ok;
    do
    :: n = 0;
       do                                  /* drain(w, l): consume what is ready */
       :: atomic { head != tail -> head++; delivered++; n++ }
       :: atomic { else -> break }
       od;
       if
       :: n != 0 -> BW_NOTIFY(ROOM)        /* l.room.notify() after freeing slots */
       :: else -> skip
       fi;
       if
       :: n != 0 -> skip                   /* done != 0: another round */
       :: else ->
          if
          :: drain ->                      /* mine_resolved(): every attempt consumed */
             if
             :: atomic { head == tail } -> break
             :: else -> skip               /* yield; another round */
             fi
          :: else -> BW_WAIT(WORKER, HAS_WORK)  /* w.wait.wait(wake) */
          fi
       fi
    od;
    worker_exited = true
}

proctype stopper() {
    byte w;
    pubs_done == PUBS;    /* the user calls stop() after its publishers returned */
    drain = true;         /* stop(): state stopping, heavy_fence, drain (release) */
    BW_NOTIFY(WORKER);    /* notify_all() -> notify_workers() */
    worker_exited;        /* join() */
    /* every accepted event was delivered before stop() returned */
    assert(delivered == accepted && accepted == TOTAL && head == tail)
}

init {
    atomic {
        run worker();
        run publisher(2);
        run publisher(1);
        run stopper()
    }
}

/* Liveness: every event is eventually delivered and the worker exits (checked with -a -f:
 * weak fairness, so no process is starved forever while it can move). */
ltl all_delivered { <> (delivered == TOTAL && worker_exited) }
