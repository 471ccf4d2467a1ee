/*
 * storage.c — the Raft log, hard state and apply state in the extension's
 * tables: mostly through SPI; new rows of the log and of outcome through
 * the executor's ExecSimpleRelationInsert (as logical replication's apply
 * worker adds them), and the apply batch's entries by an index scan of the
 * log's primary key.  Table layout: see storage.h and raft_ext--1.0.sql.
 *
 * Durability: raft_storage_persist() commits with synchronous_commit =
 * local (a local WAL flush, and no wait for physical standbys, which have
 * nothing to do with Raft), whatever the server's setting, so an entry or a
 * vote is durable before any message that depends on it is sent.
 *
 * Locking: none of our own; see storage.h.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "storage/ipc.h"

#include "config.h"
#include "storage.h"
#include "workers.h"

static SPIPlanPtr raft_storage_delete_plan = NULL;
static SPIPlanPtr raft_storage_hard_state_plan = NULL;
static SPIPlanPtr raft_storage_set_applied_plan = NULL;
static SPIPlanPtr raft_storage_get_outcome_plan = NULL;

static SPIPlanPtr
raft_storage_prepare(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "raft_ext: SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "raft_ext: SPI_keepplan failed");
	return plan;
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

		raft_workers_check_signals();
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
	raft_xact_begin();

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
	/* where the log starts came with 1.2: an older extension was never compacted */
	if (get_attnum(get_relname_relid("apply_state", get_namespace_oid("raft_ext", false)),
				   "log_start_index") != InvalidAttrNumber)
	{
		ret = SPI_execute("SELECT log_start_index, log_start_term FROM raft_ext.apply_state", true, 0);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("raft_ext: raft_ext.apply_state must hold exactly one row")));
		out->log_start_index = (uint64)
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		out->log_start_term = (uint64)
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}

	out->entries = MemoryContextAlloc(callercxt, cap * sizeof(raft_entry));
	{
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum((int64) out->log_start_index)};

		portal = SPI_cursor_open_with_args(NULL,
										   "SELECT index, term, type, payload FROM raft_ext.log WHERE index > $1 ORDER BY index",
										   1, types, values, NULL, true, 0);
	}
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
			if (e->index != out->log_start_index + out->nentries + 1)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("raft_ext: the Raft log has a gap: expected index %llu, found %llu",
								(unsigned long long) (out->log_start_index + out->nentries + 1),
								(unsigned long long) e->index)));
			out->nentries++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	raft_xact_commit();
}

/*
 * Rows are added to our own tables the way logical replication's apply
 * worker adds them (ExecSimpleRelationInsert: heap, indexes, constraints,
 * triggers), not through SPI: an INSERT's parse-free generic plan still
 * costs an executor start and end per call, and building arrays for a
 * multi-row one cost more than the rows.
 */
typedef struct RaftStorageInserter
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
} RaftStorageInserter;

/*
 * The OID of raft_ext.log when this process first wrote to it: a table of
 * that name with another OID is one of a re-created extension, which must
 * not receive what this process still holds in memory (its state belongs
 * to the dropped tables).
 */
static Oid	raft_storage_log_relid = InvalidOid;

/*
 * ncolumns: what this version writes; oldcolumns: what an older version of
 * the extension's tables has (a node whose binaries were updated before its
 * ALTER EXTENSION ... UPDATE); the caller's values go in column order, the
 * newer columns last.
 */
static void
raft_storage_inserter_open(RaftStorageInserter *ins, const char *relname, int ncolumns,
						   int oldcolumns)
{
	RangeTblEntry *rte;

	ins->rel = table_openrv(makeRangeVar("raft_ext", (char *) relname, -1), RowExclusiveLock);
	if (strcmp(relname, "log") == 0)
	{
		if (!OidIsValid(raft_storage_log_relid))
			raft_storage_log_relid = RelationGetRelid(ins->rel);
		else if (RelationGetRelid(ins->rel) != raft_storage_log_relid)
			ereport(FATAL,
					(errmsg("raft_ext: extension raft_ext was dropped or re-created; restarting the worker")));
	}
	if (RelationGetDescr(ins->rel)->natts != ncolumns &&
		RelationGetDescr(ins->rel)->natts != oldcolumns)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: table raft_ext.%s has %d columns, expected %d",
						relname, RelationGetDescr(ins->rel)->natts, ncolumns),
				 errhint("The extension's tables must not be altered: rebuild this node from a copy of a healthy one (README, \"Repairing a node\"); dropping and re-creating the extension would lose its Raft state.")));
	ins->estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(ins->rel);
	rte->relkind = ins->rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(ins->estate, list_make1(rte));
	ins->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(ins->rri, ins->rel, 1, NULL, 0);
	ins->estate->es_opened_result_relations = list_make1(ins->rri);
	ins->estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(ins->rri, false);
	ins->slot = ExecInitExtraTupleSlot(ins->estate, RelationGetDescr(ins->rel), &TTSOpsVirtual);
	AfterTriggerBeginQuery();
}

/* Add one row: values/nulls in the table's column order. */
static void
raft_storage_inserter_put(RaftStorageInserter *ins, const Datum *values, const bool *nulls)
{
	TupleTableSlot *slot = ins->slot;
	int			natts = slot->tts_tupleDescriptor->natts;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, sizeof(Datum) * natts);
	memcpy(slot->tts_isnull, nulls, sizeof(bool) * natts);
	ExecStoreVirtualTuple(slot);
	ExecSimpleRelationInsert(ins->rri, ins->estate, slot);
	ResetPerTupleExprContext(ins->estate);
}

static void
raft_storage_inserter_close(RaftStorageInserter *ins)
{
	AfterTriggerEndQuery(ins->estate);
	ExecCloseIndices(ins->rri);
	ExecResetTupleTable(ins->estate->es_tupleTable, false);
	FreeExecutorState(ins->estate);
	table_close(ins->rel, NoLock);
	/* later statements of this transaction see the rows */
	CommandCounterIncrement();
}

/* Append entries to raft_ext.log (inside raft_storage_persist). */
static void
raft_storage_append(const raft_entry *entries, size_t n)
{
	RaftStorageInserter ins;
	size_t		i;

	raft_storage_inserter_open(&ins, "log", 4, 4);
	for (i = 0; i < n; i++)
	{
		const raft_entry *e = &entries[i];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		bytea	   *b = NULL;

		values[0] = Int64GetDatum((int64) e->index);
		values[1] = Int64GetDatum((int64) e->term);
		values[2] = Int16GetDatum((int16) e->type);
		values[3] = (Datum) 0;
		if (e->len > 0)
		{
			b = palloc(VARHDRSZ + e->len);
			SET_VARSIZE(b, VARHDRSZ + e->len);
			memcpy(VARDATA(b), e->data, e->len);
			values[3] = PointerGetDatum(b);
		}
		else
			nulls[3] = true;
		raft_storage_inserter_put(&ins, values, nulls);
		if (b)
			pfree(b);
	}
	raft_storage_inserter_close(&ins);
}

void
raft_storage_persist(const raft_ready *ready, uint64 *last_index)
{
	if (!ready->hardStateChanged && ready->nEntries == 0)
		return;

	raft_xact_begin();
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
		raft_storage_append(ready->entries, ready->nEntries);
		*last_index = ready->entries[ready->nEntries - 1].index;
	}
	raft_xact_commit();
}

/*
 * Entries first..last, in index order, copied into the caller's memory
 * context: one walk of the log's primary key from `first` (an index scan
 * of our own, not SPI: no executor start and end per apply batch).
 * Returns how many consecutive entries from `first` were found (fewer than
 * asked only if the log has a hole, which the caller reports).  Needs an
 * active snapshot.
 */
int
raft_storage_read_entries(uint64 first, uint64 last, RaftStoredEntry *out)
{
	Relation	rel;
	Relation	idx;
	IndexScanDesc scan;
	ScanKeyData key;
	TupleTableSlot *slot;
	uint64		n = last - first + 1;
	uint64		i = 0;

	rel = table_openrv(makeRangeVar("raft_ext", "log", -1), AccessShareLock);
	idx = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	ScanKeyInit(&key, 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum((int64) first));
	scan = index_beginscan(rel, idx, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	slot = table_slot_create(rel, NULL);
	while (i < n && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		RaftStoredEntry *e = &out[i];
		bool		isnull;
		Datum		d;

		if ((uint64) DatumGetInt64(slot_getattr(slot, 1, &isnull)) != first + i)
			break;
		e->index = first + i;
		e->term = (uint64) DatumGetInt64(slot_getattr(slot, 2, &isnull));
		e->type = DatumGetInt16(slot_getattr(slot, 3, &isnull));
		d = slot_getattr(slot, 4, &isnull);
		if (isnull)
		{
			e->payload = NULL;
			e->len = 0;
		}
		else
		{
			bytea	   *b = DatumGetByteaPCopy(d);

			e->payload = VARDATA(b);
			e->len = VARSIZE(b) - VARHDRSZ;
		}
		i++;
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return (int) i;
}

void
raft_storage_peek(uint64 *current_term, bool *log_empty, char **incarnation)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		isnull;
	char	   *inc;

	raft_xact_begin();
	if (SPI_execute("SELECT (SELECT current_term FROM raft_ext.hard_state), "
					"NOT EXISTS (SELECT 1 FROM raft_ext.log)", true, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "raft_ext: could not read raft_ext.hard_state");
	*current_term = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														 SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		*current_term = 0;
	*log_empty = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	*incarnation = NULL;
	/* raft_ext.identity came with 1.2: an older extension has none */
	if (OidIsValid(get_relname_relid("identity", get_namespace_oid("raft_ext", false))))
	{
		if (SPI_execute("SELECT min(incarnation) FROM raft_ext.identity", true, 0) != SPI_OK_SELECT)
			elog(ERROR, "raft_ext: could not read raft_ext.identity");
		inc = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		*incarnation = inc ? MemoryContextStrdup(cxt, inc) : NULL;
	}
	raft_xact_commit();
}

void
raft_storage_set_incarnation(const char *incarnation)
{
	raft_xact_begin();
	if (!OidIsValid(get_relname_relid("identity", get_namespace_oid("raft_ext", false))))
	{
		raft_xact_commit();		/* 1.1: recorded once ALTER EXTENSION UPDATE ran */
		return;
	}
	raft_storage_write_incarnation(incarnation);
	raft_xact_commit();
}

void
raft_storage_write_incarnation(const char *incarnation)
{
	Datum		values[1];
	Oid			types[1] = {TEXTOID};

	values[0] = CStringGetTextDatum(incarnation);
	if (SPI_execute("DELETE FROM raft_ext.identity", false, 0) != SPI_OK_DELETE ||
		SPI_execute_with_args("INSERT INTO raft_ext.identity (incarnation) VALUES ($1)",
							  1, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "raft_ext: could not write raft_ext.identity");
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

static Datum
raft_storage_text_or_null(const char *s, bool *null)
{
	*null = (s == NULL);
	return s == NULL ? (Datum) 0 : CStringGetTextDatum(s);
}

/*
 * Record the outcomes of the entries applied in this transaction.  Plain
 * inserts, not an upsert: an entry's outcome commits with last_applied, so
 * a row already there for the index means the tables were tampered with,
 * and the unique violation stops apply loudly (shown in raft_status)
 * instead of overwriting it.
 */
void
raft_storage_record_outcomes(const RaftOutcome *const *o, int n)
{
	RaftStorageInserter ins;
	int			i;

	if (n == 0)
		return;
	/* applied_at came with 1.2 */
	raft_storage_inserter_open(&ins, "outcome", 9, 8);
	for (i = 0; i < n; i++)
	{
		Datum		values[9];
		bool		nulls[9] = {false, false, false, false, false, false, false, false, false};

		values[0] = Int64GetDatum((int64) o[i]->index);
		values[1] = Int64GetDatum((int64) o[i]->term);
		values[2] = raft_storage_text_or_null(o[i]->command_tag, &nulls[2]);
		values[3] = Int64GetDatum((int64) o[i]->rows);
		nulls[3] = !o[i]->has_rows;
		values[4] = raft_storage_text_or_null(o[i]->sqlerrcode ? unpack_sql_state(o[i]->sqlerrcode) : NULL,
											  &nulls[4]);
		values[5] = raft_storage_text_or_null(o[i]->message, &nulls[5]);
		values[6] = raft_storage_text_or_null(o[i]->detail, &nulls[6]);
		values[7] = raft_storage_text_or_null(o[i]->hint, &nulls[7]);
		values[8] = TimestampTzGetDatum(o[i]->stamp);
		nulls[8] = o[i]->stamp == 0;
		raft_storage_inserter_put(&ins, values, nulls);
	}
	raft_storage_inserter_close(&ins);
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
