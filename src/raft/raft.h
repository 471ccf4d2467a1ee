/*
 * raft.h — the pure Raft core of raft_ext: public interface.
 *
 * The core implements the Raft consensus algorithm (Ongaro & Ousterhout,
 * "In Search of an Understandable Consensus Algorithm", Figure 2) plus the
 * extensions production Raft needs: pre-vote, check-quorum, leadership
 * transfer (TimeoutNow), ReadIndex, pipelined and flow-controlled
 * AppendEntries with fast nextIndex back-off.
 *
 * It is shaped like etcd-io/raft's RawNode: the host drives it with
 *   raft_tick()     -- time, as abstract ticks
 *   raft_step()     -- a message received from a peer
 *   raft_propose()  -- a new command (leader only)
 * and then takes a ready batch with raft_ready(): hard state and entries to
 * make durable, messages to send, committed entries to apply.  When the host
 * has done what the batch asks it calls raft_advance().
 *
 * Rules for the host (these are what make the algorithm safe):
 *   1. Make ready.hardState (if hardStateChanged) and ready.entries durable
 *      before sending any message of the batch, EXCEPT messages of type
 *      RAFT_MSG_APPEND_ENTRIES, which a leader may send before its own
 *      flush completes (Raft thesis §10.2.1).  To persist entries: delete
 *      every stored entry with index >= entries[0].index, then store them.
 *   2. Apply ready.committedEntries in order, each exactly once.  They
 *      are always entries an earlier batch made durable (confirmed by
 *      raft_advance), so apply may run before or after this batch's
 *      persistence.
 *   3. Call raft_advance() with the same batch when done; between
 *      raft_ready() and raft_advance() no other call that changes the node
 *      is allowed (they return RAFT_EBUSY).  Pointers inside a ready batch
 *      stay valid until raft_advance().
 *
 * The core does no I/O, reads no clock, has no globals and includes no
 * PostgreSQL header.  All memory comes from the configured allocator, and
 * every allocation failure is returned as RAFT_ENOMEM with the node left
 * in a consistent state.  Randomness (election timeouts) comes from a
 * generator seeded by the host, so a run is reproducible from its seed.
 *
 * Thread safety: none.  One node is driven by one thread.
 */
#ifndef RAFT_H
#define RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t raft_term;
typedef uint64_t raft_index;
typedef uint64_t raft_node_id;	/* 0 means "none" */

#define RAFT_NONE ((raft_node_id) 0)

/*
 * The largest term and index the core accepts or produces: 2^62 - 1.
 *
 * Terms and indexes come off the network and out of the host's tables, and
 * the core does arithmetic on them (term + 1, index + 1, prevLogIndex +
 * nEntries, lastIncludedIndex + n).  Below 2^62 the sum of any two of them
 * is below 2^63, so none of that can wrap, neither as uint64 here nor as
 * the signed bigint a PostgreSQL host stores them in.  No honest cluster
 * gets near it: at a million terms or entries a second it takes 146,000
 * years.  So a value above it is forged or corrupt, and is refused
 * wherever it enters: raft_decode, raft_step, raft_node_restore.  A node at
 * RAFT_MAX_TERM cannot start a new term (RAFT_ERANGE from raft_campaign),
 * and a log holding RAFT_MAX_INDEX takes no more entries.
 */
#define RAFT_MAX_TERM ((raft_term) ((UINT64_C(1) << 62) - 1))
#define RAFT_MAX_INDEX ((raft_index) ((UINT64_C(1) << 62) - 1))

/* Error codes: every fallible function returns RAFT_OK or one of these. */
#define RAFT_OK				0
#define RAFT_ENOMEM			(-1)	/* allocation failed; nothing changed */
#define RAFT_EINVAL			(-2)	/* invalid argument */
#define RAFT_ENOTLEADER		(-3)	/* operation needs the leader */
#define RAFT_EBUSY			(-4)	/* ready outstanding, or leadership transfer in progress */
#define RAFT_EMALFORMED		(-5)	/* decoder: truncated or malformed input */
#define RAFT_ETOOBIG		(-6)	/* decoder/encoder: over a size limit */
#define RAFT_EVERSION		(-7)	/* decoder: unknown wire version */
#define RAFT_ECLUSTER		(-8)	/* decoder: message of another cluster */
#define RAFT_ENOLEADER		(-9)	/* no known leader to forward to */
#define RAFT_ERANGE			(-10)	/* a term or index would pass RAFT_MAX_TERM / RAFT_MAX_INDEX */
#define RAFT_EFLOOR			(-11)	/* the vote floor holds this node back (raft_vote_floor) */

const char *raft_strerror(int rc);

/* ---------------------------------------------------------------------
 * Memory
 * --------------------------------------------------------------------- */
typedef struct raft_allocator
{
	void	   *(*malloc) (void *ctx, size_t size);
	void	   *(*realloc) (void *ctx, void *ptr, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} raft_allocator;

/* ---------------------------------------------------------------------
 * Log entries
 * --------------------------------------------------------------------- */
typedef enum raft_entry_type
{
	RAFT_ENTRY_NORMAL = 0,		/* opaque command from raft_propose() */
	RAFT_ENTRY_NOOP = 1,		/* appended by every new leader (§5.4.2, §8) */
	RAFT_ENTRY_CONFIG = 2		/* a configuration: raft_configuration_encode() */
} raft_entry_type;

#define RAFT_ENTRY_TYPE_MAX RAFT_ENTRY_CONFIG

typedef struct raft_entry
{
	raft_term	term;
	raft_index	index;
	uint8_t		type;			/* raft_entry_type */
	uint32_t	len;
	const void *data;			/* len bytes; NULL when len == 0 */
} raft_entry;

/* ---------------------------------------------------------------------
 * Messages
 *
 * One flat struct; each type uses the fields listed beside it.  Unused
 * fields are zero.  The names are the paper's.
 * --------------------------------------------------------------------- */
typedef enum raft_message_type
{
	RAFT_MSG_APPEND_ENTRIES = 1,	/* prevLogIndex, prevLogTerm, leaderCommit,
									 * entries, readSeq.  No entries: a
									 * heartbeat. */
	RAFT_MSG_APPEND_ENTRIES_RESULT = 2, /* success; matchIndex (success: the
										 * last index known to match);
										 * rejectedIndex (failure: the
										 * prevLogIndex refused),
										 * conflictIndex, conflictTerm (hint),
										 * lastLogIndex; readSeq echoed */
	RAFT_MSG_REQUEST_VOTE = 3,	/* lastLogIndex, lastLogTerm,
								 * leadershipTransfer */
	RAFT_MSG_REQUEST_VOTE_RESULT = 4,	/* voteGranted */
	RAFT_MSG_PRE_VOTE = 5,		/* term is the candidate's currentTerm + 1;
								 * lastLogIndex, lastLogTerm */
	RAFT_MSG_PRE_VOTE_RESULT = 6,	/* voteGranted */
	RAFT_MSG_TIMEOUT_NOW = 7,	/* leader -> transfer target: campaign now */
	RAFT_MSG_READ_INDEX = 8,	/* follower -> leader: requestId */
	RAFT_MSG_READ_INDEX_RESULT = 9, /* leader -> follower: requestId,
									 * readIndex, success */
	RAFT_MSG_PROPOSE = 10,		/* follower -> leader: entries to append
								 * (type NORMAL, term and index 0: the
								 * leader gives them); see raft_forward() */
	RAFT_MSG_INSTALL_SNAPSHOT = 11	/* leader -> member: lastIncludedIndex,
									 * lastIncludedTerm (the leader's log
									 * start); the entries it needs were
									 * compacted.  See raft_snapshot_installed() */
} raft_message_type;

#define RAFT_MSG_TYPE_MAX RAFT_MSG_INSTALL_SNAPSHOT

typedef struct raft_message
{
	uint8_t		type;			/* raft_message_type */
	raft_node_id from;
	raft_node_id to;
	raft_term	term;

	/* RequestVote, PreVote, AppendEntriesResult */
	raft_index	lastLogIndex;
	raft_term	lastLogTerm;
	bool		leadershipTransfer;

	/* RequestVoteResult, PreVoteResult */
	bool		voteGranted;

	/* AppendEntries */
	raft_index	prevLogIndex;
	raft_term	prevLogTerm;
	raft_index	leaderCommit;
	uint32_t	nEntries;
	const raft_entry *entries;	/* entries[i].index == prevLogIndex + 1 + i */

	/*
	 * AppendEntriesResult.  On refusal the hint says where the follower's
	 * log diverges: no entry at prevLogIndex -> conflictTerm 0,
	 * conflictIndex = its lastLogIndex + 1; a different term there ->
	 * conflictTerm = that term, conflictIndex = the first index of it.
	 */
	bool		success;
	raft_index	matchIndex;
	raft_index	rejectedIndex;
	raft_index	conflictIndex;
	raft_term	conflictTerm;

	/* heartbeat rounds confirming leadership for ReadIndex */
	uint64_t	readSeq;

	/* ReadIndex, ReadIndexResult */
	uint64_t	requestId;
	raft_index	readIndex;

	/* InstallSnapshot (thesis Figure 5.3; the data is the host's business) */
	raft_index	lastIncludedIndex;
	raft_term	lastIncludedTerm;
} raft_message;

/* ---------------------------------------------------------------------
 * Wire encoding (encoding.c)
 *
 * Format, version 1, all integers unsigned LEB128 varints unless noted:
 *   magic "RF" (2 bytes) | version (1 byte = 1) | type (1 byte)
 *   clusterId (8 bytes, little endian) | from | to | term
 *   then per type, in this order:
 *   APPEND_ENTRIES:        prevLogIndex prevLogTerm leaderCommit readSeq
 *                          nEntries, then per entry:
 *                          term type(1 byte) len data[len]
 *                          (entry index is implicit: prevLogIndex + 1 + i)
 *   APPEND_ENTRIES_RESULT: success(1 byte 0/1) matchIndex rejectedIndex
 *                          conflictIndex conflictTerm lastLogIndex readSeq
 *   REQUEST_VOTE, PRE_VOTE: lastLogIndex lastLogTerm
 *                          leadershipTransfer(1 byte 0/1)
 *   REQUEST_VOTE_RESULT, PRE_VOTE_RESULT: voteGranted(1 byte 0/1)
 *   TIMEOUT_NOW:           (nothing)
 *   READ_INDEX:            requestId
 *   READ_INDEX_RESULT:     requestId readIndex success(1 byte 0/1)
 *   PROPOSE:               nEntries, then per entry: type(1 byte) len data[len]
 *                          (no term, no index: the leader appends them)
 *   INSTALL_SNAPSHOT:      lastIncludedIndex lastIncludedTerm
 * Trailing bytes, a varint longer than 10 bytes or above 2^64-1, a bool
 * byte other than 0/1, an unknown type, an entry type above
 * RAFT_ENTRY_TYPE_MAX, a term above RAFT_MAX_TERM (term, prevLogTerm,
 * lastLogTerm, conflictTerm, lastIncludedTerm, an entry's term), an index
 * above RAFT_MAX_INDEX (prevLogIndex, lastLogIndex, leaderCommit,
 * matchIndex, rejectedIndex, conflictIndex, readIndex, lastIncludedIndex,
 * and the last entry's implicit index), more than RAFT_MAX_ENTRIES_PER_MESSAGE entries: all
 * RAFT_EMALFORMED (or RAFT_ETOOBIG for the limits).  The encoder refuses
 * the same out-of-range values (RAFT_EINVAL).  Varints with redundant zero groups are
 * refused too, so every message has exactly one encoding.  Fields a type
 * does not use are neither checked nor sent, and decode as zero.  The
 * decoder checks magic, then version, then cluster id, then type.
 *
 * There is no checksum: the transport (libpq over TCP, TLS where
 * configured) carries integrity.  node ids are not judged here, nor terms
 * beyond their range; raft_step() refuses messages not addressed to this
 * node, from itself or from RAFT_NONE, with term 0, or with a term or index
 * out of range (for a host that builds messages without the decoder), and
 * ignores (RAFT_OK) those of a non-member that are not a leader's (see
 * Membership).  raft_step() also refuses an InstallSnapshot with
 * lastIncludedIndex or lastIncludedTerm 0, or lastIncludedTerm above term.
 * --------------------------------------------------------------------- */
#define RAFT_WIRE_VERSION 1
#define RAFT_MAX_ENTRIES_PER_MESSAGE 65536
#define RAFT_MAX_ENTRY_BYTES (64u * 1024 * 1024)

/* Bytes raft_encode() will write for m; 0 for a message raft_encode would refuse. */
size_t		raft_encoded_size(const raft_message *m);

/*
 * Encode m into buf (capacity cap).  RAFT_ETOOBIG if it does not fit,
 * RAFT_EINVAL for a message that is not valid (unknown type, NULL entries
 * with nEntries > 0, entry index not contiguous).
 */
int			raft_encode(const raft_message *m, uint64_t clusterId,
						uint8_t *buf, size_t cap, size_t *written);

/*
 * Decode len bytes into *out.  The entries array is allocated with alloc
 * (NULL: libc) and the entries' data point INTO buf (no copy), so buf must
 * outlive *out.  Release with raft_message_free_decoded().  On error *out
 * holds nothing to free.
 */
int			raft_decode(const uint8_t *buf, size_t len, uint64_t clusterId,
						const raft_allocator *alloc, raft_message *out);
void		raft_message_free_decoded(const raft_allocator *alloc,
									  raft_message *m);

/* ---------------------------------------------------------------------
 * Node
 * --------------------------------------------------------------------- */
typedef enum raft_role
{
	RAFT_FOLLOWER = 0,
	RAFT_PRE_CANDIDATE = 1,
	RAFT_CANDIDATE = 2,
	RAFT_LEADER = 3
} raft_role;

const char *raft_role_name(raft_role role);

/* Figure 2's persistent state. */
typedef struct raft_hard_state
{
	raft_term	currentTerm;
	raft_node_id votedFor;
} raft_hard_state;

/*
 * A vote floor: for a node whose durable Raft state was lost or went back
 * (tables recreated, an old backup restored).
 *
 * Such a node may have voted in terms it no longer remembers, and may have
 * acknowledged entries it no longer holds, which a leader may have
 * counted to commit them.  Voting again in those terms could elect two
 * leaders in one; voting (or standing) with the shorter log could elect a
 * leader that lacks a committed entry.  So the host keeps, outside its
 * Raft state, a durable high-water mark: the highest term and the highest
 * log index it ever made durable, raised whenever it persists a ready
 * batch's hard state or entries, before it sends any message of that
 * batch other than AppendEntries and before raft_advance().  A host that
 * finds its Raft state lost or behind the mark restores the node with
 * config.voteFloor = the mark.  Then:
 *   - currentTerm starts at floor.term at least (votedFor none if raised);
 *   - the node grants no vote, RequestVote or PreVote, in a term <=
 *     floor.term (it may have voted there already, for whom is unknown);
 *     its own candidacies are in currentTerm + 1 > floor.term anyway;
 *   - until a leader has matched its log through floor.index (for a log
 *     that lost entries: until it is back at floor.index; it may lack
 *     entries it once acknowledged) it grants no vote at all and does not
 *     stand for election or pre-vote: raft_campaign returns RAFT_EFLOOR,
 *     its timer and TimeoutNow start nothing.  Length alone would not do:
 *     an old backup may be as long and hold, at those indexes, entries a
 *     later leader replaced;
 *   - it follows a leader, appends and acknowledges as usual, which is
 *     how it gets there: a leader of a term >= floor.term holds every
 *     entry committed while the node had its state.
 * The floor is lifted once the node's durable state has passed it: its
 * host confirmed (raft_advance) that matched log through floor.index and a
 * currentTerm above floor.term.  raft_status.voteFloorHeld says whether it
 * still holds; until it does not, the host must pass the same floor at
 * every restart (keep it durable with the mark).
 *
 * A floor given for state that was not lost is safe but not free: a log
 * may rightly end below the mark's index (a new leader cut uncommitted
 * entries), and such a node cannot vote until its log grows past it; a
 * cluster whose majority is held back elects nobody.  Give it only when
 * the state was lost or went back.  {0, 0}: no floor.
 */
typedef struct raft_vote_floor
{
	raft_term	term;
	raft_index	index;
} raft_vote_floor;

/* ---------------------------------------------------------------------
 * Membership (membership.c)
 *
 * The configuration is the set of members: voters, which vote and count
 * in every majority, and learners, which receive the log but neither vote,
 * stand for election nor count.  It changes one server at a time (thesis
 * §4.1, "single-server changes") through RAFT_ENTRY_CONFIG entries whose
 * data is the whole new configuration (raft_configuration_encode).  Every
 * node uses the LATEST configuration in its log, committed or not, from the
 * moment it appends it, and the one before again if a new leader truncates
 * that entry away; a node whose log holds none uses the one it was created
 * with (raft_config.members: the bootstrap configuration, or what the host
 * kept as of the log's compacted start or an installed snapshot).
 *
 * A leader accepts a change (raft_propose_change) only
 *   - when no configuration entry in its log is uncommitted (one at a time:
 *     any two majorities of consecutive configurations then overlap);
 *   - after it has committed an entry of its own term: without this, two
 *     leaders of different terms can each append a change that the other
 *     never saw and both commit, with disjoint majorities (Ongaro, raft-dev,
 *     "bug in single-server membership changes", 2015);
 *   - and not during a leadership transfer.
 * A new server joins as a learner and is promoted once it has caught up,
 * so that adding it never makes a majority wait for a server that is far
 * behind.  A leader that removes itself goes on replicating until the
 * entry commits, not counting itself in majorities, then hands over (a
 * TimeoutNow to the most caught-up voter) and steps down.  A learner, or
 * a node that is not a member at all, never campaigns; a voter that the
 * latest configuration removed may, until it knows that configuration
 * committed (thesis §4.2.2: the previous configuration's majority may still
 * need it), without counting its own vote.  Candidates ask only the voters
 * of their configuration and count only their votes.  A node asked for its
 * vote answers on the log alone, whatever its own configuration says: it
 * is asked only by a candidate whose configuration makes it a voter, which
 * it may not know yet, and refusing there can leave no electable candidate
 * for good (a learner promoted by an entry only a lone voter holds, when
 * that voter restarts).  A node that is not a member at all (removed, or
 * started empty to be added) follows whatever leader contacts it and
 * otherwise stays quiet.  From a node outside its configuration a node
 * takes a leader's messages (AppendEntries, TimeoutNow, ReadIndex answers),
 * and vote requests only from a candidate whose log holds its own
 * configuration's entry; it drops the rest unread.  So a removed node that
 * does not know it was removed (it lacks that entry) cannot raise the term
 * of a member that has it, while a server added by an entry a member has
 * not seen yet can still get its vote.  A leader goes on replicating to a
 * member its latest configuration removed, never counting it, up to that
 * configuration's entry and no further (so it holds nothing of a later
 * term), with leaderCommit as usual: once the entry is committed and the
 * removed node has acknowledged it after being sent that commit, or a
 * bounded number of heartbeat intervals after the commit (it may be down),
 * the leader stops.  So a removed node normally learns its removal
 * committed and never stands again.  raft_get_progress lists members only.
 * --------------------------------------------------------------------- */
#define RAFT_MAX_MEMBERS 256
#define RAFT_MAX_ADDRESS_BYTES 4096

typedef struct raft_member
{
	raft_node_id id;
	bool		voter;			/* false: a learner */
	uint32_t	addressLen;		/* <= RAFT_MAX_ADDRESS_BYTES */
	const char *address;		/* opaque to the core: how the host reaches it */
} raft_member;

typedef enum raft_change_type
{
	RAFT_CHANGE_ADD_LEARNER = 1,	/* a new member, without a vote */
	RAFT_CHANGE_PROMOTE = 2,	/* learner -> voter */
	RAFT_CHANGE_REMOVE = 3		/* voter or learner; the leader itself too */
} raft_change_type;

/*
 * Encoding of a configuration (an entry's data): version byte 1, count,
 * then per member id, voter (1 byte 0/1), addressLen, address bytes;
 * varints as on the wire.  Members in increasing id order, no duplicate,
 * no RAFT_NONE id, at most RAFT_MAX_MEMBERS, at least one voter; anything
 * else is RAFT_EMALFORMED (decode) or RAFT_EINVAL (encode).  Decoded
 * addresses point INTO buf; free *out with the allocator (NULL: libc).
 */
size_t		raft_configuration_encoded_size(const raft_member *members, size_t n);
int			raft_configuration_encode(const raft_member *members, size_t n,
									  uint8_t *buf, size_t cap, size_t *written);
int			raft_configuration_decode(const uint8_t *buf, size_t len,
									  const raft_allocator *alloc,
									  raft_member **out, size_t *n);

typedef struct raft_config
{
	raft_node_id id;			/* this node */

	/*
	 * The configuration to start from (see Membership): either voters (ids
	 * only, every one a voter, this node included; the simple form) or
	 * members (voters and learners, with addresses), not both.  members may
	 * be empty (nMembers 0, members NULL, voters NULL): a server started to
	 * be added to a cluster, which learns its configuration from its
	 * leader's log.  The latest RAFT_ENTRY_CONFIG entry in the log, if any,
	 * overrides it.
	 */
	const raft_node_id *voters;
	size_t		nVoters;
	const raft_member *members;
	size_t		nMembers;

	/* election timeout is drawn uniformly from [electionTickMin, electionTickMax) */
	unsigned	electionTickMin;
	unsigned	electionTickMax;
	unsigned	heartbeatTick;	/* < electionTickMin */

	size_t		maxMsgBytes;	/* soft cap on entry payload per AppendEntries (0: 1 MiB) */
	unsigned	maxInflight;	/* AppendEntries in flight per follower (0: 64) */

	bool		preVote;
	bool		checkQuorum;

	uint64_t	seed;			/* seeds the election-timeout generator */
	const raft_allocator *allocator;	/* NULL: libc */

	/*
	 * For a node whose state was lost (see raft_vote_floor); {0, 0}: none.
	 * Read at creation only; out of range (RAFT_MAX_*): RAFT_EINVAL.
	 */
	raft_vote_floor voteFloor;
} raft_config;

typedef struct raft_node raft_node;

/*
 * Create a node from what it had made durable: hard state, the log (entries
 * with consecutive indexes from 1; may be empty) and the index of the last
 * entry it had applied.  The entries are copied.
 */
int			raft_node_create(const raft_config *config,
							 const raft_hard_state *hardState,
							 const raft_entry *entries, size_t nEntries,
							 raft_index lastApplied,
							 raft_node **out);
/*
 * The same for a log whose beginning was compacted away: it holds entries
 * lastIncludedIndex + 1 .. (entries[i].index == lastIncludedIndex + 1 + i),
 * and lastIncludedTerm is the term of entry lastIncludedIndex (both 0 for
 * a log that starts at index 1, which is raft_node_create).  Everything up
 * to lastIncludedIndex must have been applied (lastApplied >= it).  A
 * follower that needs entries from before a leader's lastIncludedIndex is
 * sent an InstallSnapshot (see raft_snapshot_installed); a node restarted
 * from an installed snapshot is restored with it as its compacted start.
 */
int			raft_node_restore(const raft_config *config,
							  const raft_hard_state *hardState,
							  raft_index lastIncludedIndex, raft_term lastIncludedTerm,
							  const raft_entry *entries, size_t nEntries,
							  raft_index lastApplied,
							  raft_node **out);
void		raft_node_destroy(raft_node *node);

/*
 * Drop the log's entries up to and including upto from memory (the host
 * keeps or removes its durable copy as it likes).  upto must have been
 * handed out for apply and be durable (RAFT_EINVAL otherwise); RAFT_EBUSY
 * while a raft_ready is outstanding; nothing to do below what was already
 * compacted.  The host normally chooses upto so that no member needs those
 * entries any more (every member's log holds them): a follower that does
 * need them gets an InstallSnapshot instead, and must be caught up from a
 * copy of the state machine (raft_snapshot_installed), which costs more.
 */
int			raft_compact(raft_node *node, raft_index upto);

/*
 * Leader only: append a configuration change (see Membership).  address
 * (addressLen bytes) is the new member's, for RAFT_CHANGE_ADD_LEARNER, and
 * ignored otherwise.  On success *index and *term say where the entry went,
 * as raft_propose.  RAFT_ENOTLEADER; RAFT_EBUSY while a change is
 * uncommitted, before the leader's first commit in its term, or during a
 * leadership transfer; RAFT_EINVAL adding a member, promoting a non-learner,
 * removing a non-member or the last voter, an address too long, or more
 * than RAFT_MAX_MEMBERS.
 */
int			raft_propose_change(raft_node *node, raft_change_type type,
								raft_node_id id,
								const void *address, uint32_t addressLen,
								raft_index *index, raft_term *term);

/*
 * The operator's way out when a majority is lost for good: append, on this
 * node, a configuration entry holding members (normally this node alone, a
 * voter) at currentTerm, after the last entry of its log, whatever its role
 * and whether or not it knows a leader.  The node then uses that
 * configuration; alone in it, it elects itself and commits its whole log,
 * including entries the lost members never committed, and entries the lost
 * members committed without it are lost.  This breaks Raft's guarantees by
 * design; never call it while the lost members may come back.  RAFT_EINVAL
 * for a configuration without this node as a voter.
 */
int			raft_force_configuration(raft_node *node,
									 const raft_member *members, size_t n);

/*
 * The configuration the node uses now: copies up to cap members into out
 * (addresses stay valid until the next call that changes the node) and
 * returns how many there are.  *index is the log index of the entry it came
 * from (0: the one the node was created with), *committed whether that
 * entry is known committed.  Either pointer may be NULL.
 */
size_t		raft_get_configuration(const raft_node *node, raft_member *out,
								   size_t cap, raft_index *index,
								   bool *committed);

int			raft_tick(raft_node *node);
int			raft_step(raft_node *node, const raft_message *m);

/*
 * Append a command (leader only).  On success *index and *term say where
 * it went; the entry is committed once it shows up in committedEntries
 * with that index AND that term.  RAFT_ENOTLEADER elsewhere (see
 * raft_leader()), RAFT_EBUSY during a leadership transfer, RAFT_ERANGE
 * when the log holds RAFT_MAX_INDEX.
 */
int			raft_propose(raft_node *node, const void *data, size_t len,
						 raft_index *index, raft_term *term);

/*
 * Have a command appended wherever this node stands: on the leader, as
 * raft_propose(); on a follower, sent to the leader it knows (a PROPOSE
 * message), which appends it if it still leads.  Fire and forget: the
 * command may be lost (with the message, or a leader change) and the host
 * that needs it must retry, so a command sent this way must be harmless to
 * apply twice.  RAFT_ENOLEADER when no leader is known, RAFT_EBUSY on a
 * leader handing over.
 */
int			raft_forward(raft_node *node, const void *data, size_t len);

/*
 * Ask for a linearizable read point.  Once confirmed, a raft_read_state
 * {requestId, readIndex} appears in a ready batch: a read that waits until
 * lastApplied >= readIndex sees every write committed before this call.
 * Works on the leader and on a follower that knows the leader.
 */
int			raft_read_index(raft_node *node, uint64_t requestId);

/* Leader only: hand leadership to target (§3.10 of the thesis). */
int			raft_transfer_leadership(raft_node *node, raft_node_id target);

/*
 * Start an election now (skipping pre-vote); for tests and bootstrap.
 * Changing nothing, RAFT_ERANGE at currentTerm RAFT_MAX_TERM or with a
 * full log, RAFT_EFLOOR while a vote floor holds the node back (a node's
 * own election timer skips the election instead).  A learner or a
 * non-member: nothing, RAFT_OK; a voter its latest, uncommitted,
 * configuration removed polls first (see Membership).  A lone voter wins
 * at once but leads only once the batch holding its vote for itself is
 * durable (raft_advance): before that it is a candidate.
 */
int			raft_campaign(raft_node *node);

/*
 * The host has positive evidence that leader is gone: its connection was
 * closed or reset by the peer (the leader's process died and its kernel
 * sent FIN/RST), not merely quiet.  If this node is a follower of leader,
 * it forgets the leader, which also ends check-quorum's lease so that it
 * grants (pre-)votes to others, and brings its election timer forward to
 * 1 .. max(1, (electionTickMax - electionTickMin) / 2) ticks (never later
 * than it already was).  So a crashed leader is replaced in about one
 * election round instead of a full election timeout after its last
 * heartbeat.  That span is cut into one window per voter other than the
 * lost leader, in id order, and the delay is drawn at random inside this
 * node's window, so that followers which all got the hint at the same
 * moment poll one after the other and do not split the vote.
 *
 * Safety does not depend on the hint being true: it changes only timing
 * and whom this node believes leads, never currentTerm, votedFor or the
 * log, and sends nothing.  A false hint costs at most one election, as an
 * early timeout would; with pre-vote and check-quorum not even that while
 * the other members still hear the leader (their lease makes them ignore
 * this node's poll, and the leader's next heartbeat makes it a follower
 * again).  Anything else (not a follower, another or unknown leader,
 * leader == this node) is a no-op returning RAFT_OK.  Like every call that
 * changes the node, RAFT_EBUSY between raft_ready_get() and raft_advance().
 */
int			raft_leader_unreachable(raft_node *node, raft_node_id leader);

typedef struct raft_read_state
{
	uint64_t	requestId;
	raft_index	readIndex;
} raft_read_state;

typedef struct raft_ready
{
	bool		hardStateChanged;
	raft_hard_state hardState;

	const raft_entry *entries;	/* to make durable */
	size_t		nEntries;

	const raft_entry *committedEntries;	/* to apply, in order */
	size_t		nCommittedEntries;

	const raft_message *messages;	/* to send */
	size_t		nMessages;

	const raft_read_state *readStates;
	size_t		nReadStates;

	/* soft state, for the host's information */
	raft_role	role;
	raft_node_id leader;

	/*
	 * A leader sent this node an InstallSnapshot it cannot answer from its
	 * log: the entries it lacks were compacted (raft_snapshot_installed).
	 * Set in one batch per distinct request (leader, index, term), not at
	 * every resend; raft_status.snapshotNeeded stays true until installed.
	 */
	bool		snapshotNeeded;
	raft_node_id snapshotLeader;
	raft_index	snapshotIndex;
	raft_term	snapshotTerm;
} raft_ready;

bool		raft_has_ready(const raft_node *node);
int			raft_ready_get(raft_node *node, raft_ready *ready);
int			raft_advance(raft_node *node, const raft_ready *ready);

/*
 * InstallSnapshot (thesis ch. 5, Figure 5.3, with the data left to the
 * host).  A leader whose log no longer holds the entries a member needs
 * (its nextIndex is at or below the leader's lastIncludedIndex: they were
 * compacted) sends it RAFT_MSG_INSTALL_SNAPSHOT {lastIncludedIndex,
 * lastIncludedTerm} instead of AppendEntries, again at most once per
 * heartbeat interval while it is needed (raft_progress.needsSnapshot), and
 * goes on sending heartbeats.  The member, after the term rules of
 * AppendEntries (it recognises the leader and resets its election timer),
 * answers as to a heartbeat when its log already holds lastIncludedIndex
 * with that term or its commitIndex is at or past it; otherwise its next
 * ready batch says snapshotNeeded, with the leader, index and term.
 *
 * The host then obtains a copy of the replicated state machine taken at an
 * applied index >= snapshotIndex on some member (any member; not
 * necessarily the leader), together with that index, the term of its
 * entry, and the configuration in effect there; and the member it copies
 * from must have had, when the copy was taken, a currentTerm no higher
 * than this node's currentTerm (else the copy can hold entries committed
 * in a term this node has not reached, and a deposed leader it still
 * follows could count it for entries that leader lacks).  It installs that
 * copy and makes durable, ATOMICALLY, everything about it: the state
 * machine, its last applied index, the log's new start (lastIncludedIndex
 * and lastIncludedTerm = index and term; every stored entry deleted) and
 * the configuration (the base it restores with).  Only then does it call
 * raft_snapshot_installed().  After a crash it restarts with
 * raft_node_restore(lastIncludedIndex = index, lastIncludedTerm = term,
 * config.members = that configuration, lastApplied = index).
 *
 * raft_snapshot_installed discards the node's whole log and starts it
 * after index; commitIndex = max(commitIndex, index), lastApplied =
 * stableIndex = index; the configuration is members until configuration
 * entries arrive; snapshotNeeded is cleared; a vote floor whose index it
 * reaches is lifted as a leader's match would (raft_vote_floor); and the
 * leader, if one is known, is told (an AppendEntries result) that the node
 * matches through index, so it resumes replication at index + 1.
 * RAFT_EINVAL: index below lastApplied or commitIndex, index or term 0 or
 * out of range, term above currentTerm, an invalid configuration, or a
 * leader; RAFT_EBUSY between raft_ready_get and raft_advance.  Nothing
 * changes on an error.
 */
int			raft_snapshot_installed(raft_node *node, raft_index index, raft_term term,
									const raft_member *members, size_t nMembers);

/* ---------------------------------------------------------------------
 * Observation (status views, tests)
 * --------------------------------------------------------------------- */
typedef enum raft_progress_state
{
	RAFT_PROGRESS_PROBE = 0,
	RAFT_PROGRESS_REPLICATE = 1
} raft_progress_state;

typedef struct raft_progress
{
	raft_node_id id;
	raft_index	nextIndex;
	raft_index	matchIndex;
	raft_progress_state state;
	unsigned	inflight;
	bool		recentActive;

	/*
	 * The follower answered with a log that no longer holds what it had
	 * acknowledged in this term (it lost state, or was restored from an
	 * older copy): matchIndex was lowered to what it is known to hold, and
	 * regressedFrom is the matchIndex it had, until it is back there.
	 * regressions counts such events for this follower over the node's
	 * life (raft_status.followerRegressions: for all).
	 */
	bool		regressed;
	raft_index	regressedFrom;
	uint64_t	regressions;
	bool		voter;			/* false: a learner */
	bool		needsSnapshot;	/* nextIndex is compacted away: InstallSnapshot */
} raft_progress;

typedef struct raft_status
{
	raft_node_id id;
	raft_role	role;
	raft_term	currentTerm;
	raft_node_id votedFor;
	raft_node_id leader;
	raft_index	commitIndex;
	raft_index	lastApplied;
	raft_index	lastLogIndex;
	raft_term	lastLogTerm;
	raft_index	stableIndex;	/* last entry the host confirmed durable */
	raft_node_id transferTarget;
	size_t		nVoters;		/* in the configuration it uses now */
	size_t		nMembers;		/* voters and learners */
	bool		isVoter;		/* this node is a voter of it */
	raft_index	configIndex;	/* raft_get_configuration's index */
	bool		configCommitted;	/* ... and committed */
	raft_vote_floor voteFloor;	/* the floor it was restored with; {0, 0}: none or lifted */
	bool		voteFloorHeld;	/* the floor still applies: pass it again at a restart */
	uint64_t	followerRegressions;	/* as leader: followers found to have gone back (raft_progress) */
	bool		snapshotNeeded; /* a leader asked for a snapshot not yet installed */
	raft_index	snapshotIndex;	/* ... at least this index (raft_ready.snapshotIndex) */
} raft_status;

void		raft_get_status(const raft_node *node, raft_status *out);

/* Leader only (false elsewhere): progress of member number i (0-based; voters and learners). */
bool		raft_get_progress(const raft_node *node, size_t i, raft_progress *out);

/* Entry at index, if the log holds it.  data stays valid until the next call that changes the node. */
bool		raft_log_entry(const raft_node *node, raft_index index, raft_entry *out);

raft_node_id raft_leader(const raft_node *node);

#endif							/* RAFT_H */
