/* stop_drain.pml: basic_bus::stop() against concurrent publishes, and the worker's exit
 * condition. Properties: no publish is accepted after stop() returned; every attempt is
 * decided and every accepted event is delivered (drain) or counted discarded (discard);
 * stop() returns (the worker exits); no deadlock.
 *
 * Size: 2 publishers (2 events + 1 event) on one lane, MPSC ring of capacity 2
 * (backpressure::reject), 1 worker, 1 stopper (drain or discard, chosen by spin).
 *
 * Mapping (Promela step -> C++):
 *   publisher
 *     attempts++                 partition.hpp: partition::enter: l.attempts.fetch_add(n)
 *     (light_fence)              enter: light_fence() between the count and the state load
 *     s = state                  enter: control_.state.load(relaxed) >= stopping
 *     refused++                  enter: l.refused.fetch_add(n, release), return stopped
 *     claim (pos = tail++)       ring/mpsc_ring.hpp: try_emplace's CAS on the tail
 *     full -> rejected++         partition::when_full (reject) -> count(l, full, 1)
 *     commit turn[pos] = pos+1   mpsc_ring fill(): s.turn.store(pos + 1, release); a
 *                                publisher may be preempted between claim and commit
 *     BW_NOTIFY                  l.notify_owner() (lane.hpp): nothing to do for an ideal wait
 *   worker                       partition::run
 *     round                      drain(): consume while front_ready (turn == head + 1);
 *                                per event `discard` -> discarded else delivered;
 *                                lane::count_taken bumps `taken` (release)
 *     done != 0 -> next round
 *     drain seen                 control_.drain.load(acquire): deliver_all, then return
 *                                iff mine_resolved() && !awaiting(w), else yield
 *     RESOLVED                   lane.hpp: lane::resolved(): outcomes (rejected,
 *                                timed_out, refused, consumed) read first, attempts last
 *     BW_WAIT                    w.wait.wait(wake), wake = has_work() || drain: an
 *                                ideal wait here (its handshake is parking.pml's)
 *   stopper                      basic_bus.hpp: basic_bus::stop()
 *     discard = ?                control_.discard.store(mode == discard)
 *     state = STOPPING           control_.state.store(stopping)
 *     (heavy_fence)              heavy_fence(): the stopper's half of the handshake
 *     drain = true               control_.drain.store(true, release)
 *     BW_NOTIFY                  partitions' notify_all() -> announce_assignment ->
 *                                notify_workers()
 *     worker_exited              join()
 *     stop_returned              state.store(stopped); stop() returns
 *
 * Memory order: Promela is SC. The C++ code needs SC between the publisher's
 * attempts++ and its load of `state`, and the stopper's store of `state` and the
 * worker's later load of `attempts` (via drain): Dekker's handshake, light_fence() in
 * enter() against heavy_fence() in stop() (core/asymmetric_fence.hpp): either the
 * publisher sees `stopping` or its attempt is visible to every worker that saw
 * `drain` (drain is stored after the heavy_fence, release; loaded acquire). Counters
 * are release/acquire, the ring's turn word release/acquire; the worker's wake-up is
 * blocking_wait's own handshake (parking.pml).
 *
 * Negative controls (spin -DBUG_...):
 *   BUG_CHECK_BEFORE_COUNT  enter() reads the state before counting the attempt: a
 *                           publish that saw `running` is invisible to the worker, which
 *                           exits; the event is accepted after stop() returned and lost
 *   BUG_EXIT_ON_EMPTY       the worker exits at drain once its ring looks empty, without
 *                           resolved(): a publisher between claim and commit is lost
 */

#define CAP 2
#define RUNNING  1
#define STOPPING 2
#define STOPPED  3

byte state = RUNNING;
bool drain, discard;
/* lane counters */
byte attempts, rejected, refused, taken;
/* MPSC ring */
byte tail, head;
byte turn[CAP];
/* ghosts */
byte accepted, delivered, discarded;
bool worker_exited, stop_returned;
byte pubs_done;

/* The worker's park: blocking_wait::wait(wake) abstracted as an ideal wait that returns
 * once wake holds. That it loses no wake-up (notify after the commit, waiters_/epoch_
 * handshake) is parking.pml's result; here it only removes states. */
#define BW_WAIT(PRED) atomic { PRED }
#define BW_NOTIFY skip

#define FRONT_READY (turn[head % CAP] == head + 1)
#define WAKE (FRONT_READY || drain)

proctype publisher(byte each) {
    byte i, s, pos;
    for (i : 1 .. each) {
#ifdef BUG_CHECK_BEFORE_COUNT
        s = state;
        attempts++;
#else
        attempts++;          /* enter(): count the attempt */
        s = state;           /* light_fence(); then read the state */
#endif
        if
        :: atomic { s >= STOPPING -> refused++; s = 0 }   /* publish_result::stopped */
        :: atomic { else -> s = 0 };
           if
           :: atomic { tail - head < CAP -> pos = tail; tail++ }   /* claim */
              assert(!stop_returned);    /* accepted, so stop() must wait for it */
              atomic { turn[pos % CAP] = pos + 1; accepted++; pos = 0 }   /* commit */
              BW_NOTIFY                   /* notify_owner */
           :: atomic { else -> rejected++ }   /* full: when_full(reject) counts it */
           fi
        fi
    }
    pubs_done++
}

proctype worker() {
    byte n, o;
    do
    :: n = 0;
       do                                    /* drain(w, l) */
       :: atomic {
            FRONT_READY ->
            if
            :: discard -> discarded++        /* stop(discard): counted, not dispatched */
            :: else -> delivered++           /* dispatched to the handlers */
            fi;
            turn[head % CAP] = 0; head++; n++
          }
       :: atomic { else -> break }
       od;
       if
       :: atomic { n != 0 -> taken = taken + n; n = 0 }  /* count_taken (release); next round */
       :: else ->
          if
          :: drain ->                       /* control_.drain.load(acquire) */
#ifdef BUG_EXIT_ON_EMPTY
             break
#else
             o = rejected + refused + taken;  /* lane::resolved(): outcomes first ... */
             if
             :: atomic { o == attempts -> o = 0 }; break  /* ... attempts last: all decided */
             :: atomic { else -> o = 0 }    /* std::this_thread::yield(); continue */
             fi
#endif
          :: else -> BW_WAIT(WAKE)          /* w.wait.wait(wake) */
          fi
       fi
    od;
    worker_exited = true
}

proctype stopper() {
    if                                      /* stop(drain) or stop(discard) */
    :: discard = false
    :: discard = true
    fi;
    state = STOPPING;                       /* then heavy_fence() */
    drain = true;                           /* release */
    BW_NOTIFY;                              /* notify_all() */
    worker_exited;                          /* join() */
    state = STOPPED;
    stop_returned = true
}

proctype check() {
    (stop_returned && pubs_done == 2);
    /* every attempt decided; every accepted event delivered or counted discarded */
    assert(attempts == 3);
    assert(attempts == rejected + refused + delivered + discarded);
    assert(accepted == delivered + discarded);
    assert(discard || discarded == 0);
    assert(head == tail)
}

init {
    atomic {
        run worker();
        run publisher(2);
        run publisher(1);
        run stopper();
        run check()
    }
}

/* stop() returns and every accepted event is accounted for, under weak fairness. */
ltl stop_returns { <> (stop_returned && accepted == delivered + discarded) }
