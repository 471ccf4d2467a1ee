/*
 * route.c — transparent mode: raft_ext.route_writes.
 *
 * With the setting on, an ordinary INSERT, UPDATE, DELETE or MERGE on a
 * table of the replicated database, sent as a statement of its own (psql,
 * or the extended protocol with bound parameters: what drivers and ORMs
 * send), is submitted through the log as raft_submit / raft_query would
 * submit it, and answers as PostgreSQL would: the command tag with the rows
 * the entry processed, the RETURNING rows.  Nothing is applied locally.
 *
 * How: when the executor starts such a statement (the write guard's
 * ExecutorStart hook asks raft_route_executor_start first), its plan is
 * replaced, for this execution only (a copy: a cached plan is not touched),
 * by a custom scan that takes the statement's own text from the query
 * string (stmt_location / stmt_len) and the bound parameters from the
 * executor's ParamListInfo, submits them, waits for the outcome, sets the
 * row count the command tag reports (es_processed) and returns the rows of
 * RETURNING.  The original range table stays, so this node's privilege
 * checks still apply before anything is submitted.
 *
 * What is not routed: a statement run inside another one (a function, a
 * trigger, DO, EXPLAIN ANALYZE: the nesting counted by the hooks below,
 * as pg_stat_statements counts it; EXECUTE of a prepared statement counts as
 * top level), a write to a temporary table (local), and a write in a
 * transaction block: it would commit on every node as soon as it is
 * applied, and could not be rolled back with the transaction, so it is
 * refused (25001) — never applied locally; so is a second write before one
 * Sync of the extended protocol (a pipeline: one transaction).  A routed
 * write takes raft_submit(text)'s EXECUTE grant.  Whatever is not routed
 * meets the write guard (guard.c), which refuses it.
 *
 * Locking: none (through submit.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "utils/fmgroids.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "parser/scanner.h"
#include "parser/gram.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "outcome.h"
#include "params.h"
#include "payload.h"
#include "query.h"
#include "route.h"
#include "submit.h"

bool		raft_ext_route_writes = false;

/* executor and utility nesting: 0 while a client's own statement starts */
static int	raft_route_nesting = 0;

/* the local transaction of the last routed write, and its entry */
static LocalTransactionId raft_route_last_lxid = InvalidLocalTransactionId;
static uint64 raft_route_last_index = 0;

static ExecutorRun_hook_type raft_route_prev_run = NULL;
static ExecutorFinish_hook_type raft_route_prev_finish = NULL;
static ProcessUtility_hook_type raft_route_prev_utility = NULL;

static bool
raft_route_command(CmdType op)
{
	return op == CMD_INSERT || op == CMD_UPDATE || op == CMD_DELETE || op == CMD_MERGE;
}

/* Does it write a table that is not temporary (one of rtable's entries)? */
static bool
raft_route_writes_replicated(List *rtable, List *result_relations)
{
	ListCell   *lc;

	foreach(lc, result_relations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), rtable);

		if (rte->rtekind == RTE_RELATION &&
			get_rel_persistence(rte->relid) != RELPERSISTENCE_TEMP)
			return true;
	}
	return false;
}

bool
raft_route_will_route(Query *parse)
{
	return raft_ext_route_writes && raft_route_nesting == 0 && parse->canSetTag &&
		raft_route_command(parse->commandType) && parse->resultRelation > 0 &&
		raft_route_writes_replicated(parse->rtable, list_make1_int(parse->resultRelation));
}

/* ---------------------------------------------------------------------
 * The custom scan that stands for the statement
 * --------------------------------------------------------------------- */
typedef struct RaftRouteState
{
	CustomScanState css;
	bool		submitted;
	RaftOutcome *outcome;
	uint32		next_row;
	Oid		   *infuncs;
	Oid		   *ioparams;
} RaftRouteState;

static Node *raft_route_create_state(CustomScan *cscan);
static void raft_route_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *raft_route_exec(CustomScanState *node);
static void raft_route_end(CustomScanState *node);
static void raft_route_rescan(CustomScanState *node);

static const CustomScanMethods raft_route_scan_methods = {
	.CustomName = "RaftRoutedWrite",
	.CreateCustomScanState = raft_route_create_state,
};

static const CustomExecMethods raft_route_exec_methods = {
	.CustomName = "RaftRoutedWrite",
	.BeginCustomScan = raft_route_begin,
	.ExecCustomScan = raft_route_exec,
	.EndCustomScan = raft_route_end,
	.ReScanCustomScan = raft_route_rescan,
};

static Node *
raft_route_create_state(CustomScan *cscan)
{
	RaftRouteState *s = (RaftRouteState *) newNode(sizeof(RaftRouteState), T_CustomScanState);

	s->css.methods = &raft_route_exec_methods;
	return (Node *) s;
}

static void
raft_route_begin(CustomScanState *node, EState *estate, int eflags)
{
	RaftRouteState *s = (RaftRouteState *) node;
	TupleDesc	desc = node->ss.ss_ScanTupleSlot->tts_tupleDescriptor;
	int			c;

	s->infuncs = palloc(sizeof(Oid) * Max(desc->natts, 1));
	s->ioparams = palloc(sizeof(Oid) * Max(desc->natts, 1));
	for (c = 0; c < desc->natts; c++)
		getTypeInputInfo(TupleDescAttr(desc, c)->atttypid, &s->infuncs[c], &s->ioparams[c]);
}

/*
 * The statement of a prepared statement's text: "PREPARE name [(types)] AS
 * statement" keeps the whole PREPARE as its query string (and location), so
 * skip to what follows its AS, found with PostgreSQL's own scanner (quoted
 * names and nested parentheses included).  Any other text is returned as is.
 */
static const char *
raft_route_strip_prepare(const char *sql)
{
	core_yy_extra_type extra;
	core_yyscan_t scanner;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	const char *result = sql;
	int			depth = 0;
	int			n = 0;
	int			tok;

	scanner = scanner_init(sql, &extra, &ScanKeywords, ScanKeywordTokens);
	while ((tok = core_yylex(&yylval, &yylloc, scanner)) != 0)
	{
		if (n++ == 0 && tok != PREPARE)
			break;				/* not a PREPARE */
		if (tok == '(')
			depth++;
		else if (tok == ')')
			depth--;
		else if (depth == 0 && tok == AS)
		{
			result = sql + yylloc + 2;
			break;
		}
	}
	scanner_finish(scanner);
	return result;
}

/* Submit the statement, with its parameters, and wait for its outcome. */
static void
raft_route_submit(RaftRouteState *s)
{
	EState	   *estate = s->css.ss.ps.state;
	PlannedStmt *ps = estate->es_plannedstmt;
	const char *src = estate->es_sourceText;
	int			loc = Max(ps->stmt_location, 0);
	int			len = ps->stmt_len > 0 ? ps->stmt_len : (int) strlen(src + loc);
	RaftParam  *params;
	int			nparams;
	RaftOutcome *o;
	TupleDesc	desc = s->css.ss.ss_ScanTupleSlot->tts_tupleDescriptor;

	const char *sql = raft_route_strip_prepare(pnstrdup(src + loc, len));

	nparams = raft_params_from_list(estate->es_param_list_info, &params);
	o = raft_submit_statement("raft_ext.route_writes", sql, strlen(sql),
							  nparams, params, ps->hasReturning ? RAFT_PAYLOAD_WANTS_ROWS : 0,
							  NULL);
	/* what the command tag reports: INSERT 0 n, UPDATE n ... */
	estate->es_processed = o->has_rows ? o->rows : 0;
	if (ps->hasReturning)
	{
		raft_query_require_rows(o, "raft_ext.route_writes");
		if (o->result_nkept > 0 && o->result_ncols != desc->natts)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("raft_ext.route_writes: log entry %llu returned %d columns, not %d",
							(unsigned long long) o->index, o->result_ncols, desc->natts),
					 errdetail("The statement was applied; a table it writes differs between this node and the leader.")));
	}
	s->outcome = o;
	s->submitted = true;
	raft_route_last_lxid = MyProc->lxid;
	raft_route_last_index = o->index;
}

static TupleTableSlot *
raft_route_next(ScanState *node)
{
	RaftRouteState *s = (RaftRouteState *) node;
	TupleTableSlot *slot = node->ss_ScanTupleSlot;
	TupleDesc	desc = slot->tts_tupleDescriptor;
	const RaftOutcome *o;
	int			nest;
	int			c;

	if (!s->submitted)
		raft_route_submit(s);
	o = s->outcome;
	ExecClearTuple(slot);
	if (!o->has_result || s->next_row >= o->result_nkept || desc->natts == 0)
		return slot;
	nest = raft_fixed_io_push();
	for (c = 0; c < desc->natts; c++)
	{
		char	   *v = o->result_values[(Size) s->next_row * desc->natts + c];

		slot->tts_isnull[c] = v == NULL;
		slot->tts_values[c] = OidInputFunctionCall(s->infuncs[c], v, s->ioparams[c],
												   TupleDescAttr(desc, c)->atttypmod);
	}
	AtEOXact_GUC(false, nest);
	s->next_row++;
	return ExecStoreVirtualTuple(slot);
}

static bool
raft_route_recheck(ScanState *node, TupleTableSlot *slot)
{
	return true;
}

static TupleTableSlot *
raft_route_exec(CustomScanState *node)
{
	return ExecScan(&node->ss, raft_route_next, raft_route_recheck);
}

static void
raft_route_end(CustomScanState *node)
{
}

static void
raft_route_rescan(CustomScanState *node)
{
	/* the write is not done twice: the same rows again */
	((RaftRouteState *) node)->next_row = 0;
}

/*
 * Transparent mode submits what raft_submit(text) would: it takes the same
 * grant (nothing is granted to PUBLIC).
 */
static Oid
raft_route_extension_schema(void)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("raft_ext"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

static void
raft_route_check_grant(void)
{
	Oid			argtypes[1] = {TEXTOID};
	Oid			nsp = raft_route_extension_schema();
	Oid			fn = OidIsValid(nsp) ?
		LookupFuncName(list_make2(makeString(get_namespace_name(nsp)), makeString("raft_submit")),
					   1, argtypes, true) : InvalidOid;

	if (!OidIsValid(fn) || pg_proc_aclcheck(fn, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to route a write through the Raft log"),
				 errdetail("raft_ext.route_writes submits the statement as raft_submit(text) would."),
				 errhint("Grant it through the log: SELECT raft_submit('GRANT EXECUTE ON FUNCTION raft_submit(text) TO %s').",
						 GetUserNameFromId(GetUserId(), false))));
}

/*
 * The executor is starting a client's statement on the replicated database
 * (the guard decided that): route it if it is a write to route; true when
 * it was.
 */
bool
raft_route_executor_start(QueryDesc *queryDesc)
{
	PlannedStmt *orig = queryDesc->plannedstmt;
	PlannedStmt *ps;
	CustomScan *cs;
	List	   *tlist = NIL;
	ListCell   *lc;
	AttrNumber	attno = 0;

	if (!raft_ext_route_writes || raft_route_nesting != 0 || !orig->canSetTag ||
		!raft_route_command(orig->commandType) ||
		!raft_route_writes_replicated(orig->rtable, orig->resultRelations))
		return false;
	raft_route_check_grant();
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("raft_ext.route_writes cannot route a write inside a transaction block"),
				 errdetail("A routed write commits on every node as soon as it is applied; it could not be rolled back with the rest of the transaction. Several statements sent in one query string are one transaction too."),
				 errhint("Send the write on its own in autocommit mode (psycopg2: connection.autocommit = True), or submit the whole transaction as one entry: raft_submit('stmt1; stmt2', ...).")));

	/*
	 * The extended protocol runs everything up to a Sync in one transaction
	 * (a pipeline, a driver's batch): its writes would not be all or nothing
	 * once routed one by one, so only the first is.
	 */
	if (MyProc->lxid == raft_route_last_lxid)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("raft_ext.route_writes cannot route a second write in the same transaction"),
				 errdetail("The first was applied on every node as log entry %llu; this transaction (a pipeline or batch before one Sync) could not be all or nothing.",
						   (unsigned long long) raft_route_last_index),
				 errhint("Send a Sync after each write, or submit them as one entry: raft_submit('stmt1; stmt2', ...).")));
	/* the statement's result: the RETURNING columns, as the plan returns them */
	foreach(lc, orig->planTree->targetlist)
	{
		TargetEntry *te = lfirst_node(TargetEntry, lc);
		Var		   *v;

		if (te->resjunk)
			continue;
		attno++;
		v = makeVar(INDEX_VAR, attno, exprType((Node *) te->expr),
					exprTypmod((Node *) te->expr), exprCollation((Node *) te->expr), 0);
		tlist = lappend(tlist, makeTargetEntry((Expr *) v, attno, te->resname, false));
	}
	cs = makeNode(CustomScan);
	cs->scan.plan.targetlist = tlist;
	cs->scan.scanrelid = 0;
	cs->custom_scan_tlist = copyObject(tlist);
	cs->methods = &raft_route_scan_methods;

	/* this execution's plan: the original keeps its range table (privileges) */
	ps = makeNode(PlannedStmt);
	memcpy(ps, orig, sizeof(PlannedStmt));
	ps->planTree = (Plan *) cs;
	ps->subplans = NIL;
	ps->rowMarks = NIL;
	ps->resultRelations = NIL;
	ps->parallelModeNeeded = false;
	queryDesc->plannedstmt = ps;
	return true;
}

/* ---------------------------------------------------------------------
 * Nesting
 * --------------------------------------------------------------------- */
static void
raft_route_run(QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once)
{
	raft_route_nesting++;
	PG_TRY();
	{
		if (raft_route_prev_run)
			raft_route_prev_run(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		raft_route_nesting--;
	}
	PG_END_TRY();
}

static void
raft_route_finish(QueryDesc *queryDesc)
{
	raft_route_nesting++;
	PG_TRY();
	{
		if (raft_route_prev_finish)
			raft_route_prev_finish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		raft_route_nesting--;
	}
	PG_END_TRY();
}

static void
raft_route_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	/* EXECUTE runs a client's prepared statement: still the top level */
	int			step = IsA(pstmt->utilityStmt, ExecuteStmt) ? 0 : 1;

	raft_route_nesting += step;
	PG_TRY();
	{
		if (raft_route_prev_utility)
			raft_route_prev_utility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		raft_route_nesting -= step;
	}
	PG_END_TRY();
}

void
raft_route_install_hooks(void)
{
	raft_route_prev_run = ExecutorRun_hook;
	ExecutorRun_hook = raft_route_run;
	raft_route_prev_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = raft_route_finish;
	raft_route_prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = raft_route_utility;
}
