/*
 * sequences.c — replicated sequences that agree on every node (see
 * sequences.h for why and when).
 *
 * raft_ext.sequence_state (seqrelid, last_value, is_called) holds, for
 * every sequence of the replicated database, its state as of the node's
 * last_applied: rows are written by the apply transaction that changed the
 * sequence, so they commit (or not) with its entries.  The state of a
 * sequence with CACHE 1 (serial and identity columns, and the default) is
 * known from the value nextval() returned; a larger cache moves the
 * sequence's on-disk state by a whole cache at a time, so its state is read
 * back before recording.
 *
 * Locking: none of its own.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "sequences.h"

PG_FUNCTION_INFO_V1(raft_ext_entry_nextval);
PG_FUNCTION_INFO_V1(raft_ext_entry_identity_nextval);
PG_FUNCTION_INFO_V1(raft_ext_entry_setval);

typedef struct RaftSeqTouched
{
	Oid			seqid;			/* hash key */
	bool		known;			/* last_value/is_called are its state */
	int64		last_value;
	bool		is_called;
} RaftSeqTouched;

static HTAB *raft_seq_touched = NULL;	/* this apply transaction's */
static bool raft_seq_all = false;	/* a utility statement ran: take all */
static HTAB *raft_seq_to_restore = NULL;	/* an aborted transaction's */
static bool raft_seq_restore_everything = false;

static SPIPlanPtr raft_seq_upsert_plan = NULL;

static HTAB *
raft_seq_new_table(const char *name)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(RaftSeqTouched);
	ctl.hcxt = TopMemoryContext;
	return hash_create(name, 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* The state nextval/setval left the sequence in; known unless CACHE > 1. */
static void
raft_seq_note(Oid seqid, int64 last_value, bool is_called)
{
	RaftSeqTouched *t;
	HeapTuple	tup;
	bool		found;

	if (raft_seq_touched == NULL)
		raft_seq_touched = raft_seq_new_table("raft_ext sequences touched");
	t = hash_search(raft_seq_touched, &seqid, HASH_ENTER, &found);
	tup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(seqid));
	t->known = HeapTupleIsValid(tup) && ((Form_pg_sequence) GETSTRUCT(tup))->seqcache == 1;
	if (HeapTupleIsValid(tup))
		ReleaseSysCache(tup);
	t->last_value = last_value;
	t->is_called = is_called;
}

Datum
raft_ext_entry_nextval(PG_FUNCTION_ARGS)
{
	Oid			seqid = PG_GETARG_OID(0);
	int64		v = nextval_internal(seqid, true);

	raft_seq_note(seqid, v, true);
	PG_RETURN_INT64(v);
}

/* An identity column's NextValueExpr: no USAGE check, as the executor's. */
Datum
raft_ext_entry_identity_nextval(PG_FUNCTION_ARGS)
{
	Oid			seqid = PG_GETARG_OID(0);
	int64		v = nextval_internal(seqid, false);

	raft_seq_note(seqid, v, true);
	PG_RETURN_INT64(v);
}

/* setval(regclass, bigint [, boolean]) */
Datum
raft_ext_entry_setval(PG_FUNCTION_ARGS)
{
	Oid			seqid = PG_GETARG_OID(0);
	int64		v = PG_GETARG_INT64(1);
	bool		is_called = PG_NARGS() > 2 ? PG_GETARG_BOOL(2) : true;

	if (PG_NARGS() > 2)
		(void) DirectFunctionCall3(setval3_oid, ObjectIdGetDatum(seqid), Int64GetDatum(v),
								   BoolGetDatum(is_called));
	else
		(void) DirectFunctionCall2(setval_oid, ObjectIdGetDatum(seqid), Int64GetDatum(v));
	raft_seq_note(seqid, v, is_called);
	PG_RETURN_INT64(v);
}

void
raft_sequences_note_utility(void)
{
	raft_seq_all = true;
}

/* Read a sequence's state (SPI connected); false if it is gone. */
static bool
raft_seq_read(Oid seqid, int64 *last_value, bool *is_called)
{
	char	   *nsp;
	char	   *rel = get_rel_name(seqid);
	bool		isnull;

	if (rel == NULL || get_rel_relkind(seqid) != RELKIND_SEQUENCE)
		return false;
	nsp = get_namespace_name(get_rel_namespace(seqid));
	if (SPI_execute(psprintf("SELECT last_value, is_called FROM %s",
							 quote_qualified_identifier(nsp, rel)), true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "raft_ext: could not read sequence %s", rel);
	*last_value = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*is_called = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

static void
raft_seq_upsert(Oid seqid, int64 last_value, bool is_called)
{
	Datum		values[3];

	if (raft_seq_upsert_plan == NULL)
	{
		Oid			types[3] = {OIDOID, INT8OID, BOOLOID};

		raft_seq_upsert_plan = SPI_prepare("INSERT INTO raft_ext.sequence_state AS s (seqrelid, last_value, is_called) "
										   "VALUES ($1, $2, $3) ON CONFLICT (seqrelid) DO UPDATE "
										   "SET last_value = excluded.last_value, is_called = excluded.is_called "
										   "WHERE (s.last_value, s.is_called) IS DISTINCT FROM (excluded.last_value, excluded.is_called)",
										   3, types);
		if (raft_seq_upsert_plan == NULL || SPI_keepplan(raft_seq_upsert_plan) != 0)
			elog(ERROR, "raft_ext: could not prepare the sequence state upsert");
	}
	values[0] = ObjectIdGetDatum(seqid);
	values[1] = Int64GetDatum(last_value);
	values[2] = BoolGetDatum(is_called);
	if (SPI_execute_plan(raft_seq_upsert_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "raft_ext: could not record the state of sequence %u", seqid);
}

void
raft_sequences_record(void)
{
	HASH_SEQ_STATUS hs;
	RaftSeqTouched *t;

	if (raft_seq_all)
	{
		int			ret;
		uint64		i;
		SPITupleTable *tt;
		uint64		n;

		/* every sequence of the database (temporary ones are no entry's) */
		ret = SPI_execute("SELECT c.oid FROM pg_class c WHERE c.relkind = 'S' AND c.relpersistence <> 't'",
						  true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "raft_ext: could not list the sequences");
		tt = SPI_tuptable;
		n = SPI_processed;
		for (i = 0; i < n; i++)
		{
			bool		isnull;
			Oid			seqid = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
			int64		last_value;
			bool		is_called;

			if (raft_seq_read(seqid, &last_value, &is_called))
				raft_seq_upsert(seqid, last_value, is_called);
		}
		SPI_freetuptable(tt);
		if (SPI_execute("DELETE FROM raft_ext.sequence_state s WHERE NOT EXISTS "
						"(SELECT FROM pg_class c WHERE c.oid = s.seqrelid AND c.relkind = 'S')",
						false, 0) != SPI_OK_DELETE)
			elog(ERROR, "raft_ext: could not forget dropped sequences");
		return;
	}
	if (raft_seq_touched == NULL)
		return;
	hash_seq_init(&hs, raft_seq_touched);
	while ((t = hash_seq_search(&hs)) != NULL)
	{
		int64		last_value = t->last_value;
		bool		is_called = t->is_called;

		if (!t->known && !raft_seq_read(t->seqid, &last_value, &is_called))
			continue;			/* dropped since */
		raft_seq_upsert(t->seqid, last_value, is_called);
	}
}

void
raft_sequences_at_commit(void)
{
	if (raft_seq_touched)
		hash_destroy(raft_seq_touched);
	raft_seq_touched = NULL;
	raft_seq_all = false;
}

void
raft_sequences_at_abort(void)
{
	HASH_SEQ_STATUS hs;
	RaftSeqTouched *t;

	/* what the aborted transaction spent is put back before the retry */
	if (raft_seq_all)
		raft_seq_restore_everything = true;
	if (raft_seq_touched != NULL)
	{
		if (raft_seq_to_restore == NULL)
			raft_seq_to_restore = raft_seq_new_table("raft_ext sequences to restore");
		hash_seq_init(&hs, raft_seq_touched);
		while ((t = hash_seq_search(&hs)) != NULL)
			(void) hash_search(raft_seq_to_restore, &t->seqid, HASH_ENTER, NULL);
		hash_destroy(raft_seq_touched);
	}
	raft_seq_touched = NULL;
	raft_seq_all = false;
}

/* Put one sequence back to its recorded state, if it has one and left it. */
static void
raft_seq_restore(Oid seqid, int64 last_value, bool is_called)
{
	int64		cur_value;
	bool		cur_called;

	if (!raft_seq_read(seqid, &cur_value, &cur_called))
		return;
	if (cur_value == last_value && cur_called == is_called)
		return;
	(void) DirectFunctionCall3(setval3_oid, ObjectIdGetDatum(seqid), Int64GetDatum(last_value),
							   BoolGetDatum(is_called));
	ereport(LOG,
			(errmsg("raft_ext: sequence %s put back from %lld%s to %lld%s, its state at the last applied entry",
					get_rel_name(seqid), (long long) cur_value, cur_called ? "" : " (not called)",
					(long long) last_value, is_called ? "" : " (not called)")));
}

/* Restore the sequences of the query's rows: seqrelid, last_value, is_called. */
static void
raft_seq_restore_rows(const char *query)
{
	SPITupleTable *tt;
	uint64		n;
	uint64		i;

	if (SPI_execute(query, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.sequence_state");
	tt = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		raft_seq_restore(DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull)),
						 DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull)),
						 DatumGetBool(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull)));
	}
	SPI_freetuptable(tt);
}

void
raft_sequences_restore_all(void)
{
	raft_seq_restore_rows("SELECT seqrelid, last_value, is_called FROM raft_ext.sequence_state");
}

void
raft_sequences_restore_aborted(void)
{
	StringInfoData q;
	HASH_SEQ_STATUS hs;
	RaftSeqTouched *t;
	bool		first = true;

	if (raft_seq_restore_everything)
		raft_sequences_restore_all();
	else if (raft_seq_to_restore != NULL)
	{
		initStringInfo(&q);
		appendStringInfoString(&q, "SELECT seqrelid, last_value, is_called FROM raft_ext.sequence_state "
							   "WHERE seqrelid IN (");
		hash_seq_init(&hs, raft_seq_to_restore);
		while ((t = hash_seq_search(&hs)) != NULL)
		{
			appendStringInfo(&q, "%s%u", first ? "" : ", ", t->seqid);
			first = false;
		}
		appendStringInfoChar(&q, ')');
		if (!first)
			raft_seq_restore_rows(q.data);
	}
	if (raft_seq_to_restore)
		hash_destroy(raft_seq_to_restore);
	raft_seq_to_restore = NULL;
	raft_seq_restore_everything = false;
}
