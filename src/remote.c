/*
 * remote.c — forward a submission from a follower's backend to the leader
 * over libpq (see remote.h).
 *
 * The connection uses the leader's connection string from raft_ext.peers,
 * so it logs in as the peers' role; the leader runs the statement as the
 * role named inside the payload.  One connection is cached per backend and
 * reused while the leader stays the same.
 *
 * Nothing here may wait where an interrupt cannot reach it: the caller is an
 * application's session, and a leader that stopped answering (a paused
 * server, a partition that drops packets, a kernel that accepts connections
 * for a process that never reads them) must cost it no more than its
 * statement_timeout, and never make it deaf to cancel or
 * pg_terminate_backend.  So:
 *   - the connection is started with PQconnectStartParams and driven with
 *     PQconnectPoll, and is switched to non-blocking mode as soon as it is
 *     up, so no libpq call waits inside libpq (blocking mode's pqWait); every
 *     wait is raft_remote_wait: WaitLatchOrSocket with the deadline, then
 *     CHECK_FOR_INTERRUPTS;
 *   - a forwarded request is never cancelled with PQcancel: PostgreSQL 15's
 *     libpq has no non-blocking cancel, and PQcancel opens a connection of
 *     its own and waits, with no timeout and deaf to interrupts, for the
 *     server to close it (which a stopped server never does, and a
 *     black-holed one never even accepts).  Instead the connection is
 *     dropped (PQfinish, whose Terminate message cannot wait in
 *     non-blocking mode), which is as good a cancel for forward_submit:
 *     the leader's backend watches its client socket while it waits
 *     (raft_request_wait's watch_client) and ends as soon as it sees the
 *     close, before the Raft worker takes the request if it had not yet.
 *     The caller reports 40003 (the request may have reached the leader).
 * One libpq limitation remains: a host name in the connection string is
 * resolved with a blocking getaddrinfo() when the connection starts (as in
 * transport.c); use addresses in raft_ext.peers where that matters.
 *
 * Locking: none (backend-private state).
 */
#include "postgres.h"

#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/pg_bswap.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "remote.h"

static PGconn *raft_remote_conn = NULL;
static int	raft_remote_node = 0;
static bool raft_remote_exit_hook = false;

static void
raft_remote_disconnect(void)
{
	if (raft_remote_conn != NULL)
		PQfinish(raft_remote_conn);
	raft_remote_conn = NULL;
	raft_remote_node = 0;
}

/*
 * The session ends: say goodbye to the leader (a Terminate message, which
 * cannot wait in non-blocking mode) rather than leave it to see the
 * connection reset and log it.
 */
static void
raft_remote_at_exit(int code, Datum arg)
{
	raft_remote_disconnect();
}

char *
raft_remote_errmsg(PGconn *conn)
{
	char	   *msg = pstrdup(conn ? PQerrorMessage(conn) : "out of memory");
	int			len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	return msg;
}

/*
 * Wait for io (WL_SOCKET_*) on the connection, the latch, or the deadline.
 * Returns false when the deadline passed.  Interrupts are serviced (and may
 * throw).
 */
bool
raft_remote_wait(PGconn *conn, int io, TimestampTz deadline)
{
	long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
	int			rc;

	if (ms <= 0)
		return false;
	rc = WaitLatchOrSocket(MyLatch,
						   WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | WL_TIMEOUT | io,
						   PQsocket(conn), ms, PG_WAIT_EXTENSION);
	if (rc & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}

static PGconn *
raft_remote_connect_poll(PGconn *conn, TimestampTz deadline, char **error)
{
	PostgresPollingStatusType pst = PGRES_POLLING_WRITING;

	for (;;)
	{
		int			io;

		if (pst == PGRES_POLLING_OK)
		{
			/*
			 * From now on no libpq call may wait inside libpq (blocking
			 * mode's pqWait), PQfinish's Terminate message included.  The
			 * output buffer is empty after the start-up, so switching
			 * cannot wait either.
			 */
			if (PQsetnonblocking(conn, 1) != 0)
			{
				*error = raft_remote_errmsg(conn);
				return NULL;
			}
			return conn;
		}
		if (pst == PGRES_POLLING_FAILED)
		{
			*error = raft_remote_errmsg(conn);
			return NULL;
		}
		io = (pst == PGRES_POLLING_READING) ? WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE;
		if (!raft_remote_wait(conn, io, deadline))
		{
			*error = pstrdup("timed out while connecting");
			return NULL;
		}
		pst = PQconnectPoll(conn);
	}
}

PGconn *
raft_remote_connect(const char *conninfo, const char *appname, TimestampTz deadline, char **error)
{
	const char *keywords[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
	const char *values[] = {conninfo, appname, GetDatabaseEncodingName(), NULL};
	PGconn	   *conn;
	PGconn	   *result = NULL;

	conn = PQconnectStartParams(keywords, values, 1);
	if (conn == NULL)
	{
		*error = pstrdup("out of memory");
		return NULL;
	}
	if (PQstatus(conn) == CONNECTION_BAD)
	{
		*error = raft_remote_errmsg(conn);
		PQfinish(conn);
		return NULL;
	}
	PG_TRY();
	{
		result = raft_remote_connect_poll(conn, deadline, error);
	}
	PG_CATCH();
	{
		PQfinish(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (result == NULL)
		PQfinish(conn);
	return result;
}

/*
 * forward_submit's row, in binary: status text, leader_id integer, problem
 * text, outcome bytea (outcome.h's encoding; decoding refuses garbage).
 */
static void
raft_remote_take_row(PGresult *res, RaftRemoteResult *out, char **outcome, int *outcome_len)
{
	const char *status = PQgetvalue(res, 0, 0);
	int			slen = PQgetlength(res, 0, 0);

	if (slen == 7 && memcmp(status, "applied", 7) == 0)
		out->status = RAFT_REMOTE_APPLIED;
	else if (slen == 7 && memcmp(status, "unknown", 7) == 0)
		out->status = RAFT_REMOTE_UNKNOWN;
	else
		out->status = RAFT_REMOTE_RETRY;
	if (!PQgetisnull(res, 0, 1) && PQgetlength(res, 0, 1) == 4)
		out->leader_id = (int) pg_ntoh32(*(const uint32 *) PQgetvalue(res, 0, 1));
	if (!PQgetisnull(res, 0, 2))
		out->error = pnstrdup(PQgetvalue(res, 0, 2), PQgetlength(res, 0, 2));
	/* decoded once the result is freed: decoding may throw */
	if (!PQgetisnull(res, 0, 3))
	{
		*outcome_len = PQgetlength(res, 0, 3);
		*outcome = palloc(Max(*outcome_len, 1));
		memcpy(*outcome, PQgetvalue(res, 0, 3), *outcome_len);
	}
}

static void
raft_remote_take_error(PGresult *res, RaftRemoteResult *out)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);

	out->status = RAFT_REMOTE_REMOTE_ERROR;
	if (state && strlen(state) == 5)
		out->sqlerrcode = MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
	else
		out->sqlerrcode = ERRCODE_CONNECTION_EXCEPTION;
	out->error = pstrdup(msg ? msg : PQresultErrorMessage(res));
	out->detail = detail ? pstrdup(detail) : NULL;
	out->hint = hint ? pstrdup(hint) : NULL;
}

/* Send the query and collect its result.  May throw on interrupts. */
static void
raft_remote_exchange(PGconn *conn, const char *payload, Size len, int timeout_ms,
					 TimestampTz deadline, RaftRemoteResult *out, volatile bool *sent)
{
	const char *values[3];
	int			lengths[3];
	int			formats[3] = {1, 0, 0};
	char		timeout_buf[32];
	char		deadline_buf[32];
	int			r;
	bool		have_result = false;
	char	   *outcome = NULL;
	int			outcome_len = 0;

	snprintf(timeout_buf, sizeof(timeout_buf), "%d", timeout_ms);
	values[0] = payload;
	lengths[0] = (int) len;
	values[1] = timeout_buf;
	lengths[1] = 0;
	/* our deadline, absolute: the leader appends nothing after it */
	snprintf(deadline_buf, sizeof(deadline_buf), INT64_FORMAT, (int64) deadline);
	values[2] = deadline_buf;
	lengths[2] = 0;

	/*
	 * From here on the leader may have the request: a large payload can go
	 * out in part while PQsendQueryParams is still building it, and a
	 * failure after that is an unknown outcome, never a safe retry.
	 */
	*sent = true;
	if (!PQsendQueryParams(conn,
						   "SELECT status, leader_id, problem, outcome "
						   "FROM raft_ext.forward_submit($1::bytea, $2::integer, $3::bigint)",
						   3, NULL, values, lengths, formats, 1))
	{
		out->status = RAFT_REMOTE_LOST;
		out->error = raft_remote_errmsg(conn);
		return;
	}

	while ((r = PQflush(conn)) == 1)
	{
		if (!raft_remote_wait(conn, WL_SOCKET_WRITEABLE | WL_SOCKET_READABLE, deadline))
		{
			out->status = RAFT_REMOTE_LOST;
			out->timed_out = true;
			out->error = pstrdup("timed out while sending to the leader");
			return;
		}
		if (!PQconsumeInput(conn))
			break;
	}
	if (r != 0)
	{
		out->status = RAFT_REMOTE_LOST;
		out->error = raft_remote_errmsg(conn);
		return;
	}

	for (;;)
	{
		PGresult   *res;

		while (PQisBusy(conn))
		{
			if (!raft_remote_wait(conn, WL_SOCKET_READABLE, deadline))
			{
				out->status = RAFT_REMOTE_LOST;
				out->timed_out = true;
				out->error = pstrdup("timed out waiting for the leader");
				return;
			}
			if (!PQconsumeInput(conn))
			{
				out->status = RAFT_REMOTE_LOST;
				out->error = raft_remote_errmsg(conn);
				return;
			}
		}
		res = PQgetResult(conn);
		if (res == NULL)
			break;
		if (!have_result)
		{
			if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
				PQnfields(res) == 4)
			{
				raft_remote_take_row(res, out, &outcome, &outcome_len);
				have_result = true;
			}
			else if (PQresultStatus(res) == PGRES_FATAL_ERROR)
			{
				raft_remote_take_error(res, out);
				have_result = true;
			}
		}
		PQclear(res);
	}
	if (!have_result)
	{
		out->status = RAFT_REMOTE_LOST;
		out->error = PQstatus(conn) == CONNECTION_OK ?
			pstrdup("unexpected result from the leader") : raft_remote_errmsg(conn);
		return;
	}
	if (outcome != NULL)
	{
		out->outcome = palloc(sizeof(RaftOutcome));
		raft_outcome_decode(outcome, outcome_len, out->outcome);
	}
	if (out->status == RAFT_REMOTE_APPLIED && out->outcome == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("raft_ext: the leader reported the statement applied without its outcome")));
}

void
raft_remote_forward(int node_id, const char *conninfo,
					const char *payload, Size len,
					int timeout_ms, TimestampTz deadline,
					RaftRemoteResult *out, volatile bool *sent)
{
	PGconn	   *conn;

	memset(out, 0, sizeof(*out));
	*sent = false;

	if (raft_remote_conn != NULL &&
		(raft_remote_node != node_id ||
		 PQstatus(raft_remote_conn) != CONNECTION_OK ||
		 PQtransactionStatus(raft_remote_conn) != PQTRANS_IDLE))
		raft_remote_disconnect();

	if (raft_remote_conn == NULL)
	{
		char	   *error = NULL;

		conn = raft_remote_connect(conninfo, "raft_ext forward", deadline, &error);
		if (conn == NULL)
		{
			out->status = RAFT_REMOTE_NOT_SENT;
			out->error = error;
			return;
		}
		raft_remote_conn = conn;
		raft_remote_node = node_id;
		if (!raft_remote_exit_hook)
		{
			on_proc_exit(raft_remote_at_exit, (Datum) 0);
			raft_remote_exit_hook = true;
		}
	}
	conn = raft_remote_conn;

	PG_TRY();
	{
		raft_remote_exchange(conn, payload, len, timeout_ms, deadline, out, sent);
	}
	PG_CATCH();
	{
		/* the leader's backend sees the close: see the file header */
		raft_remote_disconnect();
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (out->status == RAFT_REMOTE_LOST || out->status == RAFT_REMOTE_NOT_SENT)
		raft_remote_disconnect();
}
