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
 * Locking: per shmem.h.  slots_lock is taken exclusively to take requests
 * and to post their results; status_lock exclusively to publish status; the
 * inbox lock inside raft_shmem_inbox_drain().  Never two at once.
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

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

#include "apply.h"
#include "config.h"
#include "raft/raft.h"
#include "shmem.h"
#include "storage.h"
#include "transport.h"
#include "worker.h"

/* How long a ReadIndex request may stay unanswered before it is re-issued. */
#define RAFT_WORKER_READ_RETRY_MS (raft_ext_election_timeout_max)

/* At most this many bytes of inbox are stepped before the ready is handled. */
#define RAFT_WORKER_INBOX_BATCH (4 * 1024 * 1024)

typedef struct RaftWorkerRequest
{
	int			slotno;
	uint64		request_id;
	RaftSlotKind kind;
	dsm_handle	handle;
	char	   *data;			/* a copy of an inline payload, or NULL */
	Size		len;
	int			target;
	/* what became of it, posted to the slot afterwards */
	int			rc;
	raft_index	index;
	raft_term	term;
	bool		abandoned;
} RaftWorkerRequest;

static raft_node *raft_worker_node = NULL;
static uint64 raft_worker_cluster_id;
static uint64 raft_worker_last_persisted = 0;
static uint64 raft_worker_committed = 0;
static int	raft_worker_last_role = -1;
static int	raft_worker_last_leader = -1;
static TimestampTz raft_worker_leader_since = 0;
static uint64 raft_worker_refused = 0;
static TimestampTz raft_worker_last_contact[RAFT_EXT_MAX_PEERS];
static bool raft_worker_transport_up = false;
static MemoryContext raft_worker_loop_cxt = NULL;

/*
 * Both workers run one transaction after another, each of which allocates
 * and frees a few hundred kilobytes.  With glibc's defaults (trim the heap
 * when 128 kB at its top are free, mmap chunks above an adaptive threshold)
 * every transaction shrank the heap with brk() and grew it again, paying a
 * TLB flush on every CPU and a page fault per page each time: a quarter of
 * the apply worker's CPU at 8 clients (perf, 2026-11-26).  Keeping up to
 * 64 MB of free heap for reuse stops that; memory a worker's peak needed
 * beyond that is still returned.
 *
 * The Raft worker calls this only once its log is loaded: the load's
 * temporary blocks must stay above the mmap threshold (glibc's default
 * then), or, freed between the log's entries on the heap, they could not
 * be given back (a 750k-entry log: 1.0 GB resident instead of 0.6 GB).
 */
void
raft_worker_keep_heap(void)
{
#ifdef __GLIBC__
	(void) mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
	(void) mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}

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

static void
raft_worker_on_exit(int code, Datum arg)
{
	int			i;

	SpinLockAcquire(&raft_shared->mutex);
	if (raft_shared->raft_latch == MyLatch)
		raft_shared->raft_latch = NULL;
	SpinLockRelease(&raft_shared->mutex);

	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	raft_shared->status.worker_state = RAFT_WORKER_NOT_RUNNING;
	raft_shared->status.worker_pid = 0;
	raft_shared->status.role = -1;
	raft_shared->status.leader_id = 0;
	for (i = 0; i < raft_shared->status.npeers; i++)
	{
		raft_shared->status.peers[i].connected = false;
		raft_shared->status.peers[i].has_progress = false;
	}
	LWLockRelease(raft_shared->status_lock);

	if (raft_worker_transport_up)
	{
		raft_worker_transport_up = false;
		raft_transport_shutdown();
	}
}

/* Requests the previous incarnation was working on are simply redone. */
static void
raft_worker_requeue_taken(void)
{
	int			i;

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	for (i = 0; i < raft_shared->nslots; i++)
	{
		RaftSlot   *slot = &raft_shared->slots[i];

		if (slot->request_id != 0 &&
			(slot->state == RAFT_SLOT_TAKEN || slot->state == RAFT_SLOT_READ_PENDING))
			slot->state = RAFT_SLOT_QUEUED;
	}
	LWLockRelease(raft_shared->slots_lock);
}

static void
raft_worker_create_node(void)
{
	const RaftPeerList *peers = raft_conf_peers();
	raft_node_id voters[RAFT_EXT_MAX_PEERS];
	raft_config config;
	RaftStoredState stored;
	MemoryContext loadcxt;
	MemoryContext oldcxt;
	Size		inbox = raft_conf_inbox_bytes();
	int			i;
	int			rc;

	for (i = 0; i < peers->npeers; i++)
		voters[i] = (raft_node_id) peers->ids[i];

	memset(&config, 0, sizeof(config));
	config.id = (raft_node_id) raft_ext_node_id;
	config.voters = voters;
	config.nVoters = peers->npeers;
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

	loadcxt = AllocSetContextCreate(TopMemoryContext, "raft_ext load",
									ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(loadcxt);
	raft_storage_load(&stored);
	MemoryContextSwitchTo(oldcxt);

	rc = raft_node_create(&config, &stored.hard_state, stored.entries, stored.nentries,
						  (raft_index) stored.last_applied, &raft_worker_node);
	raft_worker_check(rc, "raft_node_create");
	raft_worker_last_persisted = stored.nentries;
	raft_worker_committed = stored.last_applied;

	/*
	 * What a previous incarnation published may belong to tables since
	 * dropped: start again from what is applied; it only grows from here.
	 */
	pg_atomic_write_u64(&raft_shared->apply_target, stored.last_applied);

	ereport(LOG,
			(errmsg("raft_ext: node %d started: term %llu, voted for %llu, %zu log entries, last applied %llu",
					raft_ext_node_id,
					(unsigned long long) stored.hard_state.currentTerm,
					(unsigned long long) stored.hard_state.votedFor,
					stored.nentries,
					(unsigned long long) stored.last_applied)));
	MemoryContextDelete(loadcxt);
}

static void
raft_worker_start_transport(void)
{
	const RaftPeerList *peers = raft_conf_peers();
	int			ids[RAFT_EXT_MAX_PEERS];
	const char *conninfos[RAFT_EXT_MAX_PEERS];
	int			n = 0;
	int			i;

	for (i = 0; i < peers->npeers; i++)
	{
		if (peers->ids[i] == raft_ext_node_id)
			continue;
		ids[n] = peers->ids[i];
		conninfos[n] = raft_peer_conninfo(peers, i);
		n++;
	}
	raft_transport_init(n, ids, conninfos);
	raft_worker_transport_up = true;
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
	const RaftPeerList *peers = raft_conf_peers();
	raft_node_id leader = raft_leader(raft_worker_node);
	int			i;

	for (i = 0; i < peers->npeers; i++)
	{
		int			id = peers->ids[i];

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

static void
raft_worker_drain_inbox(void)
{
	const RaftPeerList *peers = raft_conf_peers();
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
		raft_message m;
		int			rc;
		int			peer;

		memcpy(&mlen, buf, sizeof(uint32));
		buf += sizeof(uint32);
		len -= sizeof(uint32);
		if (mlen > len)
			break;				/* cannot happen: the ring holds whole records */

		rc = raft_decode((const uint8_t *) buf, mlen, raft_worker_cluster_id, NULL, &m);
		buf += mlen;
		len -= mlen;
		if (rc != RAFT_OK)
		{
			raft_worker_refused++;
			ereport(DEBUG1,
					(errmsg("raft_ext: refused a %u-byte message: %s", mlen, raft_strerror(rc))));
			continue;
		}
		peer = raft_conf_peer_index((int) m.from);
		if (m.to != (raft_node_id) raft_ext_node_id || peer < 0 ||
			m.from == (raft_node_id) raft_ext_node_id || m.from > PG_INT32_MAX)
		{
			raft_worker_refused++;
			ereport(DEBUG1,
					(errmsg("raft_ext: refused a message from node %llu to node %llu",
							(unsigned long long) m.from, (unsigned long long) m.to)));
			raft_message_free_decoded(NULL, &m);
			continue;
		}
		raft_worker_last_contact[peer] = now;
		rc = raft_step(raft_worker_node, &m);
		raft_message_free_decoded(NULL, &m);
		if (rc == RAFT_ENOMEM)
			raft_worker_check(rc, "raft_step");
		if (rc != RAFT_OK)
		{
			raft_worker_refused++;
			ereport(DEBUG1,
					(errmsg("raft_ext: raft_step refused a message of type %d from node %d: %s",
							m.type, peers->ids[peer], raft_strerror(rc))));
		}
	}
}

static void
raft_worker_take_requests(void)
{
	RaftWorkerRequest *reqs = NULL;
	int			nreqs = 0;
	int			i;
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	for (i = 0; i < raft_shared->nslots; i++)
	{
		RaftSlot   *slot = &raft_shared->slots[i];
		bool		take = false;

		if (slot->request_id == 0)
			continue;
		if (slot->state == RAFT_SLOT_QUEUED)
			take = true;
		else if (slot->state == RAFT_SLOT_READ_PENDING &&
				 TimestampDifferenceExceeds(slot->issued_at, now,
											RAFT_WORKER_READ_RETRY_MS))
			take = true;
		if (!take)
			continue;
		if (reqs == NULL)
			reqs = palloc(sizeof(RaftWorkerRequest) * raft_shared->nslots);
		reqs[nreqs].slotno = i;
		reqs[nreqs].request_id = slot->request_id;
		reqs[nreqs].kind = slot->kind;
		reqs[nreqs].handle = slot->payload_handle;
		reqs[nreqs].len = slot->payload_len;
		reqs[nreqs].data = NULL;
		if (slot->kind == RAFT_REQ_SUBMIT && slot->payload_handle == DSM_HANDLE_INVALID)
		{
			/* copied now: the slot may be reused once we let go of it */
			reqs[nreqs].data = palloc(Max(slot->payload_len, 1));
			memcpy(reqs[nreqs].data, slot->payload_inline,
				   Min(slot->payload_len, RAFT_SHMEM_INLINE_PAYLOAD_LEN));
		}
		reqs[nreqs].target = slot->target;
		nreqs++;
		slot->state = RAFT_SLOT_TAKEN;
	}
	LWLockRelease(raft_shared->slots_lock);

	if (nreqs == 0)
		return;

	/* first come, first served */
	for (i = 1; i < nreqs; i++)
	{
		RaftWorkerRequest r = reqs[i];
		int			j = i - 1;

		while (j >= 0 && reqs[j].request_id > r.request_id)
		{
			reqs[j + 1] = reqs[j];
			j--;
		}
		reqs[j + 1] = r;
	}

	for (i = 0; i < nreqs; i++)
	{
		RaftWorkerRequest *r = &reqs[i];
		int			rc = RAFT_OK;

		r->index = 0;
		r->term = 0;
		r->abandoned = false;
		switch (r->kind)
		{
			case RAFT_REQ_SUBMIT:
				if (r->data != NULL)
				{
					rc = raft_propose(raft_worker_node, r->data, r->len, &r->index, &r->term);
					break;
				}
				else
				{
					dsm_segment *seg = dsm_attach(r->handle);

					if (seg == NULL)
					{
						r->abandoned = true;
						break;
					}
					rc = raft_propose(raft_worker_node, dsm_segment_address(seg), r->len,
									  &r->index, &r->term);
					dsm_detach(seg);
					break;
				}
			case RAFT_REQ_BARRIER:
				rc = raft_read_index(raft_worker_node, r->request_id);
				break;
			case RAFT_REQ_TRANSFER:
				if (r->target == raft_ext_node_id &&
					raft_leader(raft_worker_node) == (raft_node_id) raft_ext_node_id)
					rc = RAFT_OK;	/* already there */
				else
					rc = raft_transfer_leadership(raft_worker_node, (raft_node_id) r->target);
				break;
			default:
				rc = RAFT_EINVAL;
				break;
		}
		if (rc == RAFT_ENOMEM)
			raft_worker_check(rc, "a request");
		r->rc = rc;
	}

	/* post every result under one lock acquisition: the backends contend for it */
	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	for (i = 0; i < nreqs; i++)
	{
		RaftWorkerRequest *r = &reqs[i];
		RaftSlot   *slot = &raft_shared->slots[r->slotno];
		int			rc = r->rc;

		if (slot->request_id != r->request_id || slot->state != RAFT_SLOT_TAKEN)
			continue;
		slot->leader_hint = (int) raft_leader(raft_worker_node);
		if (r->abandoned)
			raft_shmem_slot_finish(slot, RAFT_RESULT_FAILED, "the request was abandoned");
		else if (rc == RAFT_OK)
		{
			switch (r->kind)
			{
				case RAFT_REQ_SUBMIT:
					slot->index = r->index;
					slot->term = r->term;
					slot->state = RAFT_SLOT_PROPOSED;
					break;
				case RAFT_REQ_BARRIER:
					slot->issued_at = now;
					slot->state = RAFT_SLOT_READ_PENDING;
					break;
				default:
					raft_shmem_slot_finish(slot, RAFT_RESULT_OK, NULL);
					break;
			}
		}
		else if (rc == RAFT_ENOLEADER && r->kind == RAFT_REQ_BARRIER)
			slot->state = RAFT_SLOT_QUEUED; /* retry when a leader is known */
		else if (rc == RAFT_ENOTLEADER || rc == RAFT_ENOLEADER)
			raft_shmem_slot_finish(slot, RAFT_RESULT_NOT_LEADER, raft_strerror(rc));
		else if (rc == RAFT_EBUSY)
			raft_shmem_slot_finish(slot, RAFT_RESULT_BUSY, raft_strerror(rc));
		else
			raft_shmem_slot_finish(slot, RAFT_RESULT_FAILED, raft_strerror(rc));
	}
	LWLockRelease(raft_shared->slots_lock);
	raft_shmem_wake_finished();
}

static void
raft_worker_handle_read_states(const raft_ready *rd)
{
	uint64		applied;
	size_t		k;
	int			i;

	LWLockAcquire(raft_shared->slots_lock, LW_EXCLUSIVE);
	/* read under the lock: the apply worker publishes after writing it */
	applied = pg_atomic_read_u64(&raft_shared->last_applied);
	for (k = 0; k < rd->nReadStates; k++)
	{
		const raft_read_state *rs = &rd->readStates[k];

		for (i = 0; i < raft_shared->nslots; i++)
		{
			RaftSlot   *slot = &raft_shared->slots[i];

			if (slot->request_id != rs->requestId || slot->kind != RAFT_REQ_BARRIER ||
				(slot->state != RAFT_SLOT_READ_PENDING && slot->state != RAFT_SLOT_TAKEN))
				continue;
			slot->index = rs->readIndex;
			if (applied >= rs->readIndex)
				raft_shmem_slot_finish(slot, RAFT_RESULT_OK, NULL);
			else
				slot->state = RAFT_SLOT_WAIT_APPLIED;
		}
	}
	LWLockRelease(raft_shared->slots_lock);
	raft_shmem_wake_finished();
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

		/* votes and results only once term, vote and entries are durable */
		for (k = 0; k < rd.nMessages; k++)
			if (rd.messages[k].type != RAFT_MSG_APPEND_ENTRIES)
				raft_worker_send(&rd.messages[k]);

		if (rd.nCommittedEntries > 0)
		{
			uint64		last = rd.committedEntries[rd.nCommittedEntries - 1].index;

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

static void
raft_worker_publish_status(void)
{
	const RaftPeerList *peers = raft_conf_peers();
	raft_status st;
	RaftStatusSnapshot *s = &raft_shared->status;
	RaftTransportPeerInfo infos[RAFT_EXT_MAX_PEERS];
	bool		have_info[RAFT_EXT_MAX_PEERS];
	raft_progress progress[RAFT_EXT_MAX_PEERS];
	bool		have_progress[RAFT_EXT_MAX_PEERS];
	int			i;

	raft_get_status(raft_worker_node, &st);
	for (i = 0; i < peers->npeers; i++)
	{
		have_info[i] = false;
		if (peers->ids[i] != raft_ext_node_id)
			have_info[i] = raft_transport_peer_info(peers->ids[i], &infos[i]);
		have_progress[i] = raft_get_progress(raft_worker_node, i, &progress[i]);
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
	s->leader_since = raft_worker_leader_since;
	s->npeers = peers->npeers;
	for (i = 0; i < peers->npeers; i++)
	{
		RaftPeerStatus *p = &s->peers[i];

		p->node_id = peers->ids[i];
		p->has_progress = have_progress[i];
		p->match_index = have_progress[i] ? progress[i].matchIndex : 0;
		p->next_index = have_progress[i] ? progress[i].nextIndex : 0;
		p->last_contact = raft_worker_last_contact[i];
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
}

static void
raft_worker_set_waiting(void)
{
	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	raft_shared->status.worker_state = RAFT_WORKER_WAITING_FOR_EXTENSION;
	raft_shared->status.worker_pid = MyProcPid;
	raft_shared->status.role = -1;
	LWLockRelease(raft_shared->status_lock);
}

void
raft_worker_main(Datum main_arg)
{
	TimestampTz last_tick;
	long		tick_us = RAFT_EXT_TICK_MS * 1000L;
	int			max_catchup_ticks;
	Oid			ext_oid;
	TimestampTz ext_checked_at = 0;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	if (raft_shared == NULL || !raft_conf_is_configured())
		proc_exit(0);

	BackgroundWorkerInitializeConnection(raft_ext_database, NULL, 0);
	pgstat_report_appname("raft_ext raft");

	SpinLockAcquire(&raft_shared->mutex);
	raft_shared->raft_latch = MyLatch;
	SpinLockRelease(&raft_shared->mutex);
	before_shmem_exit(raft_worker_on_exit, (Datum) 0);

	raft_worker_set_waiting();
	ext_oid = raft_storage_wait_for_extension();

	SetConfigOption("synchronous_commit", "local", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);

	raft_worker_cluster_id = raft_conf_cluster_id();
	raft_worker_create_node();
	/* not before: see raft_worker_keep_heap */
	raft_worker_keep_heap();
	raft_shmem_inbox_clear();
	raft_worker_requeue_taken();
	raft_worker_start_transport();
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

		now = GetCurrentTimestamp();
		elapsed_us = (long) (now - last_tick);
		timeout_ms = elapsed_us >= tick_us ? 0 : (tick_us - elapsed_us + 999) / 1000;

		(void) raft_transport_wait(timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
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
		raft_worker_process_ready();
		raft_worker_publish_apply_target();
		raft_transport_poll();
		raft_worker_publish_status();

		MemoryContextSwitchTo(oldcxt);
	}
}

static void
raft_worker_register_one(const char *function, const char *name)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "raft_ext");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", name);
	RegisterBackgroundWorker(&worker);
}

/* The Raft worker and the apply worker (see apply.c for why they are two). */
void
raft_worker_register(void)
{
	raft_worker_register_one("raft_worker_main", "raft_ext raft worker");
	raft_worker_register_one("raft_apply_worker_main", "raft_ext apply worker");
}
