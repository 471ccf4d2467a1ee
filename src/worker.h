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

#endif							/* RAFT_EXT_WORKER_H */
