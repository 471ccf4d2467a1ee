/*
 * sql_status.c — raft_ext.status() and raft_ext.peers(), behind the views
 * raft_status and raft_peers.
 *
 * Both read the snapshot the workers publish in shared memory; they never
 * wait for the workers.  Connection strings are shown with any password
 * masked.
 *
 * Locking: status_lock shared, for the copy only.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "config.h"
#include "raft/raft.h"
#include "request.h"
#include "shmem.h"
#include "snapshot.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_status);
PG_FUNCTION_INFO_V1(raft_ext_sql_peers);

static const char *
raft_status_worker_state_name(RaftWorkerState s)
{
	switch (s)
	{
		case RAFT_WORKER_WAITING_FOR_EXTENSION:
			return "waiting for extension";
		case RAFT_WORKER_RUNNING:
			return "running";
		case RAFT_WORKER_STATE_LOST:
			return "state lost";
		default:
			return "not running";
	}
}

#define RAFT_STATUS_NCOLS 19

Datum
raft_ext_sql_status(PG_FUNCTION_ARGS)
{
	RaftStatusSnapshot *st;
	TupleDesc	tupdesc;
	Datum		values[RAFT_STATUS_NCOLS];
	bool		nulls[RAFT_STATUS_NCOLS];
	const char *role;
	uint64		dropped;
	uint64		delivered;
	bool		running;
	int			i = 0;

	raft_shmem_require();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "raft_ext.status: return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	if (tupdesc->natts != RAFT_STATUS_NCOLS)
		elog(ERROR, "raft_ext.status: expected %d columns", RAFT_STATUS_NCOLS);

	st = palloc(sizeof(RaftStatusSnapshot));
	raft_request_status(st);
	LWLockAcquire(raft_shared->inbox_lock, LW_SHARED);
	dropped = raft_shared->inbox->dropped;
	delivered = raft_shared->inbox->delivered;
	LWLockRelease(raft_shared->inbox_lock);

	memset(nulls, 0, sizeof(nulls));
	running = st->worker_state == RAFT_WORKER_RUNNING;
	role = running ? raft_role_name((raft_role) st->role) : NULL;

	/* node_id */
	values[i++] = Int32GetDatum(raft_ext_node_id);
	/* role */
	if (role)
		values[i++] = CStringGetTextDatum(role);
	else
		nulls[i++] = true;
	/* term */
	values[i] = Int64GetDatum((int64) st->term);
	nulls[i++] = !running;
	/* leader_id */
	values[i] = Int32GetDatum(st->leader_id);
	nulls[i++] = !running || st->leader_id == 0;
	/* voted_for */
	values[i] = Int32GetDatum(st->voted_for);
	nulls[i++] = !running || st->voted_for == 0;
	/* commit_index */
	values[i] = Int64GetDatum((int64) st->commit_index);
	nulls[i++] = !running;
	/* last_applied */
	values[i++] = Int64GetDatum((int64) pg_atomic_read_u64(&raft_shared->last_applied));
	/* last_log_index, last_log_term */
	values[i] = Int64GetDatum((int64) st->last_log_index);
	nulls[i++] = !running;
	values[i] = Int64GetDatum((int64) st->last_log_term);
	nulls[i++] = !running;
	/* leader_since */
	values[i] = TimestampTzGetDatum(st->leader_since);
	nulls[i++] = !running || st->leader_since == 0;
	/* worker_state, apply_worker_state */
	values[i++] = CStringGetTextDatum(running && st->snapshot_needed != 0 ? "needs snapshot" :
									  raft_status_worker_state_name(st->worker_state));
	values[i++] = CStringGetTextDatum(raft_snapshot_installing() ? "installing snapshot" :
									  st->apply_state == RAFT_WORKER_RUNNING &&
									  st->apply_diverged_index != 0 ? "diverged" :
									  raft_status_worker_state_name(st->apply_state));
	/* apply_stalled_since, apply_stalled_index */
	values[i] = TimestampTzGetDatum(st->apply_stalled_since);
	nulls[i++] = st->apply_stalled_since == 0;
	values[i] = Int64GetDatum((int64) st->apply_stalled_index);
	nulls[i++] = st->apply_stalled_since == 0;
	/* apply_retries */
	values[i++] = Int64GetDatum(st->apply_retries);
	/* last_apply_error */
	if (st->last_apply_error[0])
		values[i++] = CStringGetTextDatum(st->last_apply_error);
	else
		nulls[i++] = true;
	/* messages_received, messages_dropped, messages_refused */
	values[i++] = Int64GetDatum((int64) delivered);
	values[i++] = Int64GetDatum((int64) dropped);
	values[i++] = Int64GetDatum((int64) st->messages_refused);
	Assert(i == RAFT_STATUS_NCOLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * 11 columns before ALTER EXTENSION raft_ext UPDATE to 1.2 (no
 * regressed_from, membership, membership_pending, needs_snapshot): a row is
 * cut to what the installed view has.
 */
#define RAFT_PEERS_NCOLS 15
#define RAFT_PEERS_NCOLS_1_1 11

Datum
raft_ext_sql_peers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const RaftPeerList *peers;
	RaftStatusSnapshot *st;
	TimestampTz now = GetCurrentTimestamp();
	bool		running;
	bool		published;
	int			ncols;
	int			nrows;
	int			i;

	raft_shmem_require();
	InitMaterializedSRF(fcinfo, 0);
	ncols = rsinfo->setDesc->natts;
	if (ncols != RAFT_PEERS_NCOLS && ncols != RAFT_PEERS_NCOLS_1_1)
		elog(ERROR, "raft_ext.peers: expected %d columns", RAFT_PEERS_NCOLS);

	st = palloc(sizeof(RaftStatusSnapshot));
	raft_request_status(st);
	running = st->worker_state == RAFT_WORKER_RUNNING;
	peers = raft_conf_peers();

	/*
	 * The members of the configuration the node uses now, as its Raft
	 * worker published it (membership.c); before that, raft_ext.peers.
	 */
	published = st->config_published;
	/* a server waiting to be added has no configuration yet */
	nrows = published ? st->npeers : raft_ext_join ? 0 : peers->npeers;
	for (i = 0; i < nrows; i++)
	{
		Datum		values[RAFT_PEERS_NCOLS];
		bool		nulls[RAFT_PEERS_NCOLS];
		RaftPeerStatus *ps = published ? &st->peers[i] : NULL;
		int			id = published ? ps->node_id : peers->ids[i];
		bool		self = id == raft_ext_node_id;
		int			c = 0;

		if (!running)
			ps = NULL;

		memset(nulls, 0, sizeof(nulls));
		/* node_id, conninfo, is_self */
		values[c++] = Int32GetDatum(id);
		values[c++] = CStringGetTextDatum(raft_conf_mask_conninfo(published ? st->peers[i].conninfo :
																  raft_peer_conninfo(peers, i)));
		values[c++] = BoolGetDatum(self);
		/* connected */
		values[c] = BoolGetDatum(ps ? ps->connected : false);
		nulls[c++] = self;
		/* match_index, next_index: only known on the leader */
		values[c] = Int64GetDatum(ps ? (int64) ps->match_index : 0);
		nulls[c++] = !(ps && ps->has_progress);
		values[c] = Int64GetDatum(ps ? (int64) ps->next_index : 0);
		nulls[c++] = !(ps && ps->has_progress);
		/* last_contact, last_contact_age */
		if (ps && !self && ps->last_contact != 0)
		{
			values[c++] = TimestampTzGetDatum(ps->last_contact);
			values[c++] = DirectFunctionCall2(timestamp_mi,
											  TimestampTzGetDatum(now),
											  TimestampTzGetDatum(ps->last_contact));
		}
		else
		{
			nulls[c++] = true;
			nulls[c++] = true;
		}
		/* messages_sent, messages_dropped, last_error */
		values[c] = Int64GetDatum(ps ? ps->messages_sent : 0);
		nulls[c++] = self || ps == NULL;
		values[c] = Int64GetDatum(ps ? ps->messages_dropped : 0);
		nulls[c++] = self || ps == NULL;
		if (ps && !self && ps->last_error[0])
			values[c++] = CStringGetTextDatum(ps->last_error);
		else
			nulls[c++] = true;
		/* regressed_from: its log went back below what it had acknowledged */
		values[c] = Int64GetDatum(ps ? (int64) ps->regressed_from : 0);
		nulls[c++] = !(ps && ps->has_progress && ps->regressed_from != 0);
		/* membership: voter or learner; pending: its configuration is not committed yet */
		values[c++] = CStringGetTextDatum(!published || st->peers[i].voter ? "voter" : "learner");
		values[c++] = BoolGetDatum(published && !st->config_committed);
		/* needs_snapshot: (on the leader) what it lacks was compacted away */
		values[c] = BoolGetDatum(ps ? ps->needs_snapshot : false);
		nulls[c++] = !(ps && ps->has_progress);
		Assert(c == RAFT_PEERS_NCOLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
