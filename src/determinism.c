/*
 * determinism.c — the same result on every node (see determinism.h): the
 * rule that classifies built-in functions, the planner hook that applies it
 * in the apply worker, the entry's clock and seeds, and the functions that
 * stand in for the non-deterministic built-ins.
 *
 * The rule, for a function in pg_catalog (anything else runs as it is):
 *   replaced   clock_timestamp, timeofday, gen_random_uuid (here),
 *              nextval, setval (sequences.c);
 *   refused    every other VOLATILE built-in that is not on the list of
 *              those that give the same result on every node (random and
 *              setseed, seeded per entry; currval and lastval; set_config;
 *              the advisory locks that wait, as opposed to pg_try_*; large
 *              objects with explicit OIDs; pg_notify; ...), and the STABLE
 *              ones that read the node's own state (pg_backend_pid,
 *              inet_client_addr and kin, transaction ids and snapshots,
 *              statistics: pg_stat_*, the server's start and configuration
 *              times, physical file names, age of an xid);
 *   allowed    the rest (IMMUTABLE and STABLE functions of their arguments
 *              and of the catalog, which is the same everywhere).
 * README ("Identical replicas") has the table.
 *
 * Locking: none.
 */
#include "postgres.h"

#include <sys/time.h>

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "config.h"
#include "determinism.h"

PG_FUNCTION_INFO_V1(raft_ext_entry_clock_timestamp);
PG_FUNCTION_INFO_V1(raft_ext_entry_timeofday);
PG_FUNCTION_INFO_V1(raft_ext_entry_random_uuid);

typedef enum RaftFuncPolicy
{
	RAFT_FUNC_ALLOW,
	RAFT_FUNC_REPLACE,
	RAFT_FUNC_REFUSE
} RaftFuncPolicy;

/* VOLATILE built-ins that give the same result on every node. */
static const char *const raft_volatile_allowed[] = {
	"amvalidate", "current_query", "currval", "cursor_to_xml", "cursor_to_xmlschema",
	"lastval", "lo_close", "lo_create", "lo_from_bytea", "lo_get", "lo_lseek", "lo_lseek64",
	"lo_open", "lo_put", "lo_tell", "lo_tell64", "lo_truncate", "lo_truncate64",
	"lo_unlink", "loread", "lowrite", "pg_advisory_lock", "pg_advisory_lock_shared",
	"pg_advisory_unlock", "pg_advisory_unlock_all", "pg_advisory_unlock_shared",
	"pg_advisory_xact_lock", "pg_advisory_xact_lock_shared", "pg_extension_config_dump",
	"pg_notify", "pg_partition_ancestors", "pg_partition_tree", "pg_sequence_last_value",
	"query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema", "random",
	"set_config", "setseed", "ts_rewrite", "ts_stat"
};

/* Built-ins stood in for while the apply worker runs an entry. */
static const char *const raft_replaced[] = {
	"clock_timestamp", "gen_random_uuid", "nextval", "setval", "timeofday"
};

/* Non-VOLATILE built-ins that read the node's own state. */
static const char *const raft_node_state[] = {
	"inet_client_addr", "inet_client_port", "inet_server_addr", "inet_server_port",
	"pg_backend_pid", "pg_conf_load_time", "pg_current_snapshot", "pg_current_xact_id",
	"pg_current_xact_id_if_assigned", "pg_is_other_temp_schema", "pg_jit_available",
	"pg_listening_channels", "pg_my_temp_schema", "pg_postmaster_start_time",
	"pg_relation_filenode", "pg_relation_filepath", "pg_show_all_settings",
	"pg_tablespace_location", "pg_xact_commit_timestamp", "pg_xact_status",
	"txid_current", "txid_current_if_assigned", "txid_current_snapshot", "txid_status"
};

static bool
raft_name_in(const char *name, const char *const *list, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/*
 * Triggers, handlers and functions returning internal: never called from a
 * query (the trigger manager and the catalog call them), so not judged.
 */
static bool
raft_not_callable(Oid rettype)
{
	return rettype == TRIGGEROID || rettype == EVENT_TRIGGEROID || rettype == INTERNALOID ||
		rettype == LANGUAGE_HANDLEROID || rettype == FDW_HANDLEROID ||
		rettype == INDEX_AM_HANDLEROID || rettype == TSM_HANDLEROID ||
		rettype == TABLE_AM_HANDLEROID;
}

typedef struct RaftPolicyEntry
{
	Oid			funcid;			/* hash key */
	RaftFuncPolicy policy;
} RaftPolicyEntry;

static HTAB *raft_policy_cache = NULL;

/* The rule of the file header, for one function. */
static RaftFuncPolicy
raft_function_policy_uncached(Oid funcid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	const char *name;
	RaftFuncPolicy policy = RAFT_FUNC_ALLOW;

	if (!HeapTupleIsValid(tup))
		return RAFT_FUNC_ALLOW;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	name = NameStr(proc->proname);
	if (proc->pronamespace != PG_CATALOG_NAMESPACE)
		policy = RAFT_FUNC_ALLOW;	/* user-defined: runs, its calls are checked */
	else if (raft_name_in(name, raft_replaced, lengthof(raft_replaced)))
		policy = RAFT_FUNC_REPLACE;
	else if (raft_name_in(name, raft_node_state, lengthof(raft_node_state)) ||
			 strncmp(name, "pg_stat_", 8) == 0 ||
			 ((strcmp(name, "age") == 0 || strcmp(name, "mxid_age") == 0) &&
			  proc->pronargs == 1 && (proc->proargtypes.values[0] == XIDOID)))
		policy = RAFT_FUNC_REFUSE;
	else if (proc->provolatile == PROVOLATILE_VOLATILE &&
			 !raft_name_in(name, raft_volatile_allowed, lengthof(raft_volatile_allowed)) &&
			 !raft_not_callable(proc->prorettype))
		policy = RAFT_FUNC_REFUSE;
	ReleaseSysCache(tup);
	return policy;
}

static RaftFuncPolicy
raft_function_policy(Oid funcid)
{
	RaftPolicyEntry *e;
	bool		found;

	if (funcid >= FirstNormalObjectId)
		return RAFT_FUNC_ALLOW; /* not a built-in */
	if (raft_policy_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(RaftPolicyEntry);
		raft_policy_cache = hash_create("raft_ext function policy", 256, &ctl,
										HASH_ELEM | HASH_BLOBS);
	}
	e = hash_search(raft_policy_cache, &funcid, HASH_ENTER, &found);
	if (!found)
		e->policy = raft_function_policy_uncached(funcid);
	return e->policy;
}

static void
raft_refuse_function(const char *name, bool at_apply)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("function %s() cannot be used in a statement replicated by raft_ext", name),
			 errdetail("Its result depends on the node that runs it (its backend, transaction ids, statistics, files or timing), so the replicas would differ."),
			 at_apply ?
			 errhint("It was called while the entry was applied, here by a function the statement calls; the same error is the entry's outcome on every node.") :
			 errhint("Compute the value before calling raft_submit and put it in the statement's text; see \"Identical replicas\" in the README.")));
}

/* ---------------------------------------------------------------------
 * raft_submit: what the statement names
 * --------------------------------------------------------------------- */

/* Relations whose contents are the node's own state. */
static bool
raft_node_state_relation(RangeVar *rv)
{
	const char *n = rv->relname;

	if (rv->schemaname != NULL && strcmp(rv->schemaname, "pg_catalog") != 0)
		return false;
	return strncmp(n, "pg_stat", 7) == 0 || strncmp(n, "pg_statio", 9) == 0 ||
		strcmp(n, "pg_locks") == 0 || strcmp(n, "pg_settings") == 0 ||
		strcmp(n, "pg_file_settings") == 0 || strcmp(n, "pg_hba_file_rules") == 0 ||
		strcmp(n, "pg_ident_file_mappings") == 0 || strcmp(n, "pg_prepared_xacts") == 0 ||
		strcmp(n, "pg_replication_slots") == 0 || strcmp(n, "pg_backend_memory_contexts") == 0 ||
		strcmp(n, "pg_shmem_allocations") == 0 || strcmp(n, "pg_cursors") == 0 ||
		strcmp(n, "pg_prepared_statements") == 0 || strcmp(n, "pg_replication_origin_status") == 0;
}

static bool
raft_determinism_raw_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall))
	{
		FuncCall   *fc = (FuncCall *) node;
		char	   *schema;
		char	   *name;

		DeconstructQualifiedName(fc->funcname, &schema, &name);
		if (schema == NULL || strcmp(schema, "pg_catalog") == 0)
		{
			CatCList   *list = SearchSysCacheList1(PROCNAMEARGSNSP, CStringGetDatum(name));
			int			i;
			bool		refuse = false;

			for (i = 0; i < list->n_members; i++)
			{
				Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(&list->members[i]->tuple);

				if (proc->pronamespace == PG_CATALOG_NAMESPACE &&
					raft_function_policy(proc->oid) == RAFT_FUNC_REFUSE)
					refuse = true;
			}
			ReleaseSysCacheList(list);
			/* age(timestamp) is fine; age(xid) is not: decided at apply */
			if (refuse && strcmp(name, "age") != 0)
				raft_refuse_function(name, false);
		}
	}
	else if (IsA(node, ColumnRef))
	{
		ColumnRef  *cr = (ColumnRef *) node;
		Node	   *last = llast(cr->fields);

		if (IsA(last, String))
		{
			const char *col = strVal(last);

			if (strcmp(col, "ctid") == 0 || strcmp(col, "xmin") == 0 ||
				strcmp(col, "xmax") == 0 || strcmp(col, "cmin") == 0 ||
				strcmp(col, "cmax") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("system column \"%s\" cannot be used in a statement replicated by raft_ext", col),
						 errdetail("Row positions and transaction ids differ from node to node.")));
		}
	}
	else if (IsA(node, RangeVar))
	{
		RangeVar   *rv = (RangeVar *) node;

		if (raft_node_state_relation(rv))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("\"%s\" cannot be read by a statement replicated by raft_ext", rv->relname),
					 errdetail("It shows the state of the node that reads it, which differs from node to node.")));
	}
	else if (IsA(node, RangeTableSample))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("TABLESAMPLE cannot be used in a statement replicated by raft_ext"),
				 errdetail("The rows it picks depend on their physical order, which differs from node to node.")));
	else if (IsA(node, SelectStmt))
	{
		SelectStmt *sel = (SelectStmt *) node;

		/* a subset of rows that the physical order picks */
		if (sel->limitCount != NULL && sel->sortClause == NIL && sel->fromClause != NIL &&
			context != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("LIMIT without ORDER BY cannot be used in a replicated write"),
					 errdetail("Which rows it picks depends on their physical order, which differs from node to node."),
					 errhint("Add an ORDER BY that fixes the order (a unique key).")));
	}
	return raw_expression_tree_walker(node, raft_determinism_raw_walker, context);
}

void
raft_determinism_check_raw(List *raw_stmts)
{
	ListCell   *lc;

	foreach(lc, raw_stmts)
	{
		Node	   *stmt = ((RawStmt *) lfirst(lc))->stmt;

		/*
		 * raw_expression_tree_walker knows the optimizable statements; a
		 * utility statement's expressions (a column default) are checked
		 * when the apply worker plans what evaluates them.  A LIMIT
		 * without ORDER BY is refused only inside a write (context set).
		 */
		switch (nodeTag(stmt))
		{
			case T_SelectStmt:
				(void) raft_determinism_raw_walker(stmt, NULL);
				break;
			case T_InsertStmt:
			case T_UpdateStmt:
			case T_DeleteStmt:
			case T_MergeStmt:
				(void) raft_determinism_raw_walker(stmt, (void *) stmt);
				break;
			default:
				break;
		}
	}
}

/* ---------------------------------------------------------------------
 * The apply worker: the planner hook and the entry's clock and seeds
 * --------------------------------------------------------------------- */

static planner_hook_type raft_prev_planner_hook = NULL;
static bool raft_determinism_active = false;	/* the apply worker, set up */

/* Stand-ins, looked up at apply worker start. */
static Oid	raft_oid_clock_timestamp = InvalidOid;
static Oid	raft_oid_timeofday = InvalidOid;
static Oid	raft_oid_random_uuid = InvalidOid;
static Oid	raft_oid_nextval = InvalidOid;
static Oid	raft_oid_setval2 = InvalidOid;
static Oid	raft_oid_setval3 = InvalidOid;
static Oid	raft_oid_identity_nextval = InvalidOid;

/* The entry being applied. */
static TimestampTz raft_entry_stamp = 0;
static pg_prng_state raft_entry_uuid_prng;

static Oid
raft_stand_in(Oid funcid)
{
	switch (funcid)
	{
		case F_CLOCK_TIMESTAMP:
			return raft_oid_clock_timestamp;
		case F_TIMEOFDAY:
			return raft_oid_timeofday;
		case F_GEN_RANDOM_UUID:
			return raft_oid_random_uuid;
		case F_NEXTVAL:
			return raft_oid_nextval;
		case F_SETVAL_REGCLASS_INT8:
			return raft_oid_setval2;
		case F_SETVAL_REGCLASS_INT8_BOOL:
			return raft_oid_setval3;
		default:
			return InvalidOid;
	}
}

/* Does the tree call anything to replace or refuse?  (Most queries do not.) */
static bool
raft_needs_rewrite_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, raft_needs_rewrite_walker, context, 0);
	if (IsA(node, NextValueExpr))
		return true;
	if (IsA(node, FuncExpr) &&
		raft_function_policy(((FuncExpr *) node)->funcid) != RAFT_FUNC_ALLOW)
		return true;
	return expression_tree_walker(node, raft_needs_rewrite_walker, context);
}

static Node *
raft_rewrite_mutator(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
		return (Node *) query_tree_mutator((Query *) node, raft_rewrite_mutator, context, 0);
	if (IsA(node, NextValueExpr))
	{
		NextValueExpr *nve = (NextValueExpr *) node;
		Node	   *call;

		/* the identity column's sequence, through sequences.c */
		call = (Node *) makeFuncExpr(raft_oid_identity_nextval, INT8OID,
									 list_make1(makeConst(OIDOID, -1, InvalidOid, sizeof(Oid),
														  ObjectIdGetDatum(nve->seqid),
														  false, true)),
									 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		if (nve->typeId == INT4OID)
			call = (Node *) makeFuncExpr(F_INT4_INT8, INT4OID, list_make1(call),
										 InvalidOid, InvalidOid, COERCE_EXPLICIT_CAST);
		else if (nve->typeId == INT2OID)
			call = (Node *) makeFuncExpr(F_INT2_INT8, INT2OID, list_make1(call),
										 InvalidOid, InvalidOid, COERCE_EXPLICIT_CAST);
		return call;
	}
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) expression_tree_mutator(node, raft_rewrite_mutator, context);
		RaftFuncPolicy p = raft_function_policy(f->funcid);

		if (p == RAFT_FUNC_REFUSE)
			raft_refuse_function(get_func_name(f->funcid), true);
		if (p == RAFT_FUNC_REPLACE && OidIsValid(raft_stand_in(f->funcid)))
			f->funcid = raft_stand_in(f->funcid);
		return (Node *) f;
	}
	return expression_tree_mutator(node, raft_rewrite_mutator, context);
}

static PlannedStmt *
raft_planner(Query *parse, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams)
{
	if (raft_determinism_active &&
		raft_needs_rewrite_walker((Node *) parse, NULL))
		parse = query_tree_mutator(parse, raft_rewrite_mutator, NULL, 0);
	if (raft_prev_planner_hook)
		return raft_prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

void
raft_determinism_install_hooks(void)
{
	raft_prev_planner_hook = planner_hook;
	planner_hook = raft_planner;
}

static Oid
raft_lookup_stand_in(const char *signature)
{
	return DatumGetObjectId(DirectFunctionCall1(regprocedurein, CStringGetDatum(signature)));
}

void
raft_determinism_apply_start(void)
{
	raft_oid_clock_timestamp = raft_lookup_stand_in("raft_ext.entry_clock_timestamp()");
	raft_oid_timeofday = raft_lookup_stand_in("raft_ext.entry_timeofday()");
	raft_oid_random_uuid = raft_lookup_stand_in("raft_ext.entry_random_uuid()");
	raft_oid_nextval = raft_lookup_stand_in("raft_ext.entry_nextval(regclass)");
	raft_oid_setval2 = raft_lookup_stand_in("raft_ext.entry_setval(regclass,bigint)");
	raft_oid_setval3 = raft_lookup_stand_in("raft_ext.entry_setval(regclass,bigint,boolean)");
	raft_oid_identity_nextval = raft_lookup_stand_in("raft_ext.entry_identity_nextval(oid)");
	raft_determinism_active = true;
}

void
raft_determinism_begin_entry(uint64 index, TimestampTz stamp)
{
	uint64		seed = hash_combine64(raft_conf_cluster_id(),
									  hash_bytes_uint32_extended((uint32) index, index >> 32));

	/* gen_random_uuid()'s own sequence, apart from random()'s */
	pg_prng_seed(&raft_entry_uuid_prng, seed ^ UINT64CONST(0x5555555555555555));

	/*
	 * The entry's clock: the transaction's and the statement's start
	 * timestamps, behind now(), CURRENT_TIMESTAMP and the rest, wherever
	 * they are evaluated.  PostgreSQL sets them only from outside for a
	 * parallel worker, whose leader dictates them: our case exactly, so the
	 * worker passes for one for the length of the call.  Entries of versions
	 * without a stamp keep the local time, as before.
	 */
	raft_entry_stamp = stamp != 0 ? stamp : GetCurrentTransactionStartTimestamp();
	if (stamp != 0)
	{
		int			save = ParallelWorkerNumber;

		ParallelWorkerNumber = 0;
		SetParallelStartTimestamps(stamp, stamp);
		ParallelWorkerNumber = save;
	}
}

static void
raft_require_entry(const char *what)
{
	if (!raft_determinism_active)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s stands in for a built-in function while raft_ext applies an entry", what),
				 errhint("Call the built-in function instead.")));
}

/* clock_timestamp(), applied: the entry's stamp. */
Datum
raft_ext_entry_clock_timestamp(PG_FUNCTION_ARGS)
{
	raft_require_entry("raft_ext.entry_clock_timestamp()");
	PG_RETURN_TIMESTAMPTZ(raft_entry_stamp);
}

/* timeofday(), applied: the entry's stamp, as timeofday() writes it. */
Datum
raft_ext_entry_timeofday(PG_FUNCTION_ARGS)
{
	char		templ[128];
	char		buf[128];
	pg_time_t	tt;
	int			usec;

	raft_require_entry("raft_ext.entry_timeofday()");
	tt = timestamptz_to_time_t(raft_entry_stamp);
	/* the epoch is a whole second: the microseconds are the remainder */
	usec = (int) (raft_entry_stamp % USECS_PER_SEC);
	if (usec < 0)
		usec += USECS_PER_SEC;
	pg_strftime(templ, sizeof(templ), "%a %b %d %H:%M:%S.%%06d %Y %Z",
				pg_localtime(&tt, session_timezone));
	snprintf(buf, sizeof(buf), templ, usec);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

/* gen_random_uuid(), applied: a version 4 UUID from the entry's generator. */
Datum
raft_ext_entry_random_uuid(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *uuid = palloc(UUID_LEN);
	uint64		a;
	uint64		b;

	raft_require_entry("raft_ext.entry_random_uuid()");
	a = pg_prng_uint64(&raft_entry_uuid_prng);
	b = pg_prng_uint64(&raft_entry_uuid_prng);
	memcpy(uuid->data, &a, 8);
	memcpy(uuid->data + 8, &b, 8);
	/* as gen_random_uuid() does: RFC 4122 version 4, variant 10 */
	uuid->data[6] = (uuid->data[6] & 0x0f) | 0x40;
	uuid->data[8] = (uuid->data[8] & 0x3f) | 0x80;
	PG_RETURN_UUID_P(uuid);
}
