/*
 * submit.h — appending a command and waiting for its outcome, from a
 * backend: what raft_submit does with a statement, for other commands too
 * (raft_verify's consistency check).
 *
 * Locking: through request.c.
 */
#ifndef RAFT_EXT_SUBMIT_H
#define RAFT_EXT_SUBMIT_H

#include "postgres.h"

#include "fmgr.h"

#include "outcome.h"
#include "params.h"

/*
 * Have the payload appended (here on the leader, else forwarded to it) and
 * applied here; returns its outcome.  Refuses a call inside a transaction
 * block or from another database; raises 57014 / 40003 as raft_submit does.
 */
extern RaftOutcome *raft_submit_command(const char *payload, Size len);

/*
 * raft_submit / raft_query: check the call (sql, VARIADIC params), append
 * the statement with flags (RAFT_PAYLOAD_*), wait, relay its notices and
 * raise its error; returns its outcome.
 */
extern RaftOutcome *raft_submit_statement(const char *fname, const char *sql, Size len,
											int nparams, RaftParam *params, uint8 flags,
											const char *request_id);

extern RaftOutcome *raft_submit_sql_call(FunctionCallInfo fcinfo, uint8 flags);

/* raft_ext.request_id_retention, in seconds. */
extern int	raft_ext_request_id_retention;

#endif							/* RAFT_EXT_SUBMIT_H */
