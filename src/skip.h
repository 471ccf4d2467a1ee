/*
 * skip.h — raft_skip_entry(): an operator ends an entry that blocks apply,
 * through the log, so that every node ends it the same way.
 *
 * The decision is a log entry of its own ("RK": the entry to skip and the
 * role that decided), appended after the entry it skips.  Every node
 * applies entries in order, so it could never reach the decision while the
 * entry before it blocks: instead its Raft worker, seeing the decision
 * committed, tells the apply worker (shared memory; a cancel if it is
 * running that entry), which ends the entry with the outcome 57000 "skipped
 * by operator" and records it in raft_ext.skipped.  The decision is refused
 * on the leader unless the leader's own apply is at that entry (stalled on
 * it or running it): a node that had applied it already would differ from
 * those that skip it; if one did all the same (a race of milliseconds), the
 * outcome checks stop it as diverged rather than let it differ silently.
 *
 * Locking: raft_shared->mutex for the published decision.
 */
#ifndef RAFT_EXT_SKIP_H
#define RAFT_EXT_SKIP_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "outcome.h"

/* On the leader, before a decision is appended: ERROR when it must not be. */
extern void raft_skip_check_on_leader(const char *payload, Size len);

/* The Raft worker: entry `index` (a command) is committed. */
extern void raft_skip_note_committed(const char *payload, Size len, uint64 index);

/*
 * The apply worker, about to run (or having been cancelled while running)
 * entry `index`: is it to be skipped?  If so *o is its outcome, and the skip
 * is recorded (SPI connected, in the apply transaction).
 */
extern bool raft_skip_this(uint64 index, RaftOutcome *o);

/* The apply worker: the decision's own entry ("RK"). */
extern void raft_skip_apply_decision(uint64 index, StringInfo msg, RaftOutcome *o);

/* The apply worker publishes the statement entry it runs (0: none). */
extern void raft_skip_set_running(uint64 index);

#endif							/* RAFT_EXT_SKIP_H */
