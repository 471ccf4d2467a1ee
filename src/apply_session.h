/*
 * apply_session.h — what a log entry can see of the apply worker's session,
 * made the same for every entry on every node.
 *
 * The apply worker is one long-lived session that runs every entry, often
 * several in one transaction (apply.c).  Whatever an entry leaves in that
 * session (an open cursor, a sequence's currval, a session-level lock, a
 * prepared statement, the random seed, a custom setting) would change what
 * a later entry does, differently on a node that batched them otherwise or
 * restarted in between.  So each entry starts from the same clean session:
 * see apply_session.c for the list of what is reset and how.
 *
 * Locking: none (the apply worker's own state); the table it writes,
 * raft_ext.custom_settings, only in the apply transaction.
 */
#ifndef RAFT_EXT_APPLY_SESSION_H
#define RAFT_EXT_APPLY_SESSION_H

#include "postgres.h"

/*
 * Once, at apply worker start, inside a transaction (SPI connected): load
 * what every session gets (PL/pgSQL) and define the custom settings applied
 * entries have created so far (raft_ext.custom_settings).  False, having
 * done nothing, when the database's extension is older than 1.2 (no such
 * table): the caller waits for ALTER EXTENSION raft_ext UPDATE.
 */
extern bool raft_apply_session_init(void);

/* Before entry `index` runs (inside the apply transaction). */
extern void raft_apply_session_begin_entry(uint64 index);

/*
 * After an entry ran, whatever its outcome (inside the apply transaction,
 * outside the entry's subtransaction, SPI connected): drop what it left in
 * the session, and record custom settings it created.
 */
extern void raft_apply_session_end_entry(void);

/* At the start of every apply transaction: what an aborted one left. */
extern void raft_apply_session_reset(void);

/* After the apply transaction committed / aborted. */
extern void raft_apply_session_at_commit(void);
extern void raft_apply_session_at_abort(void);

#endif							/* RAFT_EXT_APPLY_SESSION_H */
