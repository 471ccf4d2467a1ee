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
 * Is an error of this SQLSTATE one of the environment (retry, never skip)
 * rather than of the statement (record and move on)?
 */
extern bool raft_apply_is_environment_error(int sqlerrcode);

#endif							/* RAFT_EXT_APPLY_H */
