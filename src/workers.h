/*
 * workers.h — what raft_ext's two background workers share: their
 * registration, their start-up, their transaction bracket and their heap
 * settings.  The workers are siblings: the Raft worker (worker.c) drives
 * consensus and never waits on user SQL; the apply worker (apply.c) runs
 * committed entries.  Neither includes the other.
 *
 * Locking: the start-up publishes the worker's latch under raft_shared->mutex
 * and its state under status_lock (shmem.h).
 */
#ifndef RAFT_EXT_WORKERS_H
#define RAFT_EXT_WORKERS_H

#include "postgres.h"

typedef enum RaftWorkerKind
{
	RAFT_WORKER_KIND_RAFT,
	RAFT_WORKER_KIND_APPLY
} RaftWorkerKind;

/* _PG_init: register the Raft worker and the apply worker. */
extern void raft_workers_register(void);

/*
 * A worker's start-up: signals, the connection to raft_ext.database, its
 * latch and state in shared memory (cleared again at exit), then waiting
 * (pg_cron style, without failing) for CREATE EXTENSION raft_ext.  Returns
 * the extension's OID.  Exits quietly when raft_ext is not configured.
 */
extern Oid	raft_workers_start(RaftWorkerKind kind);

/* Publish this worker's state (raft_status.worker_state / apply_worker_state). */
extern void raft_workers_set_state(RaftWorkerKind kind, int state);

/*
 * The transaction bracket every worker transaction uses: start a
 * transaction, connect SPI, push a snapshot; then the reverse, commit, and
 * give the caller's memory context back (CommitTransactionCommand leaves
 * TopMemoryContext current).
 */
extern void raft_xact_begin(void);
extern void raft_xact_commit(void);

/* Keep freed heap memory for reuse (see workers.c). */
extern void raft_workers_keep_heap(void);

/* Between waits: interrupts, and a configuration reload (SIGHUP). */
extern void raft_workers_check_signals(void);

#endif							/* RAFT_EXT_WORKERS_H */
