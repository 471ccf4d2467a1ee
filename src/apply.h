/*
 * apply.h — the apply worker: applies committed log entries, exactly once,
 * in log order, each as the role that submitted it.
 *
 * Locking: see apply.c (shared memory through shmem.h's rules).
 */
#ifndef RAFT_EXT_APPLY_H
#define RAFT_EXT_APPLY_H

#include "postgres.h"

extern PGDLLEXPORT void raft_apply_worker_main(Datum main_arg);

/*
 * Is this error, raised while a statement ran, a failure of the node (stall
 * and retry) rather than the statement's outcome (record and move on)?
 * Decided by where it was raised, not only by its SQLSTATE (apply.c).
 */
extern bool raft_apply_is_environment_error(const char *filename, int sqlerrcode);

/* raft_ext.apply_timeout, in ms: how long one entry may run. */
extern int	raft_ext_apply_timeout;

#endif							/* RAFT_EXT_APPLY_H */
