/*
 * membership.h — the cluster's configuration on the PostgreSQL side: where
 * a node's starting configuration comes from, how configuration entries are
 * applied to raft_ext.members, what the Raft worker does when the
 * configuration changes, and raft_add_node / raft_remove_node /
 * raft_force_single_node (see membership.c).
 *
 * Locking: the published configuration lives in the status snapshot
 * (raft_shared->status.peers), written by the Raft worker under
 * status_lock (exclusive) and read under it (shared).
 */
#ifndef RAFT_EXT_MEMBERSHIP_H
#define RAFT_EXT_MEMBERSHIP_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "raft/raft.h"

/* payload kind of a membership request on its way to the leader's Raft worker */
#define RAFT_PAYLOAD_KIND_MEMBERSHIP 'M'

/*
 * The Raft worker, creating its node (in a transaction of its own): the
 * configuration to start from — raft_ext.members when it has rows (the
 * last configuration applied here), else none for a server that joins
 * (raft_ext.join), else raft_ext.peers (a new cluster).  palloc'd in the
 * current context; addresses too.
 */
extern void raft_members_initial(raft_member **members, size_t *n);

/*
 * The Raft worker, every loop: if the node's configuration changed, connect
 * to the new set of members; as leader, promote a learner that has caught
 * up.  (worker.c publishes the configuration in the status snapshot.)
 */
extern void raft_members_sync(raft_node *node);

/*
 * The Raft worker: the connection string it uses for node_id (its own
 * raft_ext.peers entry for it, else the configuration's), NULL if none.
 */
extern const char *raft_members_address(int node_id);

/* Apply a RAFT_ENTRY_CONFIG entry (in the apply transaction, SPI connected). */
extern void raft_members_apply(uint64 index, const char *data, Size len);

/* How many members the last applied configuration has (SPI connected; deterministic). */
extern int	raft_members_count_applied(void);

/* The Raft worker: carry out a RAFT_REQ_CHANGE request (payload req, len; target node). */
extern int	raft_members_take_change(raft_node *node, const char *req, Size len, int target,
									 raft_index *index, raft_term *term);

/*
 * Whether node_id is a member of the configuration this node uses now (the
 * published one; before that, raft_ext.peers), and *voter (may be NULL)
 * whether it votes.
 */
extern bool raft_members_is_member(int node_id, bool *voter);

/*
 * How to reach node_id (palloc'd): its address in the configuration this
 * node uses, else its raft_ext.peers entry (the address book of a node
 * outside its configuration), else NULL.  *voter as above.
 */
extern char *raft_members_conninfo(int node_id, bool *voter);

/*
 * On the leader, a membership request from raft_submit_local: validate,
 * have the Raft worker append it, wait until applied here.  Returns the
 * outcome (index, term, command tag) or sets *retry_problem for the
 * caller's retry loop (not the leader, a change in progress).
 */
struct RaftOutcome;
extern struct RaftOutcome *raft_members_submit_local(const char *payload, Size len,
													 TimestampTz deadline,
													 char **retry_problem,
													 int *leader_hint);

#endif							/* RAFT_EXT_MEMBERSHIP_H */
