/*
 * submit.c — raft_submit(sql) and raft_ext.forward_submit(payload, timeout).
 *
 * The path of one proposal (docs/architecture.md tells it whole):
 * raft_submit checks the statement (NULL, empty, size, transaction block,
 * database, syntax, statements that cannot be replicated: stmt_check.c)
 * before anything is appended, captures the session context into a payload
 * (payload.c), then:
 *   - on the leader: posts the payload to the Raft worker through this
 *     backend's request slot (request.c) and sleeps on the slot until the
 *     apply worker hands back the entry's outcome (outcome.h);
 *   - on a follower: forwards the payload to the leader over libpq
 *     (remote.c), where raft_ext.forward_submit does the above and returns
 *     the outcome, then waits until this node has applied that entry too.
 * It keeps trying (election in progress, leader changed, entry lost to a
 * new leader before commit: all safe to retry because nothing was applied)
 * until statement_timeout, or raft_ext.submit_timeout when that is 0.  A
 * timeout or cancel after the entry may have been appended is reported as
 * SQLSTATE 40003 (outcome unknown), never as a failure.
 *
 * The statement's notices are relayed and its own error is re-raised, with
 * its SQLSTATE, message, detail and hint (raft_outcome_raise).
 *
 * Locking: through request.c (slots) and shmem.h (status).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "config.h"
#include "outcome.h"
#include "params.h"
#include "payload.h"
#include "query.h"
#include "raft/raft.h"
#include "remote.h"
#include "request.h"
#include "shmem.h"
#include "stmt_check.h"
#include "skip.h"
#include "membership.h"
#include "submit.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_submit);
PG_FUNCTION_INFO_V1(raft_ext_sql_submit_once);
PG_FUNCTION_INFO_V1(raft_ext_sql_forward_submit);

/* Room for the session settings captured with a statement (payload.c). */
#define RAFT_SUBMIT_SETTINGS_ALLOWANCE (64 * 1024)

/* How one attempt to have the statement applied ended. */
typedef enum RaftSubmitStep
{
	RAFT_SUBMIT_DONE,			/* applied: its outcome is known */
	RAFT_SUBMIT_RETRY,			/* nothing appended; try again */
	RAFT_SUBMIT_UNKNOWN,		/* may have been appended; we cannot tell */
	RAFT_SUBMIT_TIMEOUT			/* nothing appended and the deadline passed */
} RaftSubmitStep;

typedef struct RaftSubmitAttempt
{
	RaftSubmitStep step;
	RaftOutcome *outcome;		/* DONE: the entry's outcome; UNKNOWN: its
								 * index and term when known (else NULL) */
	int			leader_hint;	/* RETRY: who may lead */
	char	   *problem;		/* RETRY, UNKNOWN, TIMEOUT: what went wrong */
} RaftSubmitAttempt;

/* Raise "outcome unknown" (40003), from inside a PG_CATCH or not. */
static void
raft_submit_throw_unknown(const RaftOutcome *where, const char *why)
{
	if (where != NULL && where->index != 0)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
				 errmsg("raft_submit: the outcome of the statement is unknown"),
				 errdetail("It was appended to the Raft log at index %llu (term %llu), but %s before it was applied on this node. It may still be committed and applied on every node.",
						   (unsigned long long) where->index, (unsigned long long) where->term, why),
				 errhint("Once raft_status.last_applied reaches %llu, SELECT * FROM raft_ext.outcome WHERE log_index = %llu shows whether it ran (a row with term %llu) and how.",
						 (unsigned long long) where->index, (unsigned long long) where->index,
						 (unsigned long long) where->term)));
	ereport(ERROR,
			(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
			 errmsg("raft_submit: the outcome of the statement is unknown"),
			 errdetail("It was sent to the leader, but %s before the leader reported its outcome. It may still be committed and applied on every node.", why),
			 errhint("Check the data, or raft_ext.outcome on the leader, before submitting it again.")));
}

/* Convert the error being handled in a PG_CATCH block into 40003. */
static void
raft_submit_rethrow_as_unknown(MemoryContext cxt, const RaftOutcome *where)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (edata->elevel > ERROR)
		PG_RE_THROW();
	FlushErrorState();
	raft_submit_throw_unknown(where, psprintf("the wait ended (%s)",
											  edata->message ? edata->message : "interrupted"));
}

/* Where a request stood, as an outcome that only says where (index, term). */
static RaftOutcome *
raft_submit_where(const RaftRequestResult *r)
{
	RaftOutcome *where = palloc0(sizeof(RaftOutcome));

	where->index = r->index;
	where->term = r->term;
	return where;
}

/*
 * On the leader: append through our Raft worker and wait for the outcome.
 * forwarded: the caller is a follower's raft_submit (forward_submit), which
 * drops its connection when it gives up: stop waiting then.
 */
static void
raft_submit_local(const char *payload, Size len, TimestampTz deadline, bool forwarded,
				  RaftSubmitAttempt *a)
{
	MemoryContext cxt = CurrentMemoryContext;
	RaftRequestResult r;
	bool		done = false;

	if (raft_payload_kind(payload, len) == RAFT_PAYLOAD_KIND_MEMBERSHIP)
	{
		/* not an entry of its own: a configuration change (membership.c) */
		a->outcome = raft_members_submit_local(payload, len, deadline, &a->problem, &a->leader_hint);
		a->step = a->outcome != NULL ? RAFT_SUBMIT_DONE : RAFT_SUBMIT_RETRY;
		return;
	}
	if (raft_payload_kind(payload, len) == 'K')
		raft_skip_check_on_leader(payload, len);
	raft_request_begin(RAFT_REQ_SUBMIT, payload, len, 0, 0);
	PG_TRY();
	{
		done = raft_request_wait(&r, deadline, forwarded);
	}
	PG_CATCH();
	{
		/*
		 * Cancelled or timed out once the worker had the statement: it may
		 * commit, or (DONE) did, just as the interrupt came.  That is an
		 * unknown outcome for the client, never a failure.
		 */
		raft_request_end(&r);
		if (r.state == RAFT_SLOT_TAKEN || r.state == RAFT_SLOT_PROPOSED ||
			r.state == RAFT_SLOT_DONE)
			raft_submit_rethrow_as_unknown(cxt, raft_submit_where(&r));
		PG_RE_THROW();
	}
	PG_END_TRY();
	raft_request_end(done ? NULL : &r);

	a->leader_hint = r.leader_hint;
	a->problem = r.problem;
	if (r.state != RAFT_SLOT_DONE)
	{
		if (r.state == RAFT_SLOT_TAKEN || r.state == RAFT_SLOT_PROPOSED)
		{
			a->step = RAFT_SUBMIT_UNKNOWN;
			a->outcome = raft_submit_where(&r);
			a->problem = pstrdup("the timeout expired");
			return;
		}
		a->step = RAFT_SUBMIT_TIMEOUT;
		a->problem = pstrdup("the Raft worker did not take the statement in time");
		return;
	}
	switch (r.code)
	{
		case RAFT_RESULT_OK:
			a->step = RAFT_SUBMIT_DONE;
			a->outcome = r.outcome;
			return;
		case RAFT_RESULT_NOT_LEADER:
			a->step = RAFT_SUBMIT_RETRY;
			a->problem = pstrdup("this node stopped being the leader");
			return;
		case RAFT_RESULT_BUSY:
			a->step = RAFT_SUBMIT_RETRY;
			a->problem = pstrdup("a leadership transfer is in progress");
			return;
		case RAFT_RESULT_LOST:
			a->step = RAFT_SUBMIT_RETRY;
			a->problem = pstrdup("a new leader replaced the entry before it was committed");
			return;
		default:
			if (r.index != 0)
			{
				a->step = RAFT_SUBMIT_UNKNOWN;
				a->outcome = raft_submit_where(&r);
				return;
			}
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("raft_submit: the Raft worker could not append the statement: %s",
							r.problem ? r.problem : "no reason given")));
	}
}

/* On a follower, after the leader applied it: wait until we have applied it too. */
static void
raft_submit_wait_local_apply(const RaftOutcome *o, TimestampTz deadline)
{
	MemoryContext cxt = CurrentMemoryContext;
	RaftRequestResult r;
	bool		done = false;

	raft_request_begin(RAFT_REQ_WAIT_APPLIED, NULL, 0, 0, o->index);
	PG_TRY();
	{
		done = raft_request_wait(&r, deadline, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		raft_request_end(NULL);
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->elevel > ERROR)
			PG_RE_THROW();
		/* it is committed: report that rather than a failure */
		FlushErrorState();
		ereport(WARNING,
				(errmsg("raft_submit: the statement was committed at log index %llu, but this node had not applied it yet when the wait ended (%s)",
						(unsigned long long) o->index, edata->message ? edata->message : "interrupted")));
		return;
	}
	PG_END_TRY();
	raft_request_end(NULL);
	if (!done)
		ereport(WARNING,
				(errmsg("raft_submit: the statement was committed at log index %llu, but this node has not applied it yet",
						(unsigned long long) o->index),
				 errhint("A read on this node may not see it yet; raft_barrier() waits for it.")));
}

static int
raft_submit_remaining_ms(TimestampTz deadline)
{
	long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

	return (int) Max(1, Min(ms, (long) PG_INT32_MAX));
}

/* On a follower: have the leader append and apply it. */
static void
raft_submit_forward(int leader, const char *payload, Size len, TimestampTz deadline,
					RaftSubmitAttempt *a)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *conninfo = raft_members_conninfo(leader, NULL);
	RaftRemoteResult rr;
	volatile bool sent = false;

	if (conninfo == NULL)
	{
		a->step = RAFT_SUBMIT_RETRY;
		a->problem = psprintf("the leader, node %d, is not a member this node knows of", leader);
		return;
	}
	PG_TRY();
	{
		raft_remote_forward(leader, conninfo, payload, len,
							raft_submit_remaining_ms(deadline), deadline, &rr, &sent);
	}
	PG_CATCH();
	{
		if (sent)
			raft_submit_rethrow_as_unknown(cxt, NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();

	a->leader_hint = rr.leader_id;
	a->outcome = rr.outcome;
	switch (rr.status)
	{
		case RAFT_REMOTE_NOT_SENT:
			a->step = RAFT_SUBMIT_RETRY;
			a->problem = psprintf("could not reach the leader, node %d: %s", leader, rr.error);
			return;
		case RAFT_REMOTE_LOST:
			a->step = RAFT_SUBMIT_UNKNOWN;
			a->problem = rr.timed_out ?
				psprintf("the leader, node %d, did not answer in time", leader) :
				psprintf("the connection to the leader, node %d, failed (%s)", leader, rr.error);
			return;
		case RAFT_REMOTE_REMOTE_ERROR:
			if (rr.sqlerrcode == ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN)
			{
				a->step = RAFT_SUBMIT_UNKNOWN;
				a->problem = psprintf("the leader, node %d, reported: %s", leader, rr.error);
				return;
			}
			ereport(ERROR,
					(errcode(rr.sqlerrcode),
					 errmsg("raft_submit: could not forward the statement to the leader, node %d: %s",
							leader, rr.error),
					 rr.detail ? errdetail_internal("%s", rr.detail) : 0,
					 errhint("%s", rr.hint ? rr.hint :
							 "The role in raft_ext.peers' connection strings needs USAGE on schema raft_ext and EXECUTE on raft_ext.forward_submit(bytea, integer, bigint) on every node.")));
			break;
		case RAFT_REMOTE_APPLIED:
			a->step = RAFT_SUBMIT_DONE;
			raft_submit_wait_local_apply(rr.outcome, deadline);
			return;
		case RAFT_REMOTE_UNKNOWN:
			a->step = RAFT_SUBMIT_UNKNOWN;
			a->problem = psprintf("the leader, node %d, reported: %s", leader,
								  rr.error ? rr.error : "outcome unknown");
			return;
		case RAFT_REMOTE_RETRY:
			a->step = RAFT_SUBMIT_RETRY;
			a->problem = psprintf("node %d could not append it: %s", leader,
								  rr.error ? rr.error : "not the leader");
			return;
	}
}

/* Submit a payload: loop until its outcome is known.  Raises on timeouts. */
static RaftOutcome *
raft_submit_payload(const char *payload, Size len)
{
	TimestampTz deadline = raft_request_deadline();
	RaftStatusSnapshot *st = palloc(sizeof(RaftStatusSnapshot));
	char	   *problem = NULL;
	int			leader_hint = 0;

	for (;;)
	{
		RaftSubmitAttempt a;
		int			leader;

		CHECK_FOR_INTERRUPTS();
		raft_request_status(st);
		leader = st->leader_id != 0 ? st->leader_id : leader_hint;

		memset(&a, 0, sizeof(a));
		if (st->worker_state == RAFT_WORKER_RUNNING && st->role == RAFT_LEADER)
			raft_submit_local(payload, len, deadline, false, &a);
		else if (st->worker_state == RAFT_WORKER_RUNNING && leader != 0 &&
				 leader != raft_ext_node_id)
			raft_submit_forward(leader, payload, len, deadline, &a);
		else
		{
			a.step = RAFT_SUBMIT_RETRY;
			a.problem = st->worker_state != RAFT_WORKER_RUNNING ?
				pstrdup("the Raft worker of this node is not running") :
				pstrdup("no leader is known");
		}

		if (a.step == RAFT_SUBMIT_DONE)
			return a.outcome;
		if (a.step == RAFT_SUBMIT_UNKNOWN)
			raft_submit_throw_unknown(a.outcome, a.problem ? a.problem : "the wait ended");
		if (a.problem)
			problem = a.problem;
		leader_hint = (a.leader_hint != raft_ext_node_id) ? a.leader_hint : 0;

		if (a.step == RAFT_SUBMIT_TIMEOUT ||
			TimestampDifferenceExceeds(deadline, GetCurrentTimestamp(), 0))
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("raft_submit: timed out before the statement could be appended to the Raft log"),
					 errdetail("The statement was not executed: %s.", problem ? problem : "no leader"),
					 errhint("Check raft_status and raft_peers: a majority of the members must be up and able to reach each other. The wait is statement_timeout, or raft_ext.submit_timeout when that is 0.")));
		raft_request_nap(10);
	}
}

static void
raft_submit_check_database(void)
{
	/*
	 * raft_ext.database is fixed at server start and a backend's database
	 * never changes, so the answer is the same for this backend's life: look
	 * it up once (get_database_oid scans pg_database, which is not cached).
	 */
	static bool checked = false;

	if (checked)
		return;
	if (get_database_oid(raft_ext_database, true) != MyDatabaseId)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("raft_ext replicates database \"%s\", not this one", raft_ext_database),
				 errhint("Connect to database \"%s\" to submit statements, or change raft_ext.database.",
						 raft_ext_database)));
	checked = true;
}

/* Where a command may be submitted from: not a transaction block, our database. */
static void
raft_submit_check_context(void)
{
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("raft_submit cannot run inside a transaction block"),
				 errdetail("The statement commits on every node on its own; it could not be rolled back with your transaction."),
				 errhint("Call raft_submit outside BEGIN ... COMMIT, as a statement of its own.")));
	raft_submit_check_database();
}

RaftOutcome *
raft_submit_command(const char *payload, Size len)
{
	raft_submit_check_context();
	return raft_submit_payload(payload, len);
}

/* request ids longer than this are refused: they are kept on every node */
#define RAFT_REQUEST_ID_MAX 256

int			raft_ext_request_id_retention = 86400;

static void
raft_submit_check_length(const char *fname, Size len)
{
	int			limit = raft_conf_statement_limit();

	if (len > (Size) limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: the statement is too long", fname),
				 errdetail("It is %zu bytes; the limit is %d bytes.", len, limit),
				 errhint("The limit is raft_ext.max_statement_size, and at most a quarter of raft_ext.inbox_size.")));
}

/*
 * Check, capture, submit and wait: what raft_submit, raft_query, their _once
 * forms and transparent mode (route.c) share.  fname names the caller in
 * errors; the statement's own error is raised as it was raised.
 */
RaftOutcome *
raft_submit_statement(const char *fname, const char *sql, Size len, int nparams,
					  RaftParam *params, uint8 flags, const char *request_id)
{
	int			limit = raft_conf_statement_limit();
	char	   *payload;
	Size		plen;
	RaftOutcome *o;
	const char *c;

	raft_shmem_require();
	raft_submit_check_length(fname, len);
	for (c = sql; *c == ' ' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '\f'; c++)
		;
	if (*c == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the statement is empty", fname),
				 errhint("Pass one or more SQL statements.")));

	raft_submit_check_context();
	(void) raft_stmt_check(sql);

	payload = raft_payload_capture(sql, len, nparams, params, flags,
								   (uint32) raft_ext_max_query_result, request_id,
								   (uint32) raft_ext_request_id_retention, &plen);

	/*
	 * The captured settings (search_path can be long) travel with the
	 * statement: bound the whole entry as forward_submit does, or a leader
	 * could append an entry no follower's inbox accepts and stall commit.
	 */
	if (plen > (Size) limit + RAFT_SUBMIT_SETTINGS_ALLOWANCE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: the statement, its parameters and its session settings are too long", fname),
				 errdetail("They take %zu bytes; the limit is %d bytes.", plen,
						   limit + RAFT_SUBMIT_SETTINGS_ALLOWANCE),
				 errhint("Shorten search_path, or raise raft_ext.max_statement_size.")));
	o = raft_submit_payload(payload, plen);

	raft_outcome_relay_notices(o);
	raft_outcome_raise(o);
	return o;
}

RaftOutcome *
raft_submit_sql_call(FunctionCallInfo fcinfo, uint8 flags)
{
	const char *fname = (flags & RAFT_PAYLOAD_WANTS_ROWS) ?
		((flags & RAFT_PAYLOAD_REQUEST_ID) ? "raft_query_once" : "raft_query") :
		((flags & RAFT_PAYLOAD_REQUEST_ID) ? "raft_submit_once" : "raft_submit");
	int			sql_arg = (flags & RAFT_PAYLOAD_REQUEST_ID) ? 1 : 0;
	char	   *request_id = NULL;
	text	   *t;
	RaftParam  *params;
	int			nparams;

	raft_shmem_require();

	if (flags & RAFT_PAYLOAD_REQUEST_ID)
	{
		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s: the request id must not be NULL", fname)));
		request_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
		if (request_id[0] == '\0' || strlen(request_id) > RAFT_REQUEST_ID_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: a request id must have 1 to %d bytes", fname, RAFT_REQUEST_ID_MAX),
					 errhint("Use a UUID, or the application's own id of the operation.")));
	}
	if (PG_ARGISNULL(sql_arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: the statement must not be NULL", fname)));
	t = PG_GETARG_TEXT_PP(sql_arg);
	raft_submit_check_length(fname, VARSIZE_ANY_EXHDR(t));	/* before copying it */

	/* raft_submit(sql, VARIADIC params "any"): $1 .. $n */
	nparams = raft_params_from_args(fcinfo, sql_arg + 1, &params);
	return raft_submit_statement(fname, text_to_cstring(t), VARSIZE_ANY_EXHDR(t),
								 nparams, params, flags, request_id);
}

/* raft_submit's one row: (log_index, term, command_tag, rows). */
static Datum
raft_submit_result_row(FunctionCallInfo fcinfo, const RaftOutcome *o)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	/*
	 * The executor has already built our result type for this query: reuse
	 * it rather than have get_call_result_type() build and register it again
	 * (a measurable part of a short statement's CPU).
	 */
	InitMaterializedSRF(fcinfo,
						((ReturnSetInfo *) fcinfo->resultinfo) != NULL &&
						((ReturnSetInfo *) fcinfo->resultinfo)->expectedDesc != NULL ?
						MAT_SRF_USE_EXPECTED_DESC : 0);
	values[0] = Int64GetDatum((int64) o->index);
	values[1] = Int64GetDatum((int64) o->term);
	if (o->command_tag && o->command_tag[0])
		values[2] = CStringGetTextDatum(o->command_tag);
	else
		nulls[2] = true;
	if (o->has_rows)
		values[3] = Int64GetDatum((int64) o->rows);
	else
		nulls[3] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

Datum
raft_ext_sql_submit(PG_FUNCTION_ARGS)
{
	return raft_submit_result_row(fcinfo, raft_submit_sql_call(fcinfo, 0));
}

/*
 * raft_submit_once(request_id, sql [, VARIADIC params]): applied at most
 * once per request id (within raft_ext.request_id_retention); a retry gets
 * the original outcome (its log index, tag, rows, or error).
 */
Datum
raft_ext_sql_submit_once(PG_FUNCTION_ARGS)
{
	return raft_submit_result_row(fcinfo, raft_submit_sql_call(fcinfo, RAFT_PAYLOAD_REQUEST_ID));
}

/*
 * raft_ext.forward_submit(payload bytea, timeout_ms integer) on the leader,
 * called by a follower's raft_submit: OUT status ('applied', 'unknown' or
 * 'retry'), leader_id (who this node thinks leads), problem (unknown,
 * retry: why), outcome (applied: the entry's encoded outcome; unknown: its
 * index and term, when known).  Never loops to another node: if this node
 * cannot append, it answers 'retry' with the leader it knows.
 */
Datum
raft_ext_sql_forward_submit(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	int32		timeout_ms = PG_GETARG_INT32(1);
	TimestampTz not_after = PG_NARGS() > 2 ? (TimestampTz) PG_GETARG_INT64(2) : 0;
	const char *payload = VARDATA_ANY(b);
	Size		len = VARSIZE_ANY_EXHDR(b);
	RaftPayload p;
	const char *bad;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, true, true, true};
	RaftStatusSnapshot *st = palloc(sizeof(RaftStatusSnapshot));
	RaftSubmitAttempt a;
	TimestampTz deadline;

	raft_shmem_require();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "raft_ext.forward_submit: return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (len > (Size) raft_conf_statement_limit() + RAFT_SUBMIT_SETTINGS_ALLOWANCE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raft_ext.forward_submit: the statement is too long for this node"),
				 errhint("Use the same raft_ext.max_statement_size and raft_ext.inbox_size on every node.")));
	raft_submit_check_database();
	/*
	 * A consistency check (raft_verify) carries nothing to check; a skip
	 * decision (raft_skip_entry) is checked by raft_submit_local.
	 */
	if (!(raft_payload_kind(payload, len) == 'V' && len == RAFT_PAYLOAD_HEADER_LEN) &&
		raft_payload_kind(payload, len) != 'K' &&
		raft_payload_kind(payload, len) != RAFT_PAYLOAD_KIND_MEMBERSHIP)
	{
		bad = raft_payload_decode(payload, len, &p);
		if (bad != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("raft_ext.forward_submit: invalid payload: %s", bad)));
		(void) raft_stmt_check(p.sql);

		/*
		 * Roles are not replicated by raft_ext (unless created through
		 * raft_submit).  An entry whose role is missing here would stall
		 * apply on this node, so refuse it before it reaches the log.
		 */
		if (!OidIsValid(get_role_oid(p.role, true)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("role \"%s\" does not exist on the leader", p.role),
					 errhint("Create the role on every node, for instance through raft_submit('CREATE ROLE ...').")));
	}

	deadline = raft_request_deadline();
	if (timeout_ms > 0)
	{
		TimestampTz d = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

		if (d < deadline)
			deadline = d;
	}

	/*
	 * The follower's own deadline (its clock): its client has had 40003 or
	 * 57014 by then, so nothing is appended after it — an outcome that was
	 * unknown becomes final within the caller's timeout (plus the nodes'
	 * clock difference).  A request that arrives later (a partition that
	 * healed) is answered 'retry', not appended.
	 */
	if (not_after != 0 && not_after < deadline)
		deadline = not_after;
	if (not_after != 0 && GetCurrentTimestamp() >= not_after)
	{
		values[0] = CStringGetTextDatum("retry");
		values[2] = CStringGetTextDatum("the request reached the leader after its deadline; it was not appended");
		nulls[2] = false;
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
	}

	memset(&a, 0, sizeof(a));
	raft_request_status(st);
	if (st->worker_state == RAFT_WORKER_RUNNING && st->role == RAFT_LEADER)
		raft_submit_local(payload, len, deadline, true, &a);
	else
	{
		a.step = RAFT_SUBMIT_RETRY;
		a.leader_hint = st->leader_id;
		a.problem = pstrdup("not the leader");
	}

	values[0] = CStringGetTextDatum(a.step == RAFT_SUBMIT_DONE ? "applied" :
									a.step == RAFT_SUBMIT_UNKNOWN ? "unknown" : "retry");
	if (a.leader_hint != 0)
	{
		values[1] = Int32GetDatum(a.leader_hint);
		nulls[1] = false;
	}
	if (a.problem)
	{
		values[2] = CStringGetTextDatum(a.problem);
		nulls[2] = false;
	}
	if (a.outcome)
	{
		StringInfoData buf;
		bytea	   *enc;

		initStringInfo(&buf);
		raft_outcome_encode(&buf, a.outcome);
		enc = palloc(VARHDRSZ + buf.len);
		SET_VARSIZE(enc, VARHDRSZ + buf.len);
		memcpy(VARDATA(enc), buf.data, buf.len);
		values[3] = PointerGetDatum(enc);
		nulls[3] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
