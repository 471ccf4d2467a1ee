/*
 * transport.c — raft_ext's node-to-node message transport over libpq, both
 * halves: the sending half runs in the Raft worker, the receiving half
 * (raft_ext.deliver_stream(), at the end of this file) in the backend that
 * serves a peer's connection.
 *
 * The Raft worker keeps one long-lived, non-blocking libpq connection per
 * peer.  Once connected it sends, once,
 *     CALL raft_ext.deliver_stream()
 * which puts the connection into COPY FROM STDIN mode (the procedure, in
 * sql_control.c, answers with CopyInResponse); from then on every Raft
 * message is one CopyData message (PQputCopyData), and the peer's backend
 * pushes each into its shared-memory inbox.  Messages are one-way; the peer
 * answers on its own connection to us, and nothing comes back on this one
 * while the stream runs.  Using libpq means peers are ordinary connection
 * strings and the traffic gets pg_hba.conf, SCRAM, TLS and keepalives for
 * free (design.md, decision 2).
 *
 * Life of a peer connection:
 *
 *   IDLE ──(back-off timer)──▶ CONNECTING ──(PQconnectPoll OK)──▶ STARTING
 *     ▲                            │                                  │
 *     │                            │ failed / timed out               │ PGRES_COPY_IN
 *     └────────────────────────────┴──────── any error ◀────────── READY
 *
 * CONNECTING advances PQconnectPoll only when its socket is ready for what
 * libpq last asked for, and gives up after connect_timeout (2 s unless the
 * connection string says otherwise).  STARTING has sent the CALL
 * (PQsendQuery) and waits for PGRES_COPY_IN; an error there (the extension
 * missing on the peer, no EXECUTE grant) fails the connection.  Messages
 * are accepted only in READY (streaming).
 *
 * Sending: raft_transport_send hands the message to libpq (PQputCopyData,
 * which sends whole 8 kB blocks as they fill and never blocks here); what
 * is left goes out with PQflush in raft_transport_poll/raft_transport_wait,
 * which waits for write-readiness while libpq still holds output.  libpq's
 * output buffer grows without limit in non-blocking mode, so the bytes and
 * messages queued since it was last empty are bounded here (1024 messages,
 * 8 MB): beyond the bounds, and whenever the peer is
 * not READY, raft_transport_send drops the message and counts it: Raft
 * tolerates loss and the leader retries.  Output pending for
 * RAFT_TRANSPORT_STALL_TIMEOUT_MS without the socket once becoming writable
 * (a peer that stopped reading: stuck, or frozen) makes us give up the
 * connection; a peer that reads, however slowly, keeps it.
 *
 * Receiving: nothing, but the socket is watched for readability all the
 * time.  During the stream the peer only speaks when the stream ends: its
 * backend ends the session (FATAL) on any error, because libpq does not
 * parse an ErrorResponse in COPY IN state, and closes the connection when
 * its server stops or dies.  So readable means closed: PQconsumeInput
 * fails (or libpq finds the connection bad), and a READY connection that
 * breaks like that is reported as closed by the peer
 * (raft_transport_take_closed), which the worker takes as a sign that a
 * leader is gone.  Notices are still parsed and logged.
 *
 * After a failure the connection is closed and retried after an
 * exponential back-off (50 ms doubling to 250 ms, with jitter), which starts
 * over only once a connection has stayed up for 2 s, so a peer that
 * accepts and then immediately drops us is not hammered.  The cap is low
 * because a restarted peer cannot catch up, vote or hear heartbeats until
 * we are connected again; an attempt costs the peer one connection.
 *
 * Delivery: messages on one stream arrive in the order sent, each whole.
 * Messages still in libpq's buffer when a connection is abandoned are
 * counted as dropped (all those queued since the buffer was last empty,
 * some of which may have reached the peer); messages already handed to the
 * kernel may be lost without being counted.  Raft tolerates loss,
 * duplication and reordering, and the receiver must not assume more.
 *
 * Nothing here blocks, with one libpq limitation: host names are resolved
 * with a blocking getaddrinfo() when a connection attempt starts.  Use IP
 * addresses (host= or hostaddr=) in raft_ext.peers where that matters.
 *
 * Passwords: connection strings are never logged or shown; messages name
 * the peer by node id and, once connected, by host, port and database.
 *
 * Memory: everything lives in one context under TopMemoryContext, created
 * by raft_transport_init and deleted by raft_transport_shutdown.  Sending
 * a message allocates nothing here (libpq copies the payload into its own
 * output buffer); only errors allocate (the peer's last_error text).
 *
 * Locking: the sending half takes none: all of it is private to the Raft
 * worker process and must only be called from that process's main thread
 * of control (not from signal handlers).  The receiving half (at the end of
 * this file) runs in the backends serving the peers and takes only the
 * inbox's lock, inside raft_shmem_inbox_push().
 */
#include "postgres.h"

#include <limits.h>
#include <poll.h>

#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "libpq-fe.h"
#include "libpq/libpq.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/tcopprot.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "config.h"
#include "shmem.h"
#include "transport.h"

/* What starts the stream on the peer (sql_control.c). */
#define RAFT_TRANSPORT_STREAM_SQL	"CALL raft_ext.deliver_stream()"

/* Reconnection back-off: doubles from MIN to MAX; the wait is jittered to [d/2, d]. */
#define RAFT_TRANSPORT_BACKOFF_MIN_MS	50
#define RAFT_TRANSPORT_BACKOFF_MAX_MS	250
/* A connection that stayed up this long starts the back-off over. */
#define RAFT_TRANSPORT_BACKOFF_RESET_MS	2000

/* Give up a connection attempt after this long, unless connect_timeout says otherwise. */
#define RAFT_TRANSPORT_CONNECT_TIMEOUT_MS	2000

/*
 * A peer that has not answered the CALL for this long, or a stream whose
 * output stayed pending this long without the socket once becoming
 * writable, is considered dead (peer stuck or frozen, or a network path
 * that swallows packets without resetting the connection) and the
 * connection is re-established.
 */
#define RAFT_TRANSPORT_STALL_TIMEOUT_MS	10000

/* Bounds on what libpq may hold for one peer (see "Sending" above). */
#define RAFT_TRANSPORT_MAX_QUEUED	1024
#define RAFT_TRANSPORT_MAX_BYTES	(8 * 1024 * 1024)

/* The largest payload one CopyData message can carry (the peer's limit). */
#define RAFT_TRANSPORT_MAX_MESSAGE	(MaxAllocSize - 1 - 4)

/* CopyData framing: type byte and length word. */
#define RAFT_TRANSPORT_COPYDATA_OVERHEAD	5

/*
 * Logging about one peer is rate-limited: at most BURST lines per WINDOW
 * for connection events (lost, connected) and separately for notices
 * (warnings and errors) the peers send.  While a peer stays unreachable only its first failed
 * attempt is logged, then a reminder every DOWN_REMINDER.
 */
#define RAFT_TRANSPORT_LOG_WINDOW_MS	30000
#define RAFT_TRANSPORT_LOG_BURST	4
#define RAFT_TRANSPORT_DOWN_REMINDER_MS	30000

/* Connection options added in front of the user's, so the user's win. */
#define RAFT_TRANSPORT_KEEPALIVES_IDLE		"10"
#define RAFT_TRANSPORT_KEEPALIVES_INTERVAL	"5"
#define RAFT_TRANSPORT_KEEPALIVES_COUNT		"3"
#define RAFT_TRANSPORT_TCP_USER_TIMEOUT		"10000"

/* Fixed positions in the wait event set. */
#define RAFT_TRANSPORT_WES_LATCH	0
#define RAFT_TRANSPORT_WES_PMDEATH	1
#define RAFT_TRANSPORT_WES_FIXED	2

typedef enum RaftTransportState
{
	RAFT_TRANSPORT_IDLE,		/* no connection; next attempt at next_attempt */
	RAFT_TRANSPORT_CONNECTING,	/* PQconnectPoll in progress */
	RAFT_TRANSPORT_STARTING,	/* connected; CALL sent, waiting for PGRES_COPY_IN */
	RAFT_TRANSPORT_READY		/* streaming: accepting messages */
} RaftTransportState;

typedef struct RaftTransportLogLimit
{
	TimestampTz window_start;
	int			count;			/* lines logged in this window */
	int			suppressed;		/* lines not logged since the last one */
} RaftTransportLogLimit;

typedef struct RaftTransportPeer
{
	int			node_id;
	const char **keywords;		/* connection parameters, NULL-terminated; */
	const char **values;		/* values[] holds the conninfo: never log it */
	int			connect_timeout_ms;

	RaftTransportState state;
	PGconn	   *conn;			/* NULL in IDLE */
	bool		holds_external_fd;	/* AcquireExternalFD() done for conn */
	PostgresPollingStatusType connect_poll; /* what PQconnectPoll wants next */
	TimestampTz connect_deadline;
	TimestampTz next_attempt;	/* IDLE: when to connect again */
	TimestampTz started_at;		/* STARTING: when the CALL was sent */
	TimestampTz ready_since;
	int			backoff_ms;		/* delay before the next retry, before jitter */

	/*
	 * Output libpq may still hold: messages and bytes (with framing) queued
	 * since its buffer was last seen empty (PQflush returned 0).  An upper
	 * bound: part of it may already be in the kernel.
	 */
	int			queued_msgs;
	uint64		queued_bytes;
	bool		flush_pending;	/* libpq may hold output: flush it */
	TimestampTz stuck_since;	/* output left behind, and the socket not
								 * writable since; or 0 */
	bool		readable;		/* the wait set saw input; not read yet */
	bool		closed_by_peer; /* an established connection was closed or
								 * reset from the other end (taken by
								 * raft_transport_take_closed) */

	/* Registration in the wait event set. */
	pgsocket	wes_sock;
	int			wes_pos;
	uint32		wes_events;

	/* Statistics. */
	int64		messages_sent;
	int64		messages_dropped;
	int64		connect_attempts;
	TimestampTz last_connect_attempt;
	char	   *last_error;		/* in transport_context, or NULL */

	/* Log rate limiting. */
	RaftTransportLogLimit conn_log;
	RaftTransportLogLimit msg_log;
	bool		in_outage;		/* not READY since a failure */
	bool		outage_logged;	/* ... and a line said so */
	int			down_failures;	/* failed attempts not reported yet */
	TimestampTz down_last_log;	/* last report about this outage */
	bool		ever_ready;
	char	   *peer_fatal;		/* FATAL text the peer sent before hanging up */
} RaftTransportPeer;

static MemoryContext transport_context = NULL;
static RaftTransportPeer *transport_peers = NULL;
static int	transport_npeers = 0;

static WaitEventSet *transport_wes = NULL;
static WaitEvent *transport_wes_events = NULL;
static bool transport_wes_dirty = true;


static bool transport_exit_hook_registered = false;
static TimestampTz transport_unknown_node_logged = 0;

static void transport_peer_poll(RaftTransportPeer *peer, TimestampTz now);
static void transport_peer_fail(RaftTransportPeer *peer, TimestampTz now,
								int sqlstate, const char *what, const char *detail);


/* ---------- small helpers ---------- */

static RaftTransportPeer *
transport_find_peer(int node_id)
{
	for (int i = 0; i < transport_npeers; i++)
	{
		if (transport_peers[i].node_id == node_id)
			return &transport_peers[i];
	}
	return NULL;
}

/*
 * Copy of a libpq message as one line, in context cxt: libpq's messages
 * end in a newline and continue on tab-indented lines.
 */
static char *
transport_one_line_copy(MemoryContext cxt, const char *s)
{
	char	   *copy = MemoryContextAlloc(cxt, strlen(s) + 1);
	char	   *d = copy;

	for (; *s; s++)
	{
		if (*s == '\n' || *s == '\r' || *s == '\t')
		{
			if (d > copy && d[-1] != ' ')
				*d++ = ' ';
		}
		else
			*d++ = *s;
	}
	while (d > copy && d[-1] == ' ')
		d--;
	*d = '\0';
	return copy;
}

static void
transport_set_last_error(RaftTransportPeer *peer, const char *what, const char *detail)
{
	char	   *msg;
	char	   *old = peer->last_error;

	if (detail && detail[0])
		msg = psprintf("%s: %s", what, detail);
	else
		msg = pstrdup(what);
	peer->last_error = transport_one_line_copy(transport_context, msg);
	pfree(msg);
	if (old)
		pfree(old);
}

/*
 * May a line about this peer be logged now?  At most RAFT_TRANSPORT_LOG_BURST
 * lines per window; the rest are counted and reported with the next line.
 * *suppressed receives the count to report (and is then reset).
 */
static bool
transport_log_allowed(RaftTransportLogLimit *lim, TimestampTz now, int *suppressed)
{
	if (lim->window_start == 0 ||
		now - lim->window_start >= (int64) RAFT_TRANSPORT_LOG_WINDOW_MS * 1000)
	{
		lim->window_start = now;
		lim->count = 0;
	}
	if (lim->count >= RAFT_TRANSPORT_LOG_BURST)
	{
		lim->suppressed++;
		return false;
	}
	lim->count++;
	*suppressed = lim->suppressed;
	lim->suppressed = 0;
	return true;
}

/* Does libpq treat this dbname value as a connection string (expand_dbname)? */
static bool
transport_is_conninfo_string(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 ||
		strncmp(s, "postgres://", 11) == 0 ||
		strchr(s, '=') != NULL;
}

/* Delay before the next attempt: the current back-off, jittered to [d/2, d]. */
static void
transport_schedule_retry(RaftTransportPeer *peer, TimestampTz now)
{
	int			d = peer->backoff_ms;
	int			delay_ms = d / 2 + (int) (pg_prng_double(&pg_global_prng_state) * (d - d / 2));

	peer->next_attempt = TimestampTzPlusMilliseconds(now, delay_ms);
	peer->backoff_ms = Min(d * 2, RAFT_TRANSPORT_BACKOFF_MAX_MS);
}

/* ---------- connection life cycle ---------- */

/* Remember what the peer said before closing the connection, for the report. */
static void
transport_peer_note_fatal(RaftTransportPeer *peer, const PGresult *res)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (peer->peer_fatal)
		pfree(peer->peer_fatal);
	peer->peer_fatal = transport_one_line_copy(transport_context,
											   primary ? primary : PQresultErrorMessage(res));
}

static bool
transport_is_fatal(const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	return severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0);
}

/*
 * libpq notices.  An error that arrives while no command is in progress is
 * passed here too: typically the FATAL a peer sends before hanging up,
 * which is kept for the "lost connection" report.  (During the stream,
 * libpq is in COPY IN state and parses notices only: a FATAL the peer sends
 * then is not seen, only the connection closing after it.)  Other warnings and
 * errors are logged (rate-limited); plain notices only at DEBUG1.
 */
static void
transport_notice_receiver(void *arg, const PGresult *res)
{
	RaftTransportPeer *peer = (RaftTransportPeer *) arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *message = primary ? primary : PQresultErrorMessage(res);
	int			suppressed = 0;

	if (transport_is_fatal(res))
		transport_peer_note_fatal(peer, res);
	else if (severity && (strcmp(severity, "ERROR") == 0 || strcmp(severity, "WARNING") == 0))
	{
		if (transport_log_allowed(&peer->conn_log, GetCurrentTimestamp(), &suppressed))
			ereport(LOG,
					(errmsg("raft_ext transport: node %d reports %s: %s",
							peer->node_id, severity, message),
					 suppressed ? errhint("%d similar messages about this node were suppressed.",
										  suppressed) : 0));
	}
	else
		ereport(DEBUG1,
				(errmsg_internal("raft_ext transport: node %d reports %s: %s", peer->node_id,
								 severity ? severity : "notice", message)));
}

/*
 * Close the connection (if any).  Messages libpq may still hold count as
 * dropped (see the file header).
 */
static void
transport_peer_close(RaftTransportPeer *peer)
{
	if (peer->conn)
	{
		/* Non-blocking: PQfinish only tries to send Terminate. */
		PQfinish(peer->conn);
		peer->conn = NULL;
		transport_wes_dirty = true;
	}
	if (peer->holds_external_fd)
	{
		ReleaseExternalFD();
		peer->holds_external_fd = false;
	}
	if (peer->flush_pending)
		peer->messages_dropped += peer->queued_msgs;
	peer->queued_msgs = 0;
	peer->queued_bytes = 0;
	peer->stuck_since = 0;
	peer->flush_pending = false;
	peer->readable = false;
	if (peer->peer_fatal)
	{
		pfree(peer->peer_fatal);
		peer->peer_fatal = NULL;
	}
	peer->state = RAFT_TRANSPORT_IDLE;
}

/* The first failure of a connection: an outage starts, not yet logged. */
static void
transport_begin_outage(RaftTransportPeer *peer, TimestampTz now)
{
	peer->in_outage = true;
	peer->outage_logged = false;
	peer->down_failures = 0;
	peer->down_last_log = now;
}

/*
 * A connection attempt failed or an established connection broke: log,
 * remember the error, close, and schedule a retry.  what is a phrase like
 * "could not connect to" that the node id completes; detail is libpq's
 * message, which names host and port but never the password.
 *
 * An outage (a broken connection, or a first failed attempt) is logged,
 * rate-limited for flapping peers; while the peer stays unreachable, a
 * reminder with the number of failed attempts follows every
 * RAFT_TRANSPORT_DOWN_REMINDER_MS; the reconnection that ends a logged
 * outage is always logged.
 */
static void
transport_peer_fail(RaftTransportPeer *peer, TimestampTz now, int sqlstate,
					const char *what, const char *detail)
{
	int			suppressed = 0;
	char	   *reason = NULL;
	char	   *what_node = psprintf("%s node %d", what, peer->node_id);

	/*
	 * What the peer said before hanging up ("terminating connection due to
	 * administrator command") beats libpq's "server closed the connection
	 * unexpectedly".  Copy: detail may point into the PGconn about to go.
	 */
	if (peer->peer_fatal)
		reason = pstrdup(peer->peer_fatal);
	else if (detail && detail[0])
		reason = transport_one_line_copy(CurrentMemoryContext, detail);

	transport_set_last_error(peer, what_node, reason);

	if (peer->state == RAFT_TRANSPORT_READY)
	{
		/* A connection that stayed up long enough earns a fresh back-off. */
		if (now - peer->ready_since >= (int64) RAFT_TRANSPORT_BACKOFF_RESET_MS * 1000)
			peer->backoff_ms = RAFT_TRANSPORT_BACKOFF_MIN_MS;

		transport_begin_outage(peer, now);
		if (transport_log_allowed(&peer->conn_log, now, &suppressed))
		{
			ereport(LOG,
					(errcode(sqlstate),
					 errmsg("raft_ext transport: %s%s%s", what_node,
							reason ? ": " : "", reason ? reason : ""),
					 peer->flush_pending && peer->queued_msgs > 0 ?
					 errdetail("Up to %d messages not yet sent are counted as dropped.",
							   peer->queued_msgs) : 0,
					 suppressed ? errhint("%d similar messages about this node were suppressed.",
										  suppressed) : 0));
			peer->outage_logged = true;
		}
	}
	else if (!peer->in_outage)
	{
		transport_begin_outage(peer, now);
		if (transport_log_allowed(&peer->conn_log, now, &suppressed))
		{
			ereport(LOG,
					(errcode(sqlstate),
					 errmsg("raft_ext transport: %s%s%s", what_node,
							reason ? ": " : "", reason ? reason : ""),
					 errdetail("Retrying with back-off; further failures are reported every %d seconds.",
							   RAFT_TRANSPORT_DOWN_REMINDER_MS / 1000),
					 suppressed ? errhint("%d similar messages about this node were suppressed.",
										  suppressed) : 0));
			peer->outage_logged = true;
		}
		else
			peer->down_failures++;
	}
	else
	{
		peer->down_failures++;
		if (now - peer->down_last_log >= (int64) RAFT_TRANSPORT_DOWN_REMINDER_MS * 1000)
		{
			ereport(LOG,
					(errcode(sqlstate),
					 errmsg("raft_ext transport: node %d still unreachable: %d attempts failed in the last %ld seconds",
							peer->node_id, peer->down_failures,
							(long) ((now - peer->down_last_log) / USECS_PER_SEC)),
					 errdetail("Last error: %s%s%s", what_node,
							   reason ? ": " : "", reason ? reason : "")));
			peer->down_failures = 0;
			peer->down_last_log = now;
		}
	}

	if (reason)
		pfree(reason);
	pfree(what_node);
	transport_peer_close(peer);
	transport_schedule_retry(peer, now);
}

static void
transport_peer_start_connect(RaftTransportPeer *peer, TimestampTz now)
{
	Assert(peer->conn == NULL);

	peer->connect_attempts++;
	peer->last_connect_attempt = now;
	peer->connect_deadline = TimestampTzPlusMilliseconds(now, peer->connect_timeout_ms);

	/* Obey fd.c's limit on file descriptors not managed by it. */
	if (!AcquireExternalFD())
	{
		transport_peer_fail(peer, now, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
							"could not connect to", "too many open files on the local server");
		return;
	}
	peer->holds_external_fd = true;

	peer->conn = PQconnectStartParams(peer->keywords, peer->values, true);
	transport_wes_dirty = true;
	if (peer->conn == NULL)
	{
		transport_peer_fail(peer, now, ERRCODE_OUT_OF_MEMORY,
							"could not connect to", "out of memory");
		return;
	}
	peer->state = RAFT_TRANSPORT_CONNECTING;
	if (PQstatus(peer->conn) == CONNECTION_BAD)
	{
		transport_peer_fail(peer, now, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
							"could not connect to", PQerrorMessage(peer->conn));
		return;
	}
	PQsetNoticeReceiver(peer->conn, transport_notice_receiver, peer);
	/* Per libpq's contract, first wait until the socket is writable. */
	peer->connect_poll = PGRES_POLLING_WRITING;
	elog(DEBUG1, "raft_ext transport: connecting to node %d (attempt " INT64_FORMAT ")",
		 peer->node_id, peer->connect_attempts);
}

/* The connection is up: switch to non-blocking mode and start the stream. */
static void
transport_peer_start_session(RaftTransportPeer *peer, TimestampTz now)
{
	if (PQsetnonblocking(peer->conn, 1) != 0 ||
		PQsendQuery(peer->conn, RAFT_TRANSPORT_STREAM_SQL) != 1)
	{
		transport_peer_fail(peer, now, ERRCODE_CONNECTION_FAILURE,
							"could not start session with", PQerrorMessage(peer->conn));
		return;
	}
	peer->state = RAFT_TRANSPORT_STARTING;
	peer->started_at = now;
	peer->flush_pending = true;
	peer->stuck_since = 0;
}

/* Is sock ready for what PQconnectPoll asked?  Never waits. */
static bool
transport_socket_ready(pgsocket sock, bool for_read)
{
	struct pollfd pfd;
	int			rc;

	pfd.fd = sock;
	pfd.events = for_read ? POLLIN : POLLOUT;
	pfd.revents = 0;
	do
		rc = poll(&pfd, 1, 0);
	while (rc < 0 && errno == EINTR);

	/* On error, let PQconnectPoll find out what is wrong. */
	return rc != 0;
}

static void
transport_peer_connect_step(RaftTransportPeer *peer, TimestampTz now)
{
	/* A handful of steps per call; each step usually needs the network. */
	for (int i = 0; i < 8 && peer->state == RAFT_TRANSPORT_CONNECTING; i++)
	{
		pgsocket	sock = PQsocket(peer->conn);
		PostgresPollingStatusType st;

		if (sock == PGINVALID_SOCKET ||
			!transport_socket_ready(sock, peer->connect_poll == PGRES_POLLING_READING))
			break;

		st = PQconnectPoll(peer->conn);
		if (PQsocket(peer->conn) != peer->wes_sock)
			transport_wes_dirty = true; /* libpq moved on to another address */

		if (st == PGRES_POLLING_OK)
		{
			transport_peer_start_session(peer, now);
			return;
		}
		if (st == PGRES_POLLING_FAILED)
		{
			transport_peer_fail(peer, now, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
								"could not connect to", PQerrorMessage(peer->conn));
			return;
		}
		peer->connect_poll = st;
	}

	if (peer->state == RAFT_TRANSPORT_CONNECTING && now >= peer->connect_deadline)
	{
		char	   *detail = psprintf("timeout expired after %d ms", peer->connect_timeout_ms);

		transport_peer_fail(peer, now, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
							"could not connect to", detail);
		pfree(detail);
	}
}

/* The peer answered the CALL with CopyInResponse: the stream is up. */
static void
transport_peer_stream_started(RaftTransportPeer *peer, TimestampTz now)
{
	int			suppressed = 0;

	peer->state = RAFT_TRANSPORT_READY;
	peer->ready_since = now;
	/* raft_peers shows the trouble of now, not of an outage that is over */
	if (peer->last_error != NULL)
	{
		pfree(peer->last_error);
		peer->last_error = NULL;
	}

	/* The end of a logged outage, and the first connection, are always logged. */
	if (peer->outage_logged || !peer->ever_ready ||
		transport_log_allowed(&peer->conn_log, now, &suppressed))
		ereport(LOG,
				(errmsg("raft_ext transport: connected to node %d (host %s, port %s, database %s)",
						peer->node_id, PQhost(peer->conn), PQport(peer->conn),
						PQdb(peer->conn)),
				 peer->down_failures > 0 ?
				 errdetail("%d more connection attempts had failed.",
						   peer->down_failures) : 0,
				 suppressed ? errhint("%d similar messages about this node were suppressed.",
									  suppressed) : 0));
	peer->ever_ready = true;
	peer->in_outage = false;
	peer->outage_logged = false;
	peer->down_failures = 0;
}

/*
 * STARTING: read the answer to the CALL, if it is complete.  PGRES_COPY_IN
 * means the stream is up; anything else is an error on the peer (the
 * extension missing, no EXECUTE grant, ...) that fails the connection.
 */
static void
transport_peer_read_start(RaftTransportPeer *peer, TimestampTz now)
{
	PGresult   *res;
	ExecStatusType st;

	if (PQisBusy(peer->conn))
		return;
	res = PQgetResult(peer->conn);
	if (res == NULL)
	{
		transport_peer_fail(peer, now, ERRCODE_CONNECTION_FAILURE,
							"could not start the stream on", "no response to the CALL");
		return;
	}
	st = PQresultStatus(res);
	if (st == PGRES_COPY_IN)
	{
		PQclear(res);
		transport_peer_stream_started(peer, now);
		return;
	}
	if (transport_is_fatal(res))
		transport_peer_note_fatal(peer, res);
	if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR)
	{
		const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *advice = "";
		char	   *errtext;

		/* the two mistakes an operator can fix on the peer */
		if (state && strcmp(state, "42883") == 0)
			advice = " (the peer's raft_ext is older than 1.1: run ALTER EXTENSION raft_ext UPDATE there)";
		else if (state && strcmp(state, "42501") == 0)
			advice = " (grant EXECUTE ON PROCEDURE raft_ext.deliver_stream() to the peers' login role there)";
		errtext = psprintf("%s%s", primary ? primary : PQresultErrorMessage(res), advice);

		PQclear(res);
		transport_peer_fail(peer, now, ERRCODE_CONNECTION_FAILURE,
							"could not start the stream (raft_ext.deliver_stream) on", errtext);
		pfree(errtext);
		return;
	}
	PQclear(res);
	transport_peer_fail(peer, now, ERRCODE_PROTOCOL_VIOLATION,
						"could not start the stream on", PQresStatus(st));
}

/* The connection broke under us: the peer (or the path to it) hung up. */
static void
transport_peer_lost(RaftTransportPeer *peer, TimestampTz now)
{
	if (peer->state == RAFT_TRANSPORT_READY)
		peer->closed_by_peer = true;
	transport_peer_fail(peer, now, ERRCODE_CONNECTION_FAILURE,
						"lost connection to", PQerrorMessage(peer->conn));
}

/*
 * Flush, and read what arrived, on an established connection (STARTING or
 * READY).  The socket is read only when the wait set said it is readable:
 * the worker comes here several times per loop, and during the stream
 * nothing arrives unless the peer ends it.
 */
static void
transport_peer_io(RaftTransportPeer *peer, TimestampTz now)
{
	if (peer->flush_pending)
	{
		int			rc = PQflush(peer->conn);

		if (rc < 0)
		{
			transport_peer_lost(peer, now);
			return;
		}
		if (rc == 0)
		{
			peer->flush_pending = false;
			peer->queued_msgs = 0;
			peer->queued_bytes = 0;
			peer->stuck_since = 0;
		}
		else if (peer->stuck_since == 0)
			peer->stuck_since = now;
	}

	if (peer->readable)
	{
		peer->readable = false;
		if (PQconsumeInput(peer->conn) != 1)
		{
			transport_peer_lost(peer, now);
			return;
		}
	}

	if (peer->state == RAFT_TRANSPORT_STARTING)
	{
		transport_peer_read_start(peer, now);
		if (peer->state != RAFT_TRANSPORT_READY)
		{
			if (peer->state == RAFT_TRANSPORT_STARTING &&
				now - peer->started_at >= (int64) RAFT_TRANSPORT_STALL_TIMEOUT_MS * 1000)
			{
				char	   *detail = psprintf("no response to the CALL for %d ms",
											  RAFT_TRANSPORT_STALL_TIMEOUT_MS);

				transport_peer_fail(peer, now, ERRCODE_CONNECTION_FAILURE,
									"giving up on connection to", detail);
				pfree(detail);
			}
			return;
		}
	}
	else
	{
		/*
		 * Streaming: let libpq parse notices (it parses nothing else in COPY
		 * IN state).  The peer ends a stream by closing the connection,
		 * which PQconsumeInput above or the status below reports.
		 */
		(void) PQisBusy(peer->conn);
	}

	if (PQstatus(peer->conn) == CONNECTION_BAD)
	{
		transport_peer_lost(peer, now);
		return;
	}

	if (peer->stuck_since != 0 &&
		now - peer->stuck_since >= (int64) RAFT_TRANSPORT_STALL_TIMEOUT_MS * 1000)
	{
		char	   *detail = psprintf("could not send for %d ms (%d messages queued)",
									  RAFT_TRANSPORT_STALL_TIMEOUT_MS, peer->queued_msgs);

		transport_peer_fail(peer, now, ERRCODE_CONNECTION_FAILURE,
							"giving up on connection to", detail);
		pfree(detail);
	}
}

static void
transport_peer_poll(RaftTransportPeer *peer, TimestampTz now)
{
	if (peer->state == RAFT_TRANSPORT_IDLE && now >= peer->next_attempt)
		transport_peer_start_connect(peer, now);
	if (peer->state == RAFT_TRANSPORT_CONNECTING)
		transport_peer_connect_step(peer, now);
	if (peer->state == RAFT_TRANSPORT_STARTING || peer->state == RAFT_TRANSPORT_READY)
		transport_peer_io(peer, now);
}

/* When does this peer next need attention without any socket event? 0 = never. */
static TimestampTz
transport_peer_next_timer(RaftTransportPeer *peer)
{
	TimestampTz t = 0;

	switch (peer->state)
	{
		case RAFT_TRANSPORT_IDLE:
			return peer->next_attempt;
		case RAFT_TRANSPORT_CONNECTING:
			return peer->connect_deadline;
		case RAFT_TRANSPORT_STARTING:
			t = TimestampTzPlusMilliseconds(peer->started_at, RAFT_TRANSPORT_STALL_TIMEOUT_MS);
			/* FALLTHROUGH */
		case RAFT_TRANSPORT_READY:
			if (peer->stuck_since != 0)
			{
				TimestampTz s = TimestampTzPlusMilliseconds(peer->stuck_since,
															RAFT_TRANSPORT_STALL_TIMEOUT_MS);

				if (t == 0 || s < t)
					t = s;
			}
			return t;
	}
	return 0;
}

/* ---------- the wait event set ---------- */

/* The socket and events this peer wants in the wait set. */
static pgsocket
transport_peer_wanted_events(RaftTransportPeer *peer, uint32 *events)
{
	*events = 0;
	if (peer->conn == NULL)
		return PGINVALID_SOCKET;
	switch (peer->state)
	{
		case RAFT_TRANSPORT_IDLE:
			return PGINVALID_SOCKET;
		case RAFT_TRANSPORT_CONNECTING:
			*events = peer->connect_poll == PGRES_POLLING_READING ?
				WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE;
			break;
		case RAFT_TRANSPORT_STARTING:
		case RAFT_TRANSPORT_READY:
			/* Always readable: in READY that is how a closed stream shows. */
			*events = WL_SOCKET_READABLE | (peer->flush_pending ? WL_SOCKET_WRITEABLE : 0);
			break;
	}
	return PQsocket(peer->conn);
}

/*
 * Bring the wait event set up to date.  Sockets come and go with
 * connections, and PG15 cannot remove an event from a set, so the set is
 * rebuilt whenever a socket changed; a change of interest only (e.g. write
 * readiness while output is pending) is a ModifyWaitEvent.
 */
static void
transport_refresh_wait_set(void)
{
	if (!transport_wes_dirty)
	{
		for (int i = 0; i < transport_npeers; i++)
		{
			RaftTransportPeer *peer = &transport_peers[i];
			uint32		events;
			pgsocket	sock = transport_peer_wanted_events(peer, &events);

			if (sock != peer->wes_sock)
			{
				transport_wes_dirty = true;
				break;
			}
		}
	}

	if (transport_wes_dirty)
	{
		if (transport_wes)
			FreeWaitEventSet(transport_wes);
		transport_wes = NULL;
		transport_wes = CreateWaitEventSet(transport_context,
										   RAFT_TRANSPORT_WES_FIXED + transport_npeers);
		AddWaitEventToSet(transport_wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(transport_wes, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (int i = 0; i < transport_npeers; i++)
		{
			RaftTransportPeer *peer = &transport_peers[i];
			uint32		events;
			pgsocket	sock = transport_peer_wanted_events(peer, &events);

			peer->wes_sock = sock;
			peer->wes_events = events;
			peer->wes_pos = -1;
			if (sock != PGINVALID_SOCKET)
				peer->wes_pos = AddWaitEventToSet(transport_wes, events, sock, NULL, peer);
		}
		transport_wes_dirty = false;
		return;
	}

	for (int i = 0; i < transport_npeers; i++)
	{
		RaftTransportPeer *peer = &transport_peers[i];
		uint32		events;

		(void) transport_peer_wanted_events(peer, &events);
		if (peer->wes_pos >= 0 && events != peer->wes_events)
		{
			ModifyWaitEvent(transport_wes, peer->wes_pos, events, NULL);
			peer->wes_events = events;
		}
	}
}

/* ---------- public interface ---------- */

static void
transport_exit_hook(int code, Datum arg)
{
	raft_transport_shutdown();
}

/* connect_timeout of a connection string, in ms, as libpq would honour it */
static int
transport_connect_timeout_ms(const char *conninfo)
{
	PQconninfoOption *opts;
	int			ms = RAFT_TRANSPORT_CONNECT_TIMEOUT_MS;

	/*
	 * The address was validated before it got here (config.c, or
	 * raft_add_node); only connect_timeout is read from it.
	 */
	if (!transport_is_conninfo_string(conninfo))
		return ms;
	opts = PQconninfoParse(conninfo, NULL);
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
	{
		if (strcmp(o->keyword, "connect_timeout") == 0 && o->val && o->val[0])
		{
			int			secs = atoi(o->val);

			if (secs > 0)
				ms = Min(secs, INT_MAX / 1000) * 1000;
		}
	}
	if (opts)
		PQconninfoFree(opts);
	return ms;
}

/* A new, idle peer (in transport_context): connects at the first poll. */
static void
transport_peer_setup(RaftTransportPeer *peer, int node_id, const char *conninfo)
{
	const char *local_id = GetConfigOption("raft_ext.node_id", true, false);
	int			k = 0;

	memset(peer, 0, sizeof(*peer));
	peer->node_id = node_id;
	peer->connect_timeout_ms = transport_connect_timeout_ms(conninfo);

	/*
	 * libpq applies keywords in order and expands the dbname entry into the
	 * user's connection string, so everything before it is a default that
	 * the user's string overrides.  application_name: which node talks to
	 * the peer, in its pg_stat_activity.
	 */
	peer->keywords = palloc0(sizeof(char *) * 8);
	peer->values = palloc0(sizeof(char *) * 8);
	peer->keywords[k] = "application_name";
	peer->values[k++] = local_id ? psprintf("raft_ext node %s", local_id) : pstrdup("raft_ext");
	peer->keywords[k] = "keepalives";
	peer->values[k++] = "1";
	peer->keywords[k] = "keepalives_idle";
	peer->values[k++] = RAFT_TRANSPORT_KEEPALIVES_IDLE;
	peer->keywords[k] = "keepalives_interval";
	peer->values[k++] = RAFT_TRANSPORT_KEEPALIVES_INTERVAL;
	peer->keywords[k] = "keepalives_count";
	peer->values[k++] = RAFT_TRANSPORT_KEEPALIVES_COUNT;
	peer->keywords[k] = "tcp_user_timeout";
	peer->values[k++] = RAFT_TRANSPORT_TCP_USER_TIMEOUT;
	peer->keywords[k] = "dbname";
	peer->values[k++] = pstrdup(conninfo);
	peer->keywords[k] = NULL;
	peer->values[k] = NULL;

	peer->state = RAFT_TRANSPORT_IDLE;
	peer->next_attempt = 0;		/* connect at the first poll */
	peer->backoff_ms = RAFT_TRANSPORT_BACKOFF_MIN_MS;
	peer->wes_sock = PGINVALID_SOCKET;
	peer->wes_pos = -1;
}

/* The connection string a peer was set up with (the dbname entry). */
static const char *
transport_peer_conninfo(const RaftTransportPeer *peer)
{
	for (int k = 0; peer->keywords[k] != NULL; k++)
		if (strcmp(peer->keywords[k], "dbname") == 0)
			return peer->values[k];
	return "";
}

void
raft_transport_init(int npeers, const int *node_ids, const char *const *conninfos)
{
	MemoryContext oldcxt;

	if (transport_context)
		raft_transport_shutdown();

	transport_context = AllocSetContextCreate(TopMemoryContext, "raft_ext transport",
											  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(transport_context);
	transport_peers = palloc0(sizeof(RaftTransportPeer) * Max(npeers, 1));
	for (int i = 0; i < npeers; i++)
		transport_peer_setup(&transport_peers[i], node_ids[i], conninfos[i]);
	transport_npeers = npeers;
	transport_wes_events = palloc0(sizeof(WaitEvent) * (RAFT_TRANSPORT_WES_FIXED + npeers));
	transport_wes = NULL;
	transport_wes_dirty = true;
	MemoryContextSwitchTo(oldcxt);

	if (!transport_exit_hook_registered)
	{
		on_proc_exit(transport_exit_hook, (Datum) 0);
		transport_exit_hook_registered = true;
	}
}

void
raft_transport_reconfigure(int npeers, const int *node_ids, const char *const *conninfos)
{
	RaftTransportPeer *old = transport_peers;
	int			nold = transport_npeers;
	bool	   *kept;
	RaftTransportPeer *peers;
	MemoryContext oldcxt;

	if (transport_context == NULL)
	{
		raft_transport_init(npeers, node_ids, conninfos);
		return;
	}
	oldcxt = MemoryContextSwitchTo(transport_context);
	kept = palloc0(sizeof(bool) * Max(nold, 1));
	peers = palloc0(sizeof(RaftTransportPeer) * Max(npeers, 1));
	for (int i = 0; i < npeers; i++)
	{
		int			j;

		/* the same member at the same address keeps its connection and counters */
		for (j = 0; j < nold; j++)
			if (!kept[j] && old[j].node_id == node_ids[i] &&
				strcmp(transport_peer_conninfo(&old[j]), conninfos[i]) == 0)
				break;
		if (j < nold)
		{
			peers[i] = old[j];
			kept[j] = true;
		}
		else
			transport_peer_setup(&peers[i], node_ids[i], conninfos[i]);
	}
	for (int j = 0; j < nold; j++)
	{
		if (kept[j])
			continue;
		/* a member that left (or moved): end its stream as shutdown does */
		if (old[j].state == RAFT_TRANSPORT_READY)
		{
			(void) PQputCopyEnd(old[j].conn, NULL);
			(void) PQflush(old[j].conn);
		}
		transport_peer_close(&old[j]);
	}
	transport_peers = peers;
	transport_npeers = npeers;
	if (old)
		pfree(old);
	pfree(kept);
	if (transport_wes_events)
		pfree(transport_wes_events);
	transport_wes_events = palloc0(sizeof(WaitEvent) * (RAFT_TRANSPORT_WES_FIXED + npeers));
	/* the wait set points at the peers: built again before the next wait */
	if (transport_wes)
		FreeWaitEventSet(transport_wes);
	transport_wes = NULL;
	transport_wes_dirty = true;
	MemoryContextSwitchTo(oldcxt);
}

/* Would a message of len bytes be queued for this READY peer now? */
static bool
transport_peer_has_room(RaftTransportPeer *peer, size_t len)
{
	if (peer->queued_msgs == 0)
		return true;			/* a message larger than the bound still goes alone */
	return peer->queued_msgs < RAFT_TRANSPORT_MAX_QUEUED &&
		peer->queued_bytes + len + RAFT_TRANSPORT_COPYDATA_OVERHEAD <= RAFT_TRANSPORT_MAX_BYTES;
}

void
raft_transport_send(int node_id, const char *data, size_t len)
{
	RaftTransportPeer *peer = transport_find_peer(node_id);
	int			rc;

	if (peer == NULL)
	{
		TimestampTz now = GetCurrentTimestamp();

		/* A caller bug or a configuration mismatch; say so now and then. */
		if (transport_context == NULL)
			elog(ERROR, "raft_transport_send called before raft_transport_init");
		if (now - transport_unknown_node_logged >= (int64) RAFT_TRANSPORT_LOG_WINDOW_MS * 1000)
		{
			transport_unknown_node_logged = now;
			elog(WARNING, "raft_ext transport: message for unknown node %d dropped", node_id);
		}
		return;
	}

	/* An empty message would be no CopyData at all; the peer refuses it anyway. */
	if (peer->state != RAFT_TRANSPORT_READY || len == 0 ||
		len > RAFT_TRANSPORT_MAX_MESSAGE || !transport_peer_has_room(peer, len))
	{
		peer->messages_dropped++;
		return;
	}

	rc = PQputCopyData(peer->conn, data, (int) len);
	if (rc != 1)
	{
		peer->messages_dropped++;
		/* 0: libpq could not enlarge its buffer (out of memory); -1: broken */
		if (rc < 0)
			transport_peer_fail(peer, GetCurrentTimestamp(), ERRCODE_CONNECTION_FAILURE,
								"could not send to", PQerrorMessage(peer->conn));
		return;
	}
	peer->messages_sent++;
	peer->queued_msgs++;
	peer->queued_bytes += len + RAFT_TRANSPORT_COPYDATA_OVERHEAD;
	peer->flush_pending = true;
}

void
raft_transport_poll(void)
{
	TimestampTz now;

	if (transport_npeers == 0)
		return;
	now = GetCurrentTimestamp();
	for (int i = 0; i < transport_npeers; i++)
		transport_peer_poll(&transport_peers[i], now);
}

int
raft_transport_wait(long timeout_ms, uint32 wait_event_info)
{
	TimestampTz deadline = 0;

	if (transport_context == NULL)
		elog(ERROR, "raft_transport_wait called before raft_transport_init");

	if (timeout_ms >= 0)
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		TimestampTz wake = deadline;
		long		wait_ms;
		int			nevents;
		int			result = 0;

		/* Flush what is queued, start due connections and streams, notice closes. */
		for (int i = 0; i < transport_npeers; i++)
			transport_peer_poll(&transport_peers[i], now);

		for (int i = 0; i < transport_npeers; i++)
		{
			TimestampTz t = transport_peer_next_timer(&transport_peers[i]);

			if (t != 0 && (wake == 0 || t < wake))
				wake = t;
		}
		if (wake == 0)
			wait_ms = -1;
		else
			wait_ms = TimestampDifferenceMilliseconds(now, wake);	/* rounds up */

		transport_refresh_wait_set();
		nevents = WaitEventSetWait(transport_wes, wait_ms, transport_wes_events,
								   RAFT_TRANSPORT_WES_FIXED + transport_npeers,
								   wait_event_info);

		now = GetCurrentTimestamp();
		for (int i = 0; i < nevents; i++)
		{
			WaitEvent  *ev = &transport_wes_events[i];

			if (ev->events & WL_POSTMASTER_DEATH)
				proc_exit(1);
			if (ev->events & WL_LATCH_SET)
				result |= WL_LATCH_SET;
			if (ev->events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
			{
				RaftTransportPeer *peer = (RaftTransportPeer *) ev->user_data;

				result |= ev->events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE);
				if (ev->events & WL_SOCKET_READABLE)
					peer->readable = true;

				/*
				 * Writable: the peer is reading, so output that is still
				 * pending is progress, not a stuck peer (a long catch-up may
				 * keep libpq's buffer from ever emptying for a while).
				 */
				if (ev->events & WL_SOCKET_WRITEABLE)
					peer->stuck_since = 0;
				transport_peer_poll(peer, now);
			}
		}
		if (result != 0)
			return result;
		if (deadline != 0 && now >= deadline)
			return WL_TIMEOUT;
		/* Only a transport timer expired (retry, connect or stall): go round. */
	}
}

bool
raft_transport_take_closed(int node_id)
{
	RaftTransportPeer *peer = transport_find_peer(node_id);
	bool		closed;

	if (peer == NULL)
		return false;
	closed = peer->closed_by_peer;
	peer->closed_by_peer = false;
	return closed;
}

bool
raft_transport_peer_info(int node_id, RaftTransportPeerInfo *out)
{
	RaftTransportPeer *peer = transport_find_peer(node_id);

	if (peer == NULL)
		return false;
	out->node_id = peer->node_id;
	out->connected = peer->state == RAFT_TRANSPORT_READY;
	out->messages_sent = peer->messages_sent;
	out->messages_dropped = peer->messages_dropped;
	out->last_connect_attempt = peer->last_connect_attempt;
	out->last_error = peer->last_error;
	return true;
}

void
raft_transport_shutdown(void)
{
	for (int i = 0; i < transport_npeers; i++)
	{
		RaftTransportPeer *peer = &transport_peers[i];

		/*
		 * Best effort, without blocking (the connection is non-blocking):
		 * hand what is queued to the kernel, ending the stream with CopyDone
		 * so that the peer's backend ends normally before it sees the
		 * Terminate that PQfinish sends.
		 */
		if (peer->state == RAFT_TRANSPORT_READY)
		{
			(void) PQputCopyEnd(peer->conn, NULL);
			(void) PQflush(peer->conn);
		}
		transport_peer_close(peer);
	}
	if (transport_wes)
		FreeWaitEventSet(transport_wes);
	transport_wes = NULL;
	transport_wes_events = NULL;
	transport_wes_dirty = true;
	transport_peers = NULL;
	transport_npeers = 0;
	if (transport_context)
		MemoryContextDelete(transport_context);
	transport_context = NULL;
}

/* ---------------------------------------------------------------------
 * The receiving half: the peers' entry points, run by the backends that
 * serve the other nodes' connections (not by the Raft worker).
 *
 * raft_ext.deliver_stream: what a peer's transport runs once per
 * connection, as CALL raft_ext.deliver_stream().  It answers with
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
 * EXECUTE is checked by CALL; it is revoked from PUBLIC and granted to the
 * peers' role (README).
 *
 * raft_ext.deliver: the same for one message, as a SQL function (tests and
 * manual use).  Pushes the bytes into the shared-memory inbox and wakes the
 * Raft worker; returns at once.  It does not look at the bytes either.
 * --------------------------------------------------------------------- */

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

/* Can the inbox take a message of len bytes at all (both entry points)? */
#define RAFT_DELIVER_SIZE_HINT \
	"Messages must be non-empty and at most half of raft_ext.inbox_size; use the same settings on every node."

static bool
raft_deliver_size_ok(Size len)
{
	return len > 0 && len + sizeof(uint32) + RAFT_INBOX_SENDER_BYTES <= raft_shared->inbox->capacity / 2;
}

/*
 * The node this session speaks for: the member raft_ext.peer_roles maps its
 * login role (session_user) to; 0 when raft_ext.peer_roles is not set (any
 * role allowed to call the entry points speaks for any member).  A role
 * that is not mapped is refused.  The Raft worker refuses every message
 * whose sender is not this node (worker.c).
 */
static uint32
raft_deliver_sender(void)
{
	char	   *role;
	int			node;

	if (!raft_conf_peer_roles_set())
		return 0;
	role = GetUserNameFromId(GetSessionUserId(), false);
	node = raft_conf_node_of_role(role);
	if (node <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("raft_ext: role \"%s\" does not speak for any member", role),
				 errdetail("raft_ext.peer_roles names the one login role each member's messages come from."),
				 errhint("Connect as the role raft_ext.peer_roles gives the sending node.")));
	return (uint32) node;
}

Datum
raft_ext_sql_deliver(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	Size		len = VARSIZE_ANY_EXHDR(b);
	uint32		sender;

	raft_shmem_require();
	sender = raft_deliver_sender();
	if (!raft_deliver_size_ok(len))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raft_ext.deliver: a message of %zu bytes is not accepted", len),
				 errhint(RAFT_DELIVER_SIZE_HINT)));
	if (raft_shmem_inbox_push(sender, VARDATA_ANY(b), len))
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
raft_stream_loop(uint32 sender)
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
				else if (raft_shmem_inbox_push(sender, msg.data, msg.len))
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
	uint32		sender;

	raft_shmem_require();
	sender = raft_deliver_sender();

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

		raft_stream_loop(sender);
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
