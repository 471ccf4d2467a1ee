/*
 * guard.c — only the log writes the replicated database.
 *
 * On every node, a session connected to raft_ext.database (once the
 * extension exists there) may read, and may do what concerns only itself
 * (temporary tables and sequences, SET, cursors, LISTEN, EXPLAIN, VACUUM,
 * ANALYZE, locks); anything that would change the database's contents or
 * schema is refused with SQLSTATE 25006 and a hint to use raft_submit, for
 * every role, superusers included:
 *   - INSERT, UPDATE, DELETE, MERGE on a table that is not temporary
 *     (ExecutorStart_hook: the plan's result relations, also in functions,
 *     CTEs and triggers' statements), unless transparent mode routes it
 *     through the log (route.c, asked first);
 *   - DDL, GRANT, COMMENT, TRUNCATE, COPY FROM, CREATE EXTENSION ... on
 *     anything not temporary (ProcessUtility_hook);
 *   - nextval() and setval() on a sequence that is not temporary, and the
 *     large-object functions that write (planner_hook: the call is refused
 *     when the query is planned);
 *   - the extension's own tables, which are ordinary tables for this purpose.
 * Exempt: raft_ext's two workers (the apply worker is the one writer), roles
 * and role memberships (cluster-wide objects, not replicated by raft_ext),
 * ALTER EXTENSION raft_ext UPDATE (each node's own business), and a
 * superuser who sets raft_ext.local_writes = on for a repair, which is
 * logged at WARNING for every statement it lets through.
 *
 * Locking: none.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "tcop/utility.h"
#include "utils/fmgroids.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "config.h"
#include "guard.h"
#include "route.h"
#include "sequences.h"

bool		raft_ext_local_writes = false;

static bool raft_guard_worker = false;	/* this process is one of raft_ext's workers */
static bool raft_guard_apply = false;	/* ... the apply worker */
static Oid	raft_guard_db = InvalidOid;

static ExecutorStart_hook_type raft_prev_executor_start = NULL;
static ProcessUtility_hook_type raft_prev_process_utility = NULL;
static planner_hook_type raft_prev_planner = NULL;

void
raft_guard_set_worker(bool apply)
{
	raft_guard_worker = true;
	raft_guard_apply = apply;
}

/* Is this session held to the guard?  (It reads no catalog when it is not.) */
bool
raft_guard_active(void)
{
	if (raft_guard_worker || !IsUnderPostmaster || !OidIsValid(MyDatabaseId) ||
		!IsTransactionState())
		return false;
	/* an extension script: CREATE EXTENSION itself was let through */
	if (creating_extension)
		return false;
	if (!OidIsValid(raft_guard_db))
		raft_guard_db = get_database_oid(raft_ext_database, true);
	if (MyDatabaseId != raft_guard_db)
		return false;
	/* the extension's schema: no guard before CREATE EXTENSION raft_ext */
	return OidIsValid(get_namespace_oid("raft_ext", true));
}

/*
 * A write the guard would refuse: let it through with a WARNING when the
 * escape hatch is on, refuse it otherwise.
 */
static void
raft_guard_refuse(const char *what)
{
	if (raft_ext_local_writes)
	{
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("raft_ext: local write to the replicated database allowed by raft_ext.local_writes: %s", what),
				 errdetail("It is not replicated: this node's data now differs from the others' unless the same is done on every node."),
				 errhidestmt(false)));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("cannot %s directly in database \"%s\": it is replicated by raft_ext",
					what, raft_ext_database),
			 errdetail("Every change to a replicated database goes through the Raft log, so that every node applies it, in the same order."),
			 errhint("Submit it with raft_submit('...'). For a repair on this node only, a superuser can SET raft_ext.local_writes = on.")));
}

static bool
isTempNamespaceName(const char *schema)
{
	return strcmp(schema, "pg_temp") == 0 || strncmp(schema, "pg_temp_", 8) == 0;
}

static bool
raft_guard_relid_is_temp(Oid relid)
{
	return OidIsValid(relid) && get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
}

static bool
raft_guard_rangevar_is_temp(RangeVar *rv)
{
	if (rv == NULL)
		return false;
	if (rv->relpersistence == RELPERSISTENCE_TEMP)
		return true;
	return raft_guard_relid_is_temp(RangeVarGetRelid(rv, NoLock, true));
}

/* ---------------------------------------------------------------------
 * DML
 * --------------------------------------------------------------------- */
static void
raft_guard_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (raft_guard_active() && !(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		!raft_route_executor_start(queryDesc))
	{
		ListCell   *lc;

		foreach(lc, queryDesc->plannedstmt->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION &&
				(rte->requiredPerms & (ACL_INSERT | ACL_UPDATE | ACL_DELETE)) != 0 &&
				!raft_guard_relid_is_temp(rte->relid))
			{
				raft_guard_refuse(psprintf("%s %s",
										   (rte->requiredPerms & ACL_INSERT) ? "INSERT into" :
										   (rte->requiredPerms & ACL_UPDATE) ? "UPDATE" : "DELETE from",
										   quote_qualified_identifier(get_namespace_name(get_rel_namespace(rte->relid)),
																	  get_rel_name(rte->relid))));
				break;
			}
		}
	}
	if (raft_prev_executor_start)
		raft_prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* ---------------------------------------------------------------------
 * Utility statements
 * --------------------------------------------------------------------- */

/* May a session run this utility statement in the replicated database? */
static bool
raft_guard_utility_ok(Node *stmt)
{
	switch (nodeTag(stmt))
	{
			/* the session's own business, or no change to the database */
		case T_TransactionStmt:
		case T_VariableSetStmt:
		case T_VariableShowStmt:
		case T_DiscardStmt:
		case T_DeclareCursorStmt:
		case T_FetchStmt:
		case T_ClosePortalStmt:
		case T_PrepareStmt:
		case T_ExecuteStmt:
		case T_DeallocateStmt:
		case T_ExplainStmt:		/* what it runs is checked when it runs */
		case T_CallStmt:
		case T_DoStmt:
		case T_ListenStmt:
		case T_UnlistenStmt:
		case T_NotifyStmt:
		case T_LoadStmt:
		case T_LockStmt:
		case T_ConstraintsSetStmt:
		case T_CheckPointStmt:
		case T_VacuumStmt:		/* VACUUM and ANALYZE: statistics and space */
		case T_ReindexStmt:		/* the same contents, rebuilt */
		case T_ClusterStmt:
		case T_AlterSystemStmt: /* the node's configuration */
		case T_AlterDatabaseSetStmt:	/* ... and its per-database settings */
		case T_CreatedbStmt:	/* other databases */
		case T_DropdbStmt:
			/* roles are cluster-wide, and not replicated by raft_ext */
		case T_CreateRoleStmt:
		case T_AlterRoleStmt:
		case T_AlterRoleSetStmt:
		case T_DropRoleStmt:
		case T_GrantRoleStmt:
			return true;
		case T_CopyStmt:
			return !((CopyStmt *) stmt)->is_from ||
				raft_guard_rangevar_is_temp(((CopyStmt *) stmt)->relation);
		case T_CreateStmt:
			return raft_guard_rangevar_is_temp(((CreateStmt *) stmt)->relation);
		case T_CreateSeqStmt:
			return raft_guard_rangevar_is_temp(((CreateSeqStmt *) stmt)->sequence);
		case T_CreateTableAsStmt:
			return raft_guard_rangevar_is_temp(((CreateTableAsStmt *) stmt)->into->rel);
		case T_ViewStmt:
			return raft_guard_rangevar_is_temp(((ViewStmt *) stmt)->view);
		case T_IndexStmt:
			return raft_guard_rangevar_is_temp(((IndexStmt *) stmt)->relation);
		case T_AlterTableStmt:
			return raft_guard_rangevar_is_temp(((AlterTableStmt *) stmt)->relation);
		case T_AlterSeqStmt:
			return raft_guard_rangevar_is_temp(((AlterSeqStmt *) stmt)->sequence);
		case T_TruncateStmt:
			{
				ListCell   *lc;

				foreach(lc, ((TruncateStmt *) stmt)->relations)
					if (!raft_guard_rangevar_is_temp(lfirst_node(RangeVar, lc)))
						return false;
				return true;
			}
		case T_DropStmt:
			{
				DropStmt   *d = (DropStmt *) stmt;
				ListCell   *lc;

				if (d->removeType != OBJECT_TABLE && d->removeType != OBJECT_SEQUENCE &&
					d->removeType != OBJECT_VIEW && d->removeType != OBJECT_INDEX)
					return false;
				foreach(lc, d->objects)
					if (!raft_guard_rangevar_is_temp(makeRangeVarFromNameList((List *) lfirst(lc))))
						return false;
				return true;
			}
		case T_CreateFunctionStmt:
			{
				/* a function of the session's own temporary schema */
				char	   *schema;
				char	   *name;

				DeconstructQualifiedName(((CreateFunctionStmt *) stmt)->funcname, &schema, &name);
				return schema != NULL && isTempNamespaceName(schema);
			}
		case T_AlterExtensionStmt:
			/* each node updates its own extension */
			return strcmp(((AlterExtensionStmt *) stmt)->extname, "raft_ext") == 0;
		default:
			return false;
	}
}

static void
raft_guard_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						   ProcessUtilityContext context, ParamListInfo params,
						   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (raft_guard_apply && IsTransactionState())
		raft_sequences_note_utility();	/* DDL may move sequences */
	else if (raft_guard_active() && !raft_guard_utility_ok(stmt))
		raft_guard_refuse(psprintf("run %s", GetCommandTagName(CreateCommandTag(stmt))));

	if (raft_prev_process_utility)
		raft_prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
								  queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

/* ---------------------------------------------------------------------
 * Functions that write: sequences and large objects
 * --------------------------------------------------------------------- */
static bool
raft_guard_function_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, raft_guard_function_walker, context, 0);
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) node;

		switch (f->funcid)
		{
			case F_NEXTVAL:
			case F_SETVAL_REGCLASS_INT8:
			case F_SETVAL_REGCLASS_INT8_BOOL:
				{
					Node	   *arg = linitial(f->args);

					/* a temporary sequence, named by a constant, is the session's */
					if (IsA(arg, Const) && !((Const *) arg)->constisnull &&
						raft_guard_relid_is_temp(DatumGetObjectId(((Const *) arg)->constvalue)))
						break;
					raft_guard_refuse(psprintf("call %s() on a sequence", get_func_name(f->funcid)));
					break;
				}
			case F_LO_CREAT:
			case F_LO_CREATE:
			case F_LOWRITE:
			case F_LO_UNLINK:
			case F_LO_PUT:
			case F_LO_FROM_BYTEA:
			case F_LO_TRUNCATE:
			case F_LO_TRUNCATE64:
			case F_LO_IMPORT_TEXT:
			case F_LO_IMPORT_TEXT_OID:
				raft_guard_refuse(psprintf("call %s() (large objects)", get_func_name(f->funcid)));
				break;
			default:
				break;
		}
	}
	return expression_tree_walker(node, raft_guard_function_walker, context);
}

static PlannedStmt *
raft_guard_planner(Query *parse, const char *query_string, int cursorOptions,
				   ParamListInfo boundParams)
{
	/* a write that transparent mode will route runs on the apply worker */
	if (raft_guard_active() && !raft_route_will_route(parse))
		(void) raft_guard_function_walker((Node *) parse, NULL);
	if (raft_prev_planner)
		return raft_prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

void
raft_guard_install_hooks(void)
{
	raft_prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = raft_guard_executor_start;
	raft_prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = raft_guard_process_utility;
	raft_prev_planner = planner_hook;
	planner_hook = raft_guard_planner;
}
