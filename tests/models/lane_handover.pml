/* lane_handover.pml: moving a lane between workers (partition::set_workers / rebalance).
 * Properties: no two workers ever run one lane; a lane's events are delivered once each,
 * in publish order, across moves; the worker that holds a lane is woken for events
 * published to it (no lost wake-up across a move); no deadlock; every event delivered.
 *
 * Size: 2 workers, 2 lanes (lane 0 stays on worker 0, and has no events; lane 1 moves
 * 1 -> 0, or 1 -> 0 -> 1), a controller calling set_workers(1) and then perhaps
 * set_workers(2), a publisher putting 2 events
 * into lane 1 (ring capacity 2), and the user's stop() once both are handled.
 *
 * Mapping (Promela step -> C++, partition.hpp unless named):
 *   controller: assigned[1] = k    partition::set_workers -> assign_nominal():
 *                                  lanes_[i]->assigned.store(i % n, relaxed)
 *     ANNOUNCE                     announce_assignment(): assign_epoch_.fetch_add(release),
 *                                  assign_epoch_.notify_all(), notify_workers()
 *   publisher: tail[1]++           partition::publish -> l.try_emplace (push + commit)
 *     ow = owner_wait[1]; notify   lane.hpp: lane::notify_owner(): light_fence(), then
 *                                  owner_wait.load(relaxed)->notify_fenced()
 *   worker                         partition::run(w)
 *     REASSIGNED                   reassigned(): assign_epoch_ != w.assign_seen
 *     rebalance                    rebalance(w):
 *       seen = assign_epoch          w.assign_seen = assign_epoch_.load(acquire)
 *       keep / drop / release        per held lane: keep if assigned == me && holder ==
 *                                    me; drop if the CAS holder me -> releasing fails;
 *                                    else (deliver_due: partial batches out) and
 *                                    holder.store(in_transit, release)
 *       take                         per lane assigned to me and not held: CAS holder
 *                                    in_transit -> me (acquire), then owner.store,
 *                                    owner_wait.store(&w.wait), and heavy_fence() once
 *       ANNOUNCE if released         announce_assignment(): the taker may be asleep
 *     no lanes: (epoch != seen)      assign_epoch_.wait(w.assign_seen): a futex
 *     round                          dispatch_round: per lane enter_lane (busy), drain,
 *                                    leave_lanes; in_lane[] is the test build's per-lane
 *                                    owner check (TESTING.md T2)
 *     take one event                 lane::consume via priority_type::drain: read the
 *                                    ring position, dispatch, store the next position
 *     drain seen: exit               control_.drain && !reassigned() && mine_resolved()
 *                                    && !awaiting(w)
 *     PARK                           w.wait.wait(wake), wake = has_work() || drain ||
 *                                    reassigned(): blocking_wait as one atomic
 *                                    check-or-sleep step (its handshake is parking.pml's)
 *     NOTIFY(w)                      w.wait.notify(): wakes w only
 *
 * Memory order: Promela is SC. The C++ code orders the lane's consumer state (ring head,
 * sequence, batches) from releaser to taker by the release store of in_transit and the
 * taker's acquire CAS: a happens-before edge, which SC gives too. The one store->load
 * pair is the taker's owner_wait store vs its first drain, against the publisher's push
 * vs its load of owner_wait: heavy_fence() after taking (rebalance) pairs with
 * light_fence() in notify_owner() (Dekker, core/asymmetric_fence.hpp), so either the
 * publisher notifies the new owner or the new owner's drain / park re-check sees the
 * event: the SC interleavings modelled here. The park itself is blocking_wait's
 * handshake (waiters_ ++, heavy_fence, re-check; notify loads waiters_), checked in
 * parking.pml and taken as atomic here; announce_assignment's bump and wakes are one step
 * (the wakes follow the bump in C++ too).
 * Abstracted away: the stall watchdog (move_lanes_off / revoke / busy), priority levels,
 * batches (deliver_due is a step with no effect), the spare thread that holds no lane at
 * start, subscriber tables.
 *
 * Negative controls (spin -DBUG_...):
 *   BUG_NO_HANDOVER      no holder protocol: the releaser just forgets the lane and the
 *                        assignee takes it at once: two workers in one lane
 *   BUG_LATE_OWNER_WAIT  the taker never stores its wait as owner_wait: publishers keep
 *                        notifying the old owner; the new one sleeps on its event
 */

#define LANES 2
#define TOTAL 2
#define IN_TRANSIT 255
#define RELEASING  254

byte assigned[LANES];
byte holder[LANES];
byte owner_wait[LANES];
byte assign_epoch;
bool drain;
/* rings (one publisher per lane) */
byte head[LANES], tail[LANES];
/* each worker's wait: parked or not */
bool sleeping[2];
/* ghosts */
byte in_lane[LANES];
byte delivered;
byte dlv_bits;            /* lane 1's events delivered, one bit per position */
bool ctl_done, pub_done;
byte exited;

/* A worker's park, w.wait.wait(wake): blocking_wait's check-then-sleep is atomic with
 * respect to notify() (parking.pml checks that handshake: no lost wake-up), so here it is
 * one step that either sees the condition or goes to sleep, and notify(W) wakes W if it
 * sleeps. Wake-ups still go only where the notifier sends them (owner_wait). */
#define PARK(W, PRED)                                               \
    if                                                              \
    :: atomic { PRED -> skip }                                      \
    :: atomic { else -> sleeping[W] = true };                       \
       (!sleeping[W])                                               \
    fi
#define NOTIFY(W) sleeping[W] = false

/* announce_assignment(): bump (release) + futex wake, then notify_workers() */
#define ANNOUNCE  atomic { assign_epoch++; NOTIFY(0); NOTIFY(1) }

#define REASSIGNED (assign_epoch != seen)
#define HAS_WORK   ((has[0] && head[0] != tail[0]) || (has[1] && head[1] != tail[1]))
#define WAKE       (HAS_WORK || drain || REASSIGNED)
#define AWAITING   ((assigned[0] == me && holder[0] != me) || (assigned[1] == me && holder[1] != me))

/* rebalance, first loop: one held lane L */
inline release_one(L) {
    if
    :: has[L] ->
#ifdef BUG_NO_HANDOVER
       if
       :: atomic { assigned[L] == me && holder[L] == me }  /* still mine: keep */
       :: atomic { else -> has[L] = false }               /* just forget it */
       fi
#else
       a = assigned[L];                     /* l.assigned.load(relaxed) */
       if
       :: atomic { a == me && holder[L] == me }            /* still mine: keep */
       :: atomic { else -> skip };
#ifdef CPP_REREAD_ASSIGNED
          a = assigned[L];                  /* the C++ code as of bb6b66d loads it again */
#endif
          if
          :: atomic { a == me -> has[L] = false }   /* the watchdog moved it: drop */
          :: atomic { else ->
               if
               :: holder[L] == me -> holder[L] = RELEASING     /* CAS me -> releasing */
               :: else -> has[L] = false                        /* CAS failed: drop */
               fi }
             if
             :: has[L] ->
                skip;                                 /* deliver_due: partial batches out */
                atomic { holder[L] = IN_TRANSIT; has[L] = false };  /* release */
                released = true
             :: else -> skip
             fi
          fi
       fi;
       a = 0
#endif
    :: else -> skip
    fi
}

/* rebalance, second loop: take lane L if it is assigned to me and in transit */
inline take_one(L) {
    if
    :: atomic { !has[L] && assigned[L] == me ->
#ifdef BUG_NO_HANDOVER
         holder[L] = me; has[L] = true; took = true }       /* no CAS on the holder */
#else
         if
         :: holder[L] == IN_TRANSIT -> holder[L] = me; has[L] = true; took = true  /* CAS, acquire */
         :: else -> skip
         fi }
#endif
#ifndef BUG_LATE_OWNER_WAIT
       if
       :: has[L] && took -> owner_wait[L] = me     /* owner_wait.store(&w.wait) */
       :: else -> skip
       fi
#endif
    :: atomic { else -> skip }
    fi
}

/* one round on lane L: enter, take every ready event, leave */
inline round_one(L) {
    if
    :: atomic { has[L] ->
         in_lane[L]++;                                   /* enter_lane */
         assert(in_lane[L] == 1) }                       /* one worker per lane */
       do
       :: atomic { head[L] != tail[L] ->                 /* front_ready: dispatch it */
            h = head[L];
            if
            :: L == 1 ->
               assert((dlv_bits & (1 << h)) == 0);       /* not delivered before */
               assert(dlv_bits == (1 << h) - 1);         /* in publish order, no gap */
               dlv_bits = dlv_bits | (1 << h)
            :: else -> skip
            fi;
            delivered++ }
          atomic { head[L] = h + 1; h = 0; done++ }      /* the consumer's head store */
       :: atomic { else -> break }
       od;
       in_lane[L]--                                      /* leave_lanes */
    :: atomic { else -> skip }
    fi
}

proctype worker(byte me) {
    bool has[LANES];
    byte seen, h, done, a;
    bool released, took;
    has[me] = true;     /* lane i starts on worker i */
    do
    :: if
       :: REASSIGNED ->                                  /* rebalance(w) */
          seen = assign_epoch;
          release_one(0);
          release_one(1);
          take_one(0);
          take_one(1);
          if                                             /* heavy_fence() if took */
          :: released -> ANNOUNCE
          :: else -> skip
          fi;
          atomic { released = false; took = false }
       :: else -> skip
       fi;
       if
       :: atomic { !has[0] && !has[1] ->                 /* no lane */
            if
            :: drain && !AWAITING -> break
            :: else -> skip
            fi }
          (assign_epoch != seen)                         /* assign_epoch_.wait */
       :: atomic { else -> skip };
          atomic { round_one(0) };   /* lane 0 never has events: one step */
          round_one(1);
          if
          :: done != 0 || REASSIGNED -> done = 0         /* next round */
          :: else ->
             if
             :: atomic { drain && !REASSIGNED && !HAS_WORK && !AWAITING } -> break
             :: atomic { else -> skip };
                if
                :: drain -> skip                         /* yield; next round */
                :: else -> PARK(me, WAKE)                /* w.wait.wait(wake) */
                fi
             fi
          fi
       fi
    od;
    exited++
}

proctype controller() {
    assigned[1] = 0;   /* set_workers(1): lane 1 -> worker 0 */
    ANNOUNCE;
    if
    :: skip            /* and it stays there */
    :: assigned[1] = 1;   /* or set_workers(2): lane 1 -> worker 1 */
       ANNOUNCE
    fi;
    ctl_done = true
}

proctype publisher() {
    byte i;
    for (i : 1 .. TOTAL) {
        tail[1]++;                  /* push into lane 1 (capacity 2: never full here) */
        /* notify_owner: light_fence, load owner_wait, notify that wait */
        atomic { NOTIFY(owner_wait[1]) }
    }
    pub_done = true
}

proctype user() {
    (delivered == TOTAL && ctl_done && pub_done);  /* every event handled: now stop() */
    drain = true;
    ANNOUNCE;                                        /* notify_all() */
    exited == 2;                                     /* join() */
    assert(delivered == TOTAL && dlv_bits == 3);
    assert(holder[0] == 0 && holder[1] == assigned[1])  /* the final assignment took effect */
}

init {
    atomic {
        assigned[0] = 0; holder[0] = 0; owner_wait[0] = 0;
        assigned[1] = 1; holder[1] = 1; owner_wait[1] = 1;
        run worker(0);
        run worker(1);
        run controller();
        run publisher();
        run user()
    }
}

/* every event is delivered and both workers exit, under weak fairness */
ltl all_delivered { <> (delivered == TOTAL && exited == 2) }
