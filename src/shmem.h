/*
 * shmem.h — raft_ext's shared memory: how backends, the Raft worker and the
 * apply worker talk to each other.
 *
 * Contents
 *   - status snapshot (for raft_status / raft_peers), written by the workers;
 *   - one request slot per backend (MyBackendId - 1): raft_submit proposals,
 *     raft_barrier read requests, raft_transfer_leadership requests, and the
 *     results coming back.  Each slot has its own ConditionVariable, on which
 *     only its owner sleeps;
 *   - the inbox: a bounded byte ring of messages pushed by the backends that
 *     serve the peers' streams (raft_ext.deliver_stream(), or raft_ext.deliver())
 *     and drained by the Raft worker.  When it is full, messages are dropped
 *     (and counted): Raft tolerates loss;
 *   - apply progress: apply_target (highest committed entry that is durable
 *     here; written by the Raft worker) and last_applied (written by the
 *     apply worker).
 *
 * Locking rules
 *   - status_lock (LWLock): protects `status` and `peers`.  Writers: the Raft
 *     worker (exclusive) for the Raft fields, the apply worker (exclusive)
 *     for the apply_* fields.  Readers take it shared.
 *   - slots_lock (LWLock): protects every field of every slot except `cv`
 *     (which has its own internal spinlock).  Held only to copy a few fields
 *     in or out; never across I/O, SPI, a wait, or a wake-up (waiters are
 *     woken after it is released: raft_shmem_wake_finished).  The payload of a
 *     proposal lives in a DSM segment created by the submitting backend; the
 *     worker attaches to it without holding the lock.
 *   - inbox_lock (LWLock): protects the inbox ring (head, tail, data,
 *     counters).  Held while copying bytes in or out.
 *   - mutex (spinlock): protects the worker latch pointers and pids.
 *   - apply_target, last_applied, next_request_id: atomics; each has a single
 *     writer (or is only incremented).
 *   No code path holds two of these locks at once.
 *
 * Slot ownership: slot i belongs to the backend with MyBackendId i + 1.
 * Only the owner moves a slot out of FREE (and back to FREE); the workers
 * change the state of a slot only while its request_id still equals the
 * request they are working on, so a request abandoned by its backend (error,
 * cancel, exit) is never written to afterwards.
 */
#ifndef RAFT_EXT_SHMEM_H
#define RAFT_EXT_SHMEM_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/dsm.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

#include "config.h"

#define RAFT_SHMEM_ERROR_LEN	512
#define RAFT_SHMEM_MESSAGE_LEN	1024
#define RAFT_SHMEM_DETAIL_LEN	1024
#define RAFT_SHMEM_HINT_LEN		512
#define RAFT_SHMEM_TAG_LEN		64
/* A payload up to this size travels inside the slot, not in a DSM segment. */
#define RAFT_SHMEM_INLINE_PAYLOAD_LEN	2048

/* Worker lifecycle as shown in raft_status.worker_state. */
typedef enum RaftWorkerState
{
	RAFT_WORKER_NOT_RUNNING = 0,
	RAFT_WORKER_WAITING_FOR_EXTENSION,
	RAFT_WORKER_RUNNING
} RaftWorkerState;

typedef struct RaftPeerStatus
{
	int			node_id;
	bool		connected;
	bool		has_progress;	/* match/next index valid (we are leader) */
	uint64		match_index;
	uint64		next_index;
	TimestampTz last_contact;	/* last message received from it; 0: never */
	int64		messages_sent;
	int64		messages_dropped;
	char		last_error[RAFT_SHMEM_ERROR_LEN];
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
	TimestampTz leader_since;	/* when the current leader was first seen; 0 if none */

	/* written by the apply worker */
	RaftWorkerState apply_state;
	int			apply_pid;
	TimestampTz apply_stalled_since;	/* 0 when not stalled */
	int64		apply_retries;
	uint64		apply_stalled_index;
	char		last_apply_error[RAFT_SHMEM_ERROR_LEN];

	int			npeers;
	RaftPeerStatus peers[RAFT_EXT_MAX_PEERS];
} RaftStatusSnapshot;

typedef enum RaftSlotKind
{
	RAFT_REQ_NONE = 0,
	RAFT_REQ_SUBMIT,			/* propose the payload in the DSM segment */
	RAFT_REQ_BARRIER,			/* ReadIndex, then wait for apply */
	RAFT_REQ_TRANSFER,			/* transfer leadership to target */
	RAFT_REQ_WAIT_APPLIED		/* just wait until last_applied >= index */
} RaftSlotKind;

typedef enum RaftSlotState
{
	RAFT_SLOT_FREE = 0,
	RAFT_SLOT_QUEUED,			/* backend -> Raft worker: act on it */
	RAFT_SLOT_TAKEN,			/* Raft worker is acting on it */
	RAFT_SLOT_PROPOSED,			/* SUBMIT appended at (index, term); awaiting apply */
	RAFT_SLOT_READ_PENDING,		/* BARRIER: ReadIndex issued, awaiting the read state */
	RAFT_SLOT_WAIT_APPLIED,		/* awaiting last_applied >= index */
	RAFT_SLOT_DONE				/* result fields are set */
} RaftSlotState;

typedef enum RaftResultCode
{
	RAFT_RESULT_NONE = 0,
	RAFT_RESULT_OK,				/* applied without error */
	RAFT_RESULT_STATEMENT_ERROR,	/* applied; the statement raised sqlerrcode */
	RAFT_RESULT_NOT_LEADER,		/* not appended: this node is not the leader */
	RAFT_RESULT_LOST,			/* not appended for good: its index holds another entry */
	RAFT_RESULT_BUSY,			/* not appended: leadership transfer in progress */
	RAFT_RESULT_FAILED			/* not appended / request failed: see message */
} RaftResultCode;

typedef struct RaftSlot
{
	ConditionVariable cv;

	uint64		request_id;		/* 0 when FREE */
	RaftSlotKind kind;
	RaftSlotState state;
	int			backend_pid;

	/* SUBMIT input */
	dsm_handle	payload_handle; /* DSM_HANDLE_INVALID: in payload_inline */
	Size		payload_len;
	char		payload_inline[RAFT_SHMEM_INLINE_PAYLOAD_LEN];

	/* BARRIER / TRANSFER input */
	int			target;			/* TRANSFER target node */

	/* progress */
	TimestampTz issued_at;		/* BARRIER: last raft_read_index() */
	uint64		index;			/* SUBMIT: log index; BARRIER/WAIT: index to wait for */
	uint64		term;			/* SUBMIT: term of the entry */

	/* result */
	RaftResultCode result;
	int			leader_hint;	/* NOT_LEADER: the leader as known then */
	int			sqlerrcode;
	bool		has_rows;
	uint64		rows;
	char		command_tag[RAFT_SHMEM_TAG_LEN];
	char		message[RAFT_SHMEM_MESSAGE_LEN];
	char		detail[RAFT_SHMEM_DETAIL_LEN];
	char		hint[RAFT_SHMEM_HINT_LEN];
} RaftSlot;

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

typedef struct RaftShared
{
	LWLock	   *status_lock;
	LWLock	   *slots_lock;
	LWLock	   *inbox_lock;

	slock_t		mutex;
	Latch	   *raft_latch;		/* the Raft worker's latch, or NULL */
	Latch	   *apply_latch;	/* the apply worker's latch, or NULL */

	pg_atomic_uint64 apply_target;
	pg_atomic_uint64 last_applied;
	pg_atomic_uint64 next_request_id;

	RaftStatusSnapshot status;

	int			nslots;
	RaftSlot   *slots;			/* points into this segment */
	RaftInbox  *inbox;			/* points into this segment */
} RaftShared;

extern RaftShared *raft_shared;

/* _PG_init: install the shmem hooks. */
extern void raft_shmem_install_hooks(void);

/* ereport ERROR with a hint unless the library was preloaded and configured. */
extern void raft_shmem_require(void);

/* Latches */
extern void raft_shmem_wake_raft_worker(void);
extern void raft_shmem_wake_apply_worker(void);

/* This backend's slot. */
extern RaftSlot *raft_shmem_my_slot(void);

/* Copy a string into a fixed buffer, cutting at a character boundary. */
extern void raft_shmem_strlcpy(char *dst, const char *src, Size dstlen);

/*
 * Inbox.  raft_shmem_inbox_push() copies one message in (returns false if it
 * was dropped because the ring is full).  raft_shmem_inbox_drain() moves up
 * to max_bytes of whole messages into a palloc'd buffer of
 * [uint32 len][bytes]... records and returns its length.
 */
extern bool raft_shmem_inbox_push(const char *data, Size len);
/* Count a message that was not pushed because of its size (as dropped). */
extern void raft_shmem_inbox_note_refused(void);
extern Size raft_shmem_inbox_drain(char **out, Size max_bytes);
extern void raft_shmem_inbox_clear(void);

/*
 * Slot results (called by the workers with slots_lock held exclusively).
 * raft_shmem_slot_finish() only notes that the owner must be woken; the
 * caller wakes every noted owner with raft_shmem_wake_finished() once it has
 * released slots_lock.  Waking takes a system call per waiter; done under
 * the lock it made every woken backend (which at once takes slots_lock to
 * read its result) and the Raft worker queue behind it.
 */
extern void raft_shmem_slot_finish(RaftSlot *slot, RaftResultCode result,
								   const char *message);
extern void raft_shmem_wake_finished(void);

#endif							/* RAFT_EXT_SHMEM_H */
