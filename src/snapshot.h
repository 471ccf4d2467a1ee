/*
 * snapshot.h — installing a snapshot online: this node's replicated
 * database replaced, in one transaction, by a copy of a member's taken at
 * that member's applied index (docs/architecture.md, "Snapshots").
 *
 * Who does what: the Raft worker asks for one when its leader says the
 * entries this node lacks were compacted away (raft_ext.auto_snapshot), an
 * operator with raft_install_snapshot(); the apply worker copies and
 * commits (it is the only writer of the replicated tables, and applies
 * nothing meanwhile); when the copy is past what this node's log holds, the
 * Raft worker then restarts its log after it (raft_snapshot_installed).
 *
 * Locking: raft_shared->snapshot under raft_shared->mutex.
 */
#ifndef RAFT_EXT_SNAPSHOT_H
#define RAFT_EXT_SNAPSHOT_H

#include "postgres.h"

#include "fmgr.h"

#include "raft/raft.h"

extern bool raft_ext_auto_snapshot;

/*
 * The apply worker, between batches: install the snapshot asked for, if
 * any.  Returns true when one was installed (the caller restarts, to start
 * from the installed tables); a failure is logged and recorded for whoever
 * asked, and changes nothing.
 */
extern bool raft_snapshot_apply_step(void);

/* The apply worker at start: a copy it was running when it died is over. */
extern void raft_snapshot_apply_start(void);

/*
 * The Raft worker, once per loop: ask for a snapshot while the node needs
 * one (snapshot_index: the leader's compaction point; 0: it does not) of
 * the leader it knows, and finish an installed one.
 */
extern void raft_snapshot_raft_step(raft_node *node, uint64 snapshot_index, int leader,
									uint64 *last_persisted, uint64 *committed);

/*
 * The Raft worker of a node whose Raft state was lost (identity.c), while
 * it refuses to run: true once a snapshot replaced that state too, and it
 * must restart to adopt it.
 */
extern bool raft_snapshot_lost_state_repaired(void);

/* A snapshot is asked for or being installed (raft_status.apply_worker_state). */
extern bool raft_snapshot_installing(void);

extern Datum raft_ext_sql_install_snapshot(PG_FUNCTION_ARGS);

#endif							/* RAFT_EXT_SNAPSHOT_H */
