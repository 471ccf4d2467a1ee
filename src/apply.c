/*
 * apply.c — the apply worker.
 *
 * A background worker of its own (not the Raft worker), so that a long
 * statement, or an apply stalled on an environment error, never delays
 * heartbeats, votes or log replication.  The Raft worker publishes
 * apply_target (the highest committed index that is durable here) and sets
 * our latch; we apply entries last_applied+1 .. apply_target in order.
 *
 * Entries are applied in batches of up to RAFT_APPLY_BATCH consecutive
 * entries per transaction (a transaction start and commit per entry cost
 * more than the single-row statements they usually carry):
 *   read the batch's entries from raft_ext.log (one range scan)
 *   for each entry, a subtransaction: SetUserIdAndSecContext(submitting
 *       role, SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION),
 *       its search_path/TimeZone/DateStyle/IntervalStyle (GUC_ACTION_LOCAL,
 *       in a GUC nest level that is rolled back afterwards, so nothing the
 *       statement SETs leaks into later entries), SPI_execute(sql)
 *   insert the batch's outcomes into raft_ext.outcome (one INSERT)
 *   set raft_ext.apply_state to the batch's last entry
 *   commit (synchronous_commit = off: the entry is durable in the log on a
 *   majority; a lost apply commit loses its last_applied too and is redone).
 * So an entry's effects and last_applied commit together: exactly once.
 * Results are handed to waiting backends only after the commit.  If
 * anything fails in a batch, the whole transaction is rolled back and the
 * same entries are applied one per transaction, as below.
 *
 * An error raised by the statement (constraint, permission, data, ...) is
 * its deterministic outcome: recorded, and apply moves on.  An error of the
 * environment (resources, I/O, internal, deadlock or lock timeout against a
 * local session, a missing role, a payload of a newer version) aborts the
 * whole transaction; the entry is retried with exponential back-off and the
 * stall is shown in raft_status.  Nothing is ever skipped.
 *
 * After each entry, the backends waiting for it (slots in PROPOSED or
 * WAIT_APPLIED state) get their result.
 *
 * Locking: shared memory per shmem.h (slots_lock exclusive to publish
 * results; status_lock exclusive to publish apply status).
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/cmdtag.h"
#include "tcop/dest.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "apply.h"
#include "apply_session.h"
#include "config.h"
#include "payload.h"
#include "raft/raft.h"
#include "shmem.h"
#include "storage.h"
#include "worker.h"

#define RAFT_APPLY_BACKOFF_MIN_MS 100
#define RAFT_APPLY_BACKOFF_MAX_MS 10000

/*
 * Apply commits asynchronously (synchronous_commit = off): under load the
 * Raft worker's next log write flushes them for free.  Once apply has been
 * idle this long with its last commit still unflushed, it flushes it
 * itself, so that what a node has applied (and a client may have read
 * there) does not go back if the server then crashes: without this the WAL
 * writer takes up to 3 x wal_writer_delay, and a restarted node cut off
 * from the leader would show the older data until a leader tells it the
 * commit index again.
 */
#define RAFT_APPLY_IDLE_FLUSH_MS 10

/*
 * At most this many entries are applied in one transaction.  Each runs in
 * a subtransaction with an XID of its own: stay within the subxids a
 * backend caches in its PGPROC (PGPROC_MAX_CACHED_SUBXIDS = 64), beyond
 * which every snapshot taken on the server gets slower.
 */
#define RAFT_APPLY_BATCH 32

typedef enum RaftApplyResult
{
	RAFT_APPLY_DONE,			/* applied (successfully or with a statement error) */
	RAFT_APPLY_STALL			/* environment error: retry later */
} RaftApplyResult;

static MemoryContext raft_apply_cxt = NULL;

bool
raft_apply_is_environment_error(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_CONNECTION_EXCEPTION:	/* 08 */
		case ERRCODE_INSUFFICIENT_RESOURCES:	/* 53 */
		case ERRCODE_OPERATOR_INTERVENTION: /* 57 */
		case ERRCODE_SYSTEM_ERROR:	/* 58 */
		case ERRCODE_CONFIG_FILE_ERROR: /* F0 */
		case ERRCODE_FDW_ERROR: /* HV */
		case ERRCODE_INTERNAL_ERROR:	/* XX */
			return true;
		default:
			break;
	}
	switch (sqlerrcode)
	{
			/* outcomes of concurrency with local sessions: not deterministic */
		case ERRCODE_T_R_SERIALIZATION_FAILURE:
		case ERRCODE_T_R_DEADLOCK_DETECTED:
		case ERRCODE_LOCK_NOT_AVAILABLE:
			return true;
		default:
			return false;
	}
}

static void
raft_apply_detach_shmem(int code, Datum arg)
{
	SpinLockAcquire(&raft_shared->mutex);
	if (raft_shared->apply_latch == MyLatch)
		raft_shared->apply_latch = NULL;
	SpinLockRelease(&raft_shared->mutex);

	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	raft_shared->status.apply_state = RAFT_WORKER_NOT_RUNNING;
	raft_shared->status.apply_pid = 0;
	LWLockRelease(raft_shared->status_lock);
}

static void
raft_apply_set_state(RaftWorkerState state)
{
	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	raft_shared->status.apply_state = state;
	raft_shared->status.apply_pid = MyProcPid;
	LWLockRelease(raft_shared->status_lock);
}

static void
raft_apply_report_stall(uint64 index, const char *error, TimestampTz since)
{
	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	raft_shared->status.apply_stalled_since = since;
	raft_shared->status.apply_stalled_index = index;
	raft_shared->status.apply_retries++;
	raft_shmem_strlcpy(raft_shared->status.last_apply_error, error,
					   sizeof(raft_shared->status.last_apply_error));
	LWLockRelease(raft_shared->status_lock);
}

static void
raft_apply_clear_stall(void)
{
	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	raft_shared->status.apply_stalled_since = 0;
	raft_shared->status.apply_stalled_index = 0;
	LWLockRelease(raft_shared->status_lock);
}

/* Fill a slot's result from an outcome.  slots_lock held exclusively. */
static void
raft_apply_fill_slot(RaftSlot *slot, const RaftOutcome *o)
{
	slot->sqlerrcode = o->sqlerrcode;
	slot->has_rows = o->has_rows;
	slot->rows = o->rows;
	raft_shmem_strlcpy(slot->command_tag, o->command_tag, sizeof(slot->command_tag));
	raft_shmem_strlcpy(slot->detail, o->detail, sizeof(slot->detail));
	raft_shmem_strlcpy(slot->hint, o->hint, sizeof(slot->hint));
	slot->index = o->index;
	slot->term = o->term;
	raft_shmem_slot_finish(slot,
						   o->sqlerrcode ? RAFT_RESULT_STATEMENT_ERROR : RAFT_RESULT_OK,
						   o->message ? o->message : "");
}

static void raft_apply_publish(uint64 index, uint64 term, const RaftOutcome *o);

/*
 * At start: backends may be waiting for entries applied by a previous
 * incarnation of this worker whose results were never handed out.  Look
 * their outcomes up in raft_ext.outcome.
 */
static void
raft_apply_publish_backlog(uint64 applied)
{
	int			i;

	for (i = 0; i < raft_shared->nslots; i++)
	{
		RaftSlot   *slot = &raft_shared->slots[i];
		uint64		request_id;
		uint64		index;
		uint64		term;
		RaftOutcome o;
		bool		found;

		LWLockAcquire(raft_shared->slots_lock, LW_SHARED);
		request_id = slot->request_id;
		index = slot->index;
		term = slot->term;
		found = (request_id != 0 && slot->state == RAFT_SLOT_PROPOSED && index <= applied);
		LWLockRelease(raft_shared->slots_lock);
		if (!found)
			continue;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "raft_ext: SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		found = raft_storage_get_outcome(index, &o);
		LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
		if (slot->request_id == request_id && slot->state == RAFT_SLOT_PROPOSED)
		{
			if (found && o.term == term)
				raft_apply_fill_slot(slot, &o);
			else
				raft_shmem_slot_finish(slot, RAFT_RESULT_LOST,
									   "the entry was replaced by another leader's entry before it was committed");
		}
		LWLockRelease(raft_shared->slots_lock);
		raft_shmem_wake_finished();
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(raft_apply_cxt);
	}

	/* and the ones that only wait for apply */
	raft_apply_publish(applied, 0, NULL);
}

/*
 * The command tag of what SPI ran (the last statement of the string).  The
 * usual DML result codes name it; only for anything else is the statement
 * parsed again to find it.
 */
static const char *
raft_apply_command_tag(int spi_result, const char *sql, bool *display_rows)
{
	List	   *raw;
	CommandTag	tag;

	switch (spi_result)
	{
		case SPI_OK_SELECT:
			tag = CMDTAG_SELECT;
			break;
		case SPI_OK_INSERT:
		case SPI_OK_INSERT_RETURNING:
			tag = CMDTAG_INSERT;
			break;
		case SPI_OK_UPDATE:
		case SPI_OK_UPDATE_RETURNING:
			tag = CMDTAG_UPDATE;
			break;
		case SPI_OK_DELETE:
		case SPI_OK_DELETE_RETURNING:
			tag = CMDTAG_DELETE;
			break;
		case SPI_OK_MERGE:
			tag = CMDTAG_MERGE;
			break;
		default:
			raw = raw_parser(sql, RAW_PARSE_DEFAULT);
			if (raw == NIL)
			{
				*display_rows = false;
				return "EMPTY";
			}
			tag = CreateCommandTag(((RawStmt *) llast(raw))->stmt);
			break;
	}
	*display_rows = command_tag_display_rowcount(tag);
	return GetCommandTagName(tag);
}

static char *
raft_apply_format_error(uint64 index, ErrorData *edata)
{
	return psprintf("log entry %llu: %s: %s",
					(unsigned long long) index,
					unpack_sql_state(edata->sqlerrcode),
					edata->message ? edata->message : "(no message)");
}

/* What applying one entry produced; lives in the caller's frame. */
typedef struct RaftApplyState
{
	uint64		index;
	uint64		term;
	int			type;
	bool		have_outcome;
	bool		setup_done;		/* role and settings were in place */
	RaftOutcome outcome;
	char	   *stall_error;	/* in raft_apply_cxt */
} RaftApplyState;

/* Inside the subtransaction: become the role, set its context, run the SQL. */
static void
raft_apply_statement_body(RaftApplyState *st, RaftPayload *payload, Oid roleid,
						  int save_sec_context)
{
	int			nest = NewGUCNestLevel();
	int			i;
	int			ret;
	bool		display_rows;
	const char *tag;
	SPIExecuteOptions options;

	SetUserIdAndSecContext(roleid, save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	for (i = 0; i < payload->nsettings; i++)
	{
		const char *current = GetConfigOption(payload->names[i], true, false);

		/*
		 * Usually the submitter's value is already ours: setting it anyway
		 * costs a GUC stack entry and, for search_path, a recomputed path.
		 */
		if (current != NULL && strcmp(current, payload->values[i]) == 0)
			continue;
		(void) set_config_option(payload->names[i], payload->values[i],
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, ERROR, false);
	}
	st->setup_done = true;

	pgstat_report_activity(STATE_RUNNING, payload->sql);
	/* rows are counted, not kept: a big SELECT must not fill our memory */
	memset(&options, 0, sizeof(options));
	options.read_only = false;
	options.dest = None_Receiver;
	ret = SPI_execute_extended(payload->sql, &options);
	if (ret < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("statement cannot be run by raft_ext: %s",
						SPI_result_code_string(ret))));
	tag = raft_apply_command_tag(ret, payload->sql, &display_rows);
	st->outcome.command_tag = MemoryContextStrdup(raft_apply_cxt, tag);
	st->outcome.has_rows = display_rows;
	st->outcome.rows = display_rows ? SPI_processed : 0;

	/* undo every setting the statement or we changed */
	AtEOXact_GUC(false, nest);
}

/*
 * Run the statement in a subtransaction.  A statement error becomes the
 * outcome; an environment error (or any error before the statement ran) is
 * re-thrown after the subtransaction is rolled back.
 */
static void
raft_apply_run_statement(RaftApplyState *st, RaftPayload *payload, Oid roleid)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Oid			save_userid;
	int			save_sec_context;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		raft_apply_statement_body(st, payload, roleid, save_sec_context);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(raft_apply_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		SetUserIdAndSecContext(save_userid, save_sec_context);

		if (!st->setup_done || raft_apply_is_environment_error(edata->sqlerrcode))
		{
			MemoryContextSwitchTo(raft_apply_cxt);
			st->stall_error = raft_apply_format_error(st->index, edata);
			MemoryContextSwitchTo(oldcxt);
			ReThrowError(edata);
		}
		st->outcome.sqlerrcode = edata->sqlerrcode;
		st->outcome.message = edata->message;
		st->outcome.detail = edata->detail;
		st->outcome.hint = edata->hint;
	}
	PG_END_TRY();
}

/*
 * Apply one entry inside the current transaction (SPI connected, snapshot
 * pushed): run it in its subtransaction and fill in its outcome, which the
 * caller records.  Throws on environment errors.
 */
static void
raft_apply_entry(RaftApplyState *st, const RaftStoredEntry *e)
{
	st->term = e->term;
	st->type = e->type;
	if (st->type == RAFT_ENTRY_NORMAL)
	{
		RaftPayload payload;
		const char *bad;

		st->outcome.index = st->index;
		st->outcome.term = st->term;
		st->have_outcome = true;
		bad = raft_payload_decode(e->payload, e->len, &payload);
		if (bad != NULL && strcmp(bad, "unknown payload version") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("raft_ext: log entry %llu has a payload format this version of raft_ext cannot read",
							(unsigned long long) st->index),
					 errhint("Upgrade raft_ext on this node.")));
		if (bad != NULL)
		{
			/* deterministic: every node has the same bytes */
			st->outcome.sqlerrcode = ERRCODE_DATA_CORRUPTED;
			st->outcome.message = MemoryContextStrdup(raft_apply_cxt, "malformed raft_ext log entry payload");
			st->outcome.detail = MemoryContextStrdup(raft_apply_cxt, bad);
		}
		else
		{
			Oid			roleid = get_role_oid(payload.role, true);

			if (!OidIsValid(roleid))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("raft_ext: role \"%s\" of log entry %llu does not exist on this node",
								payload.role, (unsigned long long) st->index),
						 errhint("Create the role; apply resumes by itself.")));
			raft_apply_session_begin_entry(st->index);
			raft_apply_run_statement(st, &payload, roleid);
			raft_apply_session_end_entry();
		}
	}
	/* NOOP and CONFIG entries only advance last_applied */
}

/*
 * The transaction applying entries st[0..n-1] (consecutive indexes), each
 * in its own subtransaction, their outcomes (one INSERT) and last_applied =
 * the last of them: all of it commits or none of it does, so every entry is
 * still applied exactly once.  Throws on environment errors.
 */
static void
raft_apply_xact(RaftApplyState *st, int n)
{
	MemoryContext cxt = CurrentMemoryContext;
	RaftStoredEntry *entries;
	const RaftOutcome **outcomes;
	int			noutcomes = 0;
	int			found;
	int			i;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "raft_ext: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	/* what an aborted attempt may have left (sequence caches survive aborts) */
	raft_apply_session_reset();

	entries = palloc(sizeof(RaftStoredEntry) * n);
	outcomes = palloc(sizeof(RaftOutcome *) * n);
	found = raft_storage_read_entries(st[0].index, st[n - 1].index, entries);
	if (found < n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: committed log entry %llu is missing from raft_ext.log",
						(unsigned long long) st[found].index)));

	for (i = 0; i < n; i++)
	{
		raft_apply_entry(&st[i], &entries[i]);
		if (st[i].have_outcome)
			outcomes[noutcomes++] = &st[i].outcome;
		CHECK_FOR_INTERRUPTS();
	}
	pgstat_report_activity(STATE_RUNNING, "raft_ext: recording outcomes");
	raft_storage_record_outcomes(outcomes, noutcomes);
	raft_storage_set_last_applied(st[n - 1].index);

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	raft_apply_session_at_commit();
	MemoryContextSwitchTo(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Entries st[0..n-1] (consecutive indexes) were applied: hand results to
 * every backend waiting for one of them, in one pass over the slots under
 * one lock acquisition.  A waiter for an earlier index was missed; one
 * whose term differs from the applied entry's lost its entry to another
 * leader.
 */
static void
raft_apply_publish_batch(const RaftApplyState *st, int n)
{
	uint64		first = st[0].index;
	uint64		last = st[n - 1].index;
	int			i;

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	for (i = 0; i < raft_shared->nslots; i++)
	{
		RaftSlot   *slot = &raft_shared->slots[i];

		if (slot->request_id == 0)
			continue;
		if (slot->state == RAFT_SLOT_PROPOSED && slot->index <= last)
		{
			const RaftApplyState *e;

			if (slot->index < first)
			{
				raft_shmem_slot_finish(slot, RAFT_RESULT_FAILED,
									   "the apply worker lost track of this entry");
				continue;
			}
			e = &st[slot->index - first];
			if (slot->term == e->term && e->have_outcome)
				raft_apply_fill_slot(slot, &e->outcome);
			else
				raft_shmem_slot_finish(slot, RAFT_RESULT_LOST,
									   "the entry was replaced by another leader's entry before it was committed");
		}
		else if (slot->state == RAFT_SLOT_WAIT_APPLIED && slot->index <= last)
			raft_shmem_slot_finish(slot, RAFT_RESULT_OK, NULL);
	}
	LWLockRelease(raft_shared->slots_lock);
	raft_shmem_wake_finished();
}

/*
 * Entry `index` (of term `term`) was applied with outcome o (NULL for a
 * NOOP/CONFIG entry): hand results to every backend waiting for it.
 */
static void
raft_apply_publish(uint64 index, uint64 term, const RaftOutcome *o)
{
	RaftApplyState one;

	memset(&one, 0, sizeof(one));
	one.index = index;
	one.term = term;
	one.have_outcome = (o != NULL);
	if (o != NULL)
		one.outcome = *o;
	raft_apply_publish_batch(&one, 1);
}

/*
 * Run raft_apply_xact(st, n).  On an error, abort the transaction and return
 * the error (copied into raft_apply_cxt); NULL when it committed.  Leaves no
 * transaction open either way.
 */
static ErrorData *
raft_apply_try_xact(RaftApplyState *st, int n)
{
	ErrorData  *volatile edata = NULL;

	PG_TRY();
	{
		raft_apply_xact(st, n);
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(raft_apply_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		raft_apply_session_at_abort();
		MemoryContextSwitchTo(raft_apply_cxt);
		RESUME_INTERRUPTS();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();
	return edata;
}

/*
 * Apply entries first..last in one transaction.  Returns false, with
 * nothing applied and no transaction open, if anything failed: the caller
 * then applies them one at a time, which reports and retries a stall.
 * Results are handed out only after the commit, so a client never sees its
 * acknowledgement before its write is visible here.
 */
static bool
raft_apply_batch(uint64 first, uint64 last)
{
	int			n = (int) (last - first + 1);
	RaftApplyState *st = MemoryContextAllocZero(raft_apply_cxt, sizeof(RaftApplyState) * n);
	ErrorData  *edata;
	int			i;

	for (i = 0; i < n; i++)
		st[i].index = first + i;

	edata = raft_apply_try_xact(st, n);
	if (edata != NULL)
	{
		ereport(DEBUG1,
				(errmsg("raft_ext: applying log entries %llu..%llu together failed (%s); applying them one by one",
						(unsigned long long) first, (unsigned long long) last,
						edata->message ? edata->message : "no message")));
		return false;
	}

	pg_atomic_write_u64(&raft_shared->last_applied, last);
	raft_apply_publish_batch(st, n);
	return true;
}

/*
 * Apply entry `index`.  On a stall, *stall_error says why (palloc'd in
 * raft_apply_cxt).  Leaves no transaction open either way.
 */
static RaftApplyResult
raft_apply_one(uint64 index, char **stall_error)
{
	RaftApplyState st;
	ErrorData  *edata;

	memset(&st, 0, sizeof(st));
	st.index = index;

	edata = raft_apply_try_xact(&st, 1);
	if (edata != NULL)
	{
		*stall_error = st.stall_error ? st.stall_error : raft_apply_format_error(index, edata);
		edata->elevel = WARNING;
		edata->hide_stmt = true;
		ThrowErrorData(edata);
		return RAFT_APPLY_STALL;
	}

	*stall_error = NULL;
	pg_atomic_write_u64(&raft_shared->last_applied, index);
	raft_apply_publish(index, st.term, st.have_outcome ? &st.outcome : NULL);
	return RAFT_APPLY_DONE;
}

void
raft_apply_worker_main(Datum main_arg)
{
	uint64		applied;
	long		backoff_ms = 0;
	TimestampTz stalled_since = 0;
	Oid			ext_oid;
	TimestampTz ext_checked_at = 0;
	uint64		single_until = 0;	/* apply up to here one by one */
	bool		waiting_logged = false;
	TimestampTz idle_since = 0; /* caught up, last commit not yet flushed */

	raft_worker_keep_heap();
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	if (raft_shared == NULL)
		proc_exit(0);

	BackgroundWorkerInitializeConnection(raft_ext_database, NULL, 0);
	pgstat_report_appname("raft_ext apply");

	SpinLockAcquire(&raft_shared->mutex);
	raft_shared->apply_latch = MyLatch;
	SpinLockRelease(&raft_shared->mutex);
	before_shmem_exit(raft_apply_detach_shmem, (Datum) 0);

	raft_apply_set_state(RAFT_WORKER_WAITING_FOR_EXTENSION);
	ext_oid = raft_storage_wait_for_extension();

	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);

	raft_apply_cxt = AllocSetContextCreate(TopMemoryContext, "raft_ext apply",
										   ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		bool		ready;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "raft_ext: SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		applied = raft_storage_get_last_applied();
		ready = raft_apply_session_init();
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(raft_apply_cxt);
		if (ready)
			break;
		if (!waiting_logged)
			ereport(LOG,
					(errmsg("raft_ext: the extension in database \"%s\" is older than this library; apply waits",
							raft_ext_database),
					 errhint("Run ALTER EXTENSION raft_ext UPDATE in that database.")));
		waiting_logged = true;
		raft_apply_set_state(RAFT_WORKER_WAITING_FOR_EXTENSION);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		raft_storage_check_extension(ext_oid, &ext_checked_at);
	}

	pg_atomic_write_u64(&raft_shared->last_applied, applied);

	/*
	 * apply_target may be left over from tables since dropped; the Raft
	 * worker republishes the real one within a loop iteration.
	 */
	pg_atomic_write_u64(&raft_shared->apply_target, applied);
	raft_shmem_wake_raft_worker();
	raft_apply_set_state(RAFT_WORKER_RUNNING);
	raft_apply_publish_backlog(applied);
	ereport(LOG, (errmsg("raft_ext: apply worker started at last_applied %llu",
						 (unsigned long long) applied)));

	for (;;)
	{
		uint64		target;
		long		timeout = 1000L;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		raft_storage_check_extension(ext_oid, &ext_checked_at);

		target = pg_atomic_read_u64(&raft_shared->apply_target);
		if (applied < target)
			idle_since = 0;
		while (applied < target)
		{
			char	   *error;

			MemoryContextSwitchTo(raft_apply_cxt);
			MemoryContextReset(raft_apply_cxt);
			if (stalled_since == 0 && applied + 1 > single_until && target - applied > 1)
			{
				uint64		last = Min(target, applied + RAFT_APPLY_BATCH);

				if (raft_apply_batch(applied + 1, last))
				{
					applied = last;
					CHECK_FOR_INTERRUPTS();
					continue;
				}
				single_until = last;
				MemoryContextReset(raft_apply_cxt);
			}
			if (raft_apply_one(applied + 1, &error) == RAFT_APPLY_STALL)
			{
				if (stalled_since == 0)
					stalled_since = GetCurrentTimestamp();
				backoff_ms = backoff_ms == 0 ? RAFT_APPLY_BACKOFF_MIN_MS :
					Min(backoff_ms * 2, RAFT_APPLY_BACKOFF_MAX_MS);
				raft_apply_report_stall(applied + 1, error, stalled_since);
				timeout = backoff_ms;
				break;
			}
			applied++;
			if (stalled_since != 0)
			{
				stalled_since = 0;
				backoff_ms = 0;
				raft_apply_clear_stall();
				ereport(LOG, (errmsg("raft_ext: apply resumed at log entry %llu",
									 (unsigned long long) applied)));
			}
			CHECK_FOR_INTERRUPTS();
		}

		if (XactLastCommitEnd > GetFlushRecPtr(NULL))
		{
			TimestampTz now = GetCurrentTimestamp();

			if (idle_since == 0)
				idle_since = now;
			if (TimestampDifferenceExceeds(idle_since, now, RAFT_APPLY_IDLE_FLUSH_MS))
				XLogFlush(XactLastCommitEnd);
			else
				timeout = Min(timeout, RAFT_APPLY_IDLE_FLUSH_MS);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
