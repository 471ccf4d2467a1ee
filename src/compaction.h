/*
 * compaction.h — a bounded log: applied entries that every member holds
 * are removed from raft_ext.log and from the Raft worker's memory (see
 * compaction.c); outcomes older than raft_ext.outcome_retention are
 * removed from raft_ext.outcome.
 *
 * Locking: raft_shared->compact_to is an atomic with one writer (the apply
 * worker); the status snapshot is read under status_lock.
 */
#ifndef RAFT_EXT_COMPACTION_H
#define RAFT_EXT_COMPACTION_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

extern int	raft_ext_log_keep_entries;
extern int	raft_ext_log_hold_entries;
extern int	raft_ext_outcome_retention;

/* The leader's apply worker, after applying up to applied: post a compaction entry when due. */
extern void raft_compaction_after_apply(uint64 applied, TimestampTz now);

/* Apply a "P" entry (in the apply transaction, SPI connected). */
extern void raft_compaction_apply(uint64 index, StringInfo msg);

/* The leader's apply worker, after applying up to applied: post an outcome-retention entry when due. */
extern void raft_outcomes_after_apply(uint64 applied, TimestampTz now);

/* Apply an "O" entry stamped stamp (in the apply transaction, SPI connected). */
extern void raft_outcomes_apply(TimestampTz stamp, StringInfo msg);

/* The Raft worker, each loop: drop from memory what the apply worker compacted. */
extern void raft_compaction_in_memory(void *node);

#endif							/* RAFT_EXT_COMPACTION_H */
