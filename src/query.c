/*
 * query.c — raft_query() (see query.h).
 *
 * On every node, an entry submitted with raft_query keeps the rows of its
 * last statement that returns rows (as the client protocol would show
 * them), up to raft_ext.max_query_result; they are turned into text under
 * fixed settings (params.h), travel in the outcome to the waiting caller
 * (through the request slot, or forward_submit's answer), and are read back
 * there with the input functions of the column definition list the caller
 * wrote.  They are never stored: raft_ext.outcome keeps the count.  A result
 * beyond the limit is an error for the caller only: the statement was
 * applied, on every node, and says so.
 *
 * Locking: none.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "params.h"
#include "payload.h"
#include "query.h"
#include "submit.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_query);
PG_FUNCTION_INFO_V1(raft_ext_sql_query_once);

int			raft_ext_max_query_result = 1024;

typedef struct RaftResultReceiver
{
	DestReceiver pub;
	MemoryContext cxt;
	TupleDesc	desc;			/* of the last statement that returned rows */
	List	   *tuples;			/* HeapTuple, in cxt */
	uint64		count;
	Size		bytes;
	bool		too_large;
	Size		limit;			/* bytes */
} RaftResultReceiver;

static void
raft_query_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	RaftResultReceiver *r = (RaftResultReceiver *) self;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);

	/* one statement after another: the last one's rows are the result */
	list_free_deep(r->tuples);
	r->tuples = NIL;
	r->desc = CreateTupleDescCopy(typeinfo);
	r->count = 0;
	r->bytes = 0;
	r->too_large = false;
	MemoryContextSwitchTo(old);
}

static bool
raft_query_receive(TupleTableSlot *slot, DestReceiver *self)
{
	RaftResultReceiver *r = (RaftResultReceiver *) self;
	MemoryContext old;
	HeapTuple	tup;

	r->count++;
	if (r->too_large)
		return true;
	old = MemoryContextSwitchTo(r->cxt);
	tup = ExecCopySlotHeapTuple(slot);
	r->bytes += tup->t_len;
	if (r->bytes > r->limit)
	{
		/* the statement goes on; only the caller learns it was too much */
		heap_freetuple(tup);
		list_free_deep(r->tuples);
		r->tuples = NIL;
		r->too_large = true;
	}
	else
		r->tuples = lappend(r->tuples, tup);
	MemoryContextSwitchTo(old);
	return true;
}

static void
raft_query_shutdown(DestReceiver *self)
{
}

static void
raft_query_destroy(DestReceiver *self)
{
}

DestReceiver *
raft_query_receiver(MemoryContext cxt, uint32 limit_kb)
{
	RaftResultReceiver *r = MemoryContextAllocZero(cxt, sizeof(RaftResultReceiver));

	r->limit = (Size) limit_kb * 1024;
	r->pub.receiveSlot = raft_query_receive;
	r->pub.rStartup = raft_query_startup;
	r->pub.rShutdown = raft_query_shutdown;
	r->pub.rDestroy = raft_query_destroy;
	r->pub.mydest = DestNone;
	r->cxt = cxt;
	return &r->pub;
}

void
raft_query_to_outcome(DestReceiver *receiver, RaftOutcome *o)
{
	RaftResultReceiver *r = (RaftResultReceiver *) receiver;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	ListCell   *lc;
	int			ncols = r->desc ? r->desc->natts : 0;
	Oid		   *outfuncs = palloc(sizeof(Oid) * Max(ncols, 1));
	Datum	   *values = palloc(sizeof(Datum) * Max(ncols, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(ncols, 1));
	uint32		row = 0;
	int			nest;
	int			c;

	o->has_result = true;
	o->result_too_large = r->too_large;
	o->result_rows = r->count;
	o->result_ncols = ncols;
	o->result_nkept = r->too_large ? 0 : (uint32) list_length(r->tuples);
	o->result_values = palloc0(sizeof(char *) * Max((Size) o->result_nkept * ncols, 1));
	for (c = 0; c < ncols; c++)
	{
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(r->desc, c)->atttypid, &outfuncs[c], &varlena);
	}
	nest = raft_fixed_io_push();
	foreach(lc, r->tuples)
	{
		heap_deform_tuple((HeapTuple) lfirst(lc), r->desc, values, nulls);
		for (c = 0; c < ncols; c++)
			o->result_values[(Size) row * ncols + c] =
				nulls[c] ? NULL : OidOutputFunctionCall(outfuncs[c], values[c]);
		row++;
	}
	AtEOXact_GUC(false, nest);
	MemoryContextSwitchTo(old);
}

void
raft_query_require_rows(const RaftOutcome *o, const char *fname)
{
	if (!o->has_result)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("%s: log entry %llu came back without its rows",
						fname, (unsigned long long) o->index)));
	if (o->result_too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: the result of log entry %llu is larger than raft_ext.max_query_result",
						fname, (unsigned long long) o->index),
				 errdetail("The statement was applied on every node and returned %llu rows; they were not kept.",
						   (unsigned long long) o->result_rows),
				 errhint("Read them with an ordinary SELECT, or raise raft_ext.max_query_result.")));
}

/* ---------------------------------------------------------------------
 * raft_query(sql text [, VARIADIC params "any"]) RETURNS SETOF record
 * --------------------------------------------------------------------- */
static Datum raft_query_call(FunctionCallInfo fcinfo, uint8 flags);

Datum
raft_ext_sql_query(PG_FUNCTION_ARGS)
{
	return raft_query_call(fcinfo, RAFT_PAYLOAD_WANTS_ROWS);
}

Datum
raft_ext_sql_query_once(PG_FUNCTION_ARGS)
{
	return raft_query_call(fcinfo, RAFT_PAYLOAD_WANTS_ROWS | RAFT_PAYLOAD_REQUEST_ID);
}

static Datum
raft_query_call(FunctionCallInfo fcinfo, uint8 flags)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RaftOutcome *o;
	TupleDesc	desc;
	Oid		   *infuncs;
	Oid		   *ioparams;
	Datum	   *values;
	bool	   *nulls;
	uint32		row;
	int			nest;
	int			c;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("raft_query must be called in FROM with a column definition list"),
				 errhint("SELECT * FROM raft_query('INSERT ... RETURNING id', ...) AS r(id int)")));
	o = raft_submit_sql_call(fcinfo, flags);
	if (o->duplicate)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_query_once: this request id was applied already, as log entry %llu; its rows are not kept",
						(unsigned long long) o->index),
				 errdetail("Its outcome: %s%s%s.", o->command_tag ? o->command_tag : "",
						   o->has_rows ? " " : "",
						   o->has_rows ? psprintf("%llu", (unsigned long long) o->rows) : ""),
				 errhint("Read what it wrote with an ordinary SELECT.")));
	raft_query_require_rows(o, "raft_query");
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	desc = rsinfo->setDesc;
	if (o->result_ncols == 0)
		return (Datum) 0;		/* a statement that returns no rows */
	if (desc->natts != o->result_ncols)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("raft_query: the statement returned %d columns, but the column definition list has %d",
						o->result_ncols, desc->natts),
				 errdetail("The statement was applied (log entry %llu).", (unsigned long long) o->index)));
	infuncs = palloc(sizeof(Oid) * Max(desc->natts, 1));
	ioparams = palloc(sizeof(Oid) * Max(desc->natts, 1));
	values = palloc(sizeof(Datum) * Max(desc->natts, 1));
	nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
	for (c = 0; c < desc->natts; c++)
		getTypeInputInfo(TupleDescAttr(desc, c)->atttypid, &infuncs[c], &ioparams[c]);
	nest = raft_fixed_io_push();
	for (row = 0; row < o->result_nkept; row++)
	{
		for (c = 0; c < desc->natts; c++)
		{
			char	   *v = o->result_values[(Size) row * desc->natts + c];

			nulls[c] = v == NULL;
			values[c] = OidInputFunctionCall(infuncs[c], v, ioparams[c],
											 TupleDescAttr(desc, c)->atttypmod);
		}
		tuplestore_putvalues(rsinfo->setResult, desc, values, nulls);
	}
	AtEOXact_GUC(false, nest);
	return (Datum) 0;
}
