/*
 * checks.c — outcome checks and consistency checks (see checks.h).
 *
 * Payloads (after the common header of payload.h; integers in network
 * order, strings as int32 length, -1 for none, then the bytes):
 *   "RC" outcome check: from u64, to u64, n u32, then per outcome in the
 *        range: index u64, sqlerrcode u32 (0: success), has_rows u8,
 *        rows u64, command tag string.
 *   "RV" consistency check: nothing more.
 *   "RR" a node's result of a consistency check: check index u64, node id
 *        u32, n u32, then per table: name string, rows u64, checksum u64;
 *        then a problem string (-1: the node checked; else why it did not).
 *        Built by verify.c, whose worker computes the checksums.
 *
 * Locking: outbox_lock and status_lock through shmem.c.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "checks.h"
#include "membership.h"
#include "compaction.h"
#include "config.h"
#include "payload.h"
#include "raft/raft.h"
#include "request.h"
#include "shmem.h"
#include "submit.h"
#include "skip.h"
#include "verify.h"
#include "workers.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_verify);

/*
 * An outcome check every this many applied entries, and, for the tail of a
 * quieter stream, once raft_ext.outcome_check_interval has passed.
 */
#define RAFT_CHECK_ENTRIES 256

/* A command handed to the Raft worker and not seen applied is posted again. */
#define RAFT_CHECK_REPOST_MS 5000

int			raft_ext_verify_interval = 0;
int			raft_ext_outcome_check_interval = 1000;

/* ---------------------------------------------------------------------
 * Outcome checks
 * --------------------------------------------------------------------- */

/* The apply worker's own state (one process). */
static uint64 raft_check_applied_to = 0;	/* highest "to" of an RC applied */
static uint64 raft_check_last_outcome = 0;	/* highest entry applied with an outcome */
static uint64 raft_check_posted_to = 0; /* highest "to" of an RC posted */
static TimestampTz raft_check_posted_at = 0;
static TimestampTz raft_check_last_at = 0;

/* Consistency-check results posted, not seen applied yet. */
typedef struct RaftPendingResult
{
	uint64		check_index;
	TimestampTz posted_at;
	StringInfoData payload;
} RaftPendingResult;

static List *raft_pending_results = NIL;	/* in TopMemoryContext */

/* The check whose entry this apply transaction applied (0: none). */
static uint64 raft_verify_due = 0;

void
raft_checks_post(const char *data, Size len)
{
	if (raft_shmem_outbox_push(data, len))
		raft_shmem_wake_raft_worker();
}

void
raft_checks_put_string(StringInfo buf, const char *s)
{
	if (s == NULL)
	{
		pq_sendint32(buf, (uint32) -1);
		return;
	}
	pq_sendint32(buf, (uint32) strlen(s));
	appendBinaryStringInfo(buf, s, strlen(s));
}

char *
raft_checks_get_string(StringInfo msg)
{
	int32		len = (int32) pq_getmsgint(msg, 4);
	char	   *s;

	if (len == -1)
		return NULL;
	if (len < 0 || len > msg->len - msg->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: malformed check entry")));
	s = palloc(len + 1);
	pq_copymsgbytes(msg, s, len);
	s[len] = '\0';
	return s;
}

/* One outcome as a check carries it, and its text for a message. */
typedef struct RaftCheckedOutcome
{
	uint64		index;
	int			sqlerrcode;
	bool		has_rows;
	uint64		rows;
	char	   *tag;
} RaftCheckedOutcome;

static char *
raft_checks_describe(const RaftCheckedOutcome *c)
{
	if (c == NULL)
		return pstrdup("no outcome");
	if (c->sqlerrcode != 0)
		return psprintf("error %s", unpack_sql_state(c->sqlerrcode));
	if (c->has_rows)
		return psprintf("%s %llu", c->tag ? c->tag : "?", (unsigned long long) c->rows);
	return pstrdup(c->tag ? c->tag : "?");
}

/* This node's recorded outcomes of entries from..to (SPI connected). */
static RaftCheckedOutcome *
raft_checks_local_outcomes(uint64 from, uint64 to, int *n)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];
	RaftCheckedOutcome *out;
	uint64		i;

	values[0] = Int64GetDatum((int64) from);
	values[1] = Int64GetDatum((int64) to);
	if (SPI_execute_with_args("SELECT log_index, sqlstate, command_tag, rows FROM raft_ext.outcome "
							  "WHERE log_index BETWEEN $1 AND $2 ORDER BY log_index",
							  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.outcome");
	out = palloc0(sizeof(RaftCheckedOutcome) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *state;
		Datum		d;

		out[i].index = (uint64) DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		state = SPI_getvalue(tup, desc, 2);
		out[i].sqlerrcode = (state && strlen(state) == 5) ?
			MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]) : 0;
		out[i].tag = SPI_getvalue(tup, desc, 3);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		out[i].has_rows = !isnull;
		out[i].rows = isnull ? 0 : (uint64) DatumGetInt64(d);
	}
	*n = (int) SPI_processed;
	return out;
}

static bool
raft_checks_same(const RaftCheckedOutcome *a, const RaftCheckedOutcome *b)
{
	if (a->sqlerrcode != b->sqlerrcode)
		return false;
	if (a->sqlerrcode != 0)
		return true;			/* the same error: messages may be translated */
	return a->has_rows == b->has_rows && a->rows == b->rows &&
		strcmp(a->tag ? a->tag : "", b->tag ? b->tag : "") == 0;
}

static void
raft_checks_diverged(uint64 check_index, uint64 at, const RaftCheckedOutcome *here,
					 const RaftCheckedOutcome *leader)
{
	char	   *what = psprintf("diverged at log entry %llu: here %s, on the leader %s",
								(unsigned long long) at, raft_checks_describe(here),
								raft_checks_describe(leader));

	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	raft_shared->status.apply_diverged_index = at;
	LWLockRelease(raft_shared->status_lock);
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("raft_ext: this node %s", what),
			 errdetail("The outcome check of log entry %llu compared this node's outcomes with the leader's. A node that does not agree with the leader stops applying.",
					   (unsigned long long) check_index),
			 errhint("Rebuild this node from a copy of a healthy one (README, \"Repairing a node\").")));
}

/* An "RC" entry: compare the leader's outcomes with ours. */
static void
raft_checks_apply_outcomes(uint64 check_index, StringInfo msg)
{
	uint64		from = (uint64) pq_getmsgint64(msg);
	uint64		to = (uint64) pq_getmsgint64(msg);
	uint32		n = pq_getmsgint(msg, 4);
	RaftCheckedOutcome *theirs;
	RaftCheckedOutcome *ours;
	int			nours;
	uint32		i;
	int			j = 0;

	if (n > (uint32) (msg->len - msg->cursor) / 17 || from > to || to >= check_index)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: malformed outcome check at log entry %llu",
						(unsigned long long) check_index)));
	theirs = palloc0(sizeof(RaftCheckedOutcome) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		theirs[i].index = (uint64) pq_getmsgint64(msg);
		theirs[i].sqlerrcode = (int) pq_getmsgint(msg, 4);
		theirs[i].has_rows = pq_getmsgbyte(msg) != 0;
		theirs[i].rows = (uint64) pq_getmsgint64(msg);
		theirs[i].tag = raft_checks_get_string(msg);
	}
	ours = raft_checks_local_outcomes(from, to, &nours);

	/* both lists are in index order: walk them together */
	for (i = 0; i < n || j < nours;)
	{
		if (i < n && (j >= nours || theirs[i].index < ours[j].index))
		{
			raft_checks_diverged(check_index, theirs[i].index, NULL, &theirs[i]);
			i++;
		}
		else if (j < nours && (i >= n || ours[j].index < theirs[i].index))
		{
			raft_checks_diverged(check_index, ours[j].index, &ours[j], NULL);
			j++;
		}
		else
		{
			if (!raft_checks_same(&ours[j], &theirs[i]))
				raft_checks_diverged(check_index, ours[j].index, &ours[j], &theirs[i]);
			i++;
			j++;
		}
	}
	if (to > raft_check_applied_to)
		raft_check_applied_to = to;
}

/* The leader's apply worker: post an outcome check for what it applied since the last. */
static void
raft_checks_post_outcomes(uint64 applied)
{
	uint64		from = Max(raft_check_applied_to, raft_check_posted_to) + 1;
	StringInfoData buf;
	RaftCheckedOutcome *ours;
	int			n;
	int			i;

	if (from > applied)
		return;
	if (applied - from + 1 > 4 * RAFT_CHECK_ENTRIES)
		from = applied - 4 * RAFT_CHECK_ENTRIES + 1;	/* a leader new to the job */
	raft_xact_begin();
	ours = raft_checks_local_outcomes(from, applied, &n);
	initStringInfo(&buf);
	raft_payload_begin(&buf, 'C');
	pq_sendint64(&buf, from);
	pq_sendint64(&buf, applied);
	pq_sendint32(&buf, (uint32) n);
	for (i = 0; i < n; i++)
	{
		pq_sendint64(&buf, ours[i].index);
		pq_sendint32(&buf, (uint32) ours[i].sqlerrcode);
		pq_sendbyte(&buf, ours[i].has_rows ? 1 : 0);
		pq_sendint64(&buf, ours[i].rows);
		raft_checks_put_string(&buf, ours[i].tag);
	}
	raft_xact_commit();
	raft_checks_post(buf.data, buf.len);
	raft_check_posted_to = applied;
	raft_check_posted_at = GetCurrentTimestamp();
}

/* ---------------------------------------------------------------------
 * Consistency checks
 * --------------------------------------------------------------------- */

/*
 * An "RV" entry: record the check.  The checksums are taken by the check's
 * worker once this entry's transaction has committed (verify.c), so the
 * apply transaction ends with this entry.
 */
static void
raft_checks_apply_verify(uint64 check_index, TimestampTz stamp, RaftOutcome *o)
{
	Oid			types[3] = {INT8OID, TIMESTAMPTZOID, INT4OID};
	Datum		values[3];

	values[0] = Int64GetDatum((int64) check_index);
	values[1] = TimestampTzGetDatum(stamp != 0 ? stamp : GetCurrentTransactionStartTimestamp());
	values[2] = Int32GetDatum(raft_members_count_applied());
	if (SPI_execute_with_args("INSERT INTO raft_ext.consistency_check (log_index, checked_at, members) "
							  "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
							  3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "raft_ext: could not record the consistency check");
	raft_verify_due = check_index;

	o->command_tag = pstrdup("RAFT VERIFY");
	o->has_rows = false;
}

/* Our result of a check: posted until seen applied. */
static void
raft_checks_pend_result(StringInfo payload)
{
	StringInfoData msg = *payload;
	MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	RaftPendingResult *pending = palloc0(sizeof(RaftPendingResult));

	msg.cursor = RAFT_PAYLOAD_HEADER_LEN;
	pending->check_index = (uint64) pq_getmsgint64(&msg);
	initStringInfo(&pending->payload);
	appendBinaryStringInfo(&pending->payload, payload->data, payload->len);
	raft_pending_results = lappend(raft_pending_results, pending);
	MemoryContextSwitchTo(oldcxt);
}

/* An "RR" entry: one node's result of a consistency check. */
static void
raft_checks_apply_result(StringInfo msg)
{
	uint64		check_index = (uint64) pq_getmsgint64(msg);
	int32		node = (int32) pq_getmsgint(msg, 4);
	uint32		n = pq_getmsgint(msg, 4);
	uint32		i;
	Oid			types[5] = {INT8OID, INT4OID, TEXTOID, INT8OID, TEXTOID};
	Oid			types_problem[3] = {INT8OID, INT4OID, TEXTOID};
	char	   *problem;
	ListCell   *lc;

	for (i = 0; i < n; i++)
	{
		Datum		values[5];
		char	   *name = raft_checks_get_string(msg);
		uint64		rows = (uint64) pq_getmsgint64(msg);
		uint64		sum = (uint64) pq_getmsgint64(msg);

		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("raft_ext: malformed consistency check result")));
		values[0] = Int64GetDatum((int64) check_index);
		values[1] = Int32GetDatum(node);
		values[2] = CStringGetTextDatum(name);
		values[3] = Int64GetDatum((int64) rows);
		values[4] = CStringGetTextDatum(psprintf("%llu:%016llx", (unsigned long long) rows,
												 (unsigned long long) sum));
		if (SPI_execute_with_args("INSERT INTO raft_ext.consistency (log_index, node_id, table_name, row_count, checksum) "
								  "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
								  5, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "raft_ext: could not record a consistency check result");
	}
	problem = raft_checks_get_string(msg);

	/*
	 * A node that had no table to check still says it checked, and one that
	 * could not check says why: table ''.
	 */
	if (n == 0 || problem != NULL)
	{
		Datum		values[3];
		char		nulls[3] = {' ', ' ', problem ? ' ' : 'n'};

		values[0] = Int64GetDatum((int64) check_index);
		values[1] = Int32GetDatum(node);
		values[2] = problem ? CStringGetTextDatum(problem) : (Datum) 0;
		if (SPI_execute_with_args("INSERT INTO raft_ext.consistency (log_index, node_id, table_name, problem) "
								  "VALUES ($1, $2, '', $3) ON CONFLICT DO NOTHING",
								  3, types_problem, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "raft_ext: could not record a consistency check result");
	}

	/* ours is through: stop posting it */
	if (node == raft_ext_node_id)
	{
		foreach(lc, raft_pending_results)
		{
			RaftPendingResult *p = (RaftPendingResult *) lfirst(lc);

			if (p->check_index == check_index)
			{
				raft_pending_results = foreach_delete_current(raft_pending_results, lc);
				pfree(p->payload.data);
				pfree(p);
			}
		}
	}
}

bool
raft_checks_apply(uint64 index, const char *payload, Size len, TimestampTz stamp, RaftOutcome *o)
{
	StringInfoData msg;
	char		kind = raft_payload_kind(payload, len);

	if (len < RAFT_PAYLOAD_HEADER_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: malformed check entry at log entry %llu",
						(unsigned long long) index)));
	msg.data = (char *) payload;
	msg.len = (int) len;
	msg.maxlen = (int) len;
	msg.cursor = RAFT_PAYLOAD_HEADER_LEN;
	switch (kind)
	{
		case 'C':
			raft_checks_apply_outcomes(index, &msg);
			return false;
		case 'V':
			raft_checks_apply_verify(index, stamp, o);
			return true;
		case 'R':
			raft_checks_apply_result(&msg);
			return false;
		case 'P':
			raft_compaction_apply(index, &msg);
			return false;
		case 'O':
			raft_outcomes_apply(stamp, &msg);
			return false;
		case 'K':
			raft_skip_apply_decision(index, &msg, o);
			return true;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("raft_ext: log entry %llu has a payload kind this version cannot apply",
							(unsigned long long) index),
					 errhint("Upgrade raft_ext on this node.")));
	}
	return false;
}

bool
raft_checks_ends_batch(uint64 index)
{
	return raft_verify_due == index;
}

void
raft_checks_note_outcome(uint64 index)
{
	if (index > raft_check_last_outcome)
		raft_check_last_outcome = index;
}

void
raft_checks_start(uint64 applied)
{
	raft_check_applied_to = applied;
	raft_check_posted_to = 0;
}

void
raft_checks_after_apply(uint64 applied)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		leader;
	ListCell   *lc;
	StringInfoData result;

	/* a consistency check: its worker's result, and the next one's start */
	if (raft_verify_collect(&result))
		raft_checks_pend_result(&result);
	if (raft_verify_due != 0 && raft_verify_due <= applied)
	{
		if (!raft_verify_start(raft_verify_due, &result))
			raft_checks_pend_result(&result);
		raft_verify_due = 0;
	}

	/* our consistency-check results, until they are seen applied */
	foreach(lc, raft_pending_results)
	{
		RaftPendingResult *p = (RaftPendingResult *) lfirst(lc);

		if (p->posted_at == 0 || TimestampDifferenceExceeds(p->posted_at, now, RAFT_CHECK_REPOST_MS))
		{
			raft_checks_post(p->payload.data, p->payload.len);
			p->posted_at = now;
		}
	}

	LWLockAcquire(raft_shared->status_lock, LW_SHARED);
	leader = raft_shared->status.role == RAFT_LEADER;
	LWLockRelease(raft_shared->status_lock);
	if (!leader)
		return;
	raft_compaction_after_apply(applied, now);
	raft_outcomes_after_apply(applied, now);
	/* a posted check that never came back (a leader change ate it): again */
	if (raft_check_posted_to > raft_check_applied_to &&
		TimestampDifferenceExceeds(raft_check_posted_at, now, RAFT_CHECK_REPOST_MS))
		raft_check_posted_to = raft_check_applied_to;
	if (raft_check_posted_to > raft_check_applied_to)
		return;					/* one in flight */
	/*
	 * Only entries with an outcome need checking: an outcome check's own
	 * entry has none, and counting it would have an idle leader append a
	 * check every interval, forever.
	 */
	if (raft_check_last_outcome <= raft_check_applied_to)
		return;
	if (applied >= raft_check_applied_to + RAFT_CHECK_ENTRIES ||
		(raft_ext_outcome_check_interval > 0 &&
		 TimestampDifferenceExceeds(raft_check_last_at, now, raft_ext_outcome_check_interval)))
	{
		raft_checks_post_outcomes(applied);
		raft_check_last_at = now;
	}
}

/* ---------------------------------------------------------------------
 * The Raft worker's side
 * --------------------------------------------------------------------- */

void
raft_checks_drain_outbox(void *node)
{
	char	   *buf;
	Size		len = raft_shmem_outbox_drain(&buf, 4 * 1024 * 1024);

	while (len >= sizeof(uint32))
	{
		uint32		mlen;

		memcpy(&mlen, buf, sizeof(uint32));
		buf += sizeof(uint32);
		len -= sizeof(uint32);
		if (mlen > len)
			break;
		/* a leader appends it, a follower sends it there; lost: posted again */
		(void) raft_forward((raft_node *) node, buf, mlen);
		buf += mlen;
		len -= mlen;
	}
}

void
raft_checks_maybe_verify(void *node)
{
	static TimestampTz last = 0;
	TimestampTz now;
	StringInfoData buf;

	if (raft_ext_verify_interval <= 0 ||
		raft_leader((raft_node *) node) != (raft_node_id) raft_ext_node_id)
		return;
	now = GetCurrentTimestamp();
	if (last == 0)
		last = now;
	if (!TimestampDifferenceExceeds(last, now, raft_ext_verify_interval * 1000))
		return;
	last = now;
	initStringInfo(&buf);
	raft_payload_begin(&buf, 'V');
	(void) raft_payload_set_stamp(buf.data, buf.len, now);
	(void) raft_propose((raft_node *) node, buf.data, buf.len, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * raft_verify()
 * --------------------------------------------------------------------- */
Datum
raft_ext_sql_verify(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	RaftOutcome *o;

	raft_shmem_require();
	initStringInfo(&buf);
	raft_payload_begin(&buf, 'V');
	o = raft_submit_command(buf.data, buf.len);
	raft_outcome_raise(o);
	PG_RETURN_INT64((int64) o->index);
}
