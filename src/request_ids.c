/*
 * request_ids.c — idempotent submission (see request_ids.h).
 *
 * raft_ext.request_ids (request_id, log_index, applied_at) is replicated
 * state like any table the log writes: every node adds and forgets the same
 * rows at the same entries, so a retried submission is recognised on every
 * node, after a leader change too.  Forgetting is driven by the entries'
 * stamps (the leader's clock, the same everywhere), never by a node's own
 * clock.  The row is written in the apply transaction outside the
 * statement's subtransaction: an entry whose statement failed keeps its id,
 * and its retry gets the same error; an apply transaction that aborts takes
 * the row with it.
 *
 * Locking: none.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "request_ids.h"

bool
raft_request_ids_seen(const char *request_id, uint64 index, TimestampTz stamp,
					  uint32 retention_s, uint64 *original)
{
	Datum		values[3];
	Oid			types[3] = {TEXTOID, INT8OID, TIMESTAMPTZOID};
	bool		isnull;

	values[0] = TimestampTzGetDatum(stamp - (TimestampTz) retention_s * USECS_PER_SEC);
	if (SPI_execute_with_args("DELETE FROM raft_ext.request_ids WHERE applied_at < $1",
							  1, &types[2], values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "raft_ext: could not prune raft_ext.request_ids");

	values[0] = CStringGetTextDatum(request_id);
	if (SPI_execute_with_args("SELECT log_index FROM raft_ext.request_ids WHERE request_id = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.request_ids");
	if (SPI_processed == 1)
	{
		*original = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														 SPI_tuptable->tupdesc, 1, &isnull));
		return true;
	}
	values[1] = Int64GetDatum((int64) index);
	values[2] = TimestampTzGetDatum(stamp);
	if (SPI_execute_with_args("INSERT INTO raft_ext.request_ids (request_id, log_index, applied_at) "
							  "VALUES ($1, $2, $3)", 3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "raft_ext: could not record a request id");
	return false;
}
