/*
 * remote.h — a backend's libpq connection to the leader, used by
 * raft_submit on a follower to forward the statement
 * (raft_ext.forward_submit on the leader).
 *
 * Blocking for the caller but interruptible at every moment, whatever the
 * leader does: every wait is a WaitLatchOrSocket loop that honours cancel,
 * statement_timeout, pg_terminate_backend and postmaster death, like
 * libpqwalreceiver and postgres_fdw, and no libpq call can wait inside
 * libpq (non-blocking mode; no PQcancel: see remote.c).
 *
 * Locking: none; the connection is private to the backend (cached across
 * calls, one at a time).
 */
#ifndef RAFT_EXT_REMOTE_H
#define RAFT_EXT_REMOTE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "libpq-fe.h"

#include "outcome.h"

typedef enum RaftRemoteStatus
{
	RAFT_REMOTE_NOT_SENT,		/* could not connect or send: nothing happened */
	RAFT_REMOTE_LOST,			/* sent, then the connection failed: unknown */
	RAFT_REMOTE_REMOTE_ERROR,	/* forward_submit raised an error */
	RAFT_REMOTE_APPLIED,		/* forward_submit: applied; outcome set */
	RAFT_REMOTE_UNKNOWN,		/* forward_submit: may have been appended */
	RAFT_REMOTE_RETRY			/* forward_submit: not appended; leader_id may say who leads */
} RaftRemoteStatus;

typedef struct RaftRemoteResult
{
	RaftRemoteStatus status;
	char	   *error;			/* what happened (forward_submit's problem, or libpq's) */
	bool		timed_out;		/* NOT_SENT / LOST: the deadline passed */

	/* REMOTE_ERROR */
	int			sqlerrcode;
	char	   *detail;
	char	   *hint;

	/* forward_submit's answer */
	int			leader_id;
	RaftOutcome *outcome;		/* APPLIED: the entry's; UNKNOWN: index and term, if known */
} RaftRemoteResult;

/*
 * Call raft_ext.forward_submit(payload, timeout_ms) on node_id (conninfo),
 * giving up at deadline.  Interrupts propagate as errors (after closing the
 * connection, which ends the leader's side); *sent says whether the query
 * had been sent when that happened.
 */
extern void raft_remote_forward(int node_id, const char *conninfo,
								const char *payload, Size len,
								int timeout_ms, TimestampTz deadline,
								RaftRemoteResult *out, volatile bool *sent);

/*
 * The pieces snapshot.c shares: connect (non-blocking from then on, every
 * wait a WaitLatchOrSocket; NULL and *error when it failed or the deadline
 * passed), wait for io (WL_SOCKET_*) until the deadline (false when it
 * passed; interrupts are serviced and may throw), and libpq's last error
 * without its trailing newline.
 */
extern PGconn *raft_remote_connect(const char *conninfo, const char *appname,
								   TimestampTz deadline, char **error);
extern bool raft_remote_wait(PGconn *conn, int io, TimestampTz deadline);
extern char *raft_remote_errmsg(PGconn *conn);

#endif							/* RAFT_EXT_REMOTE_H */
