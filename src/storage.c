/*
 * storage.c — the Raft log, hard state and apply state in the extension's
 * tables, through SPI.  Table layout: see storage.h and raft_ext--1.0.sql.
 *
 * Durability: raft_storage_persist() commits with synchronous_commit =
 * local (a local WAL flush, and no wait for physical standbys, which have
 * nothing to do with Raft), whatever the server's setting, so an entry or a
 * vote is durable before any message that depends on it is sent.
 *
 * Locking: none of our own; see storage.h.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "storage/ipc.h"

#include "config.h"
#include "storage.h"

static SPIPlanPtr raft_storage_insert_plan = NULL;
static SPIPlanPtr raft_storage_insert_many_plan = NULL;
static SPIPlanPtr raft_storage_delete_plan = NULL;
static SPIPlanPtr raft_storage_hard_state_plan = NULL;
static SPIPlanPtr raft_storage_read_range_plan = NULL;
static SPIPlanPtr raft_storage_set_applied_plan = NULL;
static SPIPlanPtr raft_storage_outcomes_plan = NULL;
static SPIPlanPtr raft_storage_outcome_plan = NULL;
static SPIPlanPtr raft_storage_get_outcome_plan = NULL;

static SPIPlanPtr
raft_storage_prepare_opts(const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

	if (plan == NULL)
		elog(ERROR, "raft_ext: SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "raft_ext: SPI_keepplan failed");
	return plan;
}

static SPIPlanPtr
raft_storage_prepare(const char *sql, int nargs, Oid *argtypes)
{
	return raft_storage_prepare_opts(sql, nargs, argtypes, 0);
}

/*
 * CommitTransactionCommand() leaves CurrentMemoryContext at
 * TopMemoryContext; the workers' loops allocate in their own per-iteration
 * contexts, so every transaction here gives the caller's context back.
 */
static MemoryContext raft_storage_caller_cxt = NULL;

static void
raft_storage_begin(void)
{
	raft_storage_caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "raft_ext: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
raft_storage_commit(void)
{
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "raft_ext: SPI_finish failed");
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(raft_storage_caller_cxt);
}

Oid
raft_storage_extension_oid(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			oid;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	oid = get_extension_oid("raft_ext", true);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return oid;
}

Oid
raft_storage_wait_for_extension(void)
{
	bool		logged = false;

	for (;;)
	{
		Oid			oid;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		oid = raft_storage_extension_oid();
		if (OidIsValid(oid))
			return oid;
		if (!logged)
		{
			ereport(LOG,
					(errmsg("raft_ext: waiting for CREATE EXTENSION raft_ext in database \"%s\"",
							raft_ext_database)));
			logged = true;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

void
raft_storage_check_extension(Oid ext_oid, TimestampTz *checked_at)
{
	TimestampTz now = GetCurrentTimestamp();

	if (*checked_at != 0 && !TimestampDifferenceExceeds(*checked_at, now, 1000))
		return;
	*checked_at = now;
	if (raft_storage_extension_oid() != ext_oid)
	{
		ereport(LOG,
				(errmsg("raft_ext: extension raft_ext was dropped or re-created; restarting the worker")));
		proc_exit(1);
	}
}

void
raft_storage_load(RaftStoredState *out)
{
	MemoryContext callercxt = CurrentMemoryContext;
	Portal		portal;
	int			ret;
	size_t		cap = 1024;
	bool		isnull;

	memset(out, 0, sizeof(*out));
	raft_storage_begin();

	ret = SPI_execute("SELECT current_term, voted_for FROM raft_ext.hard_state", true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: raft_ext.hard_state must hold exactly one row"),
				 errhint("Recreate the extension on this node, or restore the row.")));
	out->hard_state.currentTerm = (raft_term)
		DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	out->hard_state.votedFor = (raft_node_id)
		DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	out->last_applied = raft_storage_get_last_applied();

	out->entries = MemoryContextAlloc(callercxt, cap * sizeof(raft_entry));
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT index, term, type, payload FROM raft_ext.log ORDER BY index",
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			raft_entry *e;
			Datum		d;

			if (out->nentries == cap)
			{
				cap *= 2;
				out->entries = repalloc_huge(out->entries, cap * sizeof(raft_entry));
			}
			e = &out->entries[out->nentries];
			e->index = (raft_index) DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			e->term = (raft_term) DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			e->type = (uint8_t) DatumGetInt16(SPI_getbinval(tup, desc, 3, &isnull));
			d = SPI_getbinval(tup, desc, 4, &isnull);
			if (isnull)
			{
				e->len = 0;
				e->data = NULL;
			}
			else
			{
				bytea	   *b = DatumGetByteaPP(d);
				Size		len = VARSIZE_ANY_EXHDR(b);
				char	   *copy = MemoryContextAllocHuge(callercxt, len > 0 ? len : 1);

				memcpy(copy, VARDATA_ANY(b), len);
				e->len = (uint32_t) len;
				e->data = len > 0 ? copy : NULL;
			}
			if (e->index != out->nentries + 1)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("raft_ext: the Raft log has a gap: expected index %llu, found %llu",
								(unsigned long long) (out->nentries + 1),
								(unsigned long long) e->index)));
			out->nentries++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	raft_storage_commit();
}

/* Append one entry to raft_ext.log (inside raft_storage_persist). */
static void
raft_storage_insert_one(const raft_entry *e)
{
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bytea	   *b = NULL;

	if (raft_storage_insert_plan == NULL)
	{
		Oid			types[4] = {INT8OID, INT8OID, INT2OID, BYTEAOID};

		raft_storage_insert_plan = raft_storage_prepare(
														"INSERT INTO raft_ext.log(index, term, type, payload) VALUES ($1, $2, $3, $4)",
														4, types);
	}
	values[0] = Int64GetDatum((int64) e->index);
	values[1] = Int64GetDatum((int64) e->term);
	values[2] = Int16GetDatum((int16) e->type);
	if (e->len > 0)
	{
		b = palloc(VARHDRSZ + e->len);
		SET_VARSIZE(b, VARHDRSZ + e->len);
		memcpy(VARDATA(b), e->data, e->len);
		values[3] = PointerGetDatum(b);
	}
	else
	{
		values[3] = (Datum) 0;
		nulls[3] = 'n';
	}
	if (SPI_execute_plan(raft_storage_insert_plan, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "raft_ext: could not append to the log");
	if (b)
		pfree(b);
}

/*
 * Append n > 1 entries with one INSERT ... SELECT FROM ROWS FROM (unnest...):
 * one executor run for the batch instead of one per entry.
 */
static void
raft_storage_insert_many(const raft_entry *entries, size_t n)
{
	Datum	   *idx = palloc(sizeof(Datum) * n);
	Datum	   *term = palloc(sizeof(Datum) * n);
	Datum	   *type = palloc(sizeof(Datum) * n);
	Datum	   *payload = palloc(sizeof(Datum) * n);
	bool	   *payload_null = palloc(sizeof(bool) * n);
	int			dims[1];
	int			lbs[1] = {1};
	Datum		values[4];
	size_t		i;

	if (raft_storage_insert_many_plan == NULL)
	{
		Oid			types[4] = {INT8ARRAYOID, INT8ARRAYOID, INT2ARRAYOID, BYTEAARRAYOID};

		raft_storage_insert_many_plan = raft_storage_prepare(
															 "INSERT INTO raft_ext.log(index, term, type, payload) "
															 "SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
															 "pg_catalog.unnest($3), pg_catalog.unnest($4))",
															 4, types);
	}
	for (i = 0; i < n; i++)
	{
		const raft_entry *e = &entries[i];

		idx[i] = Int64GetDatum((int64) e->index);
		term[i] = Int64GetDatum((int64) e->term);
		type[i] = Int16GetDatum((int16) e->type);
		payload_null[i] = (e->len == 0);
		payload[i] = (Datum) 0;
		if (e->len > 0)
		{
			bytea	   *b = palloc(VARHDRSZ + e->len);

			SET_VARSIZE(b, VARHDRSZ + e->len);
			memcpy(VARDATA(b), e->data, e->len);
			payload[i] = PointerGetDatum(b);
		}
	}
	dims[0] = (int) n;
	values[0] = PointerGetDatum(construct_array(idx, (int) n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(term, (int) n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_array(type, (int) n, INT2OID, 2, true, TYPALIGN_SHORT));
	values[3] = PointerGetDatum(construct_md_array(payload, payload_null, 1, dims, lbs,
												   BYTEAOID, -1, false, TYPALIGN_INT));
	if (SPI_execute_plan(raft_storage_insert_many_plan, values, NULL, false, 0) != SPI_OK_INSERT ||
		SPI_processed != n)
		elog(ERROR, "raft_ext: could not append to the log");
	for (i = 0; i < n; i++)
		if (!payload_null[i])
			pfree(DatumGetPointer(payload[i]));
	pfree(idx);
	pfree(term);
	pfree(type);
	pfree(payload);
	pfree(payload_null);
}

void
raft_storage_persist(const raft_ready *ready, uint64 *last_index)
{
	if (!ready->hardStateChanged && ready->nEntries == 0)
		return;

	raft_storage_begin();
	(void) set_config_option("synchronous_commit", "local", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);

	if (ready->hardStateChanged)
	{
		Datum		values[2];

		if (raft_storage_hard_state_plan == NULL)
		{
			Oid			types[2] = {INT8OID, INT8OID};

			raft_storage_hard_state_plan = raft_storage_prepare(
																"UPDATE raft_ext.hard_state SET current_term = $1, voted_for = $2",
																2, types);
		}
		values[0] = Int64GetDatum((int64) ready->hardState.currentTerm);
		values[1] = Int64GetDatum((int64) ready->hardState.votedFor);
		if (SPI_execute_plan(raft_storage_hard_state_plan, values, NULL, false, 0) != SPI_OK_UPDATE ||
			SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("raft_ext: could not update raft_ext.hard_state")));
	}

	if (ready->nEntries > 0)
	{
		uint64		first = ready->entries[0].index;

		if (first <= *last_index)
		{
			Datum		values[1];

			if (raft_storage_delete_plan == NULL)
			{
				Oid			types[1] = {INT8OID};

				raft_storage_delete_plan = raft_storage_prepare(
																"DELETE FROM raft_ext.log WHERE index >= $1", 1, types);
			}
			values[0] = Int64GetDatum((int64) first);
			if (SPI_execute_plan(raft_storage_delete_plan, values, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "raft_ext: could not truncate the log");
		}
		if (ready->nEntries == 1)
			raft_storage_insert_one(&ready->entries[0]);
		else
			raft_storage_insert_many(ready->entries, ready->nEntries);
		*last_index = ready->entries[ready->nEntries - 1].index;
	}
	raft_storage_commit();
}

/*
 * Entries first..last, in index order, copied into the caller's memory
 * context: one index range scan for a whole apply batch instead of one
 * lookup per entry.  Returns how many consecutive entries from `first` were
 * found (fewer than asked only if the log has a hole, which the caller
 * reports).
 */
int
raft_storage_read_entries(uint64 first, uint64 last, RaftStoredEntry *out)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		values[2];
	uint64		i;

	if (raft_storage_read_range_plan == NULL)
	{
		Oid			types[2] = {INT8OID, INT8OID};

		/*
		 * Written and planned so that one generic plan serves every call: a
		 * walk of the primary key from `first`, stopped by the LIMIT.  (With
		 * BETWEEN, the generic plan is a bitmap scan and a sort sized for
		 * thousands of rows, and the plan cache would plan every call anew.)
		 */
		raft_storage_read_range_plan = raft_storage_prepare_opts(
																 "SELECT index, term, type, payload FROM raft_ext.log "
																 "WHERE index >= $1 ORDER BY index LIMIT $2", 2, types,
																 CURSOR_OPT_GENERIC_PLAN);
	}
	values[0] = Int64GetDatum((int64) first);
	values[1] = Int64GetDatum((int64) (last - first + 1));
	if (SPI_execute_plan(raft_storage_read_range_plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read the log");

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		RaftStoredEntry *e = &out[i];
		bool		isnull;
		Datum		d;

		if ((uint64) DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)) != first + i)
			break;
		e->index = first + i;
		e->term = (uint64) DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		e->type = DatumGetInt16(SPI_getbinval(tup, desc, 3, &isnull));
		d = SPI_getbinval(tup, desc, 4, &isnull);
		if (isnull)
		{
			e->payload = NULL;
			e->len = 0;
		}
		else
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);
			bytea	   *b = DatumGetByteaPCopy(d);

			MemoryContextSwitchTo(old);
			e->payload = VARDATA(b);
			e->len = VARSIZE(b) - VARHDRSZ;
		}
	}
	SPI_freetuptable(SPI_tuptable);
	return (int) i;
}

uint64
raft_storage_get_last_applied(void)
{
	bool		isnull;
	int			ret;

	ret = SPI_execute("SELECT last_applied FROM raft_ext.apply_state", true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: raft_ext.apply_state must hold exactly one row")));
	return (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 1, &isnull));
}

void
raft_storage_set_last_applied(uint64 index)
{
	Datum		values[1];

	if (raft_storage_set_applied_plan == NULL)
	{
		Oid			types[1] = {INT8OID};

		raft_storage_set_applied_plan = raft_storage_prepare(
															 "UPDATE raft_ext.apply_state SET last_applied = $1", 1, types);
	}
	values[0] = Int64GetDatum((int64) index);
	if (SPI_execute_plan(raft_storage_set_applied_plan, values, NULL, false, 0) != SPI_OK_UPDATE ||
		SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: could not update raft_ext.apply_state")));
}

/* A one-dimensional array of n Datums of a type, with NULLs. */
static Datum
raft_storage_array(Datum *elems, bool *nulls, int n, Oid type)
{
	int			dims[1];
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	dims[0] = n;
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  type, typlen, typbyval, typalign));
}

static Datum
raft_storage_text_or_null(const char *s, bool *null)
{
	*null = (s == NULL);
	return s == NULL ? (Datum) 0 : CStringGetTextDatum(s);
}

/*
 * Record the outcomes of the entries applied in this transaction, with one
 * INSERT for the whole batch (a VALUES row for one entry: cheaper than
 * arrays when one client writes at a time).  A plain INSERT, not an upsert:
 * an entry's outcome commits with last_applied, so a row already there for
 * the index means the tables were tampered with, and the unique violation
 * stops apply loudly (shown in raft_status) instead of overwriting it.
 * (ON CONFLICT would also cost a speculative insertion per row.)
 */
void
raft_storage_record_outcomes(const RaftOutcome *const *o, int n)
{
#define RAFT_OUTCOME_COLS 8
	static const Oid coltypes[RAFT_OUTCOME_COLS] =
	{INT8OID, INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum	   *elems[RAFT_OUTCOME_COLS];
	bool	   *nulls[RAFT_OUTCOME_COLS];
	Datum		values[RAFT_OUTCOME_COLS];
	int			c,
				i;

	if (n == 0)
		return;
	if (n == 1 && raft_storage_outcome_plan == NULL)
	{
		Oid			types[RAFT_OUTCOME_COLS];

		memcpy(types, coltypes, sizeof(types));
		raft_storage_outcome_plan = raft_storage_prepare(
														 "INSERT INTO raft_ext.outcome(log_index, term, command_tag, rows, sqlstate, message, detail, hint) "
														 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
														 RAFT_OUTCOME_COLS, types);
	}
	if (n > 1 && raft_storage_outcomes_plan == NULL)
	{
		Oid			types[RAFT_OUTCOME_COLS] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};

		raft_storage_outcomes_plan = raft_storage_prepare(
														  "INSERT INTO raft_ext.outcome(log_index, term, command_tag, rows, sqlstate, message, detail, hint) "
														  "SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
														  "pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), "
														  "pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8))",
														  RAFT_OUTCOME_COLS, types);
	}
	for (c = 0; c < RAFT_OUTCOME_COLS; c++)
	{
		elems[c] = palloc(sizeof(Datum) * n);
		nulls[c] = palloc0(sizeof(bool) * n);
	}
	for (i = 0; i < n; i++)
	{
		elems[0][i] = Int64GetDatum((int64) o[i]->index);
		elems[1][i] = Int64GetDatum((int64) o[i]->term);
		elems[2][i] = raft_storage_text_or_null(o[i]->command_tag, &nulls[2][i]);
		elems[3][i] = Int64GetDatum((int64) o[i]->rows);
		nulls[3][i] = !o[i]->has_rows;
		elems[4][i] = raft_storage_text_or_null(o[i]->sqlerrcode ? unpack_sql_state(o[i]->sqlerrcode) : NULL,
												&nulls[4][i]);
		elems[5][i] = raft_storage_text_or_null(o[i]->message, &nulls[5][i]);
		elems[6][i] = raft_storage_text_or_null(o[i]->detail, &nulls[6][i]);
		elems[7][i] = raft_storage_text_or_null(o[i]->hint, &nulls[7][i]);
	}
	if (n == 1)
	{
		char		nullchars[RAFT_OUTCOME_COLS];

		for (c = 0; c < RAFT_OUTCOME_COLS; c++)
		{
			values[c] = elems[c][0];
			nullchars[c] = nulls[c][0] ? 'n' : ' ';
		}
		if (SPI_execute_plan(raft_storage_outcome_plan, values, nullchars, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "raft_ext: could not record the outcome of log entry %llu",
				 (unsigned long long) o[0]->index);
		return;
	}
	for (c = 0; c < RAFT_OUTCOME_COLS; c++)
		values[c] = raft_storage_array(elems[c], nulls[c], n, coltypes[c]);
	if (SPI_execute_plan(raft_storage_outcomes_plan, values, NULL, false, 0) != SPI_OK_INSERT ||
		SPI_processed != (uint64) n)
		elog(ERROR, "raft_ext: could not record the outcomes of log entries %llu..%llu",
			 (unsigned long long) o[0]->index, (unsigned long long) o[n - 1]->index);
#undef RAFT_OUTCOME_COLS
}

static char *
raft_storage_get_text(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

bool
raft_storage_get_outcome(uint64 index, RaftOutcome *o)
{
	Datum		values[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	char	   *state;

	if (raft_storage_get_outcome_plan == NULL)
	{
		Oid			types[1] = {INT8OID};

		raft_storage_get_outcome_plan = raft_storage_prepare(
															 "SELECT term, command_tag, rows, sqlstate, message, detail, hint "
															 "FROM raft_ext.outcome WHERE log_index = $1", 1, types);
	}
	values[0] = Int64GetDatum((int64) index);
	if (SPI_execute_plan(raft_storage_get_outcome_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.outcome");
	if (SPI_processed != 1)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	memset(o, 0, sizeof(*o));
	o->index = index;
	o->term = (uint64) DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	o->command_tag = raft_storage_get_text(tup, desc, 2);
	d = SPI_getbinval(tup, desc, 3, &isnull);
	o->has_rows = !isnull;
	o->rows = isnull ? 0 : (uint64) DatumGetInt64(d);
	state = raft_storage_get_text(tup, desc, 4);
	if (state && strlen(state) == 5)
		o->sqlerrcode = MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
	o->message = raft_storage_get_text(tup, desc, 5);
	o->detail = raft_storage_get_text(tup, desc, 6);
	o->hint = raft_storage_get_text(tup, desc, 7);
	return true;
}
