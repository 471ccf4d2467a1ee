/*
 * raft_int.h — internal state of the Raft core, shared by its files.
 *
 * Not part of the public interface; hosts include raft.h only.
 *
 * The split follows the paper's concerns:
 *   node.c         creation, tick/step dispatch, propose, ready/advance,
 *                  raft_snapshot_installed
 *   election.c     roles, terms, (pre-)votes, election timer, check-quorum
 *   replication.c  AppendEntries both ways, commit rule, leadership transfer,
 *                  InstallSnapshot both ways (the core carries the
 *                  metadata; the state machine copy is the host's)
 *   progress.c     leader's per-follower nextIndex/matchIndex and flow control
 *   readindex.c    ReadIndex (linearizable read points)
 *   log.c          the in-memory log
 *   util.c         allocation, randomness, error strings
 *   membership.c   the configuration: members, voters and learners, its
 *                  changes (single-server, thesis §4.1) and where it
 *                  comes from (the log's latest RAFT_ENTRY_CONFIG entry,
 *                  else the one the node was created or compacted with)
 *   encoding.c     the wire format, and the configuration's encoding
 */
#ifndef RAFT_INT_H
#define RAFT_INT_H

#include "raft.h"

/* ---- allocation (util.c) ---- */
void	   *raft_malloc(const raft_allocator *a, size_t size);
void	   *raft_realloc(const raft_allocator *a, void *ptr, size_t size);
void		raft_free(const raft_allocator *a, void *ptr);
const raft_allocator *raft_default_allocator(void);

/* Grow *array (element size elem) so it holds at least need elements. */
int			raft_reserve(const raft_allocator *a, void **array, size_t *cap,
						 size_t need, size_t elem);

/* ---- randomness (util.c): splitmix64, reproducible from the seed ---- */
uint64_t	raft_rand_next(uint64_t *state);

/* ---- the wire (encoding.c) ---- */
bool		raft_message_fields_in_range(const raft_message *m);
bool		raft_configuration_valid(const raft_member *members, size_t n);
/* decode into out (room for RAFT_MAX_MEMBERS; NULL: only check); addresses point into buf */
int			raft_configuration_decode_into(const uint8_t *buf, size_t len,
										   raft_member *out, size_t *n);

/* ---- the log (log.c) ---- */

/*
 * The log need not start at index 1: everything up to lastIncludedIndex
 * (the names of the thesis's InstallSnapshot, Figure 5.3) may have been
 * compacted away, and only its last term is kept, for the consistency
 * check of the entry after it.  entries[i].index == lastIncludedIndex + 1 + i.
 */
typedef struct raft_log
{
	raft_entry *entries;
	size_t		n;
	size_t		cap;
	raft_index	lastIncludedIndex;	/* 0: the log starts at index 1 */
	raft_term	lastIncludedTerm;	/* term of that entry; 0 when none */
} raft_log;

/* The first index the log holds (lastIncludedIndex + 1, even when empty). */
raft_index	raft_log_first_index(const raft_log *log);
raft_index	raft_log_last_index(const raft_log *log);
raft_term	raft_log_last_term(const raft_log *log);
/*
 * Term of the entry at index: lastIncludedTerm at lastIncludedIndex; 0 for
 * index 0, an index past the end or one compacted away before that.
 */
raft_term	raft_log_term_at(const raft_log *log, raft_index index);
const raft_entry *raft_log_get(const raft_log *log, raft_index index);
/* Append a copy of e (data copied) at index last + 1; RAFT_ERANGE past RAFT_MAX_INDEX. */
int			raft_log_append(const raft_allocator *a, raft_log *log,
							raft_term term, uint8_t type,
							const void *data, uint32_t len);
/* Remove entries with index >= from. */
void		raft_log_truncate(const raft_allocator *a, raft_log *log, raft_index from);
/* Drop entries up to and including upto (lastIncludedIndex < upto <= last). */
void		raft_log_compact(const raft_allocator *a, raft_log *log, raft_index upto);
void		raft_log_free(const raft_allocator *a, raft_log *log);
/* First index holding term, scanning back from index; the conflict hint. */
raft_index	raft_log_first_index_of_term(const raft_log *log, raft_index index);
/* Last index <= upto holding term t, 0 if none. */
raft_index	raft_log_last_index_of_term(const raft_log *log, raft_term t, raft_index upto);

/* ---- leader's view of a follower (progress.c) ---- */

/* heartbeat intervals a leader goes on replicating to a removed member after its removal committed */
#define RAFT_REMOVED_GRACE_HEARTBEATS 20

typedef struct raft_peer_progress
{
	raft_node_id id;
	raft_index	nextIndex;
	raft_index	matchIndex;
	raft_progress_state state;
	bool		probeSent;		/* PROBE: one AppendEntries out, await answer */
	bool		recentActive;	/* heard from since the last check-quorum round */
	raft_index	matchAtLastHeartbeat;	/* loss detection in REPLICATE */
	uint64_t	ackedReadSeq;	/* highest readSeq echoed at our term */
	raft_index	sentCommit;		/* highest commit index we let it take, this term */
	bool		regressed;		/* its log went back below matchIndex (replication.c) */
	raft_index	regressedFrom;	/* ... the matchIndex it had then */
	uint64_t	regressions;	/* such events, over the node's life */

	/*
	 * A member the leader's latest configuration removed (kept after the
	 * members' progress, slots nMembers.. of progress[]): replicated to,
	 * never counted, until it has matched that configuration's entry once
	 * it is committed, or RAFT_REMOVED_GRACE_HEARTBEATS heartbeat intervals
	 * after the commit (membership.c, raft_progress_prune_removed).
	 */
	bool		removed;
	unsigned	removedBeats;	/* heartbeat intervals since the removal committed */
	bool		removedAcked;	/* it acknowledged the entry after being sent that commit */
	bool		snapshotSent;	/* an InstallSnapshot went out this heartbeat interval */

	/* in-flight AppendEntries (REPLICATE): last index of each, oldest first */
	raft_index *inflight;
	unsigned	inflightStart;
	unsigned	inflightCount;
} raft_peer_progress;

/* ---- pending linearizable reads (readindex.c) ---- */
typedef struct raft_pending_read
{
	uint64_t	requestId;
	raft_node_id from;			/* node that asked; our own id for local reads */
	raft_index	readIndex;
	uint64_t	seq;			/* 0: waiting for the first commit of our term */
} raft_pending_read;

/* ---- the node ---- */
struct raft_node
{
	raft_allocator alloc;

	/* configuration */
	raft_node_id id;

	/*
	 * Membership (membership.c): the configuration in use, members in
	 * increasing id order (room for RAFT_MAX_MEMBERS, so that taking
	 * another configuration never allocates).  It is the latest
	 * RAFT_ENTRY_CONFIG entry of the log (configIndex; addresses point
	 * into that entry's data), else the base: the configuration the node
	 * was created with, or the one in effect at the log's compacted start
	 * (baseIndex: the entry it came from, 0 for the one it was created
	 * with; addresses in baseBlock, owned).
	 */
	raft_member *members;
	size_t		nMembers;
	size_t		nVoters;
	raft_index	configIndex;
	raft_member *baseMembers;	/* one block: members, then addresses */
	size_t		nBaseMembers;
	raft_index	baseIndex;
	bool		prevVoter;		/* this node was a voter of the configuration before */
	raft_member *scratch;		/* room for RAFT_MAX_MEMBERS, for that */
	unsigned	electionTickMin;
	unsigned	electionTickMax;
	unsigned	heartbeatTick;
	size_t		maxMsgBytes;
	unsigned	maxInflight;
	bool		preVote;
	bool		checkQuorum;
	uint64_t	rng;

	/* persistent state on all servers (Figure 2) */
	raft_term	currentTerm;
	raft_node_id votedFor;
	raft_log	log;

	/* what the host has confirmed durable */
	raft_index	stableIndex;
	raft_hard_state persistedHardState;

	/* a node restored after losing its state (election.c) */
	raft_vote_floor voteFloor;	/* {0, 0}: none, or lifted */
	bool		floorMatched;	/* a leader confirmed our log through voteFloor.index */

	/*
	 * InstallSnapshot asked of this node (replication.c): the latest
	 * request it could not answer from its log, until installed
	 * (raft_snapshot_installed); reported in one ready batch per request
	 */
	bool		snapshotNeeded;
	raft_node_id snapshotLeader;
	raft_index	snapshotIndex;
	raft_term	snapshotTerm;
	bool		snapshotReport; /* to report in the next batch */
	bool		readySnapshot;	/* ... it went out in the outstanding one */

	/* volatile state on all servers (Figure 2) */
	raft_index	commitIndex;
	raft_index	lastApplied;	/* handed out for apply and confirmed */

	raft_role	role;
	raft_node_id leader;
	unsigned	electionElapsed;
	unsigned	heartbeatElapsed;
	unsigned	randomizedElectionTimeout;

	/* candidate / pre-candidate: per member slot, 0 unknown, 1 granted, 2 refused */
	uint8_t    *votes;			/* room for RAFT_MAX_MEMBERS */

	/*
	 * volatile state on leaders (Figure 2): nextIndex[], matchIndex[], per
	 * member (voters and learners), same order as members; rebuilt when a
	 * leader is elected and when its configuration changes, meaningless
	 * on other roles
	 */
	raft_peer_progress *progress;
	size_t		nProgress;
	raft_node_id transferTarget;
	uint64_t	followerRegressions;	/* sum of the progress[].regressions */

	/* ReadIndex */
	uint64_t	readSeq;
	raft_pending_read *reads;
	size_t		nReads;
	size_t		capReads;

	/* output, handed to the host in the next ready batch */
	raft_message *msgs;
	size_t		nMsgs;
	size_t		capMsgs;
	void	  **owned;			/* copies the batch's PROPOSE messages point
								 * at; freed by raft_advance */
	size_t		nOwned;
	size_t		capOwned;
	raft_read_state *readStates;
	size_t		nReadStates;
	size_t		capReadStates;

	/* the batch handed out by raft_ready_get, until raft_advance */
	bool		readyOutstanding;
	raft_index	readyLastIndex;
	raft_index	readyAppliedTo;
	raft_hard_state readyHardState;
	size_t		readyMsgs;
	size_t		readyReadStates;
};

/* node.c */
int			raft_send(raft_node *node, raft_message *m);	/* fills from, term */
/* raft_send for a message whose entries (and data) the node must copy and own */
int			raft_send_owned_entries(raft_node *node, raft_message *m);

/* membership.c */
size_t		raft_quorum(const raft_node *node);	/* a majority of the voters */
int			raft_member_slot(const raft_node *node, raft_node_id id);	/* -1: not a member */
int			raft_voter_slot(const raft_node *node, raft_node_id id);	/* -1: not a voter */
bool		raft_is_voter(const raft_node *node);	/* this node */
bool		raft_may_stand(const raft_node *node);
bool		raft_removed_by_config(const raft_node *node, raft_node_id id);
/* ids of the configuration before the one in use that it left out (out: room for RAFT_MAX_MEMBERS) */
size_t		raft_config_removed_ids(const raft_node *node, raft_node_id *out);
int			raft_config_init(raft_node *node, const raft_config *config);
/* one block: members, then their addresses; NULL for none (ENOMEM: *rc) */
raft_member *raft_copy_members(const raft_allocator *a, const raft_member *m, size_t n, int *rc);
void		raft_config_free(raft_node *node);
void		raft_config_refresh(raft_node *node);
int			raft_node_append(raft_node *node, raft_term term, uint8_t type,
							 const void *data, uint32_t len);
void		raft_node_truncate(raft_node *node, raft_index from);
int			raft_config_compact(raft_node *node, raft_index upto);
int			raft_config_after_commit(raft_node *node);

/* election.c */
void		raft_reset_election_timer(raft_node *node);
void		raft_become_follower(raft_node *node, raft_term term, raft_node_id leader);
int			raft_become_leader(raft_node *node);
int			raft_start_election(raft_node *node, bool preVote, bool transfer);
int			raft_tick_election(raft_node *node);
int			raft_tick_leader(raft_node *node);
int			raft_handle_vote_request(raft_node *node, const raft_message *m);
int			raft_handle_vote_result(raft_node *node, const raft_message *m);
int			raft_handle_timeout_now(raft_node *node, const raft_message *m);
int			raft_candidate_maybe_win(raft_node *node);
bool		raft_vote_floor_held(const raft_node *node);
bool		raft_vote_floor_allows(const raft_node *node, raft_term term);
void		raft_vote_floor_note_match(raft_node *node, raft_index matchIndex);
void		raft_vote_floor_maybe_lift(raft_node *node);

/* replication.c */
int			raft_handle_append_entries(raft_node *node, const raft_message *m);
int			raft_handle_append_entries_result(raft_node *node, const raft_message *m);
int			raft_handle_install_snapshot(raft_node *node, const raft_message *m);
bool		raft_needs_snapshot(const raft_node *node, const raft_peer_progress *pr);
int			raft_broadcast_heartbeat(raft_node *node);
bool		raft_wants_commit_notify(const raft_node *node);
int			raft_send_commit_notify(raft_node *node);
int			raft_send_append_entries_all(raft_node *node);
bool		raft_wants_append(const raft_node *node);
int			raft_maybe_commit(raft_node *node);
int			raft_maybe_send_timeout_now(raft_node *node, size_t slot);

/* progress.c */
int			raft_progress_rebuild(raft_node *node, bool reset);
void		raft_progress_free(raft_node *node);
/* the progress of a member the latest configuration removed, if the leader still keeps one */
raft_peer_progress *raft_progress_removed(const raft_node *node, raft_node_id id);
/* stop replicating to removed members that learned their removal (or had their time) */
void		raft_progress_prune_removed(raft_node *node, bool heartbeat);
void		raft_progress_become_probe(raft_peer_progress *pr);
void		raft_progress_become_replicate(raft_peer_progress *pr);
bool		raft_progress_inflight_full(const raft_node *node, const raft_peer_progress *pr);
void		raft_progress_inflight_add(const raft_node *node, raft_peer_progress *pr, raft_index last);
void		raft_progress_inflight_free_to(const raft_node *node, raft_peer_progress *pr, raft_index index);
bool		raft_progress_update(raft_peer_progress *pr, raft_index matchIndex);
void		raft_progress_went_back(raft_peer_progress *pr, raft_index matchIndex);
void		raft_progress_probe_at(raft_peer_progress *pr, raft_index nextIndex);

/* readindex.c */
int			raft_read_register(raft_node *node, uint64_t requestId, raft_node_id from);
int			raft_read_on_commit_in_term(raft_node *node);
int			raft_read_check_quorum(raft_node *node);
void		raft_read_drop_all(raft_node *node);
int			raft_read_push_state(raft_node *node, uint64_t requestId, raft_index readIndex);
bool		raft_committed_in_current_term(const raft_node *node);

#endif							/* RAFT_INT_H */
