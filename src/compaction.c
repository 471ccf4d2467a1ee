/*
 * compaction.c — a bounded log (issue 15, first part).
 *
 * Entries are removed from raft_ext.log, and from the Raft worker's memory,
 * once they are applied on this node and held durably by EVERY member, and
 * are older than the newest raft_ext.log_keep_entries applied ones.  "Held
 * by every member" is what only the leader knows (its matchIndex of each
 * member), so the leader's apply worker posts it as a log entry ("RP": the
 * safe index S = the lowest matchIndex, its own durable index included, and
 * the retention), and every node that applies that entry at index K removes
 * its own entries up to min(S, K - 1) - keep: the same rule everywhere,
 * applied in log order, in the apply transaction that also records where the
 * log now starts (raft_ext.apply_state.log_start_index / _term, read back at
 * start: raft_node_restore).  Then the Raft worker drops the same entries
 * from memory (raft_compact).
 *
 * Why it is safe: an entry is removed only when every member's log holds it
 * (matchIndex is durable on the member, and a committed entry is never
 * truncated), so no leader, now or later, has to send it again — except to
 * a member that loses its state (a wiped or restored data directory), or
 * one that fell more than raft_ext.log_hold_entries behind: a member that
 * is down holds compaction back (its matchIndex does not move) only that
 * far, so that the log does not grow without bound.  Such a member cannot
 * be caught up from the log: its leader sends it InstallSnapshot, it says
 * so (raft_status.snapshot_needed, its server log) and is rebuilt from a
 * copy of a member (README, "Snapshots").
 *
 * Removal is incremental: one entry removes at most RAFT_COMPACT_BATCH rows,
 * and the leader posts one at a time.
 *
 * Outcomes (raft_ext.outcome) are kept for a time, not a count: a client
 * that lost its connection looks its entry up by index or request id for
 * as long as raft_ext.outcome_retention (and at least as long as request
 * ids are remembered, since a retry's answer is the original outcome).
 * Each outcome row carries its entry's stamp (the leader's clock at
 * submission, the same on every node, never going back in log order).  The
 * leader posts an "O" entry with the retention; every node applying it
 * removes, in log order, the longest prefix of its outcomes (at most
 * RAFT_OUTCOME_BATCH rows) older than the "O" entry's own stamp minus the
 * retention: a decision made from the entries alone, so every node removes
 * the same rows at the same place.  The leader posts one when entries were
 * applied since the last one, at most once a minute (or once per
 * retention, when shorter), and again within a second while the last one
 * found a full batch.
 *
 * Locking: raft_shared->compact_to has one writer (the apply worker) and
 * one reader (the Raft worker); the status snapshot is read under
 * status_lock.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#include "checks.h"
#include "compaction.h"
#include "payload.h"
#include "raft/raft.h"
#include "shmem.h"
#include "submit.h"

int			raft_ext_log_keep_entries = 100000;
int			raft_ext_log_hold_entries = 1000000;
int			raft_ext_outcome_retention = 86400;

/* at most this many rows removed by one entry: no long transaction, no bloat spike */
#define RAFT_COMPACT_BATCH 10000
/* a posted entry not seen applied after this long was lost (a leader change): post again */
#define RAFT_COMPACT_REPOST_MS 5000

/* the leader's apply worker */
static uint64 raft_compact_posted_target = 0;	/* what the last posted entry would remove up to */
static TimestampTz raft_compact_posted_at = 0;
/* where this node's log started after the last compaction it applied (pacing only) */
static uint64 raft_compact_pacing_start = 0;

/* the Raft worker */
static uint64 raft_compact_in_memory_to = 0;

/* outcomes removed by one entry, and how often the leader looks */
#define RAFT_OUTCOME_BATCH 10000
#define RAFT_OUTCOME_INTERVAL_MS 60000
#define RAFT_OUTCOME_REPOST_MS 1000

/* the leader's apply worker */
static uint64 raft_outcomes_posted_applied = 0; /* applied index when it last posted */
static TimestampTz raft_outcomes_posted_at = 0;
/* every node: the last "O" entry applied here removed a full batch (more to do) */
static bool raft_outcomes_more = false;

/* Where this node's log starts: entries up to it were removed (SPI connected). */
static uint64
raft_compaction_log_start(void)
{
	bool		isnull;

	if (SPI_execute("SELECT log_start_index FROM raft_ext.apply_state", true, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "raft_ext: could not read raft_ext.apply_state");
	return (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * The lowest index every member is known to hold durably, from the
 * leader's view of its followers (0: not known for every member).
 */
static uint64
raft_compaction_safe_index(uint64 applied, uint32 keep)
{
	uint64		safe = PG_UINT64_MAX;
	uint64		hold = (uint64) raft_ext_log_hold_entries;

	/*
	 * A leader knows no member's match until the member answers it in its
	 * term (0 until then).  One it has not heard from held at least what
	 * the last compaction left: the log's start plus the retention (the
	 * chaos suite's review found a new leader treating every member as
	 * too far behind to wait for, until its first answer).
	 */
	uint64		unheard = pg_atomic_read_u64(&raft_shared->compact_to) + keep;
	int			i;

	LWLockAcquire(raft_shared->status_lock, LW_SHARED);
	if (raft_shared->status.role != RAFT_LEADER || raft_shared->status.npeers == 0)
		safe = 0;
	for (i = 0; safe != 0 && i < raft_shared->status.npeers; i++)
	{
		const RaftPeerStatus *p = &raft_shared->status.peers[i];

		uint64		match = p->match_index != 0 ? p->match_index : unheard;

		if (!p->has_progress)
			safe = 0;
		/* too far behind to wait for: it will be sent a snapshot */
		else if (hold > 0 && match + hold < applied)
			continue;
		else if (p->regressed_from != 0)
			safe = 0;
		else if (match < safe)
			safe = match;
	}
	LWLockRelease(raft_shared->status_lock);
	return safe == PG_UINT64_MAX ? 0 : safe;
}

void
raft_compaction_after_apply(uint64 applied, TimestampTz now)
{
	uint32		keep = (uint32) raft_ext_log_keep_entries;
	uint64		start = raft_compact_pacing_start;
	uint64		step = Max(1, Min(keep / 4, RAFT_COMPACT_BATCH));
	uint64		safe;
	uint64		target;
	StringInfoData buf;

	/*
	 * Called after every batch the leader applies: decide on what this
	 * worker knows (the target is at most applied - keep) before reading
	 * the shared status.
	 */
	if (raft_ext_log_keep_entries <= 0 || applied < start + step + keep)
		return;
	/* one at a time: the last one applied (or lost) first */
	if (raft_compact_posted_target > start &&
		!TimestampDifferenceExceeds(raft_compact_posted_at, now, RAFT_COMPACT_REPOST_MS))
		return;
	safe = Min(raft_compaction_safe_index(applied, keep), applied);
	if (safe <= keep)
		return;
	target = safe - keep;
	/* worth an entry: a quarter of the retention, or a full batch */
	if (target < start + step)
		return;

	initStringInfo(&buf);
	raft_payload_begin(&buf, 'P');
	pq_sendint64(&buf, safe);
	pq_sendint32(&buf, keep);
	raft_checks_post(buf.data, buf.len);
	pfree(buf.data);
	raft_compact_posted_target = Min(target, start + RAFT_COMPACT_BATCH);
	raft_compact_posted_at = now;
}

void
raft_compaction_apply(uint64 index, StringInfo msg)
{
	uint64		safe = (uint64) pq_getmsgint64(msg);
	uint32		keep = pq_getmsgint(msg, 4);
	uint64		start = raft_compaction_log_start();
	uint64		target;
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];
	bool		isnull;
	uint64		term;

	/* only what this node has applied: the entries before this one */
	target = Min(safe, index - 1);
	if (target <= keep)
		return;
	target -= keep;
	if (target > start + RAFT_COMPACT_BATCH)
		target = start + RAFT_COMPACT_BATCH;
	if (target <= start)
		return;

	values[0] = Int64GetDatum((int64) target);
	if (SPI_execute_with_args("SELECT term FROM raft_ext.log WHERE index = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.log");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: log entry %llu, to be compacted, is missing from raft_ext.log",
						(unsigned long long) target)));
	term = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	values[0] = Int64GetDatum((int64) start);
	values[1] = Int64GetDatum((int64) target);
	if (SPI_execute_with_args("DELETE FROM raft_ext.log WHERE index > $1 AND index <= $2",
							  2, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "raft_ext: could not compact raft_ext.log");
	values[0] = Int64GetDatum((int64) target);
	values[1] = Int64GetDatum((int64) term);
	if (SPI_execute_with_args("UPDATE raft_ext.apply_state SET log_start_index = $1, log_start_term = $2",
							  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "raft_ext: could not record where the log starts");

	/*
	 * If this transaction aborts, the Raft worker may already have dropped
	 * these entries from memory: harmless, the table still has them (a
	 * restart loads them), and the entry is applied again.
	 */
	raft_compact_pacing_start = target;
	pg_atomic_write_u64(&raft_shared->compact_to, target);
	raft_shmem_wake_raft_worker();
}

void
raft_compaction_in_memory(void *node)
{
	uint64		to = pg_atomic_read_u64(&raft_shared->compact_to);

	if (to <= raft_compact_in_memory_to)
		return;
	/* EBUSY / EINVAL: a ready is outstanding or apply was not handed it yet; next loop */
	if (raft_compact((raft_node *) node, (raft_index) to) == RAFT_OK)
		raft_compact_in_memory_to = to;
}

void
raft_outcomes_after_apply(uint64 applied, TimestampTz now)
{
	StringInfoData buf;
	uint32		retention;

	if (raft_ext_outcome_retention <= 0)
		return;
	if (raft_outcomes_posted_at == 0)
	{
		/* a new leader (or a restarted one) waits an interval first */
		raft_outcomes_posted_at = now;
		raft_outcomes_posted_applied = applied;
		return;
	}
	/* a full batch last time: go on soon; else only after new entries, once an interval */
	if (raft_outcomes_more)
	{
		if (!TimestampDifferenceExceeds(raft_outcomes_posted_at, now, RAFT_OUTCOME_REPOST_MS))
			return;
	}
	else if (applied <= raft_outcomes_posted_applied + 1 ||
			 !TimestampDifferenceExceeds(raft_outcomes_posted_at, now,
										 Min(RAFT_OUTCOME_INTERVAL_MS,
											 (int64) raft_ext_outcome_retention * 1000)))
		return;
	/* a retry's answer is the original outcome: keep it while its request id is */
	retention = (uint32) Max(raft_ext_outcome_retention, raft_ext_request_id_retention);
	initStringInfo(&buf);
	raft_payload_begin(&buf, 'O');
	/* posted entries go through raft_forward, which stamps nothing: the poster does */
	(void) raft_payload_set_stamp(buf.data, buf.len, now);
	pq_sendint32(&buf, retention);
	raft_checks_post(buf.data, buf.len);
	pfree(buf.data);
	raft_outcomes_posted_applied = applied;
	raft_outcomes_posted_at = now;
	raft_outcomes_more = false;
}

void
raft_outcomes_apply(TimestampTz stamp, StringInfo msg)
{
	uint32		retention = pq_getmsgint(msg, 4);
	Oid			types[2] = {TIMESTAMPTZOID, INT4OID};
	Datum		values[2];
	bool		isnull;
	Datum		upto;
	Datum		full;

	if (stamp == 0 || retention == 0)
		return;

	/*
	 * The longest prefix, in log order, of at most RAFT_OUTCOME_BATCH rows,
	 * ending with a row older than the cutoff and holding no row that is
	 * not (rows recorded before outcomes had a stamp, NULL, go with the
	 * older rows after them).  Reads at most one batch through the primary
	 * key, whatever the table's size.
	 */
	values[0] = TimestampTzGetDatum(stamp - (TimestampTz) retention * USECS_PER_SEC);
	values[1] = Int32GetDatum(RAFT_OUTCOME_BATCH);
	if (SPI_execute_with_args("WITH head AS (SELECT log_index, applied_at FROM raft_ext.outcome "
							  "                ORDER BY log_index LIMIT $2), "
							  "     young AS (SELECT min(log_index) AS i FROM head WHERE applied_at >= $1) "
							  "SELECT max(h.log_index), count(*) = $2 "
							  "FROM head h, young y "
							  "WHERE h.applied_at < $1 AND (y.i IS NULL OR h.log_index < y.i)",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "raft_ext: could not read raft_ext.outcome");
	upto = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	full = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	types[0] = INT8OID;
	values[0] = upto;
	if (SPI_execute_with_args("DELETE FROM raft_ext.outcome WHERE log_index <= $1",
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "raft_ext: could not remove old outcomes");
	raft_outcomes_more = !isnull && DatumGetBool(full);
}
