/*
 * query.h — raft_query(): the rows a statement returns (RETURNING, or a
 * SELECT run as an entry), carried in the entry's outcome to the caller.
 *
 * Locking: none.
 */
#ifndef RAFT_EXT_QUERY_H
#define RAFT_EXT_QUERY_H

#include "postgres.h"

#include "tcop/dest.h"
#include "outcome.h"

/*
 * raft_ext.max_query_result, in kB: the most of one result kept for a
 * caller; captured with the statement (superusers may raise it).
 */
extern int	raft_ext_max_query_result;

/*
 * The apply worker: a receiver keeping the rows of the last statement that
 * returns rows, in cxt, up to raft_ext.max_query_result; then their text
 * into the outcome.
 */
extern DestReceiver *raft_query_receiver(MemoryContext cxt, uint32 limit_kb);
extern void raft_query_to_outcome(DestReceiver *receiver, RaftOutcome *o);

/* The outcome carries the rows its caller asked for; else an error naming fname. */
extern void raft_query_require_rows(const RaftOutcome *o, const char *fname);

#endif							/* RAFT_EXT_QUERY_H */
