/*
 * sim.h — deterministic simulation of a raft_ext cluster: shared types.
 *
 * The model (see sim.c for the driver):
 *
 *   One seed drives everything through one PRNG (xoshiro256**, seeded by
 *   splitmix64): the cluster's configuration, every action, every network
 *   fault and every crash.  Nothing reads the clock or calls rand(), so a
 *   seed replays exactly.
 *
 *   Time is a step counter.  Each step the driver picks ONE action: tick a
 *   node (nodes tick at uneven rates for a while), deliver an in-flight
 *   message, let a node process its pending ready batch, propose on a node
 *   that thinks it leads, ask for a ReadIndex, ask for a leadership
 *   transfer, crash a node, restart one (its disk sometimes lost),
 *   partition or heal the network, or tell a node that some node's connection was reset
 *   (raft_leader_unreachable), mostly falsely.  When a leader crashes,
 *   the nodes that can reach it are usually told so at once, truthfully.
 *
 *   The network (sim_net.c) is a pool of encoded messages: every message
 *   goes through raft_encode() and, on delivery, raft_decode() with the
 *   cluster id, so the wire codec is part of every run.  Each message has
 *   its own delivery time; among the deliverable ones a random one goes
 *   next (reordering).  Messages are lost, duplicated and delayed at
 *   per-epoch rates, and dropped across symmetric or one-way partitions.
 *
 *   Each node (sim_node.c) is the core plus a host loop and a simulated
 *   disk holding exactly what the host made durable: hard state, the log,
 *   the applied index and the state machine (the (term, hash) of every
 *   applied entry).  The host loop follows raft.h's rules and can crash at
 *   random points inside it; a crashed node keeps only its disk and is
 *   restarted from it.  Some restarts find the disk lost (a node whose
 *   data was wiped): the node starts empty, with the vote floor its host's
 *   high-water mark gives it (raft.h, raft_vote_floor); the mark is kept
 *   apart from the disk and survives.
 *
 *   Log compaction (most seeds, from a random step on): now and then a
 *   host compacts its node's log, in memory (raft_compact) and then on its
 *   disk, up to a safe point computed with the checker's global knowledge
 *   (sim_check_safe_point): at most what it applied and made durable, and
 *   at most what EVERY member's durable log holds matching the committed
 *   log, down or up (in half the seeds, on a leader, also at most its
 *   matchIndex of every follower, as the product's host), minus a random
 *   retention.  Nodes compact at different times and to different points.  A crashed node comes back
 *   from its compacted disk (raft_node_restore).  A wiped disk holds
 *   nothing, so while a wiped node is behind no one compacts past what it
 *   holds, as in the product; in some seeds (holdEntries) a member more
 *   than H entries behind no longer holds compaction back (the product's
 *   raft_ext.log_hold_entries).
 *
 *   InstallSnapshot (17 seeds of 20, s->snapshots): a node whose leader
 *   compacted the entries it needs reports snapshotNeeded; its host copies
 *   the state machine, at its applied index, of a random member up that
 *   applied at least snapshotIndex (and whose term is not above its own,
 *   raft.h's rule), with that index's term, chain and configuration; the
 *   copy arrives after a delay or is lost (retried later); the host
 *   installs it on its disk in one atomic write (crash points before and
 *   after) and calls raft_snapshot_installed (sim_node_snapshots).  In
 *   those seeds disks are wiped and servers added after compaction too;
 *   in the others, as before, once anything was compacted no disk is
 *   wiped and no server added: such a node would need entries no log
 *   holds, and the heal phase rightly requires every node to catch up.
 *
 *   Membership (8 seeds of 10): now and then a leader adds a learner (a
 *   new node id, up to SIM_MAX_NODES, or a node whose removal committed,
 *   back under its old id with its disk wiped; either starts with an empty
 *   configuration; after compaction only in InstallSnapshot seeds), promotes a learner
 *   that caught up, removes a voter or a learner, or removes itself; most
 *   tries come from a leader that has not committed an entry of its term
 *   yet, which the core must refuse.  Removed nodes keep running, ticking
 *   and campaigning.  A disk keeps the configuration in effect at its
 *   compacted start, and a restart passes it to raft_node_restore.  "Every
 *   node" in the heal phase, the compaction safe point and the wipe rule
 *   mean the members in play (sim_members_now, sim_floors_ok).
 *
 *   The checker (sim_check.c) checks Raft's safety properties after every
 *   step, and some of them inside the host loop where the evidence is
 *   (votes, persisted entries, applied entries).  A violation stops the
 *   seed with a message tagged [property-name].
 *
 *   Every run ends with a heal phase (sim.c): no faults, all nodes up, even
 *   ticks, reliable in-order delivery.  A single leader must emerge, every
 *   write a client saw committed must be applied everywhere, new proposals
 *   and reads must complete, the leader must then keep its leadership on
 *   heartbeats alone, and all logs must converge, within bounded ticks.
 */
#ifndef RAFT_SIM_H
#define RAFT_SIM_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

/* node ids 1..SIM_MAX_NODES: the initial 3 or 5, then servers added later */
#define SIM_MAX_NODES 7
#define SIM_ADDR_BYTES 8

/* ---------------------------------------------------------------------
 * PRNG: xoshiro256** seeded through splitmix64.
 * --------------------------------------------------------------------- */
typedef struct sim_rng
{
	uint64_t	s[4];
} sim_rng;

static inline uint64_t
sim_splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static inline void
sim_rng_seed(sim_rng *r, uint64_t seed)
{
	uint64_t	x = seed;
	int			i;

	for (i = 0; i < 4; i++)
		r->s[i] = sim_splitmix64(&x);
}

static inline uint64_t
sim_rng_next(sim_rng *r)
{
	uint64_t   *s = r->s;
	uint64_t	result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/* Uniform in [0, n); n > 0.  The tiny modulo bias does not matter here. */
static inline uint64_t
sim_rng_below(sim_rng *r, uint64_t n)
{
	return sim_rng_next(r) % n;
}

/* True with probability permille/1000. */
static inline bool
sim_rng_permille(sim_rng *r, unsigned permille)
{
	return permille > 0 && sim_rng_below(r, 1000) < permille;
}

/* ---------------------------------------------------------------------
 * Hashing: entry payload hashes and the log chain hash.
 * --------------------------------------------------------------------- */
static inline uint64_t
sim_mix(uint64_t a, uint64_t b)
{
	uint64_t	x = a ^ (b + 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2));

	return sim_splitmix64(&x);
}

/* Hash of an entry's content (type and payload; not term or index). */
static inline uint64_t
sim_entry_hash(uint8_t type, const void *data, uint32_t len)
{
	const uint8_t *p = data;
	uint64_t	h = 0xcbf29ce484222325ULL ^ type;
	uint32_t	i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return sim_mix(h, len);
}

/*
 * chain(i) = mix(chain(i-1), term(i), hash(i)), chain(0) = 0: two logs have
 * the same chain at index i iff their first i entries are identical (up to
 * hash collisions), so one compare checks a whole prefix (Log Matching).
 */
static inline uint64_t
sim_chain(uint64_t prevChain, raft_term term, uint64_t hash)
{
	return sim_mix(sim_mix(prevChain, term), hash);
}

/* ---------------------------------------------------------------------
 * Network (sim_net.c)
 * --------------------------------------------------------------------- */
typedef struct sim_msg
{
	uint8_t    *buf;			/* encoded bytes (malloc) */
	size_t		len;
	raft_node_id from;
	raft_node_id to;
	uint64_t	deliverAt;		/* step from which it may be delivered */
	uint64_t	id;				/* for the trace */
} sim_msg;

typedef struct sim_net
{
	sim_msg    *msgs;			/* in flight, unordered */
	size_t		n;
	size_t		cap;
	uint64_t	nextId;
	uint64_t	clusterId;

	/* blocked[a][b]: messages from a to b are dropped (one-way if only one
	 * direction is set) */
	bool		blocked[SIM_MAX_NODES + 1][SIM_MAX_NODES + 1];

	/* fault rates of the current epoch */
	unsigned	lossPermille;
	unsigned	dupPermille;
	unsigned	maxDelay;		/* steps */
	unsigned	longDelayPermille;	/* delay x20 */

	/* the message being delivered (freed by sim_net_free after a failure) */
	uint8_t    *deliveringBuf;
	raft_message delivering;
	bool		deliveringDecoded;

	/* statistics */
	uint64_t	sent;
	uint64_t	delivered;
	uint64_t	dropped;
	uint64_t	duplicated;
} sim_net;

/* ---------------------------------------------------------------------
 * Node and its disk (sim_node.c)
 * --------------------------------------------------------------------- */
typedef struct sim_disk_entry
{
	raft_term	term;
	uint8_t		type;
	uint32_t	len;
	uint8_t    *data;			/* malloc, NULL when len == 0 */
	uint64_t	hash;			/* sim_entry_hash */
	uint64_t	chain;			/* sim_chain over entries 1..index */
} sim_disk_entry;

typedef struct sim_sm_entry
{
	raft_term	term;
	uint64_t	hash;
} sim_sm_entry;

typedef struct sim_disk
{
	raft_hard_state hs;
	sim_disk_entry *log;		/* log[i] is index lastIncludedIndex + 1 + i */
	size_t		nLog;			/* entries held (the last index is lastIncludedIndex + nLog) */
	size_t		capLog;
	raft_index	lastIncludedIndex;	/* compacted away up to here; 0 none */
	raft_term	lastIncludedTerm;
	uint64_t	lastIncludedChain;	/* the chain there, for Log Matching checks */
	raft_index	applied;		/* persisted atomically with sm */
	sim_sm_entry *sm;			/* the state machine: sm[i - 1] for i <= applied */
	size_t		capSm;

	/*
	 * Membership: the latest configuration entry the disk's log holds (0:
	 * none past lastIncludedIndex), and the configuration in effect at
	 * lastIncludedIndex, kept when compacting (raft.h: what the host
	 * restores the node with).
	 */
	raft_index	cfgLast;
	bool		hasBase;
	raft_index	baseIndex;
	size_t		nBase;
	raft_member base[SIM_MAX_NODES];
	char		baseAddr[SIM_MAX_NODES][SIM_ADDR_BYTES];
} sim_disk;

typedef struct sim_node
{
	raft_node_id id;
	raft_node  *raft;			/* NULL while crashed */
	sim_disk	disk;

	/*
	 * Kept by the host apart from the disk, and not lost with it: the
	 * highest term and log index it ever made durable, and the vote floor
	 * it restores the node with, from a wipe until the core lifts it.
	 */
	raft_vote_floor mark;
	raft_vote_floor floor;
	bool		floorPending;
	bool		wiped;			/* its disk was lost once (statistics) */
	bool		joiner;			/* started empty, to be added (a new id, or a replaced one) */
	unsigned	incarnation;
	unsigned	tickWeight;		/* relative tick rate in this epoch */
	uint64_t	ticks;			/* of this incarnation */

	/* checker's view, reset at each restart */
	raft_status last;			/* status at the previous check */
	raft_index	obsCommit;		/* commit index recorded as committed */
	raft_term	leaderTerm;		/* term in which it was seen leading, 0 none */

	/* what the host compacted the core's log to (raft_compact), this incarnation */
	raft_index	compacted;
	raft_term	compactedTerm;

	/*
	 * InstallSnapshot, the host's side (sim_node_snapshots): the core asked
	 * for a snapshot (ready.snapshotNeeded), and a copy of some member's
	 * state machine may be on its way (a message-like transfer that may be
	 * lost).  Host memory: lost with a crash.
	 */
	bool		snapWanted;
	uint64_t	snapRetryAt;	/* step from which to start a transfer */
	bool		xferActive;
	bool		xferLost;
	uint64_t	xferAt;			/* step it arrives */
	raft_node_id xferFrom;
	raft_index	xferIndex;
	raft_term	xferTerm;
	uint64_t	xferChain;
	sim_sm_entry *xferSm;		/* the state machine 1..xferIndex (malloc) */
	size_t		xferNMembers;
	raft_member xferMembers[SIM_MAX_NODES];
	char		xferAddr[SIM_MAX_NODES][SIM_ADDR_BYTES];
} sim_node;

/* The disk's last index, and its entry at index (NULL if compacted or absent). */
static inline raft_index
sim_disk_last_index(const sim_disk *d)
{
	return d->lastIncludedIndex + d->nLog;
}

static inline const sim_disk_entry *
sim_disk_entry_at(const sim_disk *d, raft_index index)
{
	if (index <= d->lastIncludedIndex || index > sim_disk_last_index(d))
		return NULL;
	return &d->log[index - d->lastIncludedIndex - 1];
}

/* Chain of the disk's prefix through index: 0 at 0, kept at lastIncludedIndex; 0 if unknown. */
static inline uint64_t
sim_disk_chain_at(const sim_disk *d, raft_index index)
{
	const sim_disk_entry *de = sim_disk_entry_at(d, index);

	if (de != NULL)
		return de->chain;
	if (index != 0 && index == d->lastIncludedIndex)
		return d->lastIncludedChain;
	return 0;
}

/* ---------------------------------------------------------------------
 * Client side: proposals and reads
 * --------------------------------------------------------------------- */
typedef struct sim_proposal
{
	raft_node_id node;
	raft_index	index;
	raft_term	term;
	uint64_t	hash;
	bool		acked;			/* the proposing node applied it */
	bool		heal;			/* proposed in the heal phase */
	int64_t		nextAtIndex;	/* next proposal at the same index, -1 */
} sim_proposal;

typedef struct sim_read
{
	raft_node_id node;
	raft_index	required;		/* highest index known committed at the call */
	bool		done;
	bool		heal;
} sim_read;

/* ---------------------------------------------------------------------
 * Checker state (sim_check.c)
 * --------------------------------------------------------------------- */
typedef struct sim_seen_entry	/* a distinct (index, term) ever persisted */
{
	raft_term	term;
	uint64_t	hash;
	uint64_t	chain;
	raft_node_id node;			/* first node seen with it */
} sim_seen_entry;

typedef struct sim_seen_slot
{
	sim_seen_entry *v;
	uint32_t	n;
	uint32_t	cap;
} sim_seen_slot;

typedef struct sim_fixed_entry	/* committed or applied entry at an index */
{
	bool		set;
	raft_term	term;
	uint64_t	hash;
	uint64_t	chain;			/* committed only */
	raft_node_id node;			/* first node seen with it */
	raft_term	obsTerm;		/* committed: observer's term */
} sim_fixed_entry;

typedef struct sim_checker
{
	raft_node_id *leaderOfTerm; /* Election Safety, indexed by term */
	size_t		capTerms;
	raft_index *commitSeenAtTerm;	/* highest commit index observed by a
									 * node whose currentTerm was t */

	sim_seen_slot *seen;		/* Log Matching, indexed by log index */
	sim_fixed_entry *committed; /* indexed by log index */
	sim_fixed_entry *applied;	/* indexed by log index */
	int64_t    *propsAtIndex;	/* head of the proposals at an index, -1 */
	size_t		capIndex;

	raft_index	maxCommit;		/* highest index known committed */
	raft_index	maxAcked;		/* highest index a client saw committed */

	/* the latest configuration seen committed (index 0: the bootstrap one) */
	raft_index	cfgIndex;
	size_t		cfgN;
	raft_node_id cfgId[SIM_MAX_NODES];
	bool		cfgVoter[SIM_MAX_NODES];
	raft_index	removedAt[SIM_MAX_NODES + 1];	/* the committed configuration
												 * that left a node out, by
												 * id; 0: a member, or never
												 * one */
} sim_checker;

/* ---------------------------------------------------------------------
 * The simulation
 * --------------------------------------------------------------------- */
typedef struct sim
{
	uint64_t	seed;
	sim_rng		rng;
	bool		trace;
	uint64_t	step;			/* the clock */
	const char *phase;

	/* cluster configuration */
	unsigned	nNodes;			/* node ids in use: 1..nNodes */
	unsigned	nInitial;		/* the bootstrap voters: 1..nInitial */
	raft_node_id voters[SIM_MAX_NODES];
	bool		membership;		/* this seed changes its configuration */
	unsigned	electionTickMin;
	unsigned	electionTickMax;
	unsigned	heartbeatTick;
	size_t		maxMsgBytes;
	unsigned	maxInflight;
	bool		preVote;
	bool		checkQuorum;
	raft_allocator alloc;		/* counts live allocations */
	int64_t		liveAllocs;

	sim_node	nodes[SIM_MAX_NODES + 1];	/* by id; [0] unused */
	sim_net		net;

	/* host-loop faults of the current epoch */
	unsigned	crashPointPermille; /* per crash point in the host loop */
	unsigned	deferReadyPermille; /* leave a ready batch for later */
	unsigned	wipePermille;	/* restarts that find the disk lost */
	bool		crashActions;	/* crash nodes between steps in this epoch */
	bool		healing;		/* no faults, no deferral */

	/* log compaction (sim_node_compact) */
	bool		compaction;		/* this seed compacts ... */
	uint64_t	compactFrom;	/* ... from this step on */
	unsigned	compactRetention;	/* at most this many entries kept below the safe point */
	bool		anyCompacted;	/* some log was compacted: no more wiped disks */
	bool		compactByLeader;	/* a leader also stays within its matchIndex of every follower */
	bool		snapshots;		/* InstallSnapshot: wipes and new members after compaction too */
	raft_index	holdEntries;	/* > 0: a member more than this behind no longer holds compaction back */

	/* client */
	sim_proposal *props;
	size_t		nProps;
	size_t		capProps;
	raft_index *forwardedAt;	/* commands sent with raft_forward, by number:
								 * the first index they were applied at, 0
								 * not yet (a duplicated message may append
								 * one twice: the contract is at least once) */
	uint64_t   *forwardedHash;	/* ... and the hash of each one's entry */
	size_t		nForwarded;
	size_t		capForwarded;
	sim_read   *reads;			/* reads[requestId - 1] */
	size_t		nReads;
	size_t		capReads;

	sim_checker ck;

	/* statistics */
	uint64_t	nProposed;
	uint64_t	nAcked;
	uint64_t	nForwardApplied;	/* forwarded commands seen applied */
	uint64_t	nReadStates;
	uint64_t	nCrashes;
	uint64_t	nWipes;			/* restarts with the disk lost */
	uint64_t	nFloorsLifted;	/* vote floors the core lifted */
	uint64_t	nRegressions;	/* followers leaders found gone back */
	uint64_t	nHints;			/* raft_leader_unreachable calls */
	uint64_t	nHintsTaken;	/* ... that made a follower forget its leader */
	uint64_t	nElections;
	uint64_t	nCompactions;	/* raft_compact calls that dropped entries */
	uint64_t	nCompacted;		/* entries they dropped */
	uint64_t	nCompactHeld;	/* attempts held back by a member behind (nothing to drop) */
	uint64_t	nCompactHeldByWiped;	/* ... of them by a node whose disk was wiped */
	uint64_t	nAdds;			/* learners added (accepted by the leader) */
	uint64_t	nReplaced;		/* ... of them a removed node back with a wiped disk */
	uint64_t	nPromotes;
	uint64_t	nRemoves;
	uint64_t	nLeaderRemovals;	/* ... of them the leader itself */
	uint64_t	nChangesBusy;	/* changes refused with RAFT_EBUSY */
	uint64_t	nSnapNeeded;	/* ready batches asking for a snapshot */
	uint64_t	nSnapSent;		/* transfers started */
	uint64_t	nSnapLost;		/* ... lost on the way (the host retried) */
	uint64_t	nSnapInstalled;	/* raft_snapshot_installed calls */

	/* failure: sim_fail() longjmps here */
	jmp_buf		failJmp;
	char		failMsg[2048];
} sim;

/* sim.c */
void		sim_trace(sim *s, const char *fmt,...) __attribute__((format(printf, 2, 3)));
_Noreturn void sim_fail(sim *s, const char *property, const char *fmt,...) __attribute__((format(printf, 3, 4)));
void	   *sim_xmalloc(size_t size);
void	   *sim_xrealloc(void *p, size_t size);
const char *sim_rc(int rc);

#define SIM_TRACE(s, ...) \
	do { if ((s)->trace) sim_trace((s), __VA_ARGS__); } while (0)

/* sim_net.c */
void		sim_net_init(sim *s);
void		sim_net_free(sim *s);
void		sim_net_send(sim *s, const raft_message *m);
bool		sim_net_deliver_one(sim *s, bool inOrder);
void		sim_net_partition_random(sim *s);
void		sim_net_heal(sim *s);
size_t		sim_net_ready_count(const sim *s);
const char *sim_msg_type_name(uint8_t type);
void		sim_format_msg(const raft_message *m, char *buf, size_t cap);

/* sim_node.c */
void		sim_node_start(sim *s, sim_node *n);
bool		sim_node_may_wipe(const sim *s, const sim_node *n);
void		sim_node_wipe(sim *s, sim_node *n);
void		sim_node_crash(sim *s, sim_node *n, const char *where);
void		sim_node_process_ready(sim *s, sim_node *n);
void		sim_node_after_call(sim *s, sim_node *n);
void		sim_node_tick(sim *s, sim_node *n);
void		sim_node_step(sim *s, sim_node *n, const raft_message *m);
bool		sim_node_propose(sim *s, sim_node *n, bool heal);
void		sim_node_forward(sim *s, sim_node *n);
bool		sim_node_read_index(sim *s, sim_node *n, bool heal);
void		sim_node_compact(sim *s, sim_node *n);
void		sim_node_snapshots(sim *s);
void		sim_node_snapshot_free(sim_node *n);
raft_term	sim_node_term_at(const sim_node *n, raft_index index);
void		sim_node_leader_unreachable(sim *s, sim_node *n, raft_node_id leader, const char *why);
void		sim_disk_free(sim_disk *d);
size_t		sim_disk_config(const sim *s, const sim_node *n, raft_member *out, raft_index *index);
raft_term	sim_disk_term_at(const sim_disk *d, raft_index index);

/* sim_check.c */
void		sim_check_init(sim *s);
void		sim_check_free(sim *s);
void		sim_check_step(sim *s);
void		sim_check_full_logs(sim *s);
void		sim_check_ready(sim *s, sim_node *n, const raft_ready *rd);
void		sim_check_persist(sim *s, sim_node *n, const raft_entry *e, size_t nEntries);
void		sim_check_entry_stored(sim *s, sim_node *n, raft_index index);
void		sim_check_sent_after_persist(sim *s, sim_node *n, const raft_message *m);
void		sim_check_apply(sim *s, sim_node *n, const raft_entry *e, raft_index commitIndex);
void		sim_check_read_state(sim *s, sim_node *n, const raft_read_state *rs);
void		sim_check_leader_observed(sim *s, sim_node *n, raft_term term);
void		sim_check_reserve_index(sim *s, raft_index index);
void		sim_check_reserve_term(sim *s, raft_term term);
raft_index	sim_check_held_index(const sim *s, const sim_node *n);
void		sim_check_leader_needs_compacted(sim *s, sim_node *leader);
raft_index	sim_check_safe_point(const sim *s, const sim_node *n, const raft_status *st,
								 raft_node_id *limiter);
void		sim_check_config_committed(sim *s, raft_index index, const void *data, uint32_t len);
void		sim_check_snapshot(sim *s, sim_node *n, raft_index index, raft_term term,
							   uint64_t chain, const sim_sm_entry *sm);
void		sim_members_now(const sim *s, bool *member);
bool		sim_committed_voter(const sim *s, raft_node_id id);
bool		sim_committed_member(const sim *s, raft_node_id id);
bool		sim_floors_ok(const sim *s, raft_node_id extraHeld, const raft_member *proposed, size_t nProposed);

#endif							/* RAFT_SIM_H */
