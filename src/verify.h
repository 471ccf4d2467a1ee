/*
 * verify.h — the consistency check's worker: checksums every table of the
 * replicated database as of one log index, off the apply path.
 *
 * Applying an "RV" entry at index N only records that the check exists
 * (checks.c).  Once the transaction that applied N has committed, the
 * apply worker starts this worker and waits only until it holds its
 * snapshot; the apply worker is the only writer of the replicated tables,
 * so that snapshot shows the database exactly as of N, which the worker
 * proves by reading last_applied in it.  The checksums then take as long
 * as they take while the apply worker goes on applying.
 *
 * Locking: raft_shared->verify under raft_shared->mutex (shmem.h).
 */
#ifndef RAFT_EXT_VERIFY_H
#define RAFT_EXT_VERIFY_H

#include "postgres.h"

#include "lib/stringinfo.h"

/*
 * The apply worker, right after committing the entry of check
 * `check_index`: start the check's worker and wait until it holds its
 * snapshot.  When no check can run, *result is this node's answer saying
 * why (an "RR" payload) and false is returned.
 */
extern bool raft_verify_start(uint64 check_index, StringInfo result);

/* The apply worker: a finished check's result ("RR" payload), if one is ready. */
extern bool raft_verify_collect(StringInfo result);

/* The "RR" payload of a node that did not check, and why. */
extern void raft_verify_not_checked(StringInfo buf, uint64 check_index, const char *problem);

extern PGDLLEXPORT void raft_verify_worker_main(Datum main_arg);

#endif							/* RAFT_EXT_VERIFY_H */
