/*
 * submit.c — raft_submit(sql) and raft_ext.forward_submit(payload, timeout).
 *
 * raft_submit checks the statement (NULL, empty, size, transaction block,
 * database, syntax, statements that cannot be replicated: stmt_check.c)
 * before anything is appended, captures the session context into a payload
 * (payload.c), then:
 *   - on the leader: posts the payload to the Raft worker through this
 *     backend's request slot (the bytes in the slot itself up to
 *     RAFT_SHMEM_INLINE_PAYLOAD_LEN, in a DSM segment beyond), and sleeps on the
 *     slot's condition variable until the apply worker hands back the
 *     outcome of its entry;
 *   - on a follower: forwards the payload to the leader over libpq
 *     (remote.c), where raft_ext.forward_submit does the above, then waits
 *     until this node has applied that entry too.
 * It keeps trying (election in progress, leader changed, entry lost to a
 * new leader before commit: all safe to retry because nothing was applied)
 * until statement_timeout, or raft_ext.submit_timeout when that is 0.  A
 * timeout or cancel after the entry may have been appended is reported as
 * SQLSTATE 40003 (outcome unknown), never as a failure.
 *
 * The statement's own error is re-raised with its SQLSTATE, message, detail
 * and hint.
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
#include "storage/dsm.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "config.h"
#include "payload.h"
#include "raft/raft.h"
#include "remote.h"
#include "request.h"
#include "shmem.h"
#include "stmt_check.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_submit);
PG_FUNCTION_INFO_V1(raft_ext_sql_forward_submit);

/* Room for the session settings captured with a statement (payload.c). */
#define RAFT_SUBMIT_SETTINGS_ALLOWANCE (64 * 1024)

typedef enum RaftSubmitStep
{
	RAFT_SUBMIT_DONE,			/* outcome known: applied (ok or statement error) */
	RAFT_SUBMIT_RETRY,			/* nothing appended; try again */
	RAFT_SUBMIT_UNKNOWN,		/* may have been appended; we cannot tell */
	RAFT_SUBMIT_TIMEOUT			/* nothing appended and the deadline passed */
} RaftSubmitStep;

typedef struct RaftSubmitResult
{
	uint64		index;
	uint64		term;
	bool		has_index;
	char	   *command_tag;
	bool		has_rows;
	uint64		rows;
	int			sqlerrcode;		/* 0: success */
	char	   *message;
	char	   *detail;
	char	   *hint;
	int			leader_hint;	/* RETRY: who the leader may be */
	char	   *problem;		/* RETRY/UNKNOWN: what went wrong, for messages */
} RaftSubmitResult;

static void
raft_submit_result_from_slot(const RaftSlot *s, RaftSubmitResult *r)
{
	r->index = s->index;
	r->term = s->term;
	r->has_index = s->index != 0;
	r->command_tag = pstrdup(s->command_tag);
	r->has_rows = s->has_rows;
	r->rows = s->rows;
	r->sqlerrcode = s->result == RAFT_RESULT_STATEMENT_ERROR ? s->sqlerrcode : 0;
	r->message = s->message[0] ? pstrdup(s->message) : NULL;
	r->detail = s->detail[0] ? pstrdup(s->detail) : NULL;
	r->hint = s->hint[0] ? pstrdup(s->hint) : NULL;
	r->leader_hint = s->leader_hint;
}

/* Raise "outcome unknown" (40003), from inside a PG_CATCH or not. */
static void
raft_submit_throw_unknown(const RaftSubmitResult *r, const char *why)
{
	if (r->has_index)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
				 errmsg("raft_submit: the outcome of the statement is unknown"),
				 errdetail("It was appended to the Raft log at index %llu (term %llu), but %s before it was applied on this node. It may still be committed and applied on every node.",
						   (unsigned long long) r->index, (unsigned long long) r->term, why),
				 errhint("Once raft_status.last_applied reaches %llu, SELECT * FROM raft_ext.outcome WHERE log_index = %llu shows whether it ran (a row with term %llu) and how.",
						 (unsigned long long) r->index, (unsigned long long) r->index,
						 (unsigned long long) r->term)));
	ereport(ERROR,
			(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
			 errmsg("raft_submit: the outcome of the statement is unknown"),
			 errdetail("It was sent to the leader, but %s before the leader reported its outcome. It may still be committed and applied on every node.", why),
			 errhint("Check the data, or raft_ext.outcome on the leader, before submitting it again.")));
}

/* Convert the error being handled in a PG_CATCH block into 40003. */
static void
raft_submit_rethrow_as_unknown(MemoryContext cxt, const RaftSubmitResult *r)
{
	ErrorData  *edata;
	char	   *why;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (edata->elevel > ERROR)
		PG_RE_THROW();
	FlushErrorState();
	why = psprintf("the wait ended (%s)", edata->message ? edata->message : "interrupted");
	raft_submit_throw_unknown(r, why);
}

/*
 * On the leader: append through our Raft worker and wait for the outcome.
 * forwarded: the caller is a follower's raft_submit (forward_submit), which
 * drops its connection when it gives up: stop waiting then.
 */
static RaftSubmitStep
raft_submit_local(const char *payload, Size len, TimestampTz deadline, bool forwarded,
				  RaftSubmitResult *r)
{
	MemoryContext cxt = CurrentMemoryContext;
	dsm_segment *volatile seg = NULL;
	RaftSlot   *s = palloc0(sizeof(RaftSlot));
	bool		done = false;

	/*
	 * A small payload goes in our slot; creating, attaching and destroying
	 * a DSM segment costs several system calls on both sides.
	 */
	if (len <= RAFT_SHMEM_INLINE_PAYLOAD_LEN)
		raft_request_begin(RAFT_REQ_SUBMIT, DSM_HANDLE_INVALID, payload, len, 0, 0);
	else
	{
		seg = dsm_create(len, DSM_CREATE_NULL_IF_MAXSEGMENTS);
		if (seg == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("raft_submit: too many dynamic shared memory segments"),
					 errhint("Too many statements are being submitted at once; retry.")));
		memcpy(dsm_segment_address(seg), payload, len);
		raft_request_begin(RAFT_REQ_SUBMIT, dsm_segment_handle(seg), NULL, len, 0, 0);
	}
	PG_TRY();
	{
		done = raft_request_wait(s, deadline, forwarded);
	}
	PG_CATCH();
	{
		raft_request_end(s);

		/*
		 * Cancelled or timed out once the worker had the statement: it may
		 * commit, or (DONE) did, just as the interrupt came.  That is an
		 * unknown outcome for the client, never a failure.
		 */
		if (s->state == RAFT_SLOT_TAKEN || s->state == RAFT_SLOT_PROPOSED ||
			s->state == RAFT_SLOT_DONE)
		{
			raft_submit_result_from_slot(s, r);
			raft_submit_rethrow_as_unknown(cxt, r);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	raft_request_end(s);
	if (seg != NULL)
		dsm_detach(seg);

	if (!done && s->state == RAFT_SLOT_DONE)
		done = true;			/* finished just as we gave up */
	raft_submit_result_from_slot(s, r);
	if (!done)
	{
		if (s->state == RAFT_SLOT_TAKEN || s->state == RAFT_SLOT_PROPOSED)
		{
			r->problem = pstrdup("the timeout expired");
			return RAFT_SUBMIT_UNKNOWN;
		}
		r->problem = pstrdup("the Raft worker did not take the statement in time");
		return RAFT_SUBMIT_TIMEOUT;
	}
	switch (s->result)
	{
		case RAFT_RESULT_OK:
		case RAFT_RESULT_STATEMENT_ERROR:
			return RAFT_SUBMIT_DONE;
		case RAFT_RESULT_NOT_LEADER:
			r->problem = pstrdup("this node stopped being the leader");
			return RAFT_SUBMIT_RETRY;
		case RAFT_RESULT_BUSY:
			r->problem = pstrdup("a leadership transfer is in progress");
			return RAFT_SUBMIT_RETRY;
		case RAFT_RESULT_LOST:
			r->problem = pstrdup("a new leader replaced the entry before it was committed");
			return RAFT_SUBMIT_RETRY;
		default:
			if (r->has_index)
			{
				r->problem = pstrdup(s->message);
				return RAFT_SUBMIT_UNKNOWN;
			}
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("raft_submit: the Raft worker could not append the statement: %s", s->message)));
	}
	return RAFT_SUBMIT_RETRY;	/* keep compiler quiet */
}

/* On a follower, after the leader applied it: wait until we have applied it too. */
static void
raft_submit_wait_local_apply(RaftSubmitResult *r, TimestampTz deadline)
{
	MemoryContext cxt = CurrentMemoryContext;
	RaftSlot   *s = palloc0(sizeof(RaftSlot));
	bool		done = false;

	raft_request_begin(RAFT_REQ_WAIT_APPLIED, DSM_HANDLE_INVALID, NULL, 0, 0, r->index);
	PG_TRY();
	{
		done = raft_request_wait(s, deadline, false);
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
						(unsigned long long) r->index, edata->message ? edata->message : "interrupted")));
		return;
	}
	PG_END_TRY();
	raft_request_end(NULL);
	if (!done)
		ereport(WARNING,
				(errmsg("raft_submit: the statement was committed at log index %llu, but this node has not applied it yet",
						(unsigned long long) r->index),
				 errhint("A read on this node may not see it yet; raft_barrier() waits for it.")));
}

static int
raft_submit_remaining_ms(TimestampTz deadline)
{
	long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

	return (int) Max(1, Min(ms, (long) PG_INT32_MAX));
}

/* On a follower: have the leader append and apply it. */
static RaftSubmitStep
raft_submit_forward(int leader, const char *payload, Size len, TimestampTz deadline,
					RaftSubmitResult *r)
{
	MemoryContext cxt = CurrentMemoryContext;
	const RaftPeerList *peers = raft_conf_peers();
	int			idx = raft_conf_peer_index(leader);
	RaftRemoteResult rr;
	volatile bool sent = false;

	if (idx < 0)
	{
		r->problem = psprintf("the leader, node %d, is not in raft_ext.peers", leader);
		return RAFT_SUBMIT_RETRY;
	}
	PG_TRY();
	{
		raft_remote_forward(leader, raft_peer_conninfo(peers, idx), payload, len,
							raft_submit_remaining_ms(deadline), deadline, &rr, &sent);
	}
	PG_CATCH();
	{
		if (sent)
		{
			r->has_index = false;
			raft_submit_rethrow_as_unknown(cxt, r);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();

	switch (rr.status)
	{
		case RAFT_REMOTE_NOT_SENT:
			r->problem = psprintf("could not reach the leader, node %d: %s", leader, rr.error);
			return RAFT_SUBMIT_RETRY;
		case RAFT_REMOTE_LOST:
			r->has_index = false;
			if (rr.timed_out)
				r->problem = psprintf("the leader, node %d, did not answer in time", leader);
			else
				r->problem = psprintf("the connection to the leader, node %d, failed (%s)", leader, rr.error);
			return RAFT_SUBMIT_UNKNOWN;
		case RAFT_REMOTE_REMOTE_ERROR:
			if (rr.sqlerrcode == ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN)
			{
				r->has_index = false;
				r->problem = psprintf("the leader, node %d, reported: %s", leader, rr.error);
				return RAFT_SUBMIT_UNKNOWN;
			}
			ereport(ERROR,
					(errcode(rr.sqlerrcode),
					 errmsg("raft_submit: could not forward the statement to the leader, node %d: %s",
							leader, rr.error),
					 rr.detail ? errdetail_internal("%s", rr.detail) : 0,
					 errhint("%s", rr.hint ? rr.hint :
							 "The role in raft_ext.peers' connection strings needs USAGE on schema raft_ext and EXECUTE on raft_ext.forward_submit(bytea, integer) on every node.")));
			break;
		case RAFT_REMOTE_ROW:
			break;
	}

	r->leader_hint = rr.leader_id;
	r->has_index = rr.has_index;
	r->index = rr.index;
	r->term = rr.term;
	if (rr.row_status && (strcmp(rr.row_status, "applied") == 0 ||
						  strcmp(rr.row_status, "error") == 0))
	{
		r->command_tag = rr.command_tag;
		r->has_rows = rr.has_rows;
		r->rows = rr.rows;
		r->sqlerrcode = 0;
		if (strcmp(rr.row_status, "error") == 0)
		{
			const char *st = rr.row_sqlstate;

			r->sqlerrcode = (st && strlen(st) == 5) ?
				MAKE_SQLSTATE(st[0], st[1], st[2], st[3], st[4]) : ERRCODE_INTERNAL_ERROR;
		}
		r->message = rr.row_message;
		r->detail = rr.row_detail;
		r->hint = rr.row_hint;
		raft_submit_wait_local_apply(r, deadline);
		return RAFT_SUBMIT_DONE;
	}
	if (rr.row_status && strcmp(rr.row_status, "unknown") == 0)
	{
		r->problem = psprintf("the leader, node %d, reported: %s", leader,
							  rr.row_message ? rr.row_message : "outcome unknown");
		return RAFT_SUBMIT_UNKNOWN;
	}
	r->problem = psprintf("node %d could not append it: %s", leader,
						  rr.row_message ? rr.row_message : "not the leader");
	return RAFT_SUBMIT_RETRY;
}

/* Submit a payload: loop until its outcome is known.  Raises on timeouts. */
static void
raft_submit_payload(const char *payload, Size len, RaftSubmitResult *r)
{
	TimestampTz deadline = raft_request_deadline();
	RaftStatusSnapshot *st = palloc(sizeof(RaftStatusSnapshot));
	char	   *problem = NULL;
	int			leader_hint = 0;

	for (;;)
	{
		RaftSubmitStep step;
		int			leader;

		CHECK_FOR_INTERRUPTS();
		raft_request_status(st);
		leader = st->leader_id != 0 ? st->leader_id : leader_hint;

		memset(r, 0, sizeof(*r));
		if (st->worker_state == RAFT_WORKER_RUNNING && st->role == RAFT_LEADER)
			step = raft_submit_local(payload, len, deadline, false, r);
		else if (st->worker_state == RAFT_WORKER_RUNNING && leader != 0 &&
				 leader != raft_ext_node_id)
			step = raft_submit_forward(leader, payload, len, deadline, r);
		else
		{
			step = RAFT_SUBMIT_RETRY;
			r->problem = st->worker_state != RAFT_WORKER_RUNNING ?
				pstrdup("the Raft worker of this node is not running") :
				pstrdup("no leader is known");
		}

		if (step == RAFT_SUBMIT_DONE)
			return;
		if (step == RAFT_SUBMIT_UNKNOWN)
			raft_submit_throw_unknown(r, r->problem ? r->problem : "the wait ended");
		if (r->problem)
			problem = r->problem;
		leader_hint = (r->leader_hint != raft_ext_node_id) ? r->leader_hint : 0;

		if (step == RAFT_SUBMIT_TIMEOUT ||
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

Datum
raft_ext_sql_submit(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *t;
	char	   *sql;
	Size		len;
	int			limit;
	char	   *payload;
	Size		plen;
	RaftSubmitResult r;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	const char *c;

	raft_shmem_require();

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("raft_submit: the statement must not be NULL")));
	t = PG_GETARG_TEXT_PP(0);
	len = VARSIZE_ANY_EXHDR(t);
	limit = raft_conf_statement_limit();
	if (len > (Size) limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raft_submit: the statement is too long"),
				 errdetail("It is %zu bytes; the limit is %d bytes.", len, limit),
				 errhint("The limit is raft_ext.max_statement_size, and at most a quarter of raft_ext.inbox_size.")));
	sql = text_to_cstring(t);
	for (c = sql; *c == ' ' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '\f'; c++)
		;
	if (*c == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_submit: the statement is empty"),
				 errhint("Pass one or more SQL statements.")));

	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("raft_submit cannot run inside a transaction block"),
				 errdetail("The statement commits on every node on its own; it could not be rolled back with your transaction."),
				 errhint("Call raft_submit outside BEGIN ... COMMIT, as a statement of its own.")));

	raft_submit_check_database();
	(void) raft_stmt_check(sql);

	payload = raft_payload_capture(sql, len, &plen);

	/*
	 * The captured settings (search_path can be long) travel with the
	 * statement: bound the whole entry as forward_submit does, or a leader
	 * could append an entry no follower's inbox accepts and stall commit.
	 */
	if (plen > (Size) limit + RAFT_SUBMIT_SETTINGS_ALLOWANCE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raft_submit: the statement and its session settings are too long"),
				 errdetail("They take %zu bytes; the limit is %d bytes.", plen,
						   limit + RAFT_SUBMIT_SETTINGS_ALLOWANCE),
				 errhint("Shorten search_path, or raise raft_ext.max_statement_size.")));
	raft_submit_payload(payload, plen, &r);

	/*
	 * The statement's own error, raised at apply: it was appended and
	 * committed, and this is its outcome on every node.  The context line
	 * says so, and where to find it: an error before anything was appended
	 * never has one.
	 */
	if (r.sqlerrcode != 0)
		ereport(ERROR,
				(errcode(r.sqlerrcode),
				 errmsg_internal("%s", r.message ? r.message : "statement failed"),
				 r.detail ? errdetail_internal("%s", r.detail) : 0,
				 r.hint ? errhint("%s", r.hint) : 0,
				 errcontext("applied as Raft log entry %llu (term %llu); this error is its recorded outcome (raft_ext.outcome) on every node",
							(unsigned long long) r.index, (unsigned long long) r.term)));

	/*
	 * The executor has already built our result type for this query: reuse
	 * it rather than have get_call_result_type() build and register it again
	 * (a measurable part of a short statement's CPU).
	 */
	InitMaterializedSRF(fcinfo,
						((ReturnSetInfo *) fcinfo->resultinfo) != NULL &&
						((ReturnSetInfo *) fcinfo->resultinfo)->expectedDesc != NULL ?
						MAT_SRF_USE_EXPECTED_DESC : 0);
	values[0] = Int64GetDatum((int64) r.index);
	values[1] = Int64GetDatum((int64) r.term);
	if (r.command_tag && r.command_tag[0])
		values[2] = CStringGetTextDatum(r.command_tag);
	else
		nulls[2] = true;
	if (r.has_rows)
		values[3] = Int64GetDatum((int64) r.rows);
	else
		nulls[3] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * raft_ext.forward_submit(payload bytea, timeout_ms integer) on the leader,
 * called by a follower's raft_submit.  Never loops to another node: if this
 * node cannot append, it answers 'retry' with the leader it knows.
 */
Datum
raft_ext_sql_forward_submit(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	int32		timeout_ms = PG_GETARG_INT32(1);
	const char *payload = VARDATA_ANY(b);
	Size		len = VARSIZE_ANY_EXHDR(b);
	RaftPayload p;
	const char *bad;
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		nulls[10];
	RaftStatusSnapshot *st = palloc(sizeof(RaftStatusSnapshot));
	RaftSubmitResult r;
	RaftSubmitStep step;
	const char *status;
	TimestampTz deadline;
	int			i;

	raft_shmem_require();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "raft_ext.forward_submit: return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (len > (Size) raft_conf_statement_limit() + RAFT_SUBMIT_SETTINGS_ALLOWANCE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raft_ext.forward_submit: the statement is too long for this node"),
				 errhint("Use the same raft_ext.max_statement_size and raft_ext.inbox_size on every node.")));
	bad = raft_payload_decode(payload, len, &p);
	if (bad != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("raft_ext.forward_submit: invalid payload: %s", bad)));
	raft_submit_check_database();
	(void) raft_stmt_check(p.sql);

	/*
	 * Roles are not replicated by raft_ext (unless created through
	 * raft_submit).  An entry whose role is missing here would stall apply
	 * on this node, so refuse it before it reaches the log.
	 */
	if (!OidIsValid(get_role_oid(p.role, true)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist on the leader", p.role),
				 errhint("Create the role on every node, for instance through raft_submit('CREATE ROLE ...').")));

	deadline = raft_request_deadline();
	if (timeout_ms > 0)
	{
		TimestampTz d = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

		if (d < deadline)
			deadline = d;
	}

	memset(&r, 0, sizeof(r));
	raft_request_status(st);
	if (st->worker_state == RAFT_WORKER_RUNNING && st->role == RAFT_LEADER)
		step = raft_submit_local(payload, len, deadline, true, &r);
	else
	{
		step = RAFT_SUBMIT_RETRY;
		r.leader_hint = st->leader_id;
		r.problem = pstrdup("not the leader");
	}

	for (i = 0; i < 10; i++)
		nulls[i] = true;
	switch (step)
	{
		case RAFT_SUBMIT_DONE:
			status = r.sqlerrcode ? "error" : "applied";
			break;
		case RAFT_SUBMIT_UNKNOWN:
			status = "unknown";
			break;
		default:
			status = "retry";
			break;
	}
	values[0] = CStringGetTextDatum(status);
	nulls[0] = false;
	if (r.has_index)
	{
		values[1] = Int64GetDatum((int64) r.index);
		values[2] = Int64GetDatum((int64) r.term);
		nulls[1] = nulls[2] = false;
	}
	if (step == RAFT_SUBMIT_DONE)
	{
		if (r.command_tag && r.command_tag[0])
		{
			values[3] = CStringGetTextDatum(r.command_tag);
			nulls[3] = false;
		}
		if (r.has_rows)
		{
			values[4] = Int64GetDatum((int64) r.rows);
			nulls[4] = false;
		}
		if (r.sqlerrcode)
		{
			values[5] = CStringGetTextDatum(unpack_sql_state(r.sqlerrcode));
			nulls[5] = false;
		}
		if (r.message)
		{
			values[6] = CStringGetTextDatum(r.message);
			nulls[6] = false;
		}
		if (r.detail)
		{
			values[7] = CStringGetTextDatum(r.detail);
			nulls[7] = false;
		}
		if (r.hint)
		{
			values[8] = CStringGetTextDatum(r.hint);
			nulls[8] = false;
		}
	}
	else if (r.problem)
	{
		values[6] = CStringGetTextDatum(r.problem);
		nulls[6] = false;
	}
	if (r.leader_hint != 0)
	{
		values[9] = Int32GetDatum(r.leader_hint);
		nulls[9] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
