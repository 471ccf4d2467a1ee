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
 *   for each entry, by its type (raft_apply_entry: a statement, a leader's
 *       no-op, a configuration), under an error context "applying Raft log
 *       entry N (term T)"; a statement in a subtransaction:
 *       SetUserIdAndSecContext(submitting role, SECURITY_LOCAL_USERID_CHANGE |
 *       SECURITY_RESTRICTED_OPERATION), its search_path/TimeZone/DateStyle/
 *       IntervalStyle (GUC_ACTION_LOCAL, in a GUC nest level that is rolled
 *       back afterwards), SPI_execute(sql), its INFO/NOTICE/WARNING kept for
 *       the client (emit_log_hook); before and after it, apply_session.c
 *       makes the session the same for every entry
 *   insert the batch's outcomes into raft_ext.outcome (one INSERT)
 *   set raft_ext.apply_state to the batch's last entry
 *   commit (synchronous_commit = off: the entry is durable in the log on a
 *   majority; a lost apply commit loses its last_applied too and is redone).
 * So an entry's effects and last_applied commit together: exactly once.
 * Results are handed to waiting backends only after the commit.  If
 * anything fails in a batch, the whole transaction is rolled back and the
 * same entries are applied one per transaction, as below.
 *
 * An error raised while the statement runs is its outcome: recorded, and
 * apply moves on; that includes whatever a procedural language's RAISE
 * raises, whatever SQLSTATE it chose, and the expiry of the entry's
 * raft_ext.apply_timeout.  A failure of the node (raft_apply_is_environment_
 * error: resources, I/O, corruption, concurrency with a local session, a
 * missing role, a payload of a newer version) aborts the whole transaction;
 * the entry is retried with exponential back-off and the stall is shown in
 * raft_status.  Nothing is ever skipped.
 *
 * After each committed transaction, the backends waiting for its entries
 * get their answer (request.c).
 *
 * Locking: shared memory per shmem.h (the slots through request.c;
 * status_lock exclusive to publish apply status).
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
#include "storage/proc.h"
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
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "apply.h"
#include "apply_session.h"
#include "checks.h"
#include "config.h"
#include "determinism.h"
#include "membership.h"
#include "outcome.h"
#include "params.h"
#include "payload.h"
#include "query.h"
#include "request_ids.h"
#include "raft/raft.h"
#include "request.h"
#include "sequences.h"
#include "shmem.h"
#include "snapshot.h"
#include "skip.h"
#include "storage.h"
#include "workers.h"

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

int			raft_ext_apply_timeout = 60000;

/*
 * The apply time limit: a timeout of our own, armed around the statement.
 * When it fires, the statement is cancelled as a query cancel would; the
 * flags say that the cancel was ours, and whether the statement was then
 * waiting for a heavyweight lock (which only a local session can hold: a
 * wait of this node only, so not an outcome).
 */
static TimeoutId raft_apply_timeout_id;
static volatile sig_atomic_t raft_apply_timed_out = false;
static volatile sig_atomic_t raft_apply_timed_out_on_lock = false;

static void
raft_apply_timeout_handler(void)
{
	raft_apply_timed_out = true;
	raft_apply_timed_out_on_lock = MyProc != NULL && MyProc->waitLock != NULL;
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

/* The source files of the procedural languages' RAISE / elog / die. */
static bool
raft_apply_raised_by_pl(const char *filename)
{
	static const char *const pl_files[] = {
		"pl_exec.c", "pl_comp.c", "pl_handler.c", "pl_funcs.c",	/* PL/pgSQL */
		"plpy_elog.c", "plpy_plpymodule.c", "plpy_spi.c",	/* PL/Python */
		"plperl.c", "SPI.c", "Util.c",	/* PL/Perl */
		"pltcl.c"				/* PL/Tcl */
	};
	const char *base;
	int			i;

	if (filename == NULL)
		return false;
	base = strrchr(filename, '/');
	base = base ? base + 1 : filename;
	for (i = 0; i < lengthof(pl_files); i++)
		if (strcmp(base, pl_files[i]) == 0)
			return true;
	return false;
}

/*
 * The rule (README, "When an entry fails"): an error raised by the
 * statement's own code (a procedural language's RAISE, whatever SQLSTATE it
 * chose) is always the entry's outcome; so is everything else the server
 * raises about the statement.  A failure of the node stalls apply on this
 * node, with back-off: the server running out of resources (53: disk,
 * memory, connections), I/O and other system errors (58), corrupted data
 * or index (XX001, XX002), configuration files (F0), a shutdown or an
 * operator's cancel of the apply worker (57, except our own time limit),
 * foreign servers (08, HV), and what only concurrency with local sessions
 * causes (40001, 40P01, 55P03, 55006).  Errors before the statement runs (a
 * role missing here, a setting this node does not know) are the node's too
 * (raft_apply_run_statement).
 */
bool
raft_apply_is_environment_error(const char *filename, int sqlerrcode)
{
	if (raft_apply_raised_by_pl(filename))
		return false;
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_CONNECTION_EXCEPTION:	/* 08 */
		case ERRCODE_INSUFFICIENT_RESOURCES:	/* 53 */
		case ERRCODE_OPERATOR_INTERVENTION: /* 57 */
		case ERRCODE_SYSTEM_ERROR:	/* 58 */
		case ERRCODE_CONFIG_FILE_ERROR: /* F0 */
		case ERRCODE_FDW_ERROR: /* HV */
			return true;
		default:
			break;
	}
	switch (sqlerrcode)
	{
		case ERRCODE_DATA_CORRUPTED:
		case ERRCODE_INDEX_CORRUPTED:
			/* outcomes of concurrency with local sessions: not deterministic */
		case ERRCODE_T_R_SERIALIZATION_FAILURE:
		case ERRCODE_T_R_DEADLOCK_DETECTED:
		case ERRCODE_LOCK_NOT_AVAILABLE:
		case ERRCODE_OBJECT_IN_USE:
			return true;
		default:
			return false;
	}
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
	raft_shared->status.apply_diverged_index = 0;
	LWLockRelease(raft_shared->status_lock);
}

/*
 * At start: backends may be waiting for entries applied by a previous
 * incarnation of this worker whose results were never handed out.  Look
 * their outcomes up in raft_ext.outcome.
 */
static void
raft_apply_answer_unanswered(uint64 applied)
{
	RaftAppliedEntry *e;
	int			n = raft_request_unanswered(applied, &e);
	int			i;

	if (n > 0)
	{
		raft_xact_begin();
		for (i = 0; i < n; i++)
		{
			RaftOutcome *o = MemoryContextAllocZero(raft_apply_cxt, sizeof(RaftOutcome));

			if (raft_storage_get_outcome(e[i].index, o))
			{
				e[i].term = o->term;
				e[i].outcome = o;
			}
		}
		raft_xact_commit();
	}
	/* and the ones that only wait for apply */
	raft_request_applied(e, n, applied);
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

/* What raft_status.last_apply_error says of an error that stalls apply. */
static char *
raft_apply_format_error(ErrorData *edata)
{
	const char *context = edata->context;
	const char *nl = context ? strchr(context, '\n') : NULL;

	/* the innermost context line is ours: "applying Raft log entry N (term T)" */
	if (nl)
		context = pnstrdup(context, nl - context);
	return psprintf("%s%s%s: %s",
					context ? context : "", context ? ": " : "",
					unpack_sql_state(edata->sqlerrcode),
					edata->message ? edata->message : "(no message)");
}

/* What applying one entry produced; lives in the caller's frame. */
typedef struct RaftApplyState
{
	uint64		index;
	uint64		term;
	bool		have_outcome;	/* a statement entry (others have none) */
	bool		setup_done;		/* role and settings were in place */
	int			timeout_ms;		/* the entry's raft_ext.apply_timeout */
	RaftOutcome outcome;
	RaftOutcome *answer;		/* for its caller, when not outcome: the
								 * original of a retried request id */
	char	   *stall_error;	/* in raft_apply_cxt */
} RaftApplyState;

/*
 * Notices (INFO, NOTICE, WARNING) the running statement raises, kept in its
 * outcome for the client that waits for it.  The apply worker's
 * log_min_messages is lowered to INFO so that they reach emit_log_hook at
 * all; INFO and NOTICE then go to the server log only if the configured
 * log_min_messages asked for them, as before.
 */
static emit_log_hook_type raft_apply_prev_emit_log_hook = NULL;
static RaftOutcome *raft_apply_notices_to = NULL;
static int	raft_apply_configured_log_min_messages = WARNING;

static void
raft_apply_emit_log(ErrorData *edata)
{
	if (edata->elevel == INFO || edata->elevel == NOTICE || edata->elevel == WARNING)
	{
		if (raft_apply_notices_to != NULL)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(raft_apply_cxt);

			raft_outcome_add_notice(raft_apply_notices_to, edata->elevel, edata->sqlerrcode,
									edata->message, edata->detail, edata->hint);
			MemoryContextSwitchTo(oldcxt);
		}
		if (edata->elevel != WARNING &&
			(raft_apply_configured_log_min_messages == LOG ||
			 raft_apply_configured_log_min_messages > edata->elevel))
			edata->output_to_server = false;
	}
	if (raft_apply_prev_emit_log_hook)
		raft_apply_prev_emit_log_hook(edata);
}

/*
 * Disarm the time limit; a cancel it requested that no CHECK_FOR_INTERRUPTS
 * has seen yet must not hit what runs after the statement.
 */
static void
raft_apply_disarm_timeout(void)
{
	if (raft_ext_apply_timeout > 0 || get_timeout_active(raft_apply_timeout_id))
		disable_timeout(raft_apply_timeout_id, false);
	if (raft_apply_timed_out)
	{
		QueryCancelPending = false;
		raft_apply_timed_out = false;
	}
}

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
	ParamListInfo bound;
	Oid		   *types;
	DestReceiver *receiver;

	SetUserIdAndSecContext(roleid, save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	/* $1 .. $n: their types resolved here (one missing on this node stalls it) */
	types = raft_params_resolve(payload->nparams, payload->params);
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
	/* a value its type refuses is the statement's error, as everywhere */
	bound = raft_params_bind(payload->nparams, payload->params, types);

	pgstat_report_activity(STATE_RUNNING, payload->sql);
	/* rows are counted, not kept: a big SELECT must not fill our memory */
	memset(&options, 0, sizeof(options));
	options.read_only = false;
	options.dest = None_Receiver;
	options.params = bound;
	/* raft_query: the caller takes the rows */
	receiver = (payload->flags & RAFT_PAYLOAD_WANTS_ROWS) ? raft_query_receiver(raft_apply_cxt, payload->max_result_kb) : NULL;
	if (receiver)
		options.dest = receiver;
	raft_apply_notices_to = &st->outcome;
	raft_apply_timed_out = false;
	if (raft_ext_apply_timeout > 0)
		enable_timeout_after(raft_apply_timeout_id, raft_ext_apply_timeout);
	st->timeout_ms = raft_ext_apply_timeout;
	ret = SPI_execute_extended(payload->sql, &options);
	raft_apply_disarm_timeout();
	raft_apply_notices_to = NULL;
	if (ret < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("statement cannot be run by raft_ext: %s",
						SPI_result_code_string(ret))));
	if (receiver)
		raft_query_to_outcome(receiver, &st->outcome);
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
		bool		timed_out = raft_apply_timed_out;
		bool		on_lock = raft_apply_timed_out_on_lock;
		bool		environment;
		bool		skipped;

		raft_apply_notices_to = NULL;
		MemoryContextSwitchTo(raft_apply_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		raft_apply_disarm_timeout();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		SetUserIdAndSecContext(save_userid, save_sec_context);

		raft_skip_set_running(0);
		/* an operator's decision cancelled it: its outcome is the skip */
		MemoryContextSwitchTo(raft_apply_cxt);
		skipped = raft_skip_this(st->index, &st->outcome);
		MemoryContextSwitchTo(oldcxt);
		if (skipped)
			environment = false;
		else if (timed_out && edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		{
			/* our limit: the outcome, unless it only waited for a local lock */
			environment = on_lock;
			MemoryContextSwitchTo(raft_apply_cxt);
			edata->message = on_lock ?
				psprintf("waited longer than raft_ext.apply_timeout (%d ms) for a lock a session on this node holds",
						 st->timeout_ms) :
				psprintf("canceling statement due to raft_ext.apply_timeout (%d ms)", st->timeout_ms);
			edata->detail = NULL;
			edata->hint = on_lock ?
				pstrdup("End that session's transaction (pg_locks, pg_stat_activity); the entry is retried.") :
				pstrdup("Give a statement that needs longer more time: SET raft_ext.apply_timeout in the session before raft_submit.");
			MemoryContextSwitchTo(oldcxt);
		}
		else
			environment = !st->setup_done ||
				raft_apply_is_environment_error(edata->filename, edata->sqlerrcode);
		if (environment)
		{
			MemoryContextSwitchTo(raft_apply_cxt);
			st->stall_error = raft_apply_format_error(edata);
			MemoryContextSwitchTo(oldcxt);
			ReThrowError(edata);
		}
		if (!skipped)
		{
			st->outcome.sqlerrcode = edata->sqlerrcode;
			st->outcome.message = edata->message;
			st->outcome.detail = edata->detail;
			st->outcome.hint = edata->hint;
		}
	}
	PG_END_TRY();
}

/* A NORMAL entry: a statement, with its role and session context. */
static void
raft_apply_statement_entry(RaftApplyState *st, const RaftStoredEntry *e)
{
	RaftPayload payload;
	const char *bad;
	Oid			roleid;
	MemoryContext oldcxt;
	bool		skipped;

	st->outcome.index = st->index;
	st->outcome.term = st->term;
	st->have_outcome = true;
	/* an operator's decision (raft_skip_entry) ends it before it runs */
	oldcxt = MemoryContextSwitchTo(raft_apply_cxt);
	skipped = raft_skip_this(st->index, &st->outcome);
	MemoryContextSwitchTo(oldcxt);
	if (skipped)
		return;
	bad = raft_payload_decode(e->payload, e->len, &payload);
	if (bad != NULL && strcmp(bad, "unknown payload version") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("raft_ext: the entry has a payload format this version of raft_ext cannot read"),
				 errhint("Upgrade raft_ext on this node.")));
	if (bad != NULL)
	{
		/* deterministic: every node has the same bytes */
		st->outcome.sqlerrcode = ERRCODE_DATA_CORRUPTED;
		st->outcome.message = MemoryContextStrdup(raft_apply_cxt, "malformed raft_ext log entry payload");
		st->outcome.detail = MemoryContextStrdup(raft_apply_cxt, bad);
		return;
	}
	roleid = get_role_oid(payload.role, true);
	if (!OidIsValid(roleid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("raft_ext: role \"%s\" does not exist on this node", payload.role),
				 errhint("Create the role; apply resumes by itself.")));
	if (payload.flags & RAFT_PAYLOAD_REQUEST_ID)
	{
		uint64		original;

		if (raft_request_ids_seen(payload.request_id, st->index, payload.stamp,
								  payload.retention_s, &original))
		{
			/* applied before: not again; its caller gets the original */
			oldcxt = MemoryContextSwitchTo(raft_apply_cxt);
			st->outcome.command_tag = pstrdup("RAFT DUPLICATE");
			st->outcome.has_rows = true;
			st->outcome.rows = original;
			st->answer = palloc0(sizeof(RaftOutcome));
			if (!raft_storage_get_outcome(original, st->answer))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("raft_ext: the outcome of log entry %llu (request id \"%s\") is missing",
								(unsigned long long) original, payload.request_id)));
			st->answer->duplicate = true;
			MemoryContextSwitchTo(oldcxt);
			return;
		}
	}
	raft_apply_session_begin_entry(st->index);
	raft_determinism_begin_entry(st->index, payload.stamp);
	raft_skip_set_running(st->index);
	raft_apply_run_statement(st, &payload, roleid);
	raft_skip_set_running(0);
	raft_apply_session_end_entry();
}

/* A NORMAL entry that is not a statement: an outcome or consistency check. */
static void
raft_apply_check_entry(RaftApplyState *st, const RaftStoredEntry *e)
{
	TimestampTz stamp = 0;
	MemoryContext oldcxt;

	(void) raft_payload_get_stamp(e->payload, e->len, &stamp);
	raft_apply_session_begin_entry(st->index);
	raft_determinism_begin_entry(st->index, stamp);
	st->outcome.index = st->index;
	st->outcome.term = st->term;
	/* the outcome outlives the transaction (it is handed out after commit) */
	oldcxt = MemoryContextSwitchTo(raft_apply_cxt);
	st->have_outcome = raft_checks_apply(st->index, e->payload, e->len, stamp, &st->outcome);
	MemoryContextSwitchTo(oldcxt);
	raft_apply_session_end_entry();
}

static void
raft_apply_error_context(void *arg)
{
	RaftApplyState *st = (RaftApplyState *) arg;

	errcontext("applying Raft log entry %llu (term %llu)",
			   (unsigned long long) st->index, (unsigned long long) st->term);
}

/*
 * Apply one entry inside the current transaction (SPI connected, snapshot
 * pushed), by its type, and fill in its outcome, which the caller records.
 * Throws on environment errors.
 */
static void
raft_apply_entry(RaftApplyState *st, const RaftStoredEntry *e)
{
	ErrorContextCallback errcb;

	st->term = e->term;
	/* the entry's stamp goes with its outcome: outcomes are kept for a time */
	if (e->type == RAFT_ENTRY_NORMAL)
		(void) raft_payload_get_stamp(e->payload, e->len, &st->outcome.stamp);
	errcb.callback = raft_apply_error_context;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	switch (e->type)
	{
		case RAFT_ENTRY_NORMAL:
			/* a command: a statement, or one of the checks of checks.c */
			if (raft_payload_kind(e->payload, e->len) == 'X')
				raft_apply_statement_entry(st, e);
			else
				raft_apply_check_entry(st, e);
			break;
		case RAFT_ENTRY_NOOP:
			/* a new leader's first entry: only advances last_applied */
			break;
		case RAFT_ENTRY_CONFIG:
			/* a membership change: the configuration this node restarts from */
			raft_members_apply(st->index, e->payload, e->len);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("raft_ext: log entry of unknown type %d", e->type),
					 errhint("Upgrade raft_ext on this node.")));
	}
	error_context_stack = errcb.previous;
}

/*
 * The transaction applying entries st[0..n-1] (consecutive indexes), each
 * in its own subtransaction, their outcomes and last_applied = the last of
 * them: all of it commits or none of it does, so every entry is still
 * applied exactly once.  It ends early after a consistency check's entry
 * (checks.c); returns how many entries it applied.  Throws on environment
 * errors.
 */
static int
raft_apply_xact(RaftApplyState *st, int n)
{
	RaftStoredEntry *entries;
	const RaftOutcome **outcomes;
	int			noutcomes = 0;
	int			found;
	int			i;

	raft_xact_begin();
	/* what an aborted attempt may have left: sequences are not transactional */
	raft_apply_session_reset();
	raft_sequences_restore_aborted();

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
		/*
		 * An outcome check compares the outcomes recorded in raft_ext.outcome
		 * with the leader's: record this batch's so far first, or it would
		 * find the entries it covers missing here.  So does an outcome
		 * removal ("O"): every node must see the same rows, wherever its
		 * batches happen to end.
		 */
		if ((raft_payload_kind(entries[i].payload, entries[i].len) == 'C' ||
			 raft_payload_kind(entries[i].payload, entries[i].len) == 'O') && noutcomes > 0)
		{
			raft_storage_record_outcomes(outcomes, noutcomes);
			noutcomes = 0;
		}

		/*
		 * What the worker itself reads for an entry (an outcome check's
		 * outcomes, a request id, an original outcome) it reads with
		 * read-only SPI in the transaction's active snapshot, taken when the
		 * transaction began: let it see what the entries before this one
		 * wrote, as it would if each entry had a transaction of its own.
		 */
		if (i > 0)
		{
			CommandCounterIncrement();
			UpdateActiveSnapshotCommandId();
		}
		raft_apply_entry(&st[i], &entries[i]);
		if (st[i].have_outcome)
		{
			outcomes[noutcomes++] = &st[i].outcome;
			raft_checks_note_outcome(st[i].index);
		}
		CHECK_FOR_INTERRUPTS();
		if (raft_checks_ends_batch(st[i].index))
		{
			n = i + 1;
			break;
		}
	}
	pgstat_report_activity(STATE_RUNNING, "raft_ext: recording outcomes");
	raft_storage_record_outcomes(outcomes, noutcomes);
	raft_sequences_record();
	raft_storage_set_last_applied(st[n - 1].index);

	raft_xact_commit();
	raft_apply_session_at_commit();
	raft_sequences_at_commit();
	pgstat_report_activity(STATE_IDLE, NULL);
	return n;
}

/*
 * Run raft_apply_xact(st, n).  On an error, abort the transaction and return
 * the error (copied into raft_apply_cxt); NULL when it committed, and
 * *napplied entries were.  Leaves no transaction open either way.  Once it
 * committed, the entries' waiting backends get their answers: never before
 * their writes are visible here.
 */
static ErrorData *
raft_apply_try_xact(RaftApplyState *st, int n, int *napplied)
{
	ErrorData  *volatile edata = NULL;
	volatile int done = 0;
	RaftAppliedEntry *applied;
	int			i;

	PG_TRY();
	{
		done = raft_apply_xact(st, n);
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		raft_apply_notices_to = NULL;
		MemoryContextSwitchTo(raft_apply_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		raft_apply_session_at_abort();
		raft_sequences_at_abort();
		MemoryContextSwitchTo(raft_apply_cxt);
		RESUME_INTERRUPTS();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();
	if (edata != NULL)
		return edata;

	*napplied = done;
	/*
	 * A stall on one of these is over: say so before anyone sees them
	 * applied.  (This worker is the only writer of these fields, so it may
	 * read them without the lock.)
	 */
	if (raft_shared->status.apply_stalled_since != 0 &&
		raft_shared->status.apply_stalled_index <= st[done - 1].index)
	{
		LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
		raft_shared->status.apply_stalled_since = 0;
		raft_shared->status.apply_stalled_index = 0;
		LWLockRelease(raft_shared->status_lock);
	}
	/*
	 * A failed outcome check stops apply at its entry: whatever committed
	 * now was not (or no longer) refused by one, so the flag is old.
	 */
	if (raft_shared->status.apply_diverged_index != 0)
	{
		LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
		raft_shared->status.apply_diverged_index = 0;
		LWLockRelease(raft_shared->status_lock);
	}
	pg_atomic_write_u64(&raft_shared->last_applied, st[done - 1].index);
	applied = palloc(sizeof(RaftAppliedEntry) * done);
	for (i = 0; i < done; i++)
	{
		applied[i].index = st[i].index;
		applied[i].term = st[i].term;
		applied[i].outcome = st[i].answer ? st[i].answer :
			st[i].have_outcome ? &st[i].outcome : NULL;
	}
	raft_request_applied(applied, done, st[done - 1].index);
	return NULL;
}

/*
 * Apply entries first..last in one transaction (or first..*applied_to, when
 * it ends early).  Returns false, with nothing applied and no transaction
 * open, if anything failed: the caller then applies them one at a time,
 * which reports and retries a stall.
 */
static bool
raft_apply_batch(uint64 first, uint64 last, uint64 *applied_to)
{
	int			n = (int) (last - first + 1);
	RaftApplyState *st = MemoryContextAllocZero(raft_apply_cxt, sizeof(RaftApplyState) * n);
	ErrorData  *edata;
	int			napplied = 0;
	int			i;

	for (i = 0; i < n; i++)
		st[i].index = first + i;

	edata = raft_apply_try_xact(st, n, &napplied);
	if (edata != NULL)
	{
		ereport(LOG,
				(errmsg("raft_ext: applying log entries %llu..%llu together failed (%s); applying them one by one",
						(unsigned long long) first, (unsigned long long) last,
						edata->message ? edata->message : "no message")));
		return false;
	}
	*applied_to = first + napplied - 1;
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
	int			napplied;

	memset(&st, 0, sizeof(st));
	st.index = index;

	edata = raft_apply_try_xact(&st, 1, &napplied);
	if (edata != NULL)
	{
		*stall_error = st.stall_error ? st.stall_error : raft_apply_format_error(edata);
		edata->elevel = WARNING;
		edata->hide_stmt = true;
		ThrowErrorData(edata);
		return RAFT_APPLY_STALL;
	}
	*stall_error = NULL;
	return RAFT_APPLY_DONE;
}

/*
 * Start-up: read last_applied and prepare the session (apply_session.c);
 * until the database's extension has the tables this library needs, wait
 * for ALTER EXTENSION raft_ext UPDATE.  Returns last_applied.
 */
static uint64
raft_apply_start(Oid ext_oid)
{
	TimestampTz ext_checked_at = 0;
	bool		waiting_logged = false;

	for (;;)
	{
		uint64		applied;
		bool		ready;

		raft_xact_begin();
		applied = raft_storage_get_last_applied();
		ready = raft_apply_session_init();
		if (ready)
		{
			raft_determinism_apply_start();
			/* a crash brings sequences back where their WAL logged ahead */
			raft_sequences_restore_all();
		}
		raft_xact_commit();
		if (ready)
			return applied;
		if (!waiting_logged)
			ereport(LOG,
					(errmsg("raft_ext: the extension in database \"%s\" is older than this library; apply waits",
							raft_ext_database),
					 errhint("Run ALTER EXTENSION raft_ext UPDATE in that database.")));
		waiting_logged = true;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		raft_storage_check_extension(ext_oid, &ext_checked_at);
	}
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
	TimestampTz idle_since = 0; /* caught up, last commit not yet flushed */

	raft_workers_keep_heap();
	ext_oid = raft_workers_start(RAFT_WORKER_KIND_APPLY);

	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	raft_apply_configured_log_min_messages = log_min_messages;
	SetConfigOption("log_min_messages", "info", PGC_SUSET, PGC_S_OVERRIDE);
	raft_apply_prev_emit_log_hook = emit_log_hook;
	emit_log_hook = raft_apply_emit_log;

	raft_apply_timeout_id = RegisterTimeout(USER_TIMEOUT, raft_apply_timeout_handler);
	raft_apply_cxt = AllocSetContextCreate(TopMemoryContext, "raft_ext apply",
										   ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(raft_apply_cxt);
	applied = raft_apply_start(ext_oid);
	raft_snapshot_apply_start();
	pg_atomic_write_u64(&raft_shared->last_applied, applied);

	/*
	 * apply_target may be left over from tables since dropped; the Raft
	 * worker republishes the real one within a loop iteration.
	 */
	pg_atomic_write_u64(&raft_shared->apply_target, applied);
	raft_shmem_wake_raft_worker();
	raft_workers_set_state(RAFT_WORKER_KIND_APPLY, RAFT_WORKER_RUNNING);
	raft_checks_start(applied);
	raft_apply_answer_unanswered(applied);
	ereport(LOG, (errmsg("raft_ext: apply worker started at last_applied %llu",
						 (unsigned long long) applied)));

	for (;;)
	{
		uint64		target;
		long		timeout = 1000L;

		raft_workers_check_signals();
		raft_storage_check_extension(ext_oid, &ext_checked_at);

		/* a snapshot replaces everything this worker holds: start again from it */
		if (raft_snapshot_apply_step())
		{
			ereport(LOG,
					(errmsg("raft_ext: the apply worker restarts from the installed snapshot")));
			proc_exit(1);
		}

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

				if (raft_apply_batch(applied + 1, last, &applied))
				{
					raft_checks_after_apply(applied);
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
			raft_checks_after_apply(applied);
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

		if (stalled_since == 0)
			raft_checks_after_apply(applied);

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
