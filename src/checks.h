/*
 * checks.h — trust, but verify: outcomes compared continuously, data
 * compared on demand, both through the log.
 *
 * Outcome checks ("RC" entries): the leader's apply worker, every
 * RAFT_CHECK_ENTRIES applied entries (or after a second with fewer), has its
 * Raft worker append the outcomes it recorded for a range of entries
 * (SQLSTATE or success, command tag, row count).  Every node, applying that
 * entry, compares them with its own; a node whose outcome differs stops
 * applying: raft_status says diverged, with the first differing entry and
 * both outcomes.
 *
 * Consistency checks: raft_verify() (or the leader, every
 * raft_ext.verify_interval) appends a "RV" entry; every node, having
 * applied it (so at the same log index everywhere), checksums every table
 * of the replicated database as of that entry, in a worker of its own
 * (verify.c) while applying goes on, and has its result appended ("RR",
 * through its Raft worker's raft_forward), so that every node records every
 * node's result: the view raft_consistency.
 *
 * Locking: the outbox (shmem.h) to hand commands to the Raft worker;
 * status_lock to publish a divergence.
 */
#ifndef RAFT_EXT_CHECKS_H
#define RAFT_EXT_CHECKS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "outcome.h"

/*
 * Apply a check entry (payload kind 'C', 'V' or 'R') inside the apply
 * transaction; *o is its outcome (a 'V' has one, the others none: returns
 * false).  Throws (XX001) when this node diverged.
 */
extern bool raft_checks_apply(uint64 index, const char *payload, Size len,
							  TimestampTz stamp, RaftOutcome *o);

/*
 * Whether the apply transaction must end with entry `index` (a consistency
 * check, whose snapshot must be the database as of that entry).
 */
extern bool raft_checks_ends_batch(uint64 index);

/*
 * After each committed apply transaction: the consistency check's worker
 * (started, or its result collected), the leader's outcome checks, re-posts.
 */
extern void raft_checks_after_apply(uint64 applied);

/* Apply worker start. */
extern void raft_checks_start(uint64 applied);

/* The string encoding of check payloads: int32 length (-1: NULL), bytes. */
extern void raft_checks_put_string(StringInfo buf, const char *s);
extern char *raft_checks_get_string(StringInfo msg);

/* raft_ext.verify_interval, in seconds (0: no periodic check). */
extern int	raft_ext_verify_interval;

/* raft_ext.outcome_check_interval, in ms (0: only every 256 entries). */
extern int	raft_ext_outcome_check_interval;

/* The Raft worker, once a loop: what the apply worker left in the outbox. */
extern void raft_checks_drain_outbox(void *raft_node);

/* The Raft worker on the leader: a consistency check every verify_interval. */
extern void raft_checks_maybe_verify(void *raft_node);

/* Have the Raft worker append (leader) or forward (follower) a check-kind payload. */
extern void raft_checks_post(const char *data, Size len);

/* The apply worker applied entry index, which has an outcome (to be checked). */
extern void raft_checks_note_outcome(uint64 index);

#endif							/* RAFT_EXT_CHECKS_H */
