/*
 * workers.c — what the Raft worker and the apply worker share (workers.h).
 *
 * Locking: raft_shared->mutex for the latch pointers, status_lock for the
 * workers' states.
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "config.h"
#include "guard.h"
#include "shmem.h"
#include "storage.h"
#include "workers.h"

static void
raft_workers_register_one(const char *function, const char *name)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "raft_ext");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", name);
	RegisterBackgroundWorker(&worker);
}

/*
 * Two workers, so that a long statement, or an apply stalled on an
 * environment error, never delays heartbeats, votes or log replication.
 */
void
raft_workers_register(void)
{
	raft_workers_register_one("raft_worker_main", "raft_ext raft worker");
	raft_workers_register_one("raft_apply_worker_main", "raft_ext apply worker");
}

void
raft_workers_set_state(RaftWorkerKind kind, int state)
{
	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	if (kind == RAFT_WORKER_KIND_RAFT)
	{
		raft_shared->status.worker_state = (RaftWorkerState) state;
		raft_shared->status.worker_pid = state == RAFT_WORKER_NOT_RUNNING ? 0 : MyProcPid;
		if (state != RAFT_WORKER_RUNNING)
		{
			int			i;

			raft_shared->status.role = -1;
			raft_shared->status.leader_id = 0;
			for (i = 0; i < raft_shared->status.npeers; i++)
			{
				raft_shared->status.peers[i].connected = false;
				raft_shared->status.peers[i].has_progress = false;
			}
		}
	}
	else
	{
		raft_shared->status.apply_state = (RaftWorkerState) state;
		raft_shared->status.apply_pid = state == RAFT_WORKER_NOT_RUNNING ? 0 : MyProcPid;
	}
	LWLockRelease(raft_shared->status_lock);
}

static void
raft_workers_on_exit(int code, Datum arg)
{
	RaftWorkerKind kind = (RaftWorkerKind) DatumGetInt32(arg);
	Latch	  **latch = kind == RAFT_WORKER_KIND_RAFT ?
		&raft_shared->raft_latch : &raft_shared->apply_latch;

	SpinLockAcquire(&raft_shared->mutex);
	if (*latch == MyLatch)
		*latch = NULL;
	SpinLockRelease(&raft_shared->mutex);
	raft_workers_set_state(kind, RAFT_WORKER_NOT_RUNNING);
}

Oid
raft_workers_start(RaftWorkerKind kind)
{
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	if (raft_shared == NULL || !raft_conf_is_configured())
		proc_exit(0);

	raft_guard_set_worker(kind == RAFT_WORKER_KIND_APPLY);
	BackgroundWorkerInitializeConnection(raft_ext_database, NULL, 0);
	pgstat_report_appname(kind == RAFT_WORKER_KIND_RAFT ? "raft_ext raft" : "raft_ext apply");

	SpinLockAcquire(&raft_shared->mutex);
	if (kind == RAFT_WORKER_KIND_RAFT)
		raft_shared->raft_latch = MyLatch;
	else
		raft_shared->apply_latch = MyLatch;
	SpinLockRelease(&raft_shared->mutex);
	before_shmem_exit(raft_workers_on_exit, Int32GetDatum((int32) kind));

	raft_workers_set_state(kind, RAFT_WORKER_WAITING_FOR_EXTENSION);
	return raft_storage_wait_for_extension();
}

void
raft_workers_check_signals(void)
{
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

static MemoryContext raft_xact_caller_cxt = NULL;

void
raft_xact_begin(void)
{
	raft_xact_caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "raft_ext: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
raft_xact_commit(void)
{
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "raft_ext: SPI_finish failed");
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(raft_xact_caller_cxt);

	/*
	 * Flush the transaction's table statistics (at most once a second:
	 * pgstat's own limit), as a backend does when it goes idle: without
	 * them autovacuum never sees the dead rows of raft_ext.log (compaction)
	 * nor of the tables the apply worker writes, and never vacuums them.
	 */
	pgstat_report_stat(false);
}

/*
 * Both workers run one transaction after another, each of which allocates
 * and frees a few hundred kilobytes.  With glibc's defaults (trim the heap
 * when 128 kB at its top are free, mmap chunks above an adaptive threshold)
 * every transaction shrank the heap with brk() and grew it again, paying a
 * TLB flush on every CPU and a page fault per page each time: a quarter of
 * the apply worker's CPU at 8 clients (perf, 2026-11-26).  Keeping up to
 * 64 MB of free heap for reuse stops that; memory a worker's peak needed
 * beyond that is still returned.
 *
 * The Raft worker calls this only once its log is loaded: the load's
 * temporary blocks must stay above the mmap threshold (glibc's default
 * then), or, freed between the log's entries on the heap, they could not
 * be given back (a 750k-entry log: 1.0 GB resident instead of 0.6 GB).
 */
void
raft_workers_keep_heap(void)
{
#ifdef __GLIBC__
	(void) mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
	(void) mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}
