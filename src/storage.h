/*
 * storage.h — the Raft log, hard state and apply state in tables of schema
 * raft_ext, read and written by the workers (through SPI, and the
 * executor's ExecSimpleRelationInsert for new log and outcome rows).
 *
 *   raft_ext.log(index bigint PRIMARY KEY, term bigint, type smallint, payload bytea)
 *   raft_ext.hard_state(single row: current_term bigint, voted_for bigint)
 *   raft_ext.apply_state(single row: last_applied bigint)
 *   raft_ext.outcome(log_index bigint PRIMARY KEY, term bigint, command_tag text,
 *                    rows bigint, sqlstate text, message text, detail text, hint text)
 *
 * Functions marked "own transaction" start and commit one; the others run in
 * the caller's transaction with SPI connected.
 *
 * Locking: none beyond the table locks PostgreSQL takes; only the Raft worker
 * writes log and hard_state, only the apply worker writes apply_state and
 * outcome.
 */
#ifndef RAFT_EXT_STORAGE_H
#define RAFT_EXT_STORAGE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "outcome.h"
#include "raft/raft.h"

/*
 * Wait (checking every second, interruptible) until extension raft_ext
 * exists in this database; returns its OID.  Own transactions.
 */
extern Oid	raft_storage_wait_for_extension(void);

/* The extension's OID, or InvalidOid (own transaction). */
extern Oid	raft_storage_extension_oid(void);

/*
 * At most once a second (*checked_at remembers when): if the extension was
 * dropped or re-created since ext_oid, exit so that the postmaster restarts
 * this worker against the new tables.  Own transaction.
 */
extern void raft_storage_check_extension(Oid ext_oid, TimestampTz *checked_at);

typedef struct RaftStoredState
{
	raft_hard_state hard_state;
	raft_entry *entries;		/* palloc'd in the caller's context */
	size_t		nentries;
	uint64		last_applied;
	uint64		log_start_index;	/* entries up to it were compacted away */
	uint64		log_start_term;	/* the term of that entry; 0 when none */
} RaftStoredState;

/* Load everything the Raft node is created from.  Own transaction. */
extern void raft_storage_load(RaftStoredState *out);

/*
 * Make a ready batch's hard state and entries durable: one transaction,
 * committed with synchronous_commit = local whatever the server says.
 * *last_index is the last stored index; it is updated.  Own transaction.
 */
extern void raft_storage_persist(const raft_ready *ready, uint64 *last_index);

/* In the caller's transaction (SPI connected). */

/* A log entry as read back for apply (payload in the caller's context). */
typedef struct RaftStoredEntry
{
	uint64		index;
	uint64		term;
	int			type;
	char	   *payload;
	Size		len;
} RaftStoredEntry;

extern int	raft_storage_read_entries(uint64 first, uint64 last, RaftStoredEntry *out);
extern uint64 raft_storage_get_last_applied(void);

/*
 * The stored term, whether the log is empty, and the incarnation of the
 * node these tables belong to (NULL: none recorded); its own transaction.
 */
extern void raft_storage_peek(uint64 *current_term, bool *log_empty, char **incarnation);

/* Record the incarnation of the node these tables belong to. */
extern void raft_storage_set_incarnation(const char *incarnation);
/* The same inside the caller's transaction (SPI connected). */
extern void raft_storage_write_incarnation(const char *incarnation);
extern void raft_storage_set_last_applied(uint64 index);

extern void raft_storage_record_outcomes(const RaftOutcome *const *o, int n);
extern bool raft_storage_get_outcome(uint64 index, RaftOutcome *o);

#endif							/* RAFT_EXT_STORAGE_H */
