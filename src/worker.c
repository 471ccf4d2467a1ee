/*
 * worker.c — the Raft worker, one per server, connected to raft_ext.database.
 *
 * It waits for CREATE EXTENSION raft_ext (pg_cron style: no failure), loads
 * hard state, log and last_applied from the extension's tables, creates the
 * Raft node (ticks of RAFT_EXT_TICK_MS; election ticks = timeout / tick;
 * seeded from node id, time and pid), then loops:
 *
 *   raft_transport_wait(until next tick) -> ResetLatch -> interrupts/SIGHUP
 *   raft_transport_poll()
 *   drain the inbox: raft_decode + raft_step (garbage is counted, dropped)
 *   the leader's connection closed from its side: raft_leader_unreachable
 *   ticks due by elapsed time (a long pause is not replayed tick by tick)
 *   take queued requests: proposals (raft_propose, all of them: they become
 *     one ready batch, one log write, one AppendEntries per peer), ReadIndex
 *     requests, leadership transfers
 *   while raft_has_ready:
 *       send AppendEntries (a leader may send before its own flush)
 *       persist hard state + entries in ONE transaction, synchronous commit
 *       send the other messages (votes, results: only after the flush)
 *       publish apply_target = min(committed, durable) for the apply worker
 *       hand read states to waiting raft_barrier() calls
 *       raft_advance
 *   publish status
 * with a memory context reset every iteration.
 *
 * Any error (e.g. the log table cannot be written) ends the process; the
 * postmaster restarts it and it reloads its durable state, which is always
 * safe for Raft.
 *
 * Locking: per shmem.h: the request slots through request.c (slots_lock),
 * status_lock exclusively to publish status, the inbox lock inside
 * raft_shmem_inbox_drain().  Never two at once.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "checks.h"
#include "compaction.h"
#include "config.h"
#include "identity.h"
#include "membership.h"
#include "payload.h"
#include "raft/raft.h"
#include "request.h"
#include "skip.h"
#include "snapshot.h"
#include "shmem.h"
#include "storage.h"
#include "transport.h"
#include "worker.h"
#include "workers.h"

/* How long a ReadIndex request may stay unanswered before it is re-issued. */
#define RAFT_WORKER_READ_RETRY_MS (raft_ext_election_timeout_max)

/* At most this many bytes of inbox are stepped before the ready is handled. */
#define RAFT_WORKER_INBOX_BATCH (4 * 1024 * 1024)

static raft_node *raft_worker_node = NULL;
static uint64 raft_worker_cluster_id;
static uint64 raft_worker_last_persisted = 0;
static uint64 raft_worker_committed = 0;
static int	raft_worker_last_role = -1;
static int	raft_worker_last_leader = -1;
static TimestampTz raft_worker_leader_since = 0;
static uint64 raft_worker_refused = 0;
static MemoryContext raft_worker_loop_cxt = NULL;

static void
raft_worker_check(int rc, const char *what)
{
	if (rc == RAFT_ENOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("raft_ext: out of memory in %s", what)));
	if (rc != RAFT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("raft_ext: %s failed: %s", what, raft_strerror(rc))));
}

/*
 * The node's identity does not match its state (identity.c): say why, in
 * raft_status and the server log, and stay out of the cluster (no votes, no
 * acknowledgements, nothing to apply) until the extension changes or the
 * server is restarted after a repair.
 */
static void
raft_worker_refuse_to_run(Oid ext_oid, const char *problem, const char *hint)
{
	TimestampTz ext_checked_at = 0;

	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	raft_shmem_strlcpy(raft_shared->status.last_apply_error,
					   psprintf("%s. %s", problem, hint),
					   sizeof(raft_shared->status.last_apply_error));
	LWLockRelease(raft_shared->status_lock);
	raft_workers_set_state(RAFT_WORKER_KIND_RAFT, RAFT_WORKER_STATE_LOST);
	for (;;)
	{
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: node %d does not take part in the cluster: %s", raft_ext_node_id, problem),
				 errhint("%s", hint)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 60000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		raft_workers_check_signals();
		raft_storage_check_extension(ext_oid, &ext_checked_at);
		if (raft_snapshot_lost_state_repaired())
		{
			ereport(LOG,
					(errmsg("raft_ext: node %d's Raft state was replaced by a snapshot: the Raft worker restarts to adopt it",
							raft_ext_node_id)));
			proc_exit(1);
		}
	}
}

/* The vote floor the node was created with, until the core lifts it. */
static uint64 raft_worker_vote_floor = 0;

static void
raft_worker_create_node(Oid ext_oid)
{
	raft_member *members;
	size_t		nmembers;
	raft_config config;
	RaftStoredState stored;
	MemoryContext loadcxt;
	MemoryContext oldcxt;
	Size		inbox = raft_conf_inbox_bytes();
	int			rc;

	/* raft_ext.members, else raft_ext.peers, else none (joining): membership.c */
	raft_members_initial(&members, &nmembers);

	memset(&config, 0, sizeof(config));
	config.id = (raft_node_id) raft_ext_node_id;
	config.members = nmembers > 0 ? members : NULL;
	config.nMembers = nmembers;
	config.electionTickMin = raft_ext_election_timeout_min / RAFT_EXT_TICK_MS;
	config.electionTickMax = raft_ext_election_timeout_max / RAFT_EXT_TICK_MS;
	config.heartbeatTick = Max(1, raft_ext_heartbeat_interval / RAFT_EXT_TICK_MS);
	config.maxMsgBytes = Min((Size) 1024 * 1024, inbox / 16);
	config.maxInflight = 16;
	config.preVote = true;
	config.checkQuorum = true;
	config.seed = ((uint64) raft_ext_node_id * UINT64CONST(0x9E3779B97F4A7C15)) ^
		(uint64) GetCurrentTimestamp() ^ ((uint64) MyProcPid << 32);
	config.allocator = NULL;

	/* who this node is, before anything of its state is trusted */
	{
		uint64		term;
		bool		empty;
		char	   *hint;
		char	   *problem;

		uint64		floor;
		char	   *incarnation;

		raft_storage_peek(&term, &empty, &incarnation);
		problem = raft_identity_check(term, empty && term == 0, incarnation, &hint, &floor);
		if (problem != NULL)
			raft_worker_refuse_to_run(ext_oid, problem, hint);
		/* a rebuilt node: no vote in a term it may have voted in before */
		config.voteFloor.term = (raft_term) floor;
		config.voteFloor.index = 0;
		raft_worker_vote_floor = floor;
	}

	loadcxt = AllocSetContextCreate(TopMemoryContext, "raft_ext load",
									ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(loadcxt);
	raft_storage_load(&stored);
	MemoryContextSwitchTo(oldcxt);

	rc = raft_node_restore(&config, &stored.hard_state,
						   (raft_index) stored.log_start_index, (raft_term) stored.log_start_term,
						   stored.entries, stored.nentries,
						   (raft_index) stored.last_applied, &raft_worker_node);
	raft_worker_check(rc, "raft_node_restore");
	raft_worker_last_persisted = stored.log_start_index + stored.nentries;
	pg_atomic_write_u64(&raft_shared->compact_to, stored.log_start_index);
	raft_worker_committed = stored.last_applied;

	/*
	 * What a previous incarnation published may belong to tables since
	 * dropped: start again from what is applied; it only grows from here.
	 */
	pg_atomic_write_u64(&raft_shared->apply_target, stored.last_applied);

	ereport(LOG,
			(errmsg("raft_ext: node %d started: term %llu, voted for %llu, %zu log entries (from index %llu), last applied %llu",
					raft_ext_node_id,
					(unsigned long long) stored.hard_state.currentTerm,
					(unsigned long long) stored.hard_state.votedFor,
					stored.nentries,
					(unsigned long long) (stored.log_start_index + 1),
					(unsigned long long) stored.last_applied)));
	MemoryContextDelete(loadcxt);
}

/*
 * Per-member bookkeeping of this worker (last contact, regressions seen),
 * by node id: members come and go with the configuration.
 */
typedef struct RaftWorkerPeerNote
{
	int			node_id;		/* 0: free */
	TimestampTz last_contact;
	uint64		regressions_seen;
} RaftWorkerPeerNote;

static RaftWorkerPeerNote raft_worker_notes[2 * RAFT_EXT_MAX_PEERS];

static RaftWorkerPeerNote *
raft_worker_note(int node_id, bool create)
{
	RaftWorkerPeerNote *free_note = NULL;
	RaftWorkerPeerNote *oldest = NULL;
	int			i;

	for (i = 0; i < lengthof(raft_worker_notes); i++)
	{
		RaftWorkerPeerNote *n = &raft_worker_notes[i];

		if (n->node_id == node_id)
			return n;
		if (n->node_id == 0 && free_note == NULL)
			free_note = n;
		if (oldest == NULL || n->last_contact < oldest->last_contact)
			oldest = n;
	}
	if (!create)
		return NULL;
	if (free_note == NULL)
		free_note = oldest;		/* a node long gone */
	memset(free_note, 0, sizeof(*free_note));
	free_note->node_id = node_id;
	return free_note;
}

/*
 * A connection to the leader that the leader's side closed is evidence that
 * it is gone (a killed server's kernel closes its sockets at once): tell
 * the core, which then campaigns after a short random delay instead of a
 * whole election timeout after the last heartbeat.  Flags about other peers
 * are only cleared: they say nothing about who leads.
 */
static void
raft_worker_notice_closed_peers(void)
{
	raft_node_id leader = raft_leader(raft_worker_node);
	raft_member members[RAFT_EXT_MAX_PEERS];
	size_t		n;
	size_t		i;

	n = Min(raft_get_configuration(raft_worker_node, members, RAFT_EXT_MAX_PEERS, NULL, NULL),
			RAFT_EXT_MAX_PEERS);
	for (i = 0; i < n; i++)
	{
		int			id = (int) members[i].id;

		if (id == raft_ext_node_id || !raft_transport_take_closed(id))
			continue;
		if ((raft_node_id) id == leader)
		{
			ereport(LOG,
					(errmsg("raft_ext: leader node %d closed its connection; holding an election without waiting for the election timeout",
							id)));
			raft_worker_check(raft_leader_unreachable(raft_worker_node, leader),
							  "raft_leader_unreachable");
		}
	}
}

static void
raft_worker_send(const raft_message *m)
{
	size_t		size = raft_encoded_size(m);
	uint8_t    *buf = palloc(size);
	size_t		written = 0;
	int			rc;

	rc = raft_encode(m, raft_worker_cluster_id, buf, size, &written);
	if (rc != RAFT_OK)
	{
		ereport(WARNING,
				(errmsg("raft_ext: could not encode a message of type %d for node %llu: %s",
						m->type, (unsigned long long) m->to, raft_strerror(rc))));
		return;
	}
	if (m->to == (raft_node_id) raft_ext_node_id)
		return;					/* the core never sends to itself; be safe */
	raft_transport_send((int) m->to, (const char *) buf, written);
	pfree(buf);
}

/* Messages refused for speaking for another member (raft_ext.peer_roles). */
static uint64 raft_worker_forged = 0;
static TimestampTz raft_worker_forged_logged_at = 0;

static void
raft_worker_drain_inbox(void)
{
	char	   *buf;
	Size		len;
	TimestampTz now = 0;

	len = raft_shmem_inbox_drain(&buf, RAFT_WORKER_INBOX_BATCH);
	if (len == 0)
		return;
	if (len >= RAFT_WORKER_INBOX_BATCH / 2)
		SetLatch(MyLatch);		/* there may be more: come back soon */
	now = GetCurrentTimestamp();
	while (len >= sizeof(uint32))
	{
		uint32		mlen;
		uint32		sender;
		raft_message m;
		int			rc;
		RaftWorkerPeerNote *note;

		memcpy(&mlen, buf, sizeof(uint32));
		buf += sizeof(uint32);
		len -= sizeof(uint32);
		if (mlen > len || mlen < RAFT_INBOX_SENDER_BYTES)
			break;				/* cannot happen: the ring holds whole records */
		memcpy(&sender, buf, RAFT_INBOX_SENDER_BYTES);

		rc = raft_decode((const uint8_t *) buf + RAFT_INBOX_SENDER_BYTES,
						 mlen - RAFT_INBOX_SENDER_BYTES, raft_worker_cluster_id, NULL, &m);
		buf += mlen;
		len -= mlen;
		if (rc != RAFT_OK)
		{
			raft_worker_refused++;
			ereport(DEBUG1,
					(errmsg("raft_ext: refused a %u-byte message: %s", mlen, raft_strerror(rc))));
			continue;
		}
		/*
		 * Any node of the cluster (raft_ext.cluster_name) may speak: a server
		 * being added hears from a leader that is not in its configuration
		 * yet; the core decides what a non-member's message may do.
		 */
		if (m.to != (raft_node_id) raft_ext_node_id || m.from == RAFT_NONE ||
			m.from == (raft_node_id) raft_ext_node_id || m.from > PG_INT32_MAX)
		{
			raft_worker_refused++;
			ereport(DEBUG1,
					(errmsg("raft_ext: refused a message from node %llu to node %llu",
							(unsigned long long) m.from, (unsigned long long) m.to)));
			raft_message_free_decoded(NULL, &m);
			continue;
		}
		if (sender != 0 && m.from != (raft_node_id) sender)
		{
			/* raft_ext.peer_roles: a member's role speaks for that member only */
			raft_worker_refused++;
			raft_worker_forged++;
			if (TimestampDifferenceExceeds(raft_worker_forged_logged_at, now, 10000))
			{
				ereport(WARNING,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("raft_ext: refused a message that says it comes from node %llu on a connection of node %u's role",
								(unsigned long long) m.from, sender),
						 errdetail("%llu such messages refused since this worker started.",
								   (unsigned long long) raft_worker_forged),
						 errhint("raft_ext.peer_roles maps each member to its login role; a role may only speak for its own member.")));
				raft_worker_forged_logged_at = now;
			}
			raft_message_free_decoded(NULL, &m);
			continue;
		}
		note = raft_worker_note((int) m.from, true);
		note->last_contact = now;
		rc = raft_step(raft_worker_node, &m);
		raft_message_free_decoded(NULL, &m);
		if (rc == RAFT_ENOMEM)
			raft_worker_check(rc, "raft_step");
		if (rc != RAFT_OK)
		{
			raft_worker_refused++;
			ereport(DEBUG1,
					(errmsg("raft_ext: raft_step refused a message of type %d from node %d: %s",
							m.type, (int) m.from, raft_strerror(rc))));
		}
	}
}

/*
 * The stamp of the last stamped entry of the log (payload.h), or 0.  Only
 * NORMAL entries carry one, so the scan back passes over no-ops (one per
 * term) and, at worst, entries written before stamps existed.
 */
static TimestampTz
raft_worker_last_stamp(void)
{
	raft_status st;
	raft_index	i;
	int			scanned = 0;

	raft_get_status(raft_worker_node, &st);
	for (i = st.lastLogIndex; i >= 1 && scanned < 1024; i--, scanned++)
	{
		raft_entry	e;
		TimestampTz stamp;

		if (!raft_log_entry(raft_worker_node, i, &e))
			break;
		/* forwarded commands are not stamped by a leader: 0 */
		if (e.type == RAFT_ENTRY_NORMAL &&
			raft_payload_get_stamp(e.data, e.len, &stamp) && stamp != 0)
			return stamp;
	}
	return 0;
}

/*
 * The leader gives every entry it appends its clock: now, but never less
 * than the last entry's stamp, so time never goes back in log order, across
 * leader changes too (a new leader's log ends with every committed entry,
 * and it only appends after its last).  A payload too old to carry a stamp
 * is appended as it is.
 */
static void
raft_worker_stamp(char *payload, Size len, TimestampTz *last)
{
	TimestampTz now = GetCurrentTimestamp();

	if (now < *last)
		now = *last;
	if (raft_payload_set_stamp(payload, len, now))
		*last = now;
}

/*
 * Act on the queued requests: every proposal (raft_propose; together they
 * become one ready batch, one log write, one AppendEntries per follower),
 * read-index requests and leadership transfers.  request.c moves the slots.
 */
static void
raft_worker_take_requests(void)
{
	RaftTakenRequest *reqs;
	TimestampTz now = GetCurrentTimestamp();
	int			n = raft_request_take(&reqs, now, RAFT_WORKER_READ_RETRY_MS);
	TimestampTz last_stamp = 0;
	int			i;

	if (n > 0 && raft_leader(raft_worker_node) == (raft_node_id) raft_ext_node_id)
		last_stamp = raft_worker_last_stamp();

	for (i = 0; i < n; i++)
	{
		RaftTakenRequest *r = &reqs[i];
		raft_index	index = 0;
		raft_term	term = 0;

		switch (r->kind)
		{
			case RAFT_REQ_SUBMIT:
				if (r->payload == NULL)
				{
					r->rc = RAFT_OK;	/* abandoned */
					break;
				}
				raft_worker_stamp(r->payload, r->len, &last_stamp);
				r->rc = raft_propose(raft_worker_node, r->payload, r->len, &index, &term);
				break;
			case RAFT_REQ_BARRIER:
				r->rc = raft_read_index(raft_worker_node, r->request_id);
				break;
			case RAFT_REQ_CHANGE:
				r->rc = r->payload == NULL ? RAFT_EINVAL :
					raft_members_take_change(raft_worker_node, r->payload, r->len, r->target,
											 &index, &term);
				break;
			case RAFT_REQ_TRANSFER:
				if (r->target == raft_ext_node_id &&
					raft_leader(raft_worker_node) == (raft_node_id) raft_ext_node_id)
					r->rc = RAFT_OK;	/* already there */
				else
					r->rc = raft_transfer_leadership(raft_worker_node, (raft_node_id) r->target);
				break;
			default:
				r->rc = RAFT_EINVAL;
				break;
		}
		if (r->rc == RAFT_ENOMEM)
			raft_worker_check(r->rc, "a request");
		r->index = index;
		r->term = term;
	}
	if (n > 0)
		raft_request_post(reqs, n, (int) raft_leader(raft_worker_node), now);
}

static void
raft_worker_handle_read_states(const raft_ready *rd)
{
	uint64	   *ids = palloc(sizeof(uint64) * rd->nReadStates);
	uint64	   *indexes = palloc(sizeof(uint64) * rd->nReadStates);
	size_t		k;

	for (k = 0; k < rd->nReadStates; k++)
	{
		ids[k] = rd->readStates[k].requestId;
		indexes[k] = rd->readStates[k].readIndex;
	}
	raft_request_read_confirmed(ids, indexes, (int) rd->nReadStates);
}

static void
raft_worker_note_role(const raft_ready *rd)
{
	if ((int) rd->role == raft_worker_last_role && (int) rd->leader == raft_worker_last_leader)
		return;
	if ((int) rd->leader != raft_worker_last_leader)
		raft_worker_leader_since = rd->leader != RAFT_NONE ? GetCurrentTimestamp() : 0;
	if (rd->role == RAFT_LEADER)
		ereport(LOG, (errmsg("raft_ext: node %d is the leader", raft_ext_node_id)));
	else if (rd->leader != RAFT_NONE)
		ereport(LOG, (errmsg("raft_ext: node %d is a %s; the leader is node %llu",
							 raft_ext_node_id, raft_role_name(rd->role),
							 (unsigned long long) rd->leader)));
	else
		ereport(DEBUG1, (errmsg("raft_ext: node %d is a %s; no leader known",
								raft_ext_node_id, raft_role_name(rd->role))));
	raft_worker_last_role = (int) rd->role;
	raft_worker_last_leader = (int) rd->leader;
}

/*
 * The leader says the entries this node needs were compacted away: only a
 * copy of a member's data can bring it back (README, "Snapshots").  The
 * node says so, loudly, in raft_status (worker_state 'needs snapshot') and
 * in the server log, goes on following (it votes, it serves what it has
 * applied) and, with raft_ext.auto_snapshot, installs one (snapshot.c).
 */
static void
raft_worker_snapshot_needed(const raft_ready *rd)
{
	ereport(WARNING,
			(errmsg("raft_ext: node %d needs a snapshot: its leader, node %llu, no longer holds the log entries it lacks (compacted up to %llu, term %llu)",
					raft_ext_node_id, (unsigned long long) rd->snapshotLeader,
					(unsigned long long) rd->snapshotIndex, (unsigned long long) rd->snapshotTerm),
			 errdetail("It was down or cut off while the others went more than raft_ext.log_hold_entries ahead, or it lost its state."),
			 raft_ext_auto_snapshot ?
			 errhint("It installs a copy of its leader's database by itself (raft_ext.auto_snapshot); the server log says when it is done (README, \"Snapshots\").") :
			 errhint("raft_ext.auto_snapshot is off: call SELECT raft_install_snapshot() on it, or rebuild it from a copy of a member's data directory (README, \"Snapshots\").")));
}

static void
raft_worker_publish_apply_target(void)
{
	uint64		target = Min(raft_worker_committed, raft_worker_last_persisted);

	if (target > pg_atomic_read_u64(&raft_shared->apply_target))
	{
		pg_atomic_write_u64(&raft_shared->apply_target, target);
		raft_shmem_wake_apply_worker();
	}
}

static void
raft_worker_process_ready(void)
{
	while (raft_has_ready(raft_worker_node))
	{
		raft_ready	rd;
		size_t		k;
		int			rc;
		bool		sent_early;

		rc = raft_ready_get(raft_worker_node, &rd);
		raft_worker_check(rc, "raft_ready_get");
		raft_worker_note_role(&rd);
		/*
		 * Said at most every 10 s and not during an install: the leader
		 * repeats InstallSnapshot every heartbeat while it is needed.
		 */
		if (rd.snapshotNeeded && !raft_snapshot_installing())
		{
			static TimestampTz warned_at = 0;
			TimestampTz now = GetCurrentTimestamp();

			if (TimestampDifferenceExceeds(warned_at, now, 10000))
			{
				raft_worker_snapshot_needed(&rd);
				warned_at = now;
			}
		}

		/*
		 * AppendEntries may go before our own flush (thesis 10.2.1): push
		 * them onto the wire now, so the followers' flushes overlap ours.
		 */
		sent_early = false;
		for (k = 0; k < rd.nMessages; k++)
			if (rd.messages[k].type == RAFT_MSG_APPEND_ENTRIES)
			{
				raft_worker_send(&rd.messages[k]);
				sent_early = true;
			}
		if (sent_early && (rd.hardStateChanged || rd.nEntries > 0))
			raft_transport_poll();

		raft_storage_persist(&rd, &raft_worker_last_persisted);
		if (rd.hardStateChanged)
			raft_identity_note_term(rd.hardState.currentTerm);

		/* votes and results only once term, vote and entries are durable */
		for (k = 0; k < rd.nMessages; k++)
			if (rd.messages[k].type != RAFT_MSG_APPEND_ENTRIES)
				raft_worker_send(&rd.messages[k]);

		if (rd.nCommittedEntries > 0)
		{
			uint64		last = rd.committedEntries[rd.nCommittedEntries - 1].index;

			/* an operator's skip decision reaches apply before its entry */
			for (k = 0; k < rd.nCommittedEntries; k++)
			{
				const raft_entry *e = &rd.committedEntries[k];

				if (e->type == RAFT_ENTRY_NORMAL &&
					raft_payload_kind(e->data, e->len) == 'K')
					raft_skip_note_committed(e->data, e->len, e->index);
			}

			if (last > raft_worker_committed)
				raft_worker_committed = last;
		}
		raft_worker_publish_apply_target();

		if (rd.nReadStates > 0)
			raft_worker_handle_read_states(&rd);

		rc = raft_advance(raft_worker_node, &rd);
		raft_worker_check(rc, "raft_advance");
	}
}

/* Publish the status for raft_status / raft_peers; *out: the core's status. */
static void
raft_worker_publish_status(raft_status *out)
{
	raft_status st;
	RaftStatusSnapshot *s = &raft_shared->status;
	raft_member members[RAFT_EXT_MAX_PEERS];
	RaftTransportPeerInfo infos[RAFT_EXT_MAX_PEERS];
	bool		have_info[RAFT_EXT_MAX_PEERS];
	raft_progress progress[RAFT_EXT_MAX_PEERS];
	bool		have_progress[RAFT_EXT_MAX_PEERS];
	TimestampTz contact[RAFT_EXT_MAX_PEERS];
	bool		needs_snapshot[RAFT_EXT_MAX_PEERS];
	raft_progress pr;
	int			n;
	int			i;
	size_t		j;

	raft_get_status(raft_worker_node, &st);
	if (raft_worker_vote_floor != 0 && !st.voteFloorHeld)
	{
		raft_identity_floor_lifted();
		raft_worker_vote_floor = 0;
	}
	/* the configuration the node uses now, in the order membership.c publishes it */
	n = (int) Min(raft_get_configuration(raft_worker_node, members, RAFT_EXT_MAX_PEERS, NULL, NULL),
				  RAFT_EXT_MAX_PEERS);
	for (i = 0; i < n; i++)
	{
		int			id = (int) members[i].id;
		RaftWorkerPeerNote *note = raft_worker_note(id, id != raft_ext_node_id);

		have_info[i] = false;
		if (id != raft_ext_node_id)
			have_info[i] = raft_transport_peer_info(id, &infos[i]);
		have_progress[i] = false;
		for (j = 0; raft_get_progress(raft_worker_node, j, &pr); j++)
			if (pr.id == members[i].id)
			{
				progress[i] = pr;
				have_progress[i] = true;
				break;
			}
		contact[i] = note ? note->last_contact : 0;
		needs_snapshot[i] = have_progress[i] && progress[i].needsSnapshot;
		if (have_progress[i] && note && progress[i].regressions > note->regressions_seen &&
			progress[i].regressed)
			ereport(WARNING,
					(errmsg("raft_ext: node %d's log went back: it had acknowledged entries up to %llu and now holds %llu",
							id, (unsigned long long) progress[i].regressedFrom,
							(unsigned long long) progress[i].matchIndex),
					 errdetail("It lost what it had made durable (restored from an old backup?); it is not counted for entries it lost, and is caught up again."),
					 errhint("raft_peers.regressed_from shows it until it is back there; rebuild that node if it happens again (README, \"Repairing a node\").")));
		if (have_progress[i] && note)
			note->regressions_seen = progress[i].regressions;
	}

	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	s->worker_state = RAFT_WORKER_RUNNING;
	s->worker_pid = MyProcPid;
	s->role = (int) st.role;
	s->term = st.currentTerm;
	s->leader_id = (int) st.leader;
	s->voted_for = (int) st.votedFor;
	s->commit_index = st.commitIndex;
	s->last_log_index = st.lastLogIndex;
	s->last_log_term = st.lastLogTerm;
	s->messages_refused = raft_worker_refused;
	s->snapshot_needed = st.snapshotNeeded ? st.snapshotIndex : 0;
	s->leader_since = raft_worker_leader_since;
	s->config_published = true;
	s->config_index = st.configIndex;
	s->config_committed = st.configCommitted;
	s->npeers = n;
	for (i = 0; i < n; i++)
	{
		RaftPeerStatus *p = &s->peers[i];
		const char *address = raft_members_address((int) members[i].id);

		p->node_id = (int) members[i].id;
		p->voter = members[i].voter;
		/* how this node reaches it (its own raft_ext.peers entry first) */
		if (address != NULL)
			raft_shmem_strlcpy(p->conninfo, address, sizeof(p->conninfo));
		else
		{
			int			len = (int) Min(members[i].addressLen, RAFT_EXT_CONNINFO_LEN - 1);

			memcpy(p->conninfo, members[i].address, len);
			p->conninfo[len] = '\0';
		}
		p->has_progress = have_progress[i];
		p->match_index = have_progress[i] ? progress[i].matchIndex : 0;
		p->next_index = have_progress[i] ? progress[i].nextIndex : 0;
		p->regressed_from = have_progress[i] && progress[i].regressed ? progress[i].regressedFrom : 0;
		p->last_contact = contact[i];
		p->needs_snapshot = needs_snapshot[i];
		if (have_info[i])
		{
			p->connected = infos[i].connected;
			p->messages_sent = infos[i].messages_sent;
			p->messages_dropped = infos[i].messages_dropped;
			raft_shmem_strlcpy(p->last_error, infos[i].last_error, sizeof(p->last_error));
		}
		else
		{
			p->connected = false;
			p->messages_sent = 0;
			p->messages_dropped = 0;
			p->last_error[0] = '\0';
		}
	}
	LWLockRelease(raft_shared->status_lock);
	*out = st;
}

void
raft_worker_main(Datum main_arg)
{
	TimestampTz last_tick;
	long		tick_us = RAFT_EXT_TICK_MS * 1000L;
	int			max_catchup_ticks;
	Oid			ext_oid;
	TimestampTz ext_checked_at = 0;

	ext_oid = raft_workers_start(RAFT_WORKER_KIND_RAFT);

	SetConfigOption("synchronous_commit", "local", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);

	raft_worker_cluster_id = raft_conf_cluster_id();
	if (!raft_conf_peer_roles_set())
		ereport(WARNING,
				(errmsg("raft_ext.peer_roles is not set: any role allowed to call raft_ext.deliver_stream on this node can send messages as any member"),
				 errhint("Give every member its own login role and list them in raft_ext.peer_roles (README, \"The peers' login roles\").")));
	raft_worker_create_node(ext_oid);
	/* not before: see raft_workers_keep_heap */
	raft_workers_keep_heap();
	raft_shmem_inbox_clear();
	raft_request_requeue_taken();
	raft_members_sync(raft_worker_node); /* connects to the other members */
	raft_shmem_wake_apply_worker();

	raft_worker_loop_cxt = AllocSetContextCreate(TopMemoryContext, "raft_ext loop",
												 ALLOCSET_DEFAULT_SIZES);
	max_catchup_ticks = Max(1, (raft_ext_election_timeout_min / RAFT_EXT_TICK_MS) / 2);
	last_tick = GetCurrentTimestamp();
	pgstat_report_activity(STATE_RUNNING, "raft_ext: Raft worker");

	for (;;)
	{
		MemoryContext oldcxt;
		TimestampTz now;
		long		elapsed_us;
		long		timeout_ms;
		int			nticks;
		raft_status st;

		now = GetCurrentTimestamp();
		elapsed_us = (long) (now - last_tick);
		timeout_ms = elapsed_us >= tick_us ? 0 : (tick_us - elapsed_us + 999) / 1000;

		(void) raft_transport_wait(timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		raft_workers_check_signals();
		raft_storage_check_extension(ext_oid, &ext_checked_at);

		MemoryContextReset(raft_worker_loop_cxt);
		oldcxt = MemoryContextSwitchTo(raft_worker_loop_cxt);

		raft_transport_poll();
		raft_worker_drain_inbox();
		raft_worker_notice_closed_peers();

		now = GetCurrentTimestamp();
		nticks = (int) ((now - last_tick) / tick_us);
		if (nticks > max_catchup_ticks)
		{
			/* we were paused (SIGSTOP, a slow disk): do not replay it all */
			nticks = max_catchup_ticks;
			last_tick = now;
		}
		else
			last_tick += (TimestampTz) nticks * tick_us;
		while (nticks-- > 0)
			raft_worker_check(raft_tick(raft_worker_node), "raft_tick");

		raft_worker_take_requests();
		raft_checks_drain_outbox(raft_worker_node);
		raft_checks_maybe_verify(raft_worker_node);
		raft_worker_process_ready();
		raft_members_sync(raft_worker_node);
		raft_compaction_in_memory(raft_worker_node);
		raft_worker_publish_apply_target();
		raft_transport_poll();
		raft_worker_publish_status(&st);
		/* no ready outstanding here, as raft_snapshot_installed requires */
		raft_snapshot_raft_step(raft_worker_node, st.snapshotNeeded ? st.snapshotIndex : 0,
								(int) st.leader,
								&raft_worker_last_persisted, &raft_worker_committed);

		MemoryContextSwitchTo(oldcxt);
	}
}
