/*
 * verify.c — the consistency check's worker (see verify.h for why it is a
 * worker of its own and why its snapshot is the database as of the check).
 *
 * The result is the "RR" payload of checks.c: check index, node id, the
 * tables (name, rows, checksum), then a problem (NULL: checked).  A
 * table's checksum is the sum, modulo 2^64, of a 64-bit hash of each row's
 * text (record_out), so it does not depend on the rows' physical order; the
 * text is produced with fixed settings (DateStyle ISO, TimeZone UTC,
 * extra_float_digits 3, ...) so that nodes configured differently agree.
 * The worker leaves it in a DSM segment it pins; the apply worker copies it,
 * unpins the segment and has it appended like any of its commands.
 *
 * One check at a time per node: a check due while the previous one still
 * runs is answered "not checked".  The snapshot is held for the whole
 * check, which holds back vacuum's horizon as long as pg_dump's would.
 *
 * Locking: raft_shared->verify under raft_shared->mutex; nothing else
 * shared.
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "checks.h"
#include "config.h"
#include "payload.h"
#include "shmem.h"
#include "storage.h"
#include "verify.h"

/*
 * How long the apply worker waits for the check's worker to hold its
 * snapshot.  Past it, the apply worker goes on; the worker, finding a
 * later last_applied in its snapshot, answers "not checked".
 */
#define RAFT_VERIFY_SNAPSHOT_WAIT_MS 10000

/* The apply worker's handle on the worker it started (NULL after a restart). */
static BackgroundWorkerHandle *raft_verify_handle = NULL;

static void
raft_verify_result_begin(StringInfo buf, uint64 check_index, uint32 ntables)
{
	initStringInfo(buf);
	raft_payload_begin(buf, 'R');
	pq_sendint64(buf, check_index);
	pq_sendint32(buf, (uint32) raft_ext_node_id);
	pq_sendint32(buf, ntables);
}

void
raft_verify_not_checked(StringInfo buf, uint64 check_index, const char *problem)
{
	raft_verify_result_begin(buf, check_index, 0);
	raft_checks_put_string(buf, problem);
}

/* ---------------------------------------------------------------------
 * The apply worker's side
 * --------------------------------------------------------------------- */

bool
raft_verify_start(uint64 check_index, StringInfo result)
{
	RaftVerifyShared *v = &raft_shared->verify;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	TimestampTz began = GetCurrentTimestamp();
	RaftVerifyState state;
	uint64		running_index;
	bool		ok = true;
	bool		registered;
	char	   *problem = NULL;
	MemoryContext oldcxt;

	SpinLockAcquire(&raft_shared->mutex);
	state = v->state;
	running_index = v->check_index;
	if (state == RAFT_VERIFY_IDLE)
	{
		v->state = RAFT_VERIFY_STARTING;
		v->check_index = check_index;
		v->snapshot_taken = false;
		v->result = DSM_HANDLE_INVALID;
		v->result_len = 0;
	}
	SpinLockRelease(&raft_shared->mutex);
	if (state != RAFT_VERIFY_IDLE)
	{
		raft_verify_not_checked(result, check_index,
								psprintf("not checked: the check of log entry %llu was still running on this node",
										 (unsigned long long) running_index));
		return false;
	}

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "raft_ext");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "raft_verify_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "raft_ext verify worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "raft_ext verify worker");
	worker.bgw_notify_pid = MyProcPid;
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	registered = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(oldcxt);
	if (registered)
		raft_verify_handle = handle;
	else
	{
		problem = "not checked: no background worker slot was free on this node (max_worker_processes)";
		ok = false;
	}
	while (ok)
	{
		pid_t		pid;
		bool		taken;

		SpinLockAcquire(&raft_shared->mutex);
		taken = v->snapshot_taken || v->state == RAFT_VERIFY_DONE;
		SpinLockRelease(&raft_shared->mutex);
		if (taken)
			break;
		if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
		{
			SpinLockAcquire(&raft_shared->mutex);
			ok = v->state == RAFT_VERIFY_DONE;
			SpinLockRelease(&raft_shared->mutex);
			if (!ok)
				problem = "not checked: the check's worker exited before it began (see this node's server log)";
			break;
		}
		if (TimestampDifferenceExceeds(began, GetCurrentTimestamp(), RAFT_VERIFY_SNAPSHOT_WAIT_MS))
			break;				/* it will find that this node went on */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	/* a wake-up this loop consumed may have been meant for the apply loop */
	SetLatch(MyLatch);
	if (!ok)
	{
		SpinLockAcquire(&raft_shared->mutex);
		v->state = RAFT_VERIFY_IDLE;
		SpinLockRelease(&raft_shared->mutex);
		if (raft_verify_handle != NULL)
		{
			pfree(raft_verify_handle);
			raft_verify_handle = NULL;
		}
		raft_verify_not_checked(result, check_index, problem);
	}
	return ok;
}

bool
raft_verify_collect(StringInfo result)
{
	RaftVerifyShared *v = &raft_shared->verify;
	uint64		check_index;
	dsm_handle	handle;
	Size		len;
	dsm_segment *seg;

	pid_t		pid;
	bool		gone;

	/* a worker that never ran (it could not be forked) left no result */
	gone = raft_verify_handle != NULL &&
		GetBackgroundWorkerPid(raft_verify_handle, &pid) == BGWH_STOPPED;
	SpinLockAcquire(&raft_shared->mutex);
	if (v->state == RAFT_VERIFY_IDLE || (v->state != RAFT_VERIFY_DONE && !gone))
	{
		SpinLockRelease(&raft_shared->mutex);
		return false;
	}
	if (v->state != RAFT_VERIFY_DONE)
		v->result = DSM_HANDLE_INVALID;
	check_index = v->check_index;
	handle = v->result;
	len = v->result_len;
	v->state = RAFT_VERIFY_IDLE;
	v->result = DSM_HANDLE_INVALID;
	SpinLockRelease(&raft_shared->mutex);
	if (raft_verify_handle != NULL)
	{
		pfree(raft_verify_handle);
		raft_verify_handle = NULL;
	}

	seg = handle != DSM_HANDLE_INVALID ? dsm_attach(handle) : NULL;
	if (seg == NULL)
	{
		raft_verify_not_checked(result, check_index,
								"not checked: the check failed on this node (see its server log)");
		return true;
	}
	initStringInfo(result);
	appendBinaryStringInfo(result, dsm_segment_address(seg), (int) len);
	dsm_unpin_segment(handle);
	dsm_detach(seg);
	return true;
}

/* ---------------------------------------------------------------------
 * The worker
 * --------------------------------------------------------------------- */

/* The row count and checksum of one table (SPI connected). */
static void
raft_verify_table(const char *qualified, uint64 *rows, uint64 *sum)
{
	Portal		portal;

	*rows = 0;
	*sum = 0;
	portal = SPI_cursor_open_with_args(NULL, psprintf("SELECT t::text FROM ONLY %s t", qualified),
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			text	   *t;

			if (isnull)
				continue;
			t = DatumGetTextPP(d);
			*sum += DatumGetUInt64(hash_any_extended((unsigned char *) VARDATA_ANY(t),
													 VARSIZE_ANY_EXHDR(t), 0));
			(*rows)++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

/*
 * Every table of the replicated database (its schemas but pg_catalog,
 * information_schema, raft_ext and the toast and temporary ones), in the
 * transaction's snapshot.
 */
static void
raft_verify_tables(StringInfo buf, uint64 check_index)
{
	SPITupleTable *tt;
	uint64		ntables;
	uint64		i;

	if (SPI_execute("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
					"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
					"WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' "
					"AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'raft_ext') "
					"AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)' "
					"ORDER BY 1", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not list the tables");
	tt = SPI_tuptable;
	ntables = SPI_processed;

	raft_verify_result_begin(buf, check_index, (uint32) ntables);
	for (i = 0; i < ntables; i++)
	{
		char	   *name = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
		uint64		rows;
		uint64		sum;

		pgstat_report_activity(STATE_RUNNING,
							   psprintf("raft_ext: consistency check of log entry %llu: %s",
										(unsigned long long) check_index, name));
		raft_verify_table(name, &rows, &sum);
		raft_checks_put_string(buf, name);
		pq_sendint64(buf, rows);
		pq_sendint64(buf, sum);
	}
	raft_checks_put_string(buf, NULL);
}

/* An exit without a result (an error) still ends the check. */
static void
raft_verify_on_exit(int code, Datum arg)
{
	SpinLockAcquire(&raft_shared->mutex);
	if (raft_shared->verify.state != RAFT_VERIFY_DONE)
	{
		raft_shared->verify.state = RAFT_VERIFY_DONE;
		raft_shared->verify.result = DSM_HANDLE_INVALID;
	}
	SpinLockRelease(&raft_shared->mutex);
	raft_shmem_wake_apply_worker();
}

void
raft_verify_worker_main(Datum main_arg)
{
	static const char *const fixed[][2] = {
		{"DateStyle", "ISO, MDY"}, {"TimeZone", "UTC"}, {"IntervalStyle", "postgres"},
		{"extra_float_digits", "3"}, {"bytea_output", "hex"}, {"lc_monetary", "C"},
		{"lc_numeric", "C"}, {"xmloption", "content"},
		/* one snapshot for the whole check: the database as of the entry */
		{"default_transaction_isolation", "repeatable read"},
		{"default_transaction_read_only", "on"}
	};
	RaftVerifyShared *v = &raft_shared->verify;
	uint64		check_index;
	uint64		applied;
	StringInfoData buf;
	dsm_segment *seg;
	int			i;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	SpinLockAcquire(&raft_shared->mutex);
	check_index = v->check_index;
	v->state = RAFT_VERIFY_RUNNING;
	SpinLockRelease(&raft_shared->mutex);
	before_shmem_exit(raft_verify_on_exit, (Datum) 0);

	BackgroundWorkerInitializeConnection(raft_ext_database, NULL, 0);
	pgstat_report_appname("raft_ext verify");
	for (i = 0; i < lengthof(fixed); i++)
		SetConfigOption(fixed[i][0], fixed[i][1], PGC_SUSET, PGC_S_OVERRIDE);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "raft_ext: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	SpinLockAcquire(&raft_shared->mutex);
	v->snapshot_taken = true;
	SpinLockRelease(&raft_shared->mutex);
	raft_shmem_wake_apply_worker();

	applied = raft_storage_get_last_applied();
	if (applied == check_index)
		raft_verify_tables(&buf, check_index);
	else
		raft_verify_not_checked(&buf, check_index,
								psprintf("not checked: this node had applied up to log entry %llu when the check's snapshot was taken",
										 (unsigned long long) applied));

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	seg = dsm_create(buf.len, 0);
	memcpy(dsm_segment_address(seg), buf.data, buf.len);
	dsm_pin_segment(seg);
	SpinLockAcquire(&raft_shared->mutex);
	v->result = dsm_segment_handle(seg);
	v->result_len = buf.len;
	v->state = RAFT_VERIFY_DONE;
	SpinLockRelease(&raft_shared->mutex);
	dsm_detach(seg);
	raft_shmem_wake_apply_worker();
	proc_exit(0);
}
