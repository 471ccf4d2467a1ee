/*
 * determinism.h — what makes an entry give the same result on every node,
 * and what is refused because nothing can.
 *
 * The leader decides, every node reproduces (design.md): the leader stamps
 * each entry with its clock (payload.h), and when a node applies the entry
 *   - now(), transaction_timestamp(), statement_timestamp(), CURRENT_DATE,
 *     CURRENT_TIME(STAMP), LOCALTIME(STAMP) and 'now' are the stamp (the
 *     apply transaction's start timestamps are set to it, per entry);
 *   - clock_timestamp() and timeofday() are replaced, in every query the
 *     apply worker plans (the statement, column defaults, triggers, SQL
 *     and PL/pgSQL functions), by functions that return the stamp;
 *   - random() is seeded from the cluster and the log index before the
 *     entry (apply_session.c), gen_random_uuid() is replaced by one drawn
 *     from a generator seeded the same way;
 *   - nextval, setval and identity columns go through sequences.c, which
 *     keeps every sequence's state in step with what is applied.
 * Built-in functions whose result depends on the node (its backend, its
 * transaction ids, its statistics, files, the time spent sleeping...) are
 * refused: before append when the statement names them (raft_submit,
 * 0A000), and when the apply worker plans a query that calls them (from a
 * function: the same error, an outcome on every node).  User-defined
 * functions run; what they call goes through the same rules.
 *
 * Locking: none (backend-local state).
 */
#ifndef RAFT_EXT_DETERMINISM_H
#define RAFT_EXT_DETERMINISM_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

/* _PG_init: the planner hook (it acts only in the apply worker). */
extern void raft_determinism_install_hooks(void);

/* The apply worker, once the extension is ready (in a transaction). */
extern void raft_determinism_apply_start(void);

/* Before each statement entry of the apply worker. */
extern void raft_determinism_begin_entry(uint64 index, TimestampTz stamp);

/*
 * raft_submit: refuse (0A000, naming it) what the raw statements use that
 * cannot give the same result on every node.
 */
extern void raft_determinism_check_raw(List *raw_stmts);

#endif							/* RAFT_EXT_DETERMINISM_H */
