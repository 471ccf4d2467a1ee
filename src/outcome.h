/*
 * outcome.h — the outcome of a log entry: what applying it produced, the
 * same on every node.  One type from the apply worker to the client:
 *
 *   apply worker ──RaftOutcome──▶ raft_ext.outcome row (storage.c)
 *                └─encoded──▶ request slot (request.c) ──decoded──▶ backend
 *   leader's backend ──encoded, in forward_submit's row──▶ follower's backend
 *   backend: raft_outcome_raise() (the statement's error) or a result row,
 *            raft_outcome_relay_notices() (what the statement said)
 *
 * Encoding (version 1; integers in network order, as pqformat.c writes them):
 *   "RO" | version (1 byte) | index (8) | term (8) | flags (1: 1 has a tag,
 *   2 has rows) | rows (8) | sqlerrcode (4) | tag, message, detail, hint
 *   (each: int32 length, -1 for none, then the bytes) | notices dropped
 *   (4) | notice count (2), per notice: elevel (4), sqlerrcode (4), message,
 *   detail, hint
 *   version 2 (written only when the entry returned rows to a raft_query
 *   caller) adds: result flags (1: too large, nothing kept), result rows
 *   (8: how many the statement returned), columns (2), kept rows (4), then
 *   per kept row per column: the value's text (string; -1: NULL)
 * Decoding is defensive (the bytes may come over the network from another
 * node): anything malformed is refused with an error, never trusted.
 *
 * Locking: none (pure functions on backend-local memory).
 */
#ifndef RAFT_EXT_OUTCOME_H
#define RAFT_EXT_OUTCOME_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

/*
 * At most this many notices (INFO, NOTICE, WARNING) of one statement are
 * kept, and at most RAFT_OUTCOME_MAX_NOTICE_BYTES of their text; the rest are
 * counted in notices_dropped.
 */
#define RAFT_OUTCOME_MAX_NOTICES 32
#define RAFT_OUTCOME_MAX_NOTICE_BYTES (16 * 1024)

typedef struct RaftNotice
{
	int			elevel;			/* INFO, NOTICE or WARNING */
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
	char	   *hint;
} RaftNotice;

typedef struct RaftOutcome
{
	uint64		index;			/* the entry: log index and term */
	uint64		term;
	TimestampTz stamp;			/* the entry's (leader's clock); 0: none */
	char	   *command_tag;	/* NULL for errors */
	bool		has_rows;
	uint64		rows;
	int			sqlerrcode;		/* 0: success */
	char	   *message;		/* the statement's error, when sqlerrcode != 0 */
	char	   *detail;
	char	   *hint;
	List	   *notices;		/* of RaftNotice *; not recorded in the table */
	uint32		notices_dropped;

	/*
	 * The rows of the last statement (RETURNING, or a SELECT), for a
	 * raft_query caller: text in fixed settings (params.h), row-major, NULL
	 * for SQL NULL.  Not recorded in the table.
	 */
	bool		duplicate;		/* the original outcome of a retried request id */
	bool		has_result;
	bool		result_too_large;	/* beyond raft_ext.max_query_result */
	uint64		result_rows;	/* how many the statement returned */
	int			result_ncols;
	uint32		result_nkept;	/* rows kept (0 when too large) */
	char	  **result_values;	/* result_nkept * result_ncols */
} RaftOutcome;

/* Append o's encoding to buf. */
extern void raft_outcome_encode(StringInfo buf, const RaftOutcome *o);

/* Decode len bytes into *o (palloc'd); ERROR (08P01) when malformed. */
extern void raft_outcome_decode(const char *data, int len, RaftOutcome *o);

/*
 * The outcome's error, raised as the statement raised it, with a context
 * line saying that it was applied, and where.  Returns if sqlerrcode is 0.
 */
extern void raft_outcome_raise(const RaftOutcome *o);

/* Re-raise the statement's notices to this session's client. */
extern void raft_outcome_relay_notices(const RaftOutcome *o);

/* Keep a notice raised while the statement ran (the apply worker). */
extern void raft_outcome_add_notice(RaftOutcome *o, int elevel, int sqlerrcode,
									const char *message, const char *detail,
									const char *hint);

#endif							/* RAFT_EXT_OUTCOME_H */
