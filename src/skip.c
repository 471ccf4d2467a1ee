/*
 * skip.c — raft_skip_entry() (see skip.h for how a decision reaches every
 * node before the entry it ends).
 *
 * Payload "RK" (after the common header of payload.h; network order):
 * the entry to skip, u64; the role that decided, string (checks.c's
 * encoding).
 *
 * Locking: raft_shared->mutex for skip_index / skip_decided_at / skip_role;
 * apply_running is an atomic written by the apply worker only.
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "checks.h"
#include "payload.h"
#include "raft/raft.h"
#include "request.h"
#include "shmem.h"
#include "skip.h"
#include "submit.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_skip_entry);

#define RAFT_SKIP_SQLSTATE ERRCODE_OPERATOR_INTERVENTION	/* 57000 */

static bool
raft_skip_decode(const char *payload, Size len, uint64 *target, char **role)
{
	StringInfoData msg;

	if (raft_payload_kind(payload, len) != 'K' || len < RAFT_PAYLOAD_HEADER_LEN + 8 + 4)
		return false;
	msg.data = (char *) payload;
	msg.len = (int) len;
	msg.maxlen = (int) len;
	msg.cursor = RAFT_PAYLOAD_HEADER_LEN;
	*target = (uint64) pq_getmsgint64(&msg);
	*role = raft_checks_get_string(&msg);
	return *role != NULL && msg.cursor == msg.len;
}

void
raft_skip_check_on_leader(const char *payload, Size len)
{
	RaftStatusSnapshot *st = palloc(sizeof(RaftStatusSnapshot));
	uint64		target;
	char	   *role;
	uint64		applied = pg_atomic_read_u64(&raft_shared->last_applied);
	bool		isnull;
	Datum		values[1];
	Oid			types[1] = {INT8OID};

	if (!raft_skip_decode(payload, len, &target, &role))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("raft_skip_entry: malformed decision")));
	raft_request_status(st);
	if (target == 0 || target > st->commit_index)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_skip_entry: log entry %llu is not committed", (unsigned long long) target),
				 errdetail("The leader's commit index is %llu.", (unsigned long long) st->commit_index),
				 errhint("Only a committed entry that blocks apply can be skipped: see raft_status.apply_stalled_index.")));
	if (applied >= target)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_skip_entry: log entry %llu is already applied on the leader", (unsigned long long) target),
				 errdetail("Skipping it now would leave the nodes that applied it different from the others."),
				 errhint("Its outcome is in raft_ext.outcome.")));
	if (applied + 1 < target)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_skip_entry: the leader has not reached log entry %llu yet (it has applied up to %llu)",
						(unsigned long long) target, (unsigned long long) applied),
				 errhint("Skip the entry that blocks: raft_status.apply_stalled_index, or the entry raft_status shows running.")));

	/* a statement, not a no-op, a check or another decision */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "raft_ext: SPI_connect failed");
	values[0] = Int64GetDatum((int64) target);
	if (SPI_execute_with_args("SELECT type = 0 AND substr(payload, 1, 2) = '\\x5258'::bytea FROM raft_ext.log WHERE index = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.log");
	if (SPI_processed != 1 ||
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_skip_entry: log entry %llu is not a statement", (unsigned long long) target),
				 errhint("Only statements submitted with raft_submit can be skipped.")));
	SPI_finish();
}

void
raft_skip_note_committed(const char *payload, Size len, uint64 index)
{
	uint64		target;
	char	   *role;
	int			apply_pid;

	if (raft_payload_kind(payload, len) != 'K' || !raft_skip_decode(payload, len, &target, &role) ||
		target >= index || target <= pg_atomic_read_u64(&raft_shared->last_applied))
		return;
	SpinLockAcquire(&raft_shared->mutex);
	raft_shared->skip_index = target;
	raft_shared->skip_decided_at = index;
	strlcpy(raft_shared->skip_role, role, NAMEDATALEN);
	SpinLockRelease(&raft_shared->mutex);

	/* running it: cancel it (raft_skip_this then ends it); waiting: wake up */
	LWLockAcquire(raft_shared->status_lock, LW_SHARED);
	apply_pid = raft_shared->status.apply_pid;
	LWLockRelease(raft_shared->status_lock);
	if (apply_pid != 0 && pg_atomic_read_u64(&raft_shared->apply_running) == target)
		(void) kill(apply_pid, SIGINT);
	raft_shmem_wake_apply_worker();
	ereport(LOG,
			(errmsg("raft_ext: log entry %llu is skipped by the decision of log entry %llu (role %s)",
					(unsigned long long) target, (unsigned long long) index, role)));
}

void
raft_skip_set_running(uint64 index)
{
	pg_atomic_write_u64(&raft_shared->apply_running, index);
}

bool
raft_skip_this(uint64 index, RaftOutcome *o)
{
	uint64		decided_at;
	char		role[NAMEDATALEN];
	Datum		values[3];
	Oid			types[3] = {INT8OID, INT8OID, TEXTOID};

	SpinLockAcquire(&raft_shared->mutex);
	if (raft_shared->skip_index != index)
	{
		SpinLockRelease(&raft_shared->mutex);
		return false;
	}
	decided_at = raft_shared->skip_decided_at;
	strlcpy(role, raft_shared->skip_role, NAMEDATALEN);
	SpinLockRelease(&raft_shared->mutex);

	o->sqlerrcode = RAFT_SKIP_SQLSTATE;
	o->command_tag = NULL;
	o->has_rows = false;
	o->rows = 0;
	o->message = psprintf("log entry %llu was skipped by operator", (unsigned long long) index);
	o->detail = psprintf("raft_skip_entry(%llu) by role \"%s\", decided at log entry %llu; the statement had no effect on any node.",
						 (unsigned long long) index, role, (unsigned long long) decided_at);
	o->hint = NULL;
	values[0] = Int64GetDatum((int64) index);
	values[1] = Int64GetDatum((int64) decided_at);
	values[2] = CStringGetTextDatum(role);
	if (SPI_execute_with_args("INSERT INTO raft_ext.skipped (log_index, decided_at, decided_by) VALUES ($1, $2, $3) "
							  "ON CONFLICT DO NOTHING", 3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "raft_ext: could not record a skipped entry");
	return true;
}

void
raft_skip_apply_decision(uint64 index, StringInfo msg, RaftOutcome *o)
{
	uint64		target;
	char	   *role;
	Datum		values[1];
	Oid			types[1] = {INT8OID};

	if (!raft_skip_decode(msg->data, msg->len, &target, &role))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: malformed skip decision at log entry %llu", (unsigned long long) index)));
	values[0] = Int64GetDatum((int64) target);
	if (SPI_execute_with_args("SELECT 1 FROM raft_ext.skipped WHERE log_index = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.skipped");
	if (SPI_processed == 1)
	{
		o->command_tag = pstrdup("RAFT SKIP");
		return;
	}
	/* it ran here before the decision arrived: the outcome check will see it */
	o->sqlerrcode = ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
	o->message = psprintf("log entry %llu had already been applied on this node when its skip was decided",
						  (unsigned long long) target);
}

/* ---------------------------------------------------------------------
 * raft_skip_entry(log_index bigint) returns bigint
 * --------------------------------------------------------------------- */
Datum
raft_ext_sql_skip_entry(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	RaftOutcome *o;
	int64		target;

	raft_shmem_require();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("raft_skip_entry: the log index must not be NULL")));
	target = PG_GETARG_INT64(0);
	if (target <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_skip_entry: log index %lld is not valid", (long long) target)));
	initStringInfo(&buf);
	raft_payload_begin(&buf, 'K');
	pq_sendint64(&buf, (uint64) target);
	raft_checks_put_string(&buf, GetUserNameFromId(GetUserId(), false));
	o = raft_submit_command(buf.data, buf.len);
	raft_outcome_raise(o);
	PG_RETURN_INT64((int64) o->index);
}
