/*
 * worker.h — the Raft worker: drives the pure Raft core (src/raft) with
 * ticks, peer messages and proposals, persists its ready batches, sends
 * its messages and tells the apply worker what is committed.
 *
 * Locking: see worker.c.
 */
#ifndef RAFT_EXT_WORKER_H
#define RAFT_EXT_WORKER_H

#include "postgres.h"

extern PGDLLEXPORT void raft_worker_main(Datum main_arg);

/* _PG_init: register the Raft worker and the apply worker. */
extern void raft_worker_register(void);

/* Called by both workers once set up: keep freed heap memory (see worker.c). */
extern void raft_worker_keep_heap(void);

#endif							/* RAFT_EXT_WORKER_H */
