/*
 * sequences.h — replicated sequences that agree on every node.
 *
 * A sequence's state is not transactional: nextval() in an apply
 * transaction that then aborts (an environment error, retried) stays spent
 * on that node only, and a crash brings a sequence back at the value its
 * WAL logged ahead (up to 32 values past its last nextval), on that node
 * only.  So raft_ext keeps every sequence's state in raft_ext.sequence_state,
 * written in the same transaction as the entries that changed it (and so
 * committed with last_applied), and puts a sequence back to that state
 * wherever it may have gone astray: when the apply worker starts (after a
 * crash), and before an apply transaction is retried.
 *
 * What changes a sequence while an entry is applied, and how it is seen:
 * nextval() and setval() (replaced, determinism.c, by stand-ins that call
 * them and note the state), identity columns (their NextValueExpr replaced
 * the same way); DDL (CREATE, ALTER, DROP SEQUENCE, TRUNCATE ... RESTART
 * IDENTITY, a serial column added to a table with rows) is noticed as a
 * utility statement, after which every sequence's state is taken again.
 *
 * Locking: none of its own (the table's row locks; only the apply worker
 * writes it).
 */
#ifndef RAFT_EXT_SEQUENCES_H
#define RAFT_EXT_SEQUENCES_H

#include "postgres.h"

/*
 * Apply worker start, in a transaction (SPI connected): put every sequence
 * back to its recorded state.
 */
extern void raft_sequences_restore_all(void);

/* An entry ran a utility statement (DDL): take every sequence's state. */
extern void raft_sequences_note_utility(void);

/* Before the apply transaction commits (SPI connected): record states. */
extern void raft_sequences_record(void);

/* After the apply transaction committed / aborted. */
extern void raft_sequences_at_commit(void);
extern void raft_sequences_at_abort(void);

/*
 * At the start of an apply transaction: if the last one aborted after
 * changing sequences, put them back first.
 */
extern void raft_sequences_restore_aborted(void);

#endif							/* RAFT_EXT_SEQUENCES_H */
