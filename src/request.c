/*
 * request.c — a backend's side of the request slots (see request.h).
 *
 * Locking: slots_lock (shared to read the slot, exclusive to change it),
 * status_lock shared to copy the status.  Never both.
 */
#include "postgres.h"

#include "access/xact.h"
#include "libpq/libpq.h"
#include "miscadmin.h"
#include "storage/backendid.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/timestamp.h"

#include "config.h"
#include "request.h"
#include "shmem.h"

static bool raft_request_exit_registered = false;

static void
raft_request_on_exit(int code, Datum arg)
{
	if (raft_shared != NULL && MyBackendId >= 1 && MyBackendId <= raft_shared->nslots)
		raft_request_end(NULL);
}

void
raft_request_begin(RaftSlotKind kind, dsm_handle h, const char *inline_data, Size len,
				   int target, uint64 index)
{
	RaftSlot   *slot = raft_shmem_my_slot();
	uint64		id = pg_atomic_fetch_add_u64(&raft_shared->next_request_id, 1);

	if (!raft_request_exit_registered)
	{
		before_shmem_exit(raft_request_on_exit, (Datum) 0);
		raft_request_exit_registered = true;
	}

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	slot->request_id = id;
	slot->kind = kind;
	slot->state = (kind == RAFT_REQ_WAIT_APPLIED) ? RAFT_SLOT_WAIT_APPLIED : RAFT_SLOT_QUEUED;
	slot->backend_pid = MyProcPid;
	slot->payload_handle = h;
	slot->payload_len = len;
	if (inline_data != NULL)
	{
		Assert(len <= RAFT_SHMEM_INLINE_PAYLOAD_LEN);
		memcpy(slot->payload_inline, inline_data, len);
	}
	slot->target = target;
	slot->issued_at = 0;
	slot->index = index;
	slot->term = 0;
	slot->result = RAFT_RESULT_NONE;
	slot->leader_hint = 0;
	slot->sqlerrcode = 0;
	slot->has_rows = false;
	slot->rows = 0;
	slot->command_tag[0] = '\0';
	slot->message[0] = '\0';
	slot->detail[0] = '\0';
	slot->hint[0] = '\0';
	LWLockRelease(raft_shared->slots_lock);

	if (kind != RAFT_REQ_WAIT_APPLIED)
		raft_shmem_wake_raft_worker();
}

static bool
raft_request_check(RaftSlot *slot, RaftSlot *out)
{
	bool		done;

	/*
	 * Copy the result fields only once there is a result: a wake-up before
	 * that need not copy the whole slot (its inline payload is 2 kB).
	 */
	LWLockAcquire(raft_shared->slots_lock, LW_SHARED);
	if (slot->state == RAFT_SLOT_DONE)
		memcpy(out, slot, sizeof(RaftSlot));
	else
	{
		out->state = slot->state;
		out->index = slot->index;
		out->term = slot->term;
		out->request_id = slot->request_id;
		out->issued_at = slot->issued_at;
	}
	LWLockRelease(raft_shared->slots_lock);

	done = (out->state == RAFT_SLOT_DONE);
	if (!done && out->state == RAFT_SLOT_WAIT_APPLIED &&
		pg_atomic_read_u64(&raft_shared->last_applied) >= out->index)
	{
		out->state = RAFT_SLOT_DONE;
		out->result = RAFT_RESULT_OK;
		done = true;
	}
	return done;
}

bool
raft_request_wait(RaftSlot *out, TimestampTz deadline, bool watch_client)
{
	RaftSlot   *slot = raft_shmem_my_slot();
	bool		done = false;

	ConditionVariablePrepareToSleep(&slot->cv);
	for (;;)
	{
		long		ms;

		if (raft_request_check(slot, out))
		{
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
raft_request_end(RaftSlot *out)
{
	RaftSlot   *slot = raft_shmem_my_slot();

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	if (out)
		memcpy(out, slot, sizeof(RaftSlot));
	slot->request_id = 0;
	slot->kind = RAFT_REQ_NONE;
	slot->state = RAFT_SLOT_FREE;
	slot->payload_handle = 0;
	LWLockRelease(raft_shared->slots_lock);
}

void
raft_request_status(RaftStatusSnapshot *out)
{
	LWLockAcquire(raft_shared->status_lock, LW_SHARED);
	memcpy(out, &raft_shared->status, sizeof(RaftStatusSnapshot));
	LWLockRelease(raft_shared->status_lock);
}

void
raft_request_nap(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
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
