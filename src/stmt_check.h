/*
 * stmt_check.h — what raft_submit accepts: the statement is parsed before
 * anything is appended to the log, and statements that cannot run inside a
 * transaction block, or that change session state, are refused.
 *
 * Locking: none.
 */
#ifndef RAFT_EXT_STMT_CHECK_H
#define RAFT_EXT_STMT_CHECK_H

#include "postgres.h"

#include "nodes/pg_list.h"

/*
 * Parse sql with the raw parser (syntax errors are raised with their
 * SQLSTATE and a position inside sql) and refuse what cannot be replicated:
 * 25001 for statements that cannot run in a transaction block, 0A000 for
 * session-level statements, 22023 when there is no statement.  Returns the list
 * of RawStmt.
 */
extern List *raft_stmt_check(const char *sql);

#endif							/* RAFT_EXT_STMT_CHECK_H */
