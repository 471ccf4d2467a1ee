/*
 * stmt_check.c — refuse, at submission, what must never reach the log.
 *
 * Every entry runs inside a transaction (and a subtransaction) in the apply
 * worker, so statements that PostgreSQL refuses inside a transaction block
 * would fail on every node: they are refused here with SQLSTATE 25001.
 * Statements whose effect is session state of the apply worker (PREPARE,
 * LISTEN, LOAD, DISCARD, cursors WITH HOLD, COPY to or from the client)
 * would be meaningless or leak between entries: refused with 0A000.  So are
 * SET ROLE and SET SESSION AUTHORIZATION (an entry runs as its submitter)
 * and, with 25001, SET TRANSACTION and its kin.  What would give each node
 * its own result (node-dependent functions, system columns, TABLESAMPLE,
 * LIMIT without ORDER BY in a write) is refused by determinism.c, 0A000.  What is decided only at
 * parse analysis (unknown columns, type errors) cannot be checked here, as
 * the catalog may change before the entry is applied: such an entry is
 * appended and fails at apply, and the error says so (submit.c).
 *
 * Locking: none.
 */
#include "postgres.h"

#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "tcop/utility.h"
#include "utils/elog.h"

#include "determinism.h"
#include "stmt_check.h"

/* Report parser errors at their position inside the submitted text. */
static void
raft_stmt_error_callback(void *arg)
{
	const char *query = (const char *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(query);
	}
}

static bool
raft_stmt_has_option(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, name) == 0)
			return true;
	}
	return false;
}

static void
raft_stmt_refuse_no_xact(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
			 errmsg("%s cannot be submitted through raft_submit", what),
			 errdetail("raft_submit runs every statement inside a transaction block on every node, and %s cannot run inside a transaction block.", what),
			 errhint("Run it directly on each node instead.")));
}

static void
raft_stmt_refuse_session(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s cannot be submitted through raft_submit", what),
			 errdetail("Its effect is session state, and a submitted statement has no session: each one runs in its own transaction on every node."),
			 errhint("Submit statements that change the database's contents or schema.")));
}

/*
 * SET statements that cannot work in a submitted string: changing roles
 * (every entry runs as its submitter, as a security-restricted operation,
 * where PostgreSQL's own refusal names nothing the user wrote), and the
 * transaction's characteristics (the apply worker's transaction has begun
 * and run queries before the statement: PostgreSQL refuses them at apply).
 */
static void
raft_stmt_check_set(VariableSetStmt *set)
{
	if (set->kind == VAR_RESET_ALL || set->name == NULL)
		return;
	if (strcmp(set->name, "role") == 0 || strcmp(set->name, "session_authorization") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot be submitted through raft_submit",
						strcmp(set->name, "role") == 0 ?
						(set->kind == VAR_RESET ? "RESET ROLE" : "SET ROLE") :
						(set->kind == VAR_RESET ? "RESET SESSION AUTHORIZATION" :
						 "SET SESSION AUTHORIZATION")),
				 errdetail("A submitted statement runs, on every node, as the role that submitted it, and cannot change roles."),
				 errhint("Run SET ROLE in your own session before calling raft_submit: the statement then runs as that role.")));
	if (strcmp(set->name, "TRANSACTION") == 0 ||
		strcmp(set->name, "TRANSACTION SNAPSHOT") == 0 ||
		strcmp(set->name, "SESSION CHARACTERISTICS") == 0 ||
		strcmp(set->name, "transaction_isolation") == 0 ||
		strcmp(set->name, "transaction_read_only") == 0 ||
		strcmp(set->name, "transaction_deferrable") == 0 ||
		strcmp(set->name, "default_transaction_isolation") == 0 ||
		strcmp(set->name, "default_transaction_read_only") == 0 ||
		strcmp(set->name, "default_transaction_deferrable") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("SET of transaction characteristics cannot be submitted through raft_submit"),
				 errdetail("A submitted string runs inside a transaction that each node has already begun, at READ COMMITTED, read-write."),
				 errhint("Remove SET TRANSACTION, SET SESSION CHARACTERISTICS and the transaction_* settings from the string.")));
}

static void
raft_stmt_check_one(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_VacuumStmt:
			if (((VacuumStmt *) stmt)->is_vacuumcmd)
				raft_stmt_refuse_no_xact("VACUUM");
			break;
		case T_CreatedbStmt:
			raft_stmt_refuse_no_xact("CREATE DATABASE");
			break;
		case T_DropdbStmt:
			raft_stmt_refuse_no_xact("DROP DATABASE");
			break;
		case T_AlterDatabaseStmt:
			if (raft_stmt_has_option(((AlterDatabaseStmt *) stmt)->options, "tablespace"))
				raft_stmt_refuse_no_xact("ALTER DATABASE SET TABLESPACE");
			break;
		case T_IndexStmt:
			if (((IndexStmt *) stmt)->concurrent)
				raft_stmt_refuse_no_xact("CREATE INDEX CONCURRENTLY");
			break;
		case T_ReindexStmt:
			{
				ReindexStmt *r = (ReindexStmt *) stmt;

				if (raft_stmt_has_option(r->params, "concurrently"))
					raft_stmt_refuse_no_xact("REINDEX CONCURRENTLY");
				if (r->kind == REINDEX_OBJECT_SYSTEM || r->kind == REINDEX_OBJECT_DATABASE)
					raft_stmt_refuse_no_xact("REINDEX SYSTEM and REINDEX DATABASE");
				break;
			}
		case T_DropStmt:
			if (((DropStmt *) stmt)->concurrent)
				raft_stmt_refuse_no_xact("DROP INDEX CONCURRENTLY");
			break;
		case T_ClusterStmt:
			if (((ClusterStmt *) stmt)->relation == NULL)
				raft_stmt_refuse_no_xact("CLUSTER without a table name");
			break;
		case T_AlterSystemStmt:
			raft_stmt_refuse_no_xact("ALTER SYSTEM");
			break;
		case T_CreateTableSpaceStmt:
			raft_stmt_refuse_no_xact("CREATE TABLESPACE");
			break;
		case T_DropTableSpaceStmt:
			raft_stmt_refuse_no_xact("DROP TABLESPACE");
			break;
		case T_CreateSubscriptionStmt:
		case T_AlterSubscriptionStmt:
		case T_DropSubscriptionStmt:
			raft_stmt_refuse_no_xact("CREATE, ALTER and DROP SUBSCRIPTION");
			break;
		case T_TransactionStmt:
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("transaction control statements cannot be submitted through raft_submit"),
					 errdetail("Each submitted string already runs as one transaction on every node."),
					 errhint("Remove BEGIN, COMMIT, ROLLBACK, SAVEPOINT and PREPARE TRANSACTION from the string.")));
			break;
		case T_VariableSetStmt:
			raft_stmt_check_set((VariableSetStmt *) stmt);
			break;
		case T_PrepareStmt:
			raft_stmt_refuse_session("PREPARE");
			break;
		case T_ExecuteStmt:
			raft_stmt_refuse_session("EXECUTE");
			break;
		case T_DeallocateStmt:
			raft_stmt_refuse_session("DEALLOCATE");
			break;
		case T_ListenStmt:
			raft_stmt_refuse_session("LISTEN");
			break;
		case T_UnlistenStmt:
			raft_stmt_refuse_session("UNLISTEN");
			break;
		case T_LoadStmt:
			raft_stmt_refuse_session("LOAD");
			break;
		case T_DiscardStmt:
			raft_stmt_refuse_session("DISCARD");
			break;
		case T_DeclareCursorStmt:
			if (((DeclareCursorStmt *) stmt)->options & CURSOR_OPT_HOLD)
				raft_stmt_refuse_session("DECLARE ... WITH HOLD");
			break;
		case T_CopyStmt:
			if (((CopyStmt *) stmt)->filename == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("COPY to or from the client cannot be submitted through raft_submit"),
						 errdetail("A submitted statement runs in a background worker on every node, with no client."),
						 errhint("Submit INSERT statements instead.")));
			break;
		default:
			break;
	}
}

List *
raft_stmt_check(const char *sql)
{
	ErrorContextCallback errcb;
	List	   *raw;
	ListCell   *lc;

	errcb.callback = raft_stmt_error_callback;
	errcb.arg = (void *) sql;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	error_context_stack = errcb.previous;

	if (raw == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_submit: the string contains no SQL statement"),
				 errhint("Pass one or more SQL statements.")));

	foreach(lc, raw)
		raft_stmt_check_one(((RawStmt *) lfirst(lc))->stmt);
	raft_determinism_check_raw(raw);
	return raw;
}
