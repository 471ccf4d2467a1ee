/*
 * sql_control.c — raft_barrier(), raft_transfer_leadership(node_id) and the
 * internal entry points the peers call: the procedure
 * raft_ext.deliver_stream() and the function raft_ext.deliver(bytea).
 *
 * raft_barrier: a ReadIndex request through this node's Raft worker (on a
 * follower the core asks the leader with RAFT_MSG_READ_INDEX); once the
 * read index is known, waits until last_applied reaches it.  A SELECT after
 * it, on this node, sees every write acknowledged before the call.
 *
 * raft_ext.deliver_stream: what a peer's transport (transport.c) runs once
 * per connection, as CALL raft_ext.deliver_stream().  It answers with
 * CopyInResponse and then reads CopyData messages, one Raft message each,
 * exactly as COPY FROM STDIN reads them (copyfromparse.c, CopyGetData),
 * until CopyDone.  Each message is checked for size only and pushed into
 * the shared-memory inbox; the Raft worker is woken once per batch of
 * messages already received (when the input buffer runs dry, or every
 * RAFT_STREAM_WAKE_BATCH messages), and decodes them defensively.  A message
 * of a refused size is counted (raft_status.messages_dropped) and skipped:
 * it does not end the stream.  The procedure
 *   - needs a non-atomic CALL (top level, outside a transaction block): it
 *     commits the CALL's transaction once before looping (SPI_commit, which
 *     also forgets the portal's snapshot) and again every
 *     RAFT_STREAM_COMMIT_INTERVAL_MS while it runs, so a stream holds no
 *     snapshot and no xmin (pg_stat_activity.backend_xmin stays NULL) and
 *     its xact_start stays recent;
 *   - switches statement_timeout off for itself (idle_session_timeout and
 *     idle_in_transaction_session_timeout are only armed while a backend
 *     waits for a new command, never during a CALL);
 *   - checks for interrupts between messages; while it waits for input,
 *     pg_terminate_backend, a shutdown and postmaster death end it at once
 *     (as in any read from the client), a query cancel once the next
 *     message is in;
 *   - ends with an error that closes the connection (FATAL) once the stream
 *     has started: libpq does not read an ErrorResponse while it is in
 *     COPY IN state, so a plain ERROR would leave the sender streaming into
 *     a session that ignores it; a closed connection is something the sender
 *     sees at once.  EOF from the client (the peer's server died) is FATAL
 *     too, without trying to send anything.
 * EXECUTE is checked by CALL; it is revoked from PUBLIC and granted like
 * raft_ext.deliver's (README).
 *
 * raft_ext.deliver: the same for one message, as a SQL function (tests and
 * manual use).  Pushes the bytes into the shared-memory inbox and wakes the
 * Raft worker; returns at once.  It does not look at the bytes either.
 *
 * Locking: through request.c and shmem.c.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "libpq/libpq.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "config.h"
#include "raft/raft.h"
#include "request.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_barrier);
PG_FUNCTION_INFO_V1(raft_ext_sql_transfer_leadership);
PG_FUNCTION_INFO_V1(raft_ext_sql_deliver);
PG_FUNCTION_INFO_V1(raft_ext_sql_deliver_stream);

/* Wake the Raft worker at least every this many messages of one batch. */
#define RAFT_STREAM_WAKE_BATCH	64

/* Commit the stream's (empty) transaction again after this long. */
#define RAFT_STREAM_COMMIT_INTERVAL_MS	10000

/* Log refused messages at most once per this interval (per stream). */
#define RAFT_STREAM_REFUSED_LOG_MS	10000

/* A message buffer that grew beyond this is given back after use. */
#define RAFT_STREAM_KEEP_BUFFER	(1024 * 1024)

/* Post a request and wait for it; releases the slot on every path. */
static bool
raft_control_run(RaftSlotKind kind, int target, TimestampTz deadline, RaftSlot *s)
{
	volatile bool done = false;

	raft_request_begin(kind, DSM_HANDLE_INVALID, NULL, 0, target, 0);
	PG_TRY();
	{
		done = raft_request_wait(s, deadline, false);
	}
	PG_FINALLY();
	{
		raft_request_end(NULL);
	}
	PG_END_TRY();
	return done;
}

Datum
raft_ext_sql_barrier(PG_FUNCTION_ARGS)
{
	TimestampTz deadline;
	RaftSlot   *s;

	raft_shmem_require();
	deadline = raft_request_deadline();
	s = palloc0(sizeof(RaftSlot));
	if (!raft_control_run(RAFT_REQ_BARRIER, 0, deadline, s))
	{
		char	   *detail;

		if (s->state == RAFT_SLOT_WAIT_APPLIED)
			detail = psprintf("The leader confirmed read index %llu, but this node had not applied it yet.",
							  (unsigned long long) s->index);
		else
			detail = pstrdup("No leader confirmed a read index.");
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("raft_barrier: timed out"),
				 errdetail_internal("%s", detail),
				 errhint("Check raft_status and raft_peers: a majority of the members must be up and able to reach each other.")));
	}
	if (s->result != RAFT_RESULT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_barrier: %s", s->message)));
	PG_RETURN_INT64((int64) s->index);
}

Datum
raft_ext_sql_transfer_leadership(PG_FUNCTION_ARGS)
{
	int32		target = PG_GETARG_INT32(0);
	TimestampTz deadline;
	RaftStatusSnapshot *st;
	RaftSlot   *s;

	raft_shmem_require();
	if (raft_conf_peer_index(target) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_transfer_leadership: node %d is not a member", target),
				 errhint("The members are the node ids in raft_ext.peers; see raft_peers.")));

	deadline = raft_request_deadline();
	st = palloc(sizeof(RaftStatusSnapshot));
	raft_request_status(st);
	if (st->worker_state != RAFT_WORKER_RUNNING || st->role != RAFT_LEADER)
	{
		if (st->worker_state == RAFT_WORKER_RUNNING && st->leader_id == target)
			PG_RETURN_VOID();
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_transfer_leadership: this node (%d) is not the leader", raft_ext_node_id),
				 st->leader_id ? errhint("Call it on the leader, node %d.", st->leader_id) :
				 errhint("No leader is known at the moment; see raft_status.")));
	}
	if (target == raft_ext_node_id)
		PG_RETURN_VOID();

	s = palloc0(sizeof(RaftSlot));
	if (!raft_control_run(RAFT_REQ_TRANSFER, target, deadline, s))
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("raft_transfer_leadership: timed out")));
	if (s->result == RAFT_RESULT_NOT_LEADER)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_transfer_leadership: this node (%d) is not the leader", raft_ext_node_id),
				 s->leader_hint ? errhint("Call it on the leader, node %d.", s->leader_hint) : 0));
	if (s->result == RAFT_RESULT_BUSY)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("raft_transfer_leadership: a leadership transfer is already in progress")));
	if (s->result != RAFT_RESULT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_transfer_leadership: %s", s->message)));

	/* wait until the target has taken over */
	for (;;)
	{
		raft_request_status(st);
		if (st->worker_state == RAFT_WORKER_RUNNING && st->leader_id == target)
			break;
		if (TimestampDifferenceExceeds(deadline, GetCurrentTimestamp(), 0))
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("raft_transfer_leadership: node %d did not take over in time", target),
					 errdetail("The leader is now %s.",
							   st->leader_id ? psprintf("node %d", st->leader_id) : "unknown"),
					 errhint("The target must be up and caught up with the leader's log; see raft_peers.")));
		raft_request_nap(10);
	}
	PG_RETURN_VOID();
}

/* Can the inbox take a message of len bytes at all (both entry points)? */
#define RAFT_DELIVER_SIZE_HINT \
	"Messages must be non-empty and at most half of raft_ext.inbox_size; use the same settings on every node."

static bool
raft_deliver_size_ok(Size len)
{
	return len > 0 && len + sizeof(uint32) <= raft_shared->inbox->capacity / 2;
}

Datum
raft_ext_sql_deliver(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	Size		len = VARSIZE_ANY_EXHDR(b);

	raft_shmem_require();
	if (!raft_deliver_size_ok(len))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raft_ext.deliver: a message of %zu bytes is not accepted", len),
				 errhint(RAFT_DELIVER_SIZE_HINT)));
	if (raft_shmem_inbox_push(VARDATA_ANY(b), len))
		raft_shmem_wake_raft_worker();
	PG_RETURN_VOID();
}


/*
 * The client went away in the middle of the stream.  Like COPY FROM STDIN
 * this ends the session with an error; nothing can be sent any more.
 */
static void
raft_stream_lost(void)
{
	whereToSendOutput = DestNone;
	ereport(FATAL,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("raft_ext.deliver_stream: unexpected EOF on the connection from a peer"),
			 errdetail("The peer's server stopped, or the network between the nodes failed."),
			 errhidestmt(true)));
}

/*
 * Read and dispatch protocol messages until CopyDone.  Runs inside the
 * caller's PG_TRY: any ERROR here ends the session (see the file header).
 */
static void
raft_stream_loop(void)
{
	StringInfoData msg;
	int			pending = 0;	/* pushed since the Raft worker was woken */
	uint64		refused = 0;
	uint64		refused_logged = 0;
	TimestampTz refused_log_at = 0;
	TimestampTz last_commit = GetCurrentTimestamp();

	initStringInfo(&msg);
	for (;;)
	{
		int			mtype;
		int			maxmsglen;

		CHECK_FOR_INTERRUPTS();

		/*
		 * Wake the worker once for what is already here, before waiting for
		 * more (or after a long batch, so it can start on it).
		 */
		if (pending > 0 && (pending >= RAFT_STREAM_WAKE_BATCH || !pq_buffer_has_data()))
		{
			raft_shmem_wake_raft_worker();
			pending = 0;
		}

		/* About to wait: now and then, start a fresh (empty) transaction. */
		if (!pq_buffer_has_data())
		{
			TimestampTz now = GetCurrentTimestamp();

			if (TimestampDifferenceExceeds(last_commit, now, RAFT_STREAM_COMMIT_INTERVAL_MS))
			{
				SPI_commit();
				last_commit = now;
			}
			if (refused > refused_logged &&
				TimestampDifferenceExceeds(refused_log_at, now, RAFT_STREAM_REFUSED_LOG_MS))
			{
				ereport(WARNING,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("raft_ext.deliver_stream: %llu messages of a size not accepted were dropped",
								(unsigned long long) (refused - refused_logged)),
						 errhint(RAFT_DELIVER_SIZE_HINT)));
				refused_logged = refused;
				refused_log_at = now;
			}
		}

		/* As CopyGetData does for COPY FROM STDIN. */
		HOLD_CANCEL_INTERRUPTS();
		pq_startmsgread();
		mtype = pq_getbyte();
		if (mtype == EOF)
			raft_stream_lost();
		switch (mtype)
		{
			case 'd':			/* CopyData */
				maxmsglen = PQ_LARGE_MESSAGE_LIMIT;
				break;
			case 'c':			/* CopyDone */
			case 'f':			/* CopyFail */
			case 'H':			/* Flush */
			case 'S':			/* Sync */
				maxmsglen = PQ_SMALL_MESSAGE_LIMIT;
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("raft_ext.deliver_stream: unexpected message type 0x%02X during the stream",
								mtype)));
				maxmsglen = 0;	/* keep compiler quiet */
				break;
		}
		if (pq_getmessage(&msg, maxmsglen))
			raft_stream_lost();
		RESUME_CANCEL_INTERRUPTS();

		switch (mtype)
		{
			case 'd':
				if (!raft_deliver_size_ok(msg.len))
				{
					raft_shmem_inbox_note_refused();
					refused++;
				}
				else if (raft_shmem_inbox_push(msg.data, msg.len))
					pending++;
				break;
			case 'c':
				if (pending > 0)
					raft_shmem_wake_raft_worker();
				pfree(msg.data);
				return;
			case 'f':
				ereport(ERROR,
						(errcode(ERRCODE_QUERY_CANCELED),
						 errmsg("raft_ext.deliver_stream: the peer ended the stream: %s",
								pq_getmsgstring(&msg))));
				break;
			case 'H':
			case 'S':
				/* libpq may send these without noticing it is in COPY mode */
				break;
		}

		/* One large message must not keep its buffer for the stream's life. */
		if (msg.maxlen > RAFT_STREAM_KEEP_BUFFER)
		{
			pfree(msg.data);
			initStringInfo(&msg);
		}
	}
}

Datum
raft_ext_sql_deliver_stream(PG_FUNCTION_ARGS)
{
	CallContext *callcxt = (CallContext *) fcinfo->context;
	StringInfoData buf;
	MemoryContext callercxt;
	MemoryContext cxt;
	int			rc;

	raft_shmem_require();

	if (callcxt == NULL || !IsA(callcxt, CallContext) || callcxt->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("raft_ext.deliver_stream() must be called with CALL at top level, outside a transaction block"),
				 errhint("The peers' transport calls it; there is no need to call it yourself.")));
	if (whereToSendOutput != DestRemote || pq_is_reading_msg())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("raft_ext.deliver_stream() needs a client connection")));

	/*
	 * Commit the CALL's transaction now: SPI_commit forgets the portal's
	 * snapshot, and the transaction it starts takes none, so this backend
	 * holds back no xmin however long the stream lasts.
	 */
	rc = SPI_connect_ext(SPI_OPT_NONATOMIC);
	if (rc != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect_ext failed: %s", SPI_result_code_string(rc));
	SPI_commit();

	/* A server-wide statement_timeout must not end the stream. */
	disable_timeout(STATEMENT_TIMEOUT, false);

	/*
	 * CopyInResponse: binary, no columns.  From here on the client only
	 * sends CopyData until CopyDone.
	 */
	pq_beginmessage(&buf, 'G');
	pq_sendbyte(&buf, 1);
	pq_sendint16(&buf, 0);
	pq_endmessage(&buf);
	pq_flush();

	callercxt = CurrentMemoryContext;
	cxt = AllocSetContextCreate(callercxt, "raft_ext stream", ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(cxt);

		raft_stream_loop();
		MemoryContextSwitchTo(oldcxt);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/*
		 * The sender cannot see an ERROR in COPY IN state (libpq does not
		 * parse it there): end the session instead, which it sees at once.
		 */
		MemoryContextSwitchTo(callercxt);	/* not ErrorContext: CopyErrorData */
		edata = CopyErrorData();
		FlushErrorState();
		edata->elevel = FATAL;
		ThrowErrorData(edata);
		pg_unreachable();
	}
	PG_END_TRY();

	MemoryContextDelete(cxt);
	SPI_finish();
	PG_RETURN_VOID();
}
