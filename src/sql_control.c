/*
 * sql_control.c — raft_barrier(), raft_transfer_leadership(node_id) and the
 * internal raft_ext.deliver(bytea).
 *
 * raft_barrier: a ReadIndex request through this node's Raft worker (on a
 * follower the core asks the leader with RAFT_MSG_READ_INDEX); once the
 * read index is known, waits until last_applied reaches it.  A SELECT after
 * it, on this node, sees every write acknowledged before the call.
 *
 * raft_ext.deliver: called by the peers' transport.  Pushes the bytes into
 * the shared-memory inbox and wakes the Raft worker; returns at once.  It
 * does not look at the bytes: the worker decodes them defensively.
 *
 * Locking: through request.c and shmem.c.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "config.h"
#include "raft/raft.h"
#include "request.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_barrier);
PG_FUNCTION_INFO_V1(raft_ext_sql_transfer_leadership);
PG_FUNCTION_INFO_V1(raft_ext_sql_deliver);

/* Post a request and wait for it; releases the slot on every path. */
static bool
raft_control_run(RaftSlotKind kind, int target, TimestampTz deadline, RaftSlot *s)
{
	volatile bool done = false;

	raft_request_begin(kind, DSM_HANDLE_INVALID, NULL, 0, target, 0);
	PG_TRY();
	{
		done = raft_request_wait(s, deadline);
	}
	PG_FINALLY();
	{
		raft_request_end(NULL);
	}
	PG_END_TRY();
	return done;
}

Datum
raft_ext_sql_barrier(PG_FUNCTION_ARGS)
{
	TimestampTz deadline;
	RaftSlot   *s;

	raft_shmem_require();
	deadline = raft_request_deadline();
	s = palloc0(sizeof(RaftSlot));
	if (!raft_control_run(RAFT_REQ_BARRIER, 0, deadline, s))
	{
		char	   *detail;

		if (s->state == RAFT_SLOT_WAIT_APPLIED)
			detail = psprintf("The leader confirmed read index %llu, but this node had not applied it yet.",
							  (unsigned long long) s->index);
		else
			detail = pstrdup("No leader confirmed a read index.");
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("raft_barrier: timed out"),
				 errdetail_internal("%s", detail),
				 errhint("Check raft_status and raft_peers: a majority of the members must be up and able to reach each other.")));
	}
	if (s->result != RAFT_RESULT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_barrier: %s", s->message)));
	PG_RETURN_INT64((int64) s->index);
}

Datum
raft_ext_sql_transfer_leadership(PG_FUNCTION_ARGS)
{
	int32		target = PG_GETARG_INT32(0);
	TimestampTz deadline;
	RaftStatusSnapshot *st;
	RaftSlot   *s;

	raft_shmem_require();
	if (raft_conf_peer_index(target) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_transfer_leadership: node %d is not a member", target),
				 errhint("The members are the node ids in raft_ext.peers; see raft_peers.")));

	deadline = raft_request_deadline();
	st = palloc(sizeof(RaftStatusSnapshot));
	raft_request_status(st);
	if (st->worker_state != RAFT_WORKER_RUNNING || st->role != RAFT_LEADER)
	{
		if (st->worker_state == RAFT_WORKER_RUNNING && st->leader_id == target)
			PG_RETURN_VOID();
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_transfer_leadership: this node (%d) is not the leader", raft_ext_node_id),
				 st->leader_id ? errhint("Call it on the leader, node %d.", st->leader_id) :
				 errhint("No leader is known at the moment; see raft_status.")));
	}
	if (target == raft_ext_node_id)
		PG_RETURN_VOID();

	s = palloc0(sizeof(RaftSlot));
	if (!raft_control_run(RAFT_REQ_TRANSFER, target, deadline, s))
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("raft_transfer_leadership: timed out")));
	if (s->result == RAFT_RESULT_NOT_LEADER)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_transfer_leadership: this node (%d) is not the leader", raft_ext_node_id),
				 s->leader_hint ? errhint("Call it on the leader, node %d.", s->leader_hint) : 0));
	if (s->result == RAFT_RESULT_BUSY)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("raft_transfer_leadership: a leadership transfer is already in progress")));
	if (s->result != RAFT_RESULT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_transfer_leadership: %s", s->message)));

	/* wait until the target has taken over */
	for (;;)
	{
		raft_request_status(st);
		if (st->worker_state == RAFT_WORKER_RUNNING && st->leader_id == target)
			break;
		if (TimestampDifferenceExceeds(deadline, GetCurrentTimestamp(), 0))
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("raft_transfer_leadership: node %d did not take over in time", target),
					 errdetail("The leader is now %s.",
							   st->leader_id ? psprintf("node %d", st->leader_id) : "unknown"),
					 errhint("The target must be up and caught up with the leader's log; see raft_peers.")));
		raft_request_nap(10);
	}
	PG_RETURN_VOID();
}

Datum
raft_ext_sql_deliver(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	Size		len = VARSIZE_ANY_EXHDR(b);

	raft_shmem_require();
	if (len == 0 || len + sizeof(uint32) > raft_shared->inbox->capacity / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raft_ext.deliver: a message of %zu bytes is not accepted", len),
				 errhint("Messages must be non-empty and at most half of raft_ext.inbox_size; use the same settings on every node.")));
	if (raft_shmem_inbox_push(VARDATA_ANY(b), len))
		raft_shmem_wake_raft_worker();
	PG_RETURN_VOID();
}
