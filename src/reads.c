/*
 * reads.c — raft_ext.read_consistency (see reads.h).
 *
 * With 'linearizable', the first statement of a transaction that reads a
 * table of the replicated database waits for a ReadIndex barrier (what
 * raft_barrier() does: the leader confirms it still leads and names its
 * commit index; this node applies up to it) before it runs, so it sees
 * every write acknowledged anywhere before the transaction's first read.
 * The statement's snapshot was taken before the executor starts, so it is
 * replaced by a fresh one after the barrier: that is only correct in READ
 * COMMITTED, where every statement has its own snapshot; a REPEATABLE READ
 * or SERIALIZABLE transaction has fixed its snapshot at its first query, and
 * is refused rather than given a stale read (call raft_barrier() before its
 * first query instead).  Statements that read no replicated table
 * (raft_submit(...), catalog queries) wait for nothing.
 *
 * Locking: none.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "guard.h"
#include "reads.h"
#include "sql_control.h"

int			raft_ext_read_consistency = RAFT_READ_LOCAL;

const struct config_enum_entry raft_read_consistency_options[] = {
	{"local", RAFT_READ_LOCAL, false},
	{"linearizable", RAFT_READ_LINEARIZABLE, false},
	{NULL, 0, false}
};

static ExecutorStart_hook_type raft_reads_prev_executor_start = NULL;
static LocalTransactionId raft_reads_done_lxid = InvalidLocalTransactionId;

/* Does the plan read a table of the replicated database? */
static bool
raft_reads_replicated(PlannedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);
		Oid			nsp;

		if (rte->rtekind != RTE_RELATION)
			continue;
		nsp = get_rel_namespace(rte->relid);
		if (IsCatalogNamespace(nsp) || isAnyTempNamespace(nsp) ||
			nsp == get_namespace_oid("raft_ext", true) ||
			nsp == get_namespace_oid("information_schema", true))
			continue;
		return true;
	}
	return false;
}

static void
raft_reads_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (raft_ext_read_consistency == RAFT_READ_LINEARIZABLE &&
		queryDesc->operation == CMD_SELECT &&	/* a write is applied by the log */
		!(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		MyProc->lxid != raft_reads_done_lxid &&
		raft_guard_active() &&
		raft_reads_replicated(queryDesc->plannedstmt))
	{
		if (IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("raft_ext.read_consistency = linearizable needs READ COMMITTED"),
					 errdetail("This transaction fixed its snapshot at its first query, before a barrier could run."),
					 errhint("Call SELECT raft_barrier() before the transaction's first query, or use READ COMMITTED.")));
		(void) raft_barrier_wait();
		raft_reads_done_lxid = MyProc->lxid;
		/* a snapshot that includes what the barrier waited for */
		UnregisterSnapshot(queryDesc->snapshot);
		queryDesc->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	}
	if (raft_reads_prev_executor_start)
		raft_reads_prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

void
raft_reads_install_hooks(void)
{
	raft_reads_prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = raft_reads_executor_start;
}
