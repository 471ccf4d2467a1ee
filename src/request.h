/*
 * request.h — the request slots: how a backend asks its node's Raft worker
 * for something (append a statement, confirm a read index, transfer
 * leadership, or only wait until an index is applied here) and gets the
 * answer back.
 *
 * One slot per backend (MyBackendId - 1), in shared memory.  This module is
 * the only code that reads or writes a slot: the backend, the Raft worker
 * and the apply worker each call the transitions below, and every change of
 * state goes through one function that checks it against the legal moves:
 *
 *   owner:        FREE ──begin──▶ QUEUED            (SUBMIT, BARRIER, TRANSFER)
 *                 FREE ──begin──▶ WAIT_APPLIED      (WAIT_APPLIED)
 *                 any ───end────▶ FREE
 *   Raft worker:  QUEUED ──take──▶ TAKEN
 *                 READ_PENDING ──take (re-ask)──▶ TAKEN
 *                 TAKEN ──▶ PROPOSED                (SUBMIT appended at index, term)
 *                 TAKEN ──▶ READ_PENDING            (BARRIER: ReadIndex asked)
 *                 TAKEN ──▶ QUEUED                  (BARRIER without a leader: again later)
 *                 TAKEN, READ_PENDING ──▶ QUEUED    (a restarted Raft worker redoes them)
 *                 TAKEN, READ_PENDING ──▶ WAIT_APPLIED   (read index known, not applied)
 *                 TAKEN, READ_PENDING ──▶ DONE      (read index applied; transfer; failure)
 *   apply worker: PROPOSED ──▶ DONE                 (applied: its outcome; or lost)
 *                 WAIT_APPLIED ──▶ DONE             (applied)
 *
 * A worker changes a slot only while the slot's request_id is still the
 * request it is working on, so a request abandoned by its backend (error,
 * cancel, exit) is never written to afterwards.
 *
 * The payload of a SUBMIT travels inside the slot up to
 * RAFT_REQUEST_INLINE_PAYLOAD bytes, beyond in a DSM segment the backend
 * creates; an outcome travels back inside the slot up to
 * RAFT_REQUEST_INLINE_RESULT bytes (encoded, outcome.h), beyond in a DSM
 * segment the apply worker creates and pins, which the backend unpins once
 * it has read it (or when it releases the slot unread).  So results of any
 * size (rows, some day) need no change here.
 *
 * Locking: slots_lock (in shmem.h) protects every field of every slot but
 * the condition variable.  It is held only to copy a few fields in or out,
 * never across I/O, DSM creation, a wait, or a wake-up: owners are woken
 * after it is released (raft_request_wake_finished).  Only the owner sleeps
 * on its slot's condition variable.
 */
#ifndef RAFT_EXT_REQUEST_H
#define RAFT_EXT_REQUEST_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/condition_variable.h"
#include "storage/dsm.h"

#include "outcome.h"
#include "shmem.h"

#define RAFT_REQUEST_INLINE_PAYLOAD	2048
#define RAFT_REQUEST_INLINE_RESULT	4096
#define RAFT_REQUEST_PROBLEM_LEN	512

typedef enum RaftRequestKind
{
	RAFT_REQ_NONE = 0,
	RAFT_REQ_SUBMIT,			/* propose the payload */
	RAFT_REQ_BARRIER,			/* ReadIndex, then wait for apply */
	RAFT_REQ_TRANSFER,			/* transfer leadership to target */
	RAFT_REQ_WAIT_APPLIED,		/* only wait until last_applied >= index */
	RAFT_REQ_CHANGE				/* a membership change (membership.c): payload
								 * is the change type byte and the address;
								 * target the node */
} RaftRequestKind;

/* kinds whose payload travels in the slot (a change's always fits inline) */
#define RAFT_REQ_HAS_PAYLOAD(kind) ((kind) == RAFT_REQ_SUBMIT || (kind) == RAFT_REQ_CHANGE)

typedef enum RaftRequestState
{
	RAFT_SLOT_FREE = 0,
	RAFT_SLOT_QUEUED,
	RAFT_SLOT_TAKEN,
	RAFT_SLOT_PROPOSED,
	RAFT_SLOT_READ_PENDING,
	RAFT_SLOT_WAIT_APPLIED,
	RAFT_SLOT_DONE
} RaftRequestState;

typedef enum RaftResultCode
{
	RAFT_RESULT_NONE = 0,
	RAFT_RESULT_OK,				/* done: SUBMIT applied (see its outcome) */
	RAFT_RESULT_NOT_LEADER,		/* not appended: this node is not the leader */
	RAFT_RESULT_LOST,			/* not appended for good: its index holds another entry */
	RAFT_RESULT_BUSY,			/* not appended: leadership transfer in progress */
	RAFT_RESULT_FAILED			/* not appended / request failed: see problem */
} RaftResultCode;

/* A request's state and answer, as its backend sees it (its own copy). */
typedef struct RaftRequestResult
{
	RaftRequestState state;		/* DONE, or where it stood when the wait ended */
	RaftResultCode code;
	uint64		index;			/* SUBMIT: log index; BARRIER/WAIT: index waited for */
	uint64		term;			/* SUBMIT: term of the entry */
	int			leader_hint;	/* the leader as the Raft worker knew it */
	char	   *problem;		/* not OK: what happened */
	RaftOutcome *outcome;		/* SUBMIT applied: the entry's outcome; else NULL */
} RaftRequestResult;

/* shmem.c: space for the slots, and their initialisation. */
extern Size raft_request_shmem_size(int nslots);
extern void raft_request_shmem_init(void *slots, int nslots);

/* ---- the backend that owns the slot ---- */

/*
 * Post a request.  SUBMIT: the payload (copied into the slot or a DSM
 * segment); TRANSFER: target; WAIT_APPLIED: index.  Wakes the Raft worker
 * when it has work.
 */
extern void raft_request_begin(RaftRequestKind kind, const char *payload, Size len,
							   int target, uint64 index);

/*
 * Wait until the request is DONE (for WAIT_APPLIED and a BARRIER that has
 * its read index: until last_applied >= index) or the deadline passes.
 * Returns true when done; *out gets the slot's state and answer either way.
 * Throws on cancel / statement timeout (the slot is still in use: call
 * raft_request_end()).  watch_client: also end the session (FATAL, as
 * client_connection_check_interval would) once the client has closed its
 * connection, checked every 100 ms: a follower that gives up on a forwarded
 * request closes it (remote.c).
 */
extern bool raft_request_wait(RaftRequestResult *out, TimestampTz deadline, bool watch_client);

/* Release the slot; *out (may be NULL) gets its last state and answer. */
extern void raft_request_end(RaftRequestResult *out);

/* The deadline for a waiting call: statement_timeout, else raft_ext.submit_timeout. */
extern TimestampTz raft_request_deadline(void);

/* Sleep up to ms milliseconds on the latch (interruptible). */
extern void raft_request_nap(long ms);

/* Current status snapshot (a copy). */
extern void raft_request_status(RaftStatusSnapshot *out);

/* ---- the Raft worker ---- */

/* A request the Raft worker took, and (filled in by it) what became of it. */
typedef struct RaftTakenRequest
{
	int			slotno;
	uint64		request_id;
	RaftRequestKind kind;
	char	   *payload;		/* SUBMIT: a copy (palloc'd); NULL if abandoned */
	Size		len;
	int			target;			/* TRANSFER */
	dsm_handle	payload_handle; /* (raft_request_take's own) */

	int			rc;				/* RAFT_OK or the core's error */
	uint64		index;			/* SUBMIT appended at */
	uint64		term;
} RaftTakenRequest;

/*
 * Take every QUEUED request, and every READ_PENDING one asked more than
 * read_retry_ms ago, oldest request first.  Returns how many (*out palloc'd).
 */
extern int	raft_request_take(RaftTakenRequest **out, TimestampTz now, int read_retry_ms);

/* Post what became of taken requests (one lock acquisition). */
extern void raft_request_post(const RaftTakenRequest *reqs, int n, int leader_hint,
							  TimestampTz now);

/* Read index readIndex[i] of request requestId[i] is confirmed. */
extern void raft_request_read_confirmed(const uint64 *requestId, const uint64 *readIndex,
										int n);

/* A restarted Raft worker redoes what its previous incarnation had taken. */
extern void raft_request_requeue_taken(void);

/* ---- the apply worker ---- */

/* One applied entry: its index, its term and its outcome (NULL: no statement). */
typedef struct RaftAppliedEntry
{
	uint64		index;
	uint64		term;
	const RaftOutcome *outcome;
} RaftAppliedEntry;

/*
 * Every entry up to applied_upto is applied and committed; e[0..n-1]
 * (ascending indexes) are the ones that may have waiting SUBMITs: hand
 * every waiting backend its answer.  A SUBMIT whose term differs from its
 * index's entry lost that index to another leader's entry.
 */
extern void raft_request_applied(const RaftAppliedEntry *e, int n, uint64 applied_upto);

/*
 * At apply worker start: SUBMITs proposed at or before `applied` were
 * applied by an earlier incarnation that never answered them.  Returns them
 * (*out palloc'd, ascending, as RaftAppliedEntry with the request's index;
 * term 0 and outcome NULL) for the caller to fill in from raft_ext.outcome
 * and pass to raft_request_applied.
 */
extern int	raft_request_unanswered(uint64 applied, RaftAppliedEntry **out);

#endif							/* RAFT_EXT_REQUEST_H */
