/*
 * sql_control.c — raft_barrier() and raft_transfer_leadership(node_id).
 *
 * raft_barrier: a ReadIndex request through this node's Raft worker (on a
 * follower the core asks the leader with RAFT_MSG_READ_INDEX); once the
 * read index is known, waits until last_applied reaches it.  A SELECT after
 * it, on this node, sees every write acknowledged before the call.
 *
 * raft_transfer_leadership: on the leader, asks the Raft worker to hand
 * leadership to a caught-up member (TimeoutNow), then waits until it has.
 *
 * (The peers' entry points, raft_ext.deliver_stream() and raft_ext.deliver(),
 * are the receiving half of the transport: transport.c.)
 *
 * Locking: through request.c.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "libpq/libpq.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "config.h"
#include "membership.h"
#include "raft/raft.h"
#include "request.h"
#include "shmem.h"
#include "sql_control.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_barrier);
PG_FUNCTION_INFO_V1(raft_ext_sql_transfer_leadership);

/* Post a request and wait for it; releases the slot on every path. */
static bool
raft_control_run(RaftRequestKind kind, int target, TimestampTz deadline, RaftRequestResult *s)
{
	volatile bool done = false;

	raft_request_begin(kind, NULL, 0, target, 0);
	PG_TRY();
	{
		done = raft_request_wait(s, deadline, false);
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
	raft_shmem_require();
	PG_RETURN_INT64((int64) raft_barrier_wait());
}

uint64
raft_barrier_wait(void)
{
	TimestampTz deadline;
	RaftRequestResult *s;

	deadline = raft_request_deadline();
	s = palloc0(sizeof(RaftRequestResult));
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
	if (s->code != RAFT_RESULT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_barrier: %s", s->problem ? s->problem : "failed")));
	return s->index;
}

Datum
raft_ext_sql_transfer_leadership(PG_FUNCTION_ARGS)
{
	int32		target = PG_GETARG_INT32(0);
	TimestampTz deadline;
	RaftStatusSnapshot *st;
	RaftRequestResult *s;
	bool		voter = false;

	raft_shmem_require();
	if (!raft_members_is_member(target, &voter) || !voter)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_transfer_leadership: node %d is not a voting member", target),
				 errhint("raft_peers lists the members; a learner cannot lead.")));

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

	s = palloc0(sizeof(RaftRequestResult));
	if (!raft_control_run(RAFT_REQ_TRANSFER, target, deadline, s))
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("raft_transfer_leadership: timed out")));
	if (s->code == RAFT_RESULT_NOT_LEADER)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_transfer_leadership: this node (%d) is not the leader", raft_ext_node_id),
				 s->leader_hint ? errhint("Call it on the leader, node %d.", s->leader_hint) : 0));
	if (s->code == RAFT_RESULT_BUSY)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("raft_transfer_leadership: a leadership transfer is already in progress")));
	if (s->code != RAFT_RESULT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_transfer_leadership: %s", s->problem ? s->problem : "failed")));

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

