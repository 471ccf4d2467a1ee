/*
 * shmem.h — raft_ext's shared memory: how backends, the Raft worker and the
 * apply worker talk to each other.
 *
 * Contents
 *   - status snapshot (for raft_status / raft_peers), written by the workers;
 *   - one request slot per backend (MyBackendId - 1): raft_submit proposals,
 *     raft_barrier read requests, raft_transfer_leadership requests, and the
 *     results coming back.  request.c owns them: their layout, their states
 *     and every transition;
 *   - the inbox: a bounded byte ring of messages pushed by the backends that
 *     serve the peers' streams (raft_ext.deliver_stream(), or raft_ext.deliver())
 *     and drained by the Raft worker.  When it is full, messages are dropped
 *     (and counted): Raft tolerates loss;
 *   - the outbox: a smaller ring of the same kind, in which the apply worker
 *     leaves commands for its Raft worker to have appended (raft_forward:
 *     outcome checks, consistency-check results; checks.c), drained by the
 *     Raft worker.  A command that does not fit is dropped (the apply
 *     worker posts it again later);
 *   - the consistency check's worker and the apply worker that starts it
 *     (verify.c): its state, and its result in a pinned DSM segment;
 *   - a snapshot being installed online (snapshot.c): who asked, its phase
 *     and its result;
 *   - apply progress: apply_target (highest committed entry that is durable
 *     here; written by the Raft worker) and last_applied (written by the
 *     apply worker).
 *
 * Locking rules
 *   - status_lock (LWLock): protects `status` and `peers`.  Writers: the Raft
 *     worker (exclusive) for the Raft fields, the apply worker (exclusive)
 *     for the apply_* fields.  Readers take it shared.
 *   - slots_lock (LWLock): protects the request slots; its rules are in
 *     request.h.
 *   - outbox_lock (LWLock): the same for the outbox.
 *   - inbox_lock (LWLock): protects the inbox ring (head, tail, data,
 *     counters).  Held while copying bytes in or out.
 *   - mutex (spinlock): protects the worker latch pointers and pids,
 *     `verify` (the consistency check's worker, verify.c) and `snapshot`
 *     (an online snapshot install, snapshot.c).
 *   - apply_target, last_applied, next_request_id, apply_running: atomics;
 *     each has a single writer (or is only incremented).
 *   No code path holds two of these locks at once.
 *
 */
#ifndef RAFT_EXT_SHMEM_H
#define RAFT_EXT_SHMEM_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/dsm.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

#include "config.h"

#define RAFT_SHMEM_ERROR_LEN	512

/* Worker lifecycle as shown in raft_status.worker_state. */
typedef enum RaftWorkerState
{
	RAFT_WORKER_NOT_RUNNING = 0,
	RAFT_WORKER_WAITING_FOR_EXTENSION,
	RAFT_WORKER_RUNNING,
	RAFT_WORKER_STATE_LOST		/* identity.c: it must not vote or apply */
} RaftWorkerState;

typedef struct RaftPeerStatus
{
	int			node_id;
	bool		connected;
	bool		has_progress;	/* match/next index valid (we are leader) */
	uint64		match_index;
	uint64		next_index;
	uint64		regressed_from; /* its log went back below this match; 0: no */
	TimestampTz last_contact;	/* last message received from it; 0: never */
	int64		messages_sent;
	int64		messages_dropped;
	char		last_error[RAFT_SHMEM_ERROR_LEN];
	bool		voter;			/* false: a learner */
	bool		needs_snapshot; /* (leader) entries it lacks were compacted */
	char		conninfo[RAFT_EXT_CONNINFO_LEN];	/* its address in the configuration */
} RaftPeerStatus;

typedef struct RaftStatusSnapshot
{
	/* written by the Raft worker */
	RaftWorkerState worker_state;
	int			worker_pid;
	int			role;			/* raft_role; -1 when the worker is not running */
	uint64		term;
	int			leader_id;
	int			voted_for;
	uint64		commit_index;
	uint64		last_log_index;
	uint64		last_log_term;
	uint64		messages_refused;	/* inbox messages that failed to decode / step */
	uint64		snapshot_needed;	/* the leader sent InstallSnapshot: entries up to
									 * here were compacted; 0: none needed */
	TimestampTz leader_since;	/* when the current leader was first seen; 0 if none */

	/* written by the apply worker */
	RaftWorkerState apply_state;
	int			apply_pid;
	TimestampTz apply_stalled_since;	/* 0 when not stalled */
	int64		apply_retries;
	uint64		apply_stalled_index;
	uint64		apply_diverged_index;	/* outcome check failed here; 0: no */
	char		last_apply_error[RAFT_SHMEM_ERROR_LEN];

	/*
	 * The configuration the node uses now (membership.c), this node
	 * included if it is a member; until the Raft worker published one,
	 * raft_ext.peers is all there is to go by.
	 */
	bool		config_published;	/* peers[] is the configuration (else: not yet known) */
	uint64		config_index;	/* its entry; 0: bootstrap / stored */
	bool		config_committed;
	int			npeers;
	RaftPeerStatus peers[RAFT_EXT_MAX_PEERS];
} RaftStatusSnapshot;

typedef struct RaftInbox
{
	uint64		head;			/* total bytes ever written */
	uint64		tail;			/* total bytes ever consumed */
	Size		capacity;
	uint64		delivered;		/* messages accepted */
	uint64		dropped;		/* messages dropped because the inbox was full,
								 * or refused by raft_ext.deliver_stream() for
								 * their size */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} RaftInbox;

/*
 * The consistency check's worker (verify.c) and the apply worker that
 * starts it: one check at a time per node.
 */
typedef enum RaftVerifyState
{
	RAFT_VERIFY_IDLE = 0,
	RAFT_VERIFY_STARTING,		/* registered by the apply worker */
	RAFT_VERIFY_RUNNING,		/* the worker runs; see snapshot_taken */
	RAFT_VERIFY_DONE			/* result (or none: it failed) to collect */
} RaftVerifyState;

typedef struct RaftVerifyShared
{
	RaftVerifyState state;
	uint64		check_index;	/* the check's entry */
	bool		snapshot_taken; /* the apply worker may go on */
	dsm_handle	result;			/* DONE: the result payload, pinned; or
								 * DSM_HANDLE_INVALID when the worker failed */
	Size		result_len;
} RaftVerifyShared;

/*
 * A snapshot installed online (snapshot.c): requested by the Raft worker
 * (its leader sent InstallSnapshot and raft_ext.auto_snapshot is on) or by
 * raft_install_snapshot(); carried out by the apply worker; when the log
 * restarts after the copy, finished by the Raft worker.  One at a time.
 */
typedef enum RaftSnapshotPhase
{
	RAFT_SNAPSHOT_IDLE = 0,
	RAFT_SNAPSHOT_REQUESTED,	/* for the apply worker to take */
	RAFT_SNAPSHOT_RUNNING,		/* the apply worker copies */
	RAFT_SNAPSHOT_INSTALLED		/* committed; the Raft worker restarts its
								 * log after index */
} RaftSnapshotPhase;

typedef struct RaftSnapshotShared
{
	RaftSnapshotPhase phase;
	int			from_node;		/* the member to copy; 0: the leader */
	uint64		min_index;		/* the copy must reach it; 0: any */
	uint64		seq;			/* requests made */
	uint64		done_seq;		/* the last request that ended ... */
	bool		succeeded;		/* ... and how */
	uint64		index;			/* the copy's applied index */
	uint64		term;			/* the term of its entry */
	int			source;			/* the member it came from */
	int			sqlerrcode;		/* a failure's */
	char		error[RAFT_SHMEM_ERROR_LEN];
	TimestampTz ended_at;
} RaftSnapshotShared;

typedef struct RaftShared
{
	LWLock	   *status_lock;
	LWLock	   *slots_lock;
	LWLock	   *inbox_lock;
	LWLock	   *outbox_lock;

	slock_t		mutex;
	Latch	   *raft_latch;		/* the Raft worker's latch, or NULL */
	Latch	   *apply_latch;	/* the apply worker's latch, or NULL */

	pg_atomic_uint64 apply_target;
	pg_atomic_uint64 last_applied;
	pg_atomic_uint64 next_request_id;
	pg_atomic_uint64 compact_to;	/* where this node's log starts (entries up
									 * to it removed): written by the Raft
									 * worker at start and after a snapshot,
									 * by the apply worker as it compacts */

	RaftStatusSnapshot status;

	RaftVerifyShared verify;	/* under mutex */
	RaftSnapshotShared snapshot;	/* under mutex */

	/* raft_skip_entry (skip.c): the committed decision, under mutex */
	uint64		skip_index;		/* the entry to skip; 0: none */
	uint64		skip_decided_at;	/* the decision's own entry */
	char		skip_role[NAMEDATALEN]; /* who decided */
	pg_atomic_uint64 apply_running; /* the statement entry being applied; 0:
									 * none (written by the apply worker) */

	int			nslots;
	void	   *slots;			/* the request slots (request.c), in this segment */
	RaftInbox  *inbox;			/* points into this segment */
	RaftInbox  *outbox;			/* likewise */
} RaftShared;

extern RaftShared *raft_shared;

/* _PG_init: install the shmem hooks. */
extern void raft_shmem_install_hooks(void);

/* ereport ERROR with a hint unless the library was preloaded and configured. */
extern void raft_shmem_require(void);

/* Latches */
extern void raft_shmem_wake_raft_worker(void);
extern void raft_shmem_wake_apply_worker(void);

/* Copy a string into a fixed buffer, cutting at a character boundary. */
extern void raft_shmem_strlcpy(char *dst, const char *src, Size dstlen);

/*
 * Inbox.  raft_shmem_inbox_push() copies one message in, with the node its
 * connection authenticated as (0: not known, raft_ext.peer_roles unset);
 * returns false if it was dropped because the ring is full.
 * raft_shmem_inbox_drain() moves up to max_bytes of whole messages into a
 * palloc'd buffer of [uint32 len][uint32 sender][bytes]... records (len
 * counts the sender's 4 bytes) and returns its length.
 */
#define RAFT_INBOX_SENDER_BYTES sizeof(uint32)
extern bool raft_shmem_inbox_push(uint32 sender, const char *data, Size len);
/* Count a message that was not pushed because of its size (as dropped). */
extern void raft_shmem_inbox_note_refused(void);
extern Size raft_shmem_inbox_drain(char **out, Size max_bytes);
extern void raft_shmem_inbox_clear(void);

/* Outbox: the same without a sender, apply worker -> Raft worker. */
extern bool raft_shmem_outbox_push(const char *data, Size len);
extern Size raft_shmem_outbox_drain(char **out, Size max_bytes);

#endif							/* RAFT_EXT_SHMEM_H */
