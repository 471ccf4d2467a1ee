/*
 * request.c — the request slots, and every transition of their state (see
 * request.h for the states and who moves them).
 *
 * Locking: slots_lock (shmem.h), exclusive to change a slot, shared to read
 * one; never held across I/O, DSM creation, a wait or a wake-up.  The
 * condition variable has its own spinlock.
 */
#include "postgres.h"

#include "access/xact.h"
#include "libpq/libpq.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "config.h"
#include "raft/raft.h"
#include "request.h"
#include "shmem.h"

typedef struct RaftSlot
{
	ConditionVariable cv;		/* only the owner sleeps on it */

	uint64		request_id;		/* 0 when FREE */
	RaftRequestKind kind;
	RaftRequestState state;

	/* input */
	dsm_handle	payload_handle; /* SUBMIT: DSM_HANDLE_INVALID when inline */
	Size		payload_len;
	int			target;			/* TRANSFER */
	TimestampTz issued_at;		/* BARRIER: when the read index was last asked */

	/* progress and answer */
	uint64		index;
	uint64		term;
	RaftResultCode code;
	int			leader_hint;
	char		problem[RAFT_REQUEST_PROBLEM_LEN];
	dsm_handle	result_handle;	/* outcome in a pinned DSM segment, or invalid */
	Size		result_len;		/* encoded outcome's length; 0: none */

	char		payload_inline[RAFT_REQUEST_INLINE_PAYLOAD];
	char		result_inline[RAFT_REQUEST_INLINE_RESULT];
} RaftSlot;

#define RAFT_SLOTS ((RaftSlot *) raft_shared->slots)

/* Slots finished under slots_lock whose owners are still to be woken. */
static int *raft_request_to_wake = NULL;
static int	raft_request_nto_wake = 0;

static bool raft_request_exit_registered = false;

Size
raft_request_shmem_size(int nslots)
{
	return mul_size(nslots, sizeof(RaftSlot));
}

void
raft_request_shmem_init(void *slots, int nslots)
{
	RaftSlot   *s = (RaftSlot *) slots;
	int			i;

	memset(s, 0, raft_request_shmem_size(nslots));
	for (i = 0; i < nslots; i++)
		ConditionVariableInit(&s[i].cv);
}

static const char *
raft_request_state_name(RaftRequestState s)
{
	switch (s)
	{
		case RAFT_SLOT_FREE:
			return "free";
		case RAFT_SLOT_QUEUED:
			return "queued";
		case RAFT_SLOT_TAKEN:
			return "taken";
		case RAFT_SLOT_PROPOSED:
			return "proposed";
		case RAFT_SLOT_READ_PENDING:
			return "read pending";
		case RAFT_SLOT_WAIT_APPLIED:
			return "waiting for apply";
		case RAFT_SLOT_DONE:
			return "done";
	}
	return "?";
}

/*
 * The one place a slot's state changes (slots_lock held exclusively): the
 * legal moves of request.h, and nothing else.
 */
static void
raft_request_move(RaftSlot *slot, RaftRequestState to)
{
	RaftRequestState from = slot->state;
	bool		legal;

	switch (to)
	{
		case RAFT_SLOT_FREE:
			legal = true;		/* the owner may give up at any point */
			break;
		case RAFT_SLOT_QUEUED:
			legal = from == RAFT_SLOT_FREE || from == RAFT_SLOT_TAKEN ||
				from == RAFT_SLOT_READ_PENDING;
			break;
		case RAFT_SLOT_TAKEN:
			legal = from == RAFT_SLOT_QUEUED || from == RAFT_SLOT_READ_PENDING;
			break;
		case RAFT_SLOT_PROPOSED:
			legal = from == RAFT_SLOT_TAKEN && slot->kind == RAFT_REQ_SUBMIT;
			break;
		case RAFT_SLOT_READ_PENDING:
			legal = from == RAFT_SLOT_TAKEN && slot->kind == RAFT_REQ_BARRIER;
			break;
		case RAFT_SLOT_WAIT_APPLIED:
			legal = (from == RAFT_SLOT_FREE && slot->kind == RAFT_REQ_WAIT_APPLIED) ||
				((from == RAFT_SLOT_TAKEN || from == RAFT_SLOT_READ_PENDING) &&
				 slot->kind == RAFT_REQ_BARRIER);
			break;
		case RAFT_SLOT_DONE:
			legal = from == RAFT_SLOT_TAKEN || from == RAFT_SLOT_READ_PENDING ||
				from == RAFT_SLOT_PROPOSED || from == RAFT_SLOT_WAIT_APPLIED;
			break;
		default:
			legal = false;
			break;
	}
	if (!legal)
		elog(ERROR, "raft_ext: request slot %d: illegal move from %s to %s",
			 (int) (slot - RAFT_SLOTS), raft_request_state_name(from),
			 raft_request_state_name(to));
	slot->state = to;
}

/*
 * Finish a request (slots_lock held exclusively); its owner is woken by
 * raft_request_wake_finished() once the lock is released.
 */
static void
raft_request_finish(RaftSlot *slot, RaftResultCode code, const char *problem)
{
	int			slotno = (int) (slot - RAFT_SLOTS);

	raft_request_move(slot, RAFT_SLOT_DONE);
	slot->code = code;
	raft_shmem_strlcpy(slot->problem, problem, sizeof(slot->problem));

	/*
	 * Allocated on first use, with slots_lock held: if that fails, the
	 * ERROR ends the worker, and exiting releases the lock.  Between two
	 * wake-ups a slot finishes at most once (DONE is final until its owner
	 * starts a new request): there is room.
	 */
	if (raft_request_to_wake == NULL)
		raft_request_to_wake = MemoryContextAlloc(TopMemoryContext,
												  sizeof(int) * raft_shared->nslots);
	if (raft_request_nto_wake < raft_shared->nslots)
		raft_request_to_wake[raft_request_nto_wake++] = slotno;
}

static void
raft_request_wake_finished(void)
{
	int			i;

	for (i = 0; i < raft_request_nto_wake; i++)
		ConditionVariableBroadcast(&RAFT_SLOTS[raft_request_to_wake[i]].cv);
	raft_request_nto_wake = 0;
}

static RaftSlot *
raft_request_my_slot(void)
{
	if (MyBackendId < 1 || MyBackendId > raft_shared->nslots)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("raft_ext: backend id %d has no request slot", MyBackendId)));
	return &RAFT_SLOTS[MyBackendId - 1];
}

/* ---------------------------------------------------------------------
 * The owner
 * --------------------------------------------------------------------- */

static void
raft_request_on_exit(int code, Datum arg)
{
	if (raft_shared != NULL && MyBackendId >= 1 && MyBackendId <= raft_shared->nslots)
		raft_request_end(NULL);
}

void
raft_request_begin(RaftRequestKind kind, const char *payload, Size len, int target,
				   uint64 index)
{
	RaftSlot   *slot = raft_request_my_slot();
	uint64		id = pg_atomic_fetch_add_u64(&raft_shared->next_request_id, 1);
	dsm_handle	handle = DSM_HANDLE_INVALID;

	if (!raft_request_exit_registered)
	{
		before_shmem_exit(raft_request_on_exit, (Datum) 0);
		raft_request_exit_registered = true;
	}

	/*
	 * A small payload goes in the slot: creating, attaching and destroying a
	 * DSM segment costs several system calls on both sides.  A large one's
	 * segment stays pinned until raft_request_end (the worker copies it).
	 */
	if (kind == RAFT_REQ_SUBMIT && len > RAFT_REQUEST_INLINE_PAYLOAD)
	{
		dsm_segment *seg = dsm_create(len, DSM_CREATE_NULL_IF_MAXSEGMENTS);

		if (seg == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("raft_submit: too many dynamic shared memory segments"),
					 errhint("Too many statements are being submitted at once; retry.")));
		memcpy(dsm_segment_address(seg), payload, len);
		dsm_pin_segment(seg);
		handle = dsm_segment_handle(seg);
		dsm_detach(seg);
	}

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	slot->request_id = id;
	slot->kind = kind;
	slot->payload_handle = handle;
	slot->payload_len = RAFT_REQ_HAS_PAYLOAD(kind) ? len : 0;
	if (RAFT_REQ_HAS_PAYLOAD(kind) && handle == DSM_HANDLE_INVALID)
		memcpy(slot->payload_inline, payload, len);
	slot->target = target;
	slot->issued_at = 0;
	slot->index = index;
	slot->term = 0;
	slot->code = RAFT_RESULT_NONE;
	slot->leader_hint = 0;
	slot->problem[0] = '\0';
	slot->result_handle = DSM_HANDLE_INVALID;
	slot->result_len = 0;
	raft_request_move(slot, kind == RAFT_REQ_WAIT_APPLIED ? RAFT_SLOT_WAIT_APPLIED : RAFT_SLOT_QUEUED);
	LWLockRelease(raft_shared->slots_lock);

	if (kind != RAFT_REQ_WAIT_APPLIED)
		raft_shmem_wake_raft_worker();
}

/* The outcome a worker left in the slot, decoded (slot owner only). */
static RaftOutcome *
raft_request_take_outcome(const char *inline_copy, Size len, dsm_handle handle)
{
	RaftOutcome *o = palloc(sizeof(RaftOutcome));

	if (handle == DSM_HANDLE_INVALID)
		raft_outcome_decode(inline_copy, (int) len, o);
	else
	{
		dsm_segment *seg = dsm_attach(handle);
		char	   *copy;

		if (seg == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("raft_ext: the outcome of the entry could not be read back")));
		copy = palloc(len);
		memcpy(copy, dsm_segment_address(seg), len);
		dsm_detach(seg);
		raft_outcome_decode(copy, (int) len, o);
	}
	return o;
}

/*
 * Copy the slot's state (and, when DONE, its answer) into *out; slots_lock
 * held.  The encoded outcome is copied, and decoded by the caller once the
 * lock is released.
 */
static void
raft_request_copy(const RaftSlot *slot, RaftRequestResult *out, char **outcome, Size *outcome_len,
				  dsm_handle *outcome_handle)
{
	out->state = slot->state;
	out->index = slot->index;
	out->term = slot->term;
	out->code = slot->code;
	out->leader_hint = slot->leader_hint;
	out->problem = NULL;
	out->outcome = NULL;
	*outcome = NULL;
	*outcome_len = 0;
	*outcome_handle = DSM_HANDLE_INVALID;
	if (slot->state != RAFT_SLOT_DONE)
		return;
	if (slot->problem[0])
		out->problem = pstrdup(slot->problem);
	if (slot->result_len > 0)
	{
		*outcome_len = slot->result_len;
		*outcome_handle = slot->result_handle;
		if (slot->result_handle == DSM_HANDLE_INVALID)
		{
			*outcome = palloc(slot->result_len);
			memcpy(*outcome, slot->result_inline, slot->result_len);
		}
	}
}

bool
raft_request_wait(RaftRequestResult *out, TimestampTz deadline, bool watch_client)
{
	RaftSlot   *slot = raft_request_my_slot();
	bool		done = false;
	char	   *outcome;
	Size		outcome_len;
	dsm_handle	outcome_handle;

	memset(out, 0, sizeof(*out));
	ConditionVariablePrepareToSleep(&slot->cv);
	for (;;)
	{
		long		ms;

		LWLockAcquire(raft_shared->slots_lock, LW_SHARED);
		raft_request_copy(slot, out, &outcome, &outcome_len, &outcome_handle);
		LWLockRelease(raft_shared->slots_lock);
		if (out->state == RAFT_SLOT_DONE)
		{
			if (outcome_len > 0)
				out->outcome = raft_request_take_outcome(outcome, outcome_len, outcome_handle);
			done = true;
			break;
		}
		/* waiting for apply needs no word from the workers */
		if (out->state == RAFT_SLOT_WAIT_APPLIED &&
			pg_atomic_read_u64(&raft_shared->last_applied) >= out->index)
		{
			out->state = RAFT_SLOT_DONE;
			out->code = RAFT_RESULT_OK;
			done = true;
			break;
		}
		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (ms <= 0)
			break;
		if (watch_client && !pq_check_connection())
		{
			/* as client_connection_check_interval would: FATAL, slot released */
			ClientConnectionLost = true;
			InterruptPending = true;
			CHECK_FOR_INTERRUPTS();
		}
		/* the timeout guards against a lost wakeup, and paces watch_client */
		(void) ConditionVariableTimedSleep(&slot->cv, Min(ms, 100L), PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return done;
}

void
raft_request_end(RaftRequestResult *out)
{
	RaftSlot   *slot = raft_request_my_slot();
	dsm_handle	payload_handle;
	dsm_handle	result_handle;
	char	   *outcome = NULL;
	Size		outcome_len = 0;
	dsm_handle	outcome_handle = DSM_HANDLE_INVALID;

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	if (out)
		raft_request_copy(slot, out, &outcome, &outcome_len, &outcome_handle);
	payload_handle = slot->payload_handle;
	result_handle = slot->result_handle;
	slot->request_id = 0;
	slot->kind = RAFT_REQ_NONE;
	slot->payload_handle = DSM_HANDLE_INVALID;
	slot->result_handle = DSM_HANDLE_INVALID;
	slot->result_len = 0;
	raft_request_move(slot, RAFT_SLOT_FREE);
	LWLockRelease(raft_shared->slots_lock);

	/* a large result is read before its segment goes */
	if (out && outcome_len > 0)
		out->outcome = raft_request_take_outcome(outcome, outcome_len, outcome_handle);
	if (payload_handle != DSM_HANDLE_INVALID)
		dsm_unpin_segment(payload_handle);
	if (result_handle != DSM_HANDLE_INVALID)
		dsm_unpin_segment(result_handle);
}

TimestampTz
raft_request_deadline(void)
{
	if (StatementTimeout > 0)
	{
		/*
		 * A little before statement_timeout fires, so that the caller can
		 * report what it was waiting for (and whether the entry may have
		 * been appended) rather than a bare "canceling statement".  If the
		 * timer wins anyway, the caller handles the cancel too.
		 */
		int			margin = StatementTimeout >= 200 ? 20 : 0;

		return TimestampTzPlusMilliseconds(GetCurrentStatementStartTimestamp(),
										   StatementTimeout - margin);
	}
	return TimestampTzPlusMilliseconds(GetCurrentTimestamp(), raft_ext_submit_timeout);
}

void
raft_request_nap(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

void
raft_request_status(RaftStatusSnapshot *out)
{
	LWLockAcquire(raft_shared->status_lock, LW_SHARED);
	memcpy(out, &raft_shared->status, sizeof(RaftStatusSnapshot));
	LWLockRelease(raft_shared->status_lock);
}

/* ---------------------------------------------------------------------
 * The Raft worker
 * --------------------------------------------------------------------- */

static int
raft_request_cmp_id(const void *a, const void *b)
{
	uint64		x = ((const RaftTakenRequest *) a)->request_id;
	uint64		y = ((const RaftTakenRequest *) b)->request_id;

	return x < y ? -1 : (x > y ? 1 : 0);
}

int
raft_request_take(RaftTakenRequest **out, TimestampTz now, int read_retry_ms)
{
	RaftTakenRequest *reqs = NULL;
	int			n = 0;
	int			i;

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	for (i = 0; i < raft_shared->nslots; i++)
	{
		RaftSlot   *slot = &RAFT_SLOTS[i];
		RaftTakenRequest *r;

		if (slot->request_id == 0)
			continue;
		if (!(slot->state == RAFT_SLOT_QUEUED ||
			  (slot->state == RAFT_SLOT_READ_PENDING &&
			   TimestampDifferenceExceeds(slot->issued_at, now, read_retry_ms))))
			continue;
		if (reqs == NULL)
			reqs = palloc(sizeof(RaftTakenRequest) * raft_shared->nslots);
		r = &reqs[n++];
		memset(r, 0, sizeof(*r));
		r->slotno = i;
		r->request_id = slot->request_id;
		r->kind = slot->kind;
		r->target = slot->target;
		r->len = slot->payload_len;
		/* copied now: the slot may be reused once we let go of it */
		if (RAFT_REQ_HAS_PAYLOAD(slot->kind) && slot->payload_handle == DSM_HANDLE_INVALID)
		{
			r->payload = palloc(Max(slot->payload_len, 1));
			memcpy(r->payload, slot->payload_inline, slot->payload_len);
		}
		r->payload_handle = slot->payload_handle;	/* attached below */
		raft_request_move(slot, RAFT_SLOT_TAKEN);
	}
	LWLockRelease(raft_shared->slots_lock);

	/*
	 * Large payloads: the owner keeps its segment pinned until it releases
	 * the slot, so it can be attached outside the lock; a segment already
	 * gone means the request was abandoned (payload left NULL).
	 */
	for (i = 0; i < n; i++)
	{
		RaftTakenRequest *r = &reqs[i];

		if (r->kind == RAFT_REQ_SUBMIT && r->payload_handle != DSM_HANDLE_INVALID)
		{
			dsm_segment *seg = dsm_attach(r->payload_handle);

			if (seg != NULL)
			{
				r->payload = palloc(r->len);
				memcpy(r->payload, dsm_segment_address(seg), r->len);
				dsm_detach(seg);
			}
		}
	}

	/* first come, first served */
	if (n > 1)
		qsort(reqs, n, sizeof(RaftTakenRequest), raft_request_cmp_id);
	*out = reqs;
	return n;
}

void
raft_request_post(const RaftTakenRequest *reqs, int n, int leader_hint, TimestampTz now)
{
	int			i;

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	for (i = 0; i < n; i++)
	{
		const RaftTakenRequest *r = &reqs[i];
		RaftSlot   *slot = &RAFT_SLOTS[r->slotno];

		if (slot->request_id != r->request_id || slot->state != RAFT_SLOT_TAKEN)
			continue;
		slot->leader_hint = leader_hint;
		if (r->kind == RAFT_REQ_SUBMIT && r->payload == NULL)
			raft_request_finish(slot, RAFT_RESULT_FAILED, "the request was abandoned");
		else if (r->rc == RAFT_OK && r->kind == RAFT_REQ_SUBMIT)
		{
			slot->index = r->index;
			slot->term = r->term;
			raft_request_move(slot, RAFT_SLOT_PROPOSED);
		}
		else if (r->rc == RAFT_OK && r->kind == RAFT_REQ_CHANGE)
		{
			/* appended: the caller waits for it to be applied (membership.c) */
			slot->index = r->index;
			slot->term = r->term;
			raft_request_finish(slot, RAFT_RESULT_OK, NULL);
		}
		else if (r->rc == RAFT_OK && r->kind == RAFT_REQ_BARRIER)
		{
			slot->issued_at = now;
			raft_request_move(slot, RAFT_SLOT_READ_PENDING);
		}
		else if (r->rc == RAFT_OK)
			raft_request_finish(slot, RAFT_RESULT_OK, NULL);
		else if (r->rc == RAFT_ENOLEADER && r->kind == RAFT_REQ_BARRIER)
			raft_request_move(slot, RAFT_SLOT_QUEUED);	/* again once a leader is known */
		else if (r->rc == RAFT_ENOTLEADER || r->rc == RAFT_ENOLEADER)
			raft_request_finish(slot, RAFT_RESULT_NOT_LEADER, raft_strerror(r->rc));
		else if (r->rc == RAFT_EBUSY)
			raft_request_finish(slot, RAFT_RESULT_BUSY, raft_strerror(r->rc));
		else
			raft_request_finish(slot, RAFT_RESULT_FAILED, raft_strerror(r->rc));
	}
	LWLockRelease(raft_shared->slots_lock);
	raft_request_wake_finished();
}

void
raft_request_read_confirmed(const uint64 *requestId, const uint64 *readIndex, int n)
{
	uint64		applied;
	int			k;
	int			i;

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	/* read under the lock: the apply worker publishes after writing it */
	applied = pg_atomic_read_u64(&raft_shared->last_applied);
	for (k = 0; k < n; k++)
	{
		for (i = 0; i < raft_shared->nslots; i++)
		{
			RaftSlot   *slot = &RAFT_SLOTS[i];

			if (slot->request_id != requestId[k] || slot->kind != RAFT_REQ_BARRIER ||
				(slot->state != RAFT_SLOT_READ_PENDING && slot->state != RAFT_SLOT_TAKEN))
				continue;
			slot->index = readIndex[k];
			if (applied >= readIndex[k])
				raft_request_finish(slot, RAFT_RESULT_OK, NULL);
			else
				raft_request_move(slot, RAFT_SLOT_WAIT_APPLIED);
		}
	}
	LWLockRelease(raft_shared->slots_lock);
	raft_request_wake_finished();
}

void
raft_request_requeue_taken(void)
{
	int			i;

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	for (i = 0; i < raft_shared->nslots; i++)
	{
		RaftSlot   *slot = &RAFT_SLOTS[i];

		if (slot->request_id != 0 &&
			(slot->state == RAFT_SLOT_TAKEN || slot->state == RAFT_SLOT_READ_PENDING))
			raft_request_move(slot, RAFT_SLOT_QUEUED);
	}
	LWLockRelease(raft_shared->slots_lock);
}

/* ---------------------------------------------------------------------
 * The apply worker
 * --------------------------------------------------------------------- */

/* The applied entry at index, or NULL (e[] ascending). */
static const RaftAppliedEntry *
raft_request_find_applied(const RaftAppliedEntry *e, int n, uint64 index)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (e[mid].index == index)
			return &e[mid];
		if (e[mid].index < index)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* A SUBMIT whose outcome was too large for its slot: finished outside the lock. */
typedef struct RaftLargeResult
{
	int			slotno;
	uint64		request_id;
	StringInfoData encoded;
} RaftLargeResult;

/*
 * Give slot (PROPOSED, slots_lock held) the outcome of its entry, or note
 * that it is too large for the slot.  Returns false for a large one.
 */
static bool
raft_request_give_outcome(RaftSlot *slot, const RaftAppliedEntry *e, StringInfo encoded)
{
	resetStringInfo(encoded);
	raft_outcome_encode(encoded, e->outcome);
	if (encoded->len > RAFT_REQUEST_INLINE_RESULT)
		return false;
	memcpy(slot->result_inline, encoded->data, encoded->len);
	slot->result_len = encoded->len;
	slot->result_handle = DSM_HANDLE_INVALID;
	raft_request_finish(slot, RAFT_RESULT_OK, NULL);
	return true;
}

void
raft_request_applied(const RaftAppliedEntry *e, int n, uint64 applied_upto)
{
	StringInfoData encoded;
	RaftLargeResult *large = NULL;
	int			nlarge = 0;
	int			i;

	initStringInfo(&encoded);
	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	for (i = 0; i < raft_shared->nslots; i++)
	{
		RaftSlot   *slot = &RAFT_SLOTS[i];
		const RaftAppliedEntry *a;

		if (slot->request_id == 0 || slot->index > applied_upto)
			continue;
		if (slot->state == RAFT_SLOT_WAIT_APPLIED)
		{
			raft_request_finish(slot, RAFT_RESULT_OK, NULL);
			continue;
		}
		if (slot->state != RAFT_SLOT_PROPOSED)
			continue;
		a = raft_request_find_applied(e, n, slot->index);
		if (a == NULL)
			raft_request_finish(slot, RAFT_RESULT_FAILED, "the apply worker lost track of this entry");
		else if (a->term != slot->term || a->outcome == NULL)
			raft_request_finish(slot, RAFT_RESULT_LOST,
								"the entry was replaced by another leader's entry before it was committed");
		else if (!raft_request_give_outcome(slot, a, &encoded))
		{
			if (large == NULL)
				large = palloc(sizeof(RaftLargeResult) * raft_shared->nslots);
			large[nlarge].slotno = i;
			large[nlarge].request_id = slot->request_id;
			initStringInfo(&large[nlarge].encoded);
			appendBinaryStringInfo(&large[nlarge].encoded, encoded.data, encoded.len);
			nlarge++;
		}
	}
	LWLockRelease(raft_shared->slots_lock);
	raft_request_wake_finished();

	/* Large outcomes: a pinned DSM segment each, made outside the lock. */
	for (i = 0; i < nlarge; i++)
	{
		RaftLargeResult *l = &large[i];
		dsm_segment *seg = dsm_create(l->encoded.len, 0);
		dsm_handle	h;
		RaftSlot   *slot = &RAFT_SLOTS[l->slotno];
		bool		given = false;

		memcpy(dsm_segment_address(seg), l->encoded.data, l->encoded.len);
		dsm_pin_segment(seg);
		h = dsm_segment_handle(seg);
		dsm_detach(seg);
		LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
		if (slot->request_id == l->request_id && slot->state == RAFT_SLOT_PROPOSED)
		{
			slot->result_handle = h;
			slot->result_len = l->encoded.len;
			raft_request_finish(slot, RAFT_RESULT_OK, NULL);
			given = true;
		}
		LWLockRelease(raft_shared->slots_lock);
		if (!given)
			dsm_unpin_segment(h);	/* its owner gave up meanwhile */
		raft_request_wake_finished();
	}
}

int
raft_request_unanswered(uint64 applied, RaftAppliedEntry **out)
{
	RaftAppliedEntry *e = palloc0(sizeof(RaftAppliedEntry) * raft_shared->nslots);
	int			n = 0;
	int			i;
	int			j;

	LWLockAcquire(raft_shared->slots_lock, LW_SHARED);
	for (i = 0; i < raft_shared->nslots; i++)
	{
		RaftSlot   *slot = &RAFT_SLOTS[i];

		if (slot->request_id != 0 && slot->state == RAFT_SLOT_PROPOSED && slot->index <= applied)
			e[n++].index = slot->index;
	}
	LWLockRelease(raft_shared->slots_lock);

	/* ascending, for raft_request_applied (n is small: insertion sort) */
	for (i = 1; i < n; i++)
	{
		RaftAppliedEntry x = e[i];

		for (j = i - 1; j >= 0 && e[j].index > x.index; j--)
			e[j + 1] = e[j];
		e[j + 1] = x;
	}
	*out = e;
	return n;
}
