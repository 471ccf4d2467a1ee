/*
 * identity.h — the node's durable identity: who this data directory is, and
 * the highest term it ever reached, kept outside raft_ext's tables so that
 * losing those tables (DROP EXTENSION, a restored table, an edited catalog)
 * cannot make the node rejoin as if it were new.
 *
 * Locking: only the Raft worker reads and writes the file.
 */
#ifndef RAFT_EXT_IDENTITY_H
#define RAFT_EXT_IDENTITY_H

#include "postgres.h"

/* The file, relative to the data directory. */
#define RAFT_IDENTITY_FILE "raft_ext_identity"

/*
 * At start, with what the tables hold (their term, whether the log is
 * empty, the incarnation they belong to or NULL): create the file if there is none, else compare.
 * Returns NULL when the node may run, else why it may not (palloc'd,
 * message then hint, for raft_status and the server log).  *vote_floor is
 * the term up to which it must not vote (a node rebuilt from a copy of
 * another, until the core lifts it); 0: none.
 */
extern char *raft_identity_check(uint64 current_term, bool tables_empty,
								 const char *tables_incarnation,
								 char **hint, uint64 *vote_floor);

/* The core lifted the vote floor (raft_status.voteFloorHeld is false). */
extern void raft_identity_floor_lifted(void);

/*
 * The Raft worker, after persisting hard state with this term and before
 * sending anything that depends on it: raise the file's high-water term.
 */
extern void raft_identity_note_term(uint64 current_term);

#endif							/* RAFT_EXT_IDENTITY_H */
