/*
 * guard.h — the write guard: only the log writes the replicated database
 * (guard.c says what is refused, to whom, and the escape hatch).
 *
 * Locking: none.
 */
#ifndef RAFT_EXT_GUARD_H
#define RAFT_EXT_GUARD_H

#include "postgres.h"

/* raft_ext.local_writes: a superuser's repair on this node only. */
extern bool raft_ext_local_writes;

/* _PG_init: the executor, utility and planner hooks. */
extern void raft_guard_install_hooks(void);

/* raft_ext's workers are not held to the guard (the apply worker writes). */
extern void raft_guard_set_worker(bool apply);

/*
 * Is this session one of the replicated database's, held to the guard (not
 * a worker, the extension exists, in a transaction)?
 */
extern bool raft_guard_active(void);

#endif							/* RAFT_EXT_GUARD_H */
