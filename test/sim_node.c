/*
 * sim_node.c — a simulated server: the core, its host loop and its disk.
 *
 * The host loop is the one raft.h prescribes, in the most aggressive order
 * it allows, with a possible crash between any two of its stages:
 *
 *   raft_ready_get
 *     (crash: the batch is lost)
 *   send the batch's AppendEntries      (allowed before the flush, §10.2.1)
 *     (crash)
 *   persist hard state and entries      (delete >= entries[0].index, store)
 *     (crash)
 *   send the other messages             (votes, acks: only after the flush)
 *     (crash)
 *   apply committed entries one by one  (entry + applied index atomically)
 *     (crash between two entries)
 *   hand read states to their clients
 *     (crash)
 *   raft_advance
 *
 * A crash destroys the raft_node: only the disk remains, and a restart
 * builds a new node from it with raft_node_restore (its log may start after
 * a compacted prefix: sim_node_compact), with the configuration the disk
 * kept at its compacted start, else the bootstrap voters, else (a server
 * added later, or one replaced under its old id) none.  After a core call the
 * host may also leave the ready batch for later (an epoch's deferral rate),
 * so the core sees several calls between two batches, as a busy host would
 * make.
 *
 * The host also keeps a high-water mark apart from the disk (raft.h,
 * raft_vote_floor): raised after each persist, before anything of the
 * batch that depends on it is sent or raft_advance is called (a crash in
 * between loses nothing that was promised).  A wiped disk (sim_node_wipe)
 * leaves the mark, and the node is restored with it as its vote floor, at
 * every restart until the core says the floor no longer holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* A node that keeps asking for ready batches past this is broken. */
#define SIM_MAX_READY_ROUNDS 64

raft_term
sim_disk_term_at(const sim_disk *d, raft_index index)
{
	const sim_disk_entry *de = sim_disk_entry_at(d, index);

	if (de != NULL)
		return de->term;
	if (index != 0 && index == d->lastIncludedIndex)
		return d->lastIncludedTerm;
	return 0;
}

/* The latest configuration entry of the disk's log at or below upto; 0: none. */
static raft_index
disk_latest_config(const sim_disk *d, raft_index upto)
{
	raft_index	i = upto < sim_disk_last_index(d) ? upto : sim_disk_last_index(d);

	for (; i > d->lastIncludedIndex; i--)
		if (sim_disk_entry_at(d, i)->type == RAFT_ENTRY_CONFIG)
			return i;
	return 0;
}

/* Delete the entries from index `from` on (never a compacted one). */
static void
disk_truncate(sim_disk *d, raft_index from)
{
	while (sim_disk_last_index(d) >= from && d->nLog > 0)
	{
		free(d->log[d->nLog - 1].data);
		d->nLog--;
	}
	if (d->cfgLast >= from)
		d->cfgLast = disk_latest_config(d, sim_disk_last_index(d));
}

/*
 * The disk's configuration: its log's latest configuration entry, else the
 * one kept at its compacted start, else the one the node was created with
 * (the bootstrap voters, or nothing for a server added later).  *index is
 * the entry's (0: the bootstrap one).  Addresses point into the disk.
 */
size_t
sim_disk_config(const sim *s, const sim_node *n, raft_member *out, raft_index *index)
{
	const sim_disk *d = &n->disk;
	size_t		count = 0,
				i;

	*index = 0;
	if (d->cfgLast > d->lastIncludedIndex)
	{
		const sim_disk_entry *de = sim_disk_entry_at(d, d->cfgLast);
		raft_member *m = NULL;

		if (raft_configuration_decode(de->data, de->len, NULL, &m, &count) != RAFT_OK ||
			count > SIM_MAX_NODES)
			sim_fail((sim *) s, "host-protocol", "n%llu: its disk's configuration entry %llu does not decode",
					 (unsigned long long) n->id, (unsigned long long) d->cfgLast);
		memcpy(out, m, count * sizeof(raft_member));
		free(m);
		*index = d->cfgLast;
		return count;
	}
	if (d->hasBase)
	{
		memcpy(out, d->base, d->nBase * sizeof(raft_member));
		*index = d->baseIndex;
		return d->nBase;
	}
	if (n->joiner)
		return 0;
	for (i = 0; i < s->nInitial; i++)
	{
		memset(&out[i], 0, sizeof(raft_member));
		out[i].id = s->voters[i];
		out[i].voter = true;
	}
	return s->nInitial;
}

/* Drop the entries up to and including upto, keeping the last one's term and chain. */
static void
disk_compact(sim *s, sim_node *n, raft_index upto)
{
	sim_disk   *d = &n->disk;
	const sim_disk_entry *last = sim_disk_entry_at(d, upto);
	raft_index	c = disk_latest_config(d, upto);
	size_t		k,
				i;

	if (last == NULL)
		return;
	if (c != 0)
	{
		/* keep the configuration in effect at upto: a restart needs it */
		const sim_disk_entry *de = sim_disk_entry_at(d, c);
		raft_member *m = NULL;
		size_t		count = 0;

		if (raft_configuration_decode(de->data, de->len, NULL, &m, &count) != RAFT_OK ||
			count > SIM_MAX_NODES)
			sim_fail(s, "host-protocol", "n%llu: configuration entry %llu does not decode",
					 (unsigned long long) n->id, (unsigned long long) c);
		for (i = 0; i < count; i++)
		{
			d->base[i] = m[i];
			if (m[i].addressLen > SIM_ADDR_BYTES)
				sim_fail(s, "host-protocol", "n%llu: address of n%llu too long",
						 (unsigned long long) n->id, (unsigned long long) m[i].id);
			if (m[i].addressLen > 0)
				memcpy(d->baseAddr[i], m[i].address, m[i].addressLen);
			d->base[i].address = m[i].addressLen > 0 ? d->baseAddr[i] : NULL;
		}
		free(m);
		d->nBase = count;
		d->hasBase = true;
		d->baseIndex = c;
		/* what is compacted was committed */
		sim_check_config_committed(s, c, de->data, de->len);
	}
	if (d->cfgLast <= upto)
		d->cfgLast = 0;
	d->lastIncludedTerm = last->term;
	d->lastIncludedChain = last->chain;
	k = (size_t) (upto - d->lastIncludedIndex);
	for (i = 0; i < k; i++)
		free(d->log[i].data);
	memmove(d->log, d->log + k, (d->nLog - k) * sizeof(sim_disk_entry));
	d->nLog -= k;
	d->lastIncludedIndex = upto;
}

void
sim_disk_free(sim_disk *d)
{
	disk_truncate(d, d->lastIncludedIndex + 1);
	free(d->log);
	free(d->sm);
	memset(d, 0, sizeof(*d));
}

/*
 * Term of the entry at index in n's running core: from raft_log_entry, or
 * the term the host kept for the index it compacted to; 0 if unknown.
 */
raft_term
sim_node_term_at(const sim_node *n, raft_index index)
{
	raft_entry	e;

	if (n->raft == NULL || index == 0)
		return 0;
	if (index == n->compacted)
		return n->compactedTerm;
	if (!raft_log_entry(n->raft, index, &e))
		return 0;
	return e.term;
}

/* Persist entries the way raft.h says: delete >= entries[0].index, store. */
static void
disk_store(sim *s, sim_node *n, const raft_entry *e, size_t count)
{
	sim_disk   *d = &n->disk;
	size_t		k;

	disk_truncate(d, e[0].index);
	if (d->nLog + count > d->capLog)
	{
		d->capLog = (d->nLog + count) * 2;
		d->log = sim_xrealloc(d->log, d->capLog * sizeof(sim_disk_entry));
	}
	for (k = 0; k < count; k++)
	{
		sim_disk_entry *de = &d->log[d->nLog];
		uint64_t	prevChain = sim_disk_chain_at(d, sim_disk_last_index(d));

		de->term = e[k].term;
		de->type = e[k].type;
		de->len = e[k].len;
		de->data = NULL;
		if (e[k].len > 0)
		{
			de->data = sim_xmalloc(e[k].len);
			memcpy(de->data, e[k].data, e[k].len);
		}
		de->hash = sim_entry_hash(e[k].type, e[k].data, e[k].len);
		de->chain = sim_chain(prevChain, e[k].term, de->hash);
		d->nLog++;
		if (e[k].type == RAFT_ENTRY_CONFIG)
			d->cfgLast = sim_disk_last_index(d);
		sim_check_entry_stored(s, n, sim_disk_last_index(d));
	}
}

static void check_floor_lifted(sim *s, sim_node *n);

void
sim_node_start(sim *s, sim_node *n)
{
	raft_config cfg;
	raft_entry *entries = NULL;
	size_t		i;
	int			rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.id = n->id;
	/* what the host kept at the compacted start, else what it was created with */
	if (n->disk.hasBase)
	{
		cfg.members = n->disk.base;
		cfg.nMembers = n->disk.nBase;
	}
	else if (!n->joiner)
	{
		cfg.voters = s->voters;
		cfg.nVoters = s->nInitial;
	}
	cfg.electionTickMin = s->electionTickMin;
	cfg.electionTickMax = s->electionTickMax;
	cfg.heartbeatTick = s->heartbeatTick;
	cfg.maxMsgBytes = s->maxMsgBytes;
	cfg.maxInflight = s->maxInflight;
	cfg.preVote = s->preVote;
	cfg.checkQuorum = s->checkQuorum;
	cfg.seed = sim_rng_next(&s->rng);	/* a new timer sequence per incarnation */
	cfg.allocator = &s->alloc;
	if (n->floorPending)
		cfg.voteFloor = n->floor;

	if (n->disk.nLog > 0)
	{
		entries = sim_xmalloc(n->disk.nLog * sizeof(raft_entry));
		for (i = 0; i < n->disk.nLog; i++)
		{
			entries[i].index = n->disk.lastIncludedIndex + 1 + i;
			entries[i].term = n->disk.log[i].term;
			entries[i].type = n->disk.log[i].type;
			entries[i].len = n->disk.log[i].len;
			entries[i].data = n->disk.log[i].data;
		}
	}
	/* raft_node_create when nothing was compacted, which is the same call */
	rc = raft_node_restore(&cfg, &n->disk.hs, n->disk.lastIncludedIndex, n->disk.lastIncludedTerm,
						   entries, n->disk.nLog, n->disk.applied, &n->raft);
	free(entries);
	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "raft_node_restore(n%llu, term %llu, compacted to %llu/%llu, %zu entries, applied %llu): %s",
				 (unsigned long long) n->id, (unsigned long long) n->disk.hs.currentTerm,
				 (unsigned long long) n->disk.lastIncludedIndex,
				 (unsigned long long) n->disk.lastIncludedTerm,
				 n->disk.nLog, (unsigned long long) n->disk.applied, sim_rc(rc));
	n->incarnation++;
	n->ticks = 0;
	n->leaderTerm = 0;
	n->obsCommit = 0;			/* re-observe: what it applied is committed */
	n->compacted = n->disk.lastIncludedIndex;
	n->compactedTerm = n->disk.lastIncludedTerm;
	raft_get_status(n->raft, &n->last);
	SIM_TRACE(s, "START n%llu (incarnation %u): term %llu vote %llu, log %llu..%llu (last term %llu), applied %llu",
			  (unsigned long long) n->id, n->incarnation,
			  (unsigned long long) n->disk.hs.currentTerm,
			  (unsigned long long) n->disk.hs.votedFor,
			  (unsigned long long) n->disk.lastIncludedIndex + 1,
			  (unsigned long long) sim_disk_last_index(&n->disk),
			  (unsigned long long) sim_disk_term_at(&n->disk, sim_disk_last_index(&n->disk)),
			  (unsigned long long) n->disk.applied);
	if (n->last.commitIndex < n->disk.applied)
		sim_fail(s, "applied-le-commit", "n%llu restarted with applied %llu but commitIndex %llu",
				 (unsigned long long) n->id, (unsigned long long) n->disk.applied,
				 (unsigned long long) n->last.commitIndex);
	if (n->floorPending && n->last.currentTerm < n->floor.term)
		sim_fail(s, "vote-floor", "n%llu restored with floor term %llu starts at term %llu",
				 (unsigned long long) n->id, (unsigned long long) n->floor.term,
				 (unsigned long long) n->last.currentTerm);
	check_floor_lifted(s, n);
	sim_node_after_call(s, n);
}

/*
 * May n's disk be lost at this restart?  Only if the nodes held back by a
 * floor, with n, stay a minority of the voters of every configuration in
 * play (sim_floors_ok): a majority of them could elect nobody,
 * which is the data loss Raft does not survive, not a fault to test.  And
 * only while no log was compacted anywhere: a node that lost its disk
 * needs every entry from index 1, and without InstallSnapshot only a log
 * that still holds them could give it them (see sim.h).
 */
bool
sim_node_may_wipe(const sim *s, const sim_node *n)
{
	/* with InstallSnapshot, a wiped node is caught up from a copy */
	if (s->anyCompacted && !s->snapshots)
		return false;
	return sim_floors_ok(s, n->id, NULL, 0);
}

/*
 * The disk of a crashed node is lost (its data directory wiped): hard
 * state, log, state machine.  Its host still has the mark and restores it
 * with the mark as vote floor.
 */
void
sim_node_wipe(sim *s, sim_node *n)
{
	SIM_TRACE(s, "WIPE n%llu: disk lost (term %llu, log %llu, applied %llu); floor term %llu index %llu",
			  (unsigned long long) n->id, (unsigned long long) n->disk.hs.currentTerm,
			  (unsigned long long) sim_disk_last_index(&n->disk),
			  (unsigned long long) n->disk.applied,
			  (unsigned long long) n->mark.term, (unsigned long long) n->mark.index);
	sim_disk_free(&n->disk);
	n->floor = n->mark;
	n->floorPending = true;
	n->wiped = true;
	s->nWipes++;
}

/* The host drops the floor once the core no longer holds the node back. */
static void
check_floor_lifted(sim *s, sim_node *n)
{
	raft_status st;

	if (!n->floorPending || n->raft == NULL)
		return;
	raft_get_status(n->raft, &st);
	if (st.voteFloorHeld)
		return;
	n->floorPending = false;
	s->nFloorsLifted++;
	SIM_TRACE(s, "  n%llu: vote floor lifted (term %llu, log %llu)", (unsigned long long) n->id,
			  (unsigned long long) st.currentTerm, (unsigned long long) st.lastLogIndex);
}

/*
 * A crashed process's kernel resets its connections: the hosts of the
 * nodes it can reach see it at once and may tell their cores
 * (raft_leader_unreachable).  Usually all of them are told, sometimes only
 * some, sometimes none (a host that was not connected just then).  Only
 * the hosts' calls are made here; their ready batches are processed by
 * later steps, as the hint itself queues nothing.
 */
static void
tell_survivors(sim *s, sim_node *crashed)
{
	unsigned	i;

	if (!sim_rng_permille(&s->rng, 800))
		return;
	for (i = 1; i <= s->nNodes; i++)
	{
		sim_node   *other = &s->nodes[i];

		if (other == crashed || other->raft == NULL ||
			s->net.blocked[crashed->id][other->id] ||
			!sim_rng_permille(&s->rng, 900))
			continue;
		sim_node_leader_unreachable(s, other, crashed->id, "connection reset");
	}
}

void
sim_node_crash(sim *s, sim_node *n, const char *where)
{
	raft_status st;

	raft_get_status(n->raft, &st);
	raft_node_destroy(n->raft);
	n->raft = NULL;
	/* the host's memory: a snapshot asked for or on its way is forgotten */
	n->snapWanted = false;
	n->snapRetryAt = 0;
	sim_node_snapshot_free(n);
	s->nCrashes++;
	s->nRegressions += st.followerRegressions;
	SIM_TRACE(s, "CRASH n%llu (%s): disk keeps term %llu vote %llu, log %llu..%llu, applied %llu",
			  (unsigned long long) n->id, where,
			  (unsigned long long) n->disk.hs.currentTerm,
			  (unsigned long long) n->disk.hs.votedFor,
			  (unsigned long long) n->disk.lastIncludedIndex + 1,
			  (unsigned long long) sim_disk_last_index(&n->disk),
			  (unsigned long long) n->disk.applied);
	if (st.role == RAFT_LEADER)
		tell_survivors(s, n);
}

/*
 * The host saw leader's connection reset: tell the core, and check that
 * the hint did only what raft.h promises.  It changes no term, vote, log,
 * commit index or role, queues nothing, and forgets the leader exactly
 * when n is a follower of that leader.
 */
void
sim_node_leader_unreachable(sim *s, sim_node *n, raft_node_id leader, const char *why)
{
	raft_status before,
				after;
	bool		pendingBefore = raft_has_ready(n->raft);
	bool		applies;
	int			rc;

	raft_get_status(n->raft, &before);
	rc = raft_leader_unreachable(n->raft, leader);
	raft_get_status(n->raft, &after);
	applies = before.role == RAFT_FOLLOWER && leader != RAFT_NONE &&
		leader != n->id && before.leader == leader;
	s->nHints++;
	if (applies)
		s->nHintsTaken++;
	SIM_TRACE(s, "leader unreachable (%s) on n%llu about n%llu: %s%s",
			  why, (unsigned long long) n->id, (unsigned long long) leader, sim_rc(rc),
			  applies ? ", forgets its leader" : "");
	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "raft_leader_unreachable(n%llu, n%llu): %s",
				 (unsigned long long) n->id, (unsigned long long) leader, sim_rc(rc));
	if (after.currentTerm != before.currentTerm || after.votedFor != before.votedFor ||
		after.lastLogIndex != before.lastLogIndex || after.lastLogTerm != before.lastLogTerm ||
		after.commitIndex != before.commitIndex || after.role != before.role)
		sim_fail(s, "leader-hint", "raft_leader_unreachable(n%llu, n%llu) changed more than the leader: %s t%llu vote %llu last %llu/%llu commit %llu -> %s t%llu vote %llu last %llu/%llu commit %llu",
				 (unsigned long long) n->id, (unsigned long long) leader,
				 raft_role_name(before.role), (unsigned long long) before.currentTerm,
				 (unsigned long long) before.votedFor, (unsigned long long) before.lastLogIndex,
				 (unsigned long long) before.lastLogTerm, (unsigned long long) before.commitIndex,
				 raft_role_name(after.role), (unsigned long long) after.currentTerm,
				 (unsigned long long) after.votedFor, (unsigned long long) after.lastLogIndex,
				 (unsigned long long) after.lastLogTerm, (unsigned long long) after.commitIndex);
	if (after.leader != (applies ? RAFT_NONE : before.leader))
		sim_fail(s, "leader-hint", "raft_leader_unreachable(n%llu, n%llu): %s following n%llu now follows n%llu",
				 (unsigned long long) n->id, (unsigned long long) leader,
				 raft_role_name(before.role), (unsigned long long) before.leader,
				 (unsigned long long) after.leader);
	if (!pendingBefore && raft_has_ready(n->raft))
		sim_fail(s, "leader-hint", "raft_leader_unreachable(n%llu, n%llu) made a ready batch",
				 (unsigned long long) n->id, (unsigned long long) leader);
}

/* Maybe crash here; true if the node is now down. */
static bool
crash_point(sim *s, sim_node *n, const char *where)
{
	if (s->healing || !sim_rng_permille(&s->rng, s->crashPointPermille))
		return false;
	sim_node_crash(s, n, where);
	return true;
}

static void
trace_ready(sim *s, sim_node *n, const raft_ready *rd)
{
	char		line[256];
	int			len;

	len = snprintf(line, sizeof(line), "n%llu ready: %s", (unsigned long long) n->id,
				   raft_role_name(rd->role));
	if (rd->hardStateChanged)
		len += snprintf(line + len, sizeof(line) - (size_t) len, ", hard state t%llu vote %llu",
						(unsigned long long) rd->hardState.currentTerm,
						(unsigned long long) rd->hardState.votedFor);
	if (rd->nEntries > 0)
		len += snprintf(line + len, sizeof(line) - (size_t) len, ", persist %llu..%llu",
						(unsigned long long) rd->entries[0].index,
						(unsigned long long) rd->entries[rd->nEntries - 1].index);
	if (rd->nCommittedEntries > 0)
		len += snprintf(line + len, sizeof(line) - (size_t) len, ", apply %llu..%llu",
						(unsigned long long) rd->committedEntries[0].index,
						(unsigned long long) rd->committedEntries[rd->nCommittedEntries - 1].index);
	if (rd->nMessages > 0)
		len += snprintf(line + len, sizeof(line) - (size_t) len, ", %zu msgs", rd->nMessages);
	if (rd->nReadStates > 0)
		snprintf(line + len, sizeof(line) - (size_t) len, ", %zu read states", rd->nReadStates);
	sim_trace(s, " %s", line);
}

static void
apply_entry(sim *s, sim_node *n, const raft_entry *e, raft_index commitIndex)
{
	sim_disk   *d = &n->disk;

	sim_check_apply(s, n, e, commitIndex);
	if (d->applied + 1 > d->capSm)
	{
		d->capSm = (d->applied + 1) * 2;
		d->sm = sim_xrealloc(d->sm, d->capSm * sizeof(sim_sm_entry));
	}
	/* the state machine and its applied index change in one atomic write */
	d->sm[d->applied].term = e->term;
	d->sm[d->applied].hash = sim_entry_hash(e->type, e->data, e->len);
	d->applied = e->index;
}

void
sim_node_process_ready(sim *s, sim_node *n)
{
	unsigned	rounds = 0;

	while (n->raft != NULL && raft_has_ready(n->raft))
	{
		raft_ready	rd;
		raft_status st;
		size_t		i;
		int			rc;

		if (++rounds > SIM_MAX_READY_ROUNDS)
			sim_fail(s, "host-protocol", "n%llu: raft_has_ready() still true after %u batches",
					 (unsigned long long) n->id, SIM_MAX_READY_ROUNDS);
		rc = raft_ready_get(n->raft, &rd);
		if (rc != RAFT_OK)
			sim_fail(s, "core-api", "n%llu: raft_ready_get: %s", (unsigned long long) n->id, sim_rc(rc));
		raft_get_status(n->raft, &st);
		if (s->trace)
			trace_ready(s, n, &rd);
		sim_check_ready(s, n, &rd);
		if (s->compaction && sim_rng_permille(&s->rng, 20))
		{
			/* the batch points into the log: no compaction until raft_advance */
			rc = raft_compact(n->raft, st.lastApplied);
			if (rc != RAFT_EBUSY)
				sim_fail(s, "compaction", "n%llu: raft_compact(%llu) with a ready batch out returned %s, not RAFT_EBUSY",
						 (unsigned long long) n->id, (unsigned long long) st.lastApplied, sim_rc(rc));
		}
		if (rd.snapshotNeeded)
		{
			if (!st.snapshotNeeded || st.snapshotIndex != rd.snapshotIndex ||
				rd.snapshotIndex == 0 || rd.snapshotTerm == 0 || rd.snapshotLeader == RAFT_NONE)
				sim_fail(s, "host-protocol", "n%llu: ready asks for a snapshot %llu/%llu of n%llu, status says %d at %llu",
						 (unsigned long long) n->id, (unsigned long long) rd.snapshotIndex,
						 (unsigned long long) rd.snapshotTerm, (unsigned long long) rd.snapshotLeader,
						 st.snapshotNeeded, (unsigned long long) st.snapshotIndex);
			SIM_TRACE(s, "  n%llu: snapshot needed, at least %llu/%llu (leader n%llu)",
					  (unsigned long long) n->id, (unsigned long long) rd.snapshotIndex,
					  (unsigned long long) rd.snapshotTerm, (unsigned long long) rd.snapshotLeader);
			s->nSnapNeeded++;
			/* a new request: a transfer under way still serves if it is recent enough */
			n->snapWanted = true;
		}
		if (crash_point(s, n, "after raft_ready_get"))
			return;

		for (i = 0; i < rd.nMessages; i++)
			if (rd.messages[i].type == RAFT_MSG_APPEND_ENTRIES)
				sim_net_send(s, &rd.messages[i]);
		if (crash_point(s, n, "after sending AppendEntries, before persisting"))
			return;

		if (rd.hardStateChanged)
			n->disk.hs = rd.hardState;
		if (rd.nEntries > 0)
		{
			sim_check_persist(s, n, rd.entries, rd.nEntries);
			disk_store(s, n, rd.entries, rd.nEntries);
		}
		if (crash_point(s, n, "after persisting, before the high-water mark"))
			return;
		if (n->disk.hs.currentTerm > n->mark.term)
			n->mark.term = n->disk.hs.currentTerm;
		if (sim_disk_last_index(&n->disk) > n->mark.index)
			n->mark.index = sim_disk_last_index(&n->disk);
		if (crash_point(s, n, "after persisting, before sending"))
			return;

		for (i = 0; i < rd.nMessages; i++)
			if (rd.messages[i].type != RAFT_MSG_APPEND_ENTRIES)
			{
				sim_check_sent_after_persist(s, n, &rd.messages[i]);
				sim_net_send(s, &rd.messages[i]);
			}
		if (crash_point(s, n, "after sending, before applying"))
			return;

		for (i = 0; i < rd.nCommittedEntries; i++)
		{
			if (i > 0 && crash_point(s, n, "between two applies"))
				return;
			apply_entry(s, n, &rd.committedEntries[i], st.commitIndex);
		}
		for (i = 0; i < rd.nReadStates; i++)
			sim_check_read_state(s, n, &rd.readStates[i]);
		if (crash_point(s, n, "before raft_advance"))
			return;

		rc = raft_advance(n->raft, &rd);
		if (rc != RAFT_OK)
			sim_fail(s, "core-api", "n%llu: raft_advance: %s", (unsigned long long) n->id, sim_rc(rc));
		check_floor_lifted(s, n);
	}
}

/* After a call that may have changed the node: process its ready now, or later. */
void
sim_node_after_call(sim *s, sim_node *n)
{
	if (n->raft == NULL)
		return;
	if (!s->healing && sim_rng_permille(&s->rng, s->deferReadyPermille))
		return;
	sim_node_process_ready(s, n);
}

void
sim_node_tick(sim *s, sim_node *n)
{
	int			rc = raft_tick(n->raft);

	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "n%llu: raft_tick: %s", (unsigned long long) n->id, sim_rc(rc));
	n->ticks++;
	sim_node_after_call(s, n);
}

void
sim_node_step(sim *s, sim_node *n, const raft_message *m)
{
	int			rc = raft_step(n->raft, m);

	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "n%llu: raft_step(%s from n%llu): %s", (unsigned long long) n->id,
				 sim_msg_type_name(m->type), (unsigned long long) m->from, sim_rc(rc));
	sim_node_after_call(s, n);
}

/*
 * Propose a command on n.  The payload is unique (it names the seed and the
 * proposal) with a random tail of random length, sometimes empty, so that
 * small maxMsgBytes splits batches.  Returns true if the core accepted it.
 */
bool
sim_node_propose(sim *s, sim_node *n, bool heal)
{
	uint8_t		data[600];
	size_t		len = 0,
				i;
	raft_index	index = 0;
	raft_term	term = 0;
	raft_status before;
	sim_proposal *p;
	int			rc;
	unsigned	r = (unsigned) sim_rng_below(&s->rng, 100);

	if (r >= 5)
	{
		size_t		tail = r < 75 ? sim_rng_below(&s->rng, 32) : sim_rng_below(&s->rng, 400);

		len = (size_t) snprintf((char *) data, 64, "s%llu-p%zu:",
								(unsigned long long) s->seed, s->nProps);
		for (i = 0; i < tail; i++)
			data[len++] = (uint8_t) sim_rng_next(&s->rng);
	}
	raft_get_status(n->raft, &before);
	rc = raft_propose(n->raft, len ? data : NULL, len, &index, &term);
	if (rc == RAFT_ENOTLEADER && before.role != RAFT_LEADER)
		return false;
	if (rc == RAFT_EBUSY && before.role == RAFT_LEADER && before.transferTarget != RAFT_NONE)
	{
		SIM_TRACE(s, "propose on n%llu: busy (transfer to n%llu)", (unsigned long long) n->id,
				  (unsigned long long) before.transferTarget);
		return false;
	}
	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "raft_propose on n%llu (%s, term %llu, transfer target %llu): %s",
				 (unsigned long long) n->id, raft_role_name(before.role),
				 (unsigned long long) before.currentTerm,
				 (unsigned long long) before.transferTarget, sim_rc(rc));
	if (before.role != RAFT_LEADER || index != before.lastLogIndex + 1 || term != before.currentTerm)
		sim_fail(s, "core-api", "raft_propose on n%llu (%s, term %llu, last index %llu) accepted at %llu/%llu",
				 (unsigned long long) n->id, raft_role_name(before.role),
				 (unsigned long long) before.currentTerm,
				 (unsigned long long) before.lastLogIndex,
				 (unsigned long long) index, (unsigned long long) term);

	if (s->nProps == s->capProps)
	{
		s->capProps = s->capProps ? s->capProps * 2 : 256;
		s->props = sim_xrealloc(s->props, s->capProps * sizeof(sim_proposal));
	}
	sim_check_reserve_index(s, index);
	p = &s->props[s->nProps];
	p->node = n->id;
	p->index = index;
	p->term = term;
	p->hash = sim_entry_hash(RAFT_ENTRY_NORMAL, data, (uint32_t) len);
	p->acked = false;
	p->heal = heal;
	p->nextAtIndex = s->ck.propsAtIndex[index];
	s->ck.propsAtIndex[index] = (int64_t) s->nProps;
	s->nProps++;
	s->nProposed++;
	SIM_TRACE(s, "propose on n%llu: accepted at %llu/%llu (%zu bytes)", (unsigned long long) n->id,
			  (unsigned long long) index, (unsigned long long) term, len);
	sim_node_after_call(s, n);
	return true;
}

/*
 * Have n forward a command (raft_forward): the leader appends it, or it is
 * lost with its message, or (the message duplicated) appended twice: what
 * is applied must be exactly what was sent, which sim_check_apply() checks
 * by its number.
 */
void
sim_node_forward(sim *s, sim_node *n)
{
	uint8_t		data[96];
	size_t		len;
	size_t		tail = sim_rng_below(&s->rng, 48);
	size_t		i;
	raft_status before;
	int			rc;

	len = (size_t) snprintf((char *) data, 48, "f%llu-%zu:", (unsigned long long) s->seed,
							s->nForwarded);
	for (i = 0; i < tail; i++)
		data[len++] = (uint8_t) sim_rng_next(&s->rng);
	raft_get_status(n->raft, &before);
	rc = raft_forward(n->raft, data, len);
	if (rc == RAFT_ENOLEADER && before.leader == RAFT_NONE)
		return;
	if (rc == RAFT_EBUSY && before.role == RAFT_LEADER && before.transferTarget != RAFT_NONE)
		return;
	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "raft_forward on n%llu (%s, leader %llu): %s",
				 (unsigned long long) n->id, raft_role_name(before.role),
				 (unsigned long long) before.leader, sim_rc(rc));
	if (s->nForwarded == s->capForwarded)
	{
		s->capForwarded = s->capForwarded ? s->capForwarded * 2 : 256;
		s->forwardedAt = sim_xrealloc(s->forwardedAt, s->capForwarded * sizeof(raft_index));
		s->forwardedHash = sim_xrealloc(s->forwardedHash, s->capForwarded * sizeof(uint64_t));
	}
	s->forwardedHash[s->nForwarded] = sim_entry_hash(RAFT_ENTRY_NORMAL, data, (uint32_t) len);
	s->forwardedAt[s->nForwarded++] = 0;
	SIM_TRACE(s, "forward on n%llu (%s): command f%zu", (unsigned long long) n->id,
			  raft_role_name(before.role), s->nForwarded - 1);
	sim_node_after_call(s, n);
}

/*
 * Ask n for a read point.  The request remembers the highest index known
 * committed right now: the read state must not be below it.
 */
bool
sim_node_read_index(sim *s, sim_node *n, bool heal)
{
	uint64_t	requestId = s->nReads + 1;
	raft_status st;
	sim_read   *r;
	int			rc;

	raft_get_status(n->raft, &st);
	rc = raft_read_index(n->raft, requestId);
	if (rc == RAFT_ENOLEADER && st.role != RAFT_LEADER && st.leader == RAFT_NONE)
		return false;
	if (rc == RAFT_ENOTLEADER || rc == RAFT_EBUSY)
	{
		SIM_TRACE(s, "read_index on n%llu: %s", (unsigned long long) n->id, sim_rc(rc));
		return false;
	}
	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "raft_read_index on n%llu (%s, leader %llu): %s",
				 (unsigned long long) n->id, raft_role_name(st.role),
				 (unsigned long long) st.leader, sim_rc(rc));
	if (s->nReads == s->capReads)
	{
		s->capReads = s->capReads ? s->capReads * 2 : 64;
		s->reads = sim_xrealloc(s->reads, s->capReads * sizeof(sim_read));
	}
	r = &s->reads[s->nReads++];
	r->node = n->id;
	r->required = s->ck.maxCommit;
	r->done = false;
	r->heal = heal;
	SIM_TRACE(s, "read_index on n%llu: request %llu, must see index >= %llu",
			  (unsigned long long) n->id, (unsigned long long) requestId,
			  (unsigned long long) r->required);
	sim_node_after_call(s, n);
	return true;
}

/*
 * The host compacts n's log: in memory first (raft_compact), then on its
 * disk (a crash may come in between; the disk may also keep a few more
 * entries than memory, as a host may).  The point is the safe point
 * (sim_check_safe_point: applied and durable here, and held, matching the
 * committed log, by every member's durable log), minus a random
 * retention.  Now and then the host also asks for what it must not have
 * (past lastApplied), which the core must refuse without changing
 * anything, or for what is already compacted, which does nothing.
 */
void
sim_node_compact(sim *s, sim_node *n)
{
	sim_disk   *d = &n->disk;
	raft_status before,
				after;
	raft_index	safe,
				upto,
				retention = 0;
	raft_node_id limiter;
	raft_entry	e;
	unsigned	r = (unsigned) sim_rng_below(&s->rng, 100);
	int			rc;

	raft_get_status(n->raft, &before);
	if (r < 5)
	{
		/* too far: not yet applied (nor, maybe, durable) */
		upto = before.lastApplied + 1 + sim_rng_below(&s->rng, 4);
		rc = raft_compact(n->raft, upto);
		raft_get_status(n->raft, &after);
		SIM_TRACE(s, "compact n%llu to %llu (applied %llu): %s", (unsigned long long) n->id,
				  (unsigned long long) upto, (unsigned long long) before.lastApplied, sim_rc(rc));
		if (rc != RAFT_EINVAL)
			sim_fail(s, "compaction", "n%llu: raft_compact(%llu) with lastApplied %llu, stableIndex %llu returned %s, not RAFT_EINVAL",
					 (unsigned long long) n->id, (unsigned long long) upto,
					 (unsigned long long) before.lastApplied,
					 (unsigned long long) before.stableIndex, sim_rc(rc));
		if ((before.lastApplied < before.lastLogIndex &&
			 !raft_log_entry(n->raft, before.lastApplied + 1, &e)) ||
			after.lastLogIndex != before.lastLogIndex || after.lastApplied != before.lastApplied ||
			after.commitIndex != before.commitIndex || after.stableIndex != before.stableIndex)
			sim_fail(s, "compaction", "n%llu: a refused raft_compact(%llu) changed the node (entry %llu %s, last %llu -> %llu, applied %llu -> %llu)",
					 (unsigned long long) n->id, (unsigned long long) upto,
					 (unsigned long long) before.lastApplied + 1,
					 raft_log_entry(n->raft, before.lastApplied + 1, &e) ? "kept" : "dropped",
					 (unsigned long long) before.lastLogIndex, (unsigned long long) after.lastLogIndex,
					 (unsigned long long) before.lastApplied, (unsigned long long) after.lastApplied);
		return;
	}
	if (r < 8)
	{
		/* already compacted: nothing happens */
		upto = sim_rng_below(&s->rng, n->compacted + 1);
		rc = raft_compact(n->raft, upto);
		SIM_TRACE(s, "compact n%llu to %llu (compacted to %llu): %s", (unsigned long long) n->id,
				  (unsigned long long) upto, (unsigned long long) n->compacted, sim_rc(rc));
		if (rc != RAFT_OK)
			sim_fail(s, "compaction", "n%llu: raft_compact(%llu), compacted to %llu already, returned %s",
					 (unsigned long long) n->id, (unsigned long long) upto,
					 (unsigned long long) n->compacted, sim_rc(rc));
		return;
	}

	safe = sim_check_safe_point(s, n, &before, &limiter);
	if (s->compactRetention > 0)
		retention = sim_rng_below(&s->rng, s->compactRetention + 1);
	upto = safe > retention ? safe - retention : 0;
	if (upto <= n->compacted)
	{
		if (safe <= n->compacted && limiter != n->id)
		{
			s->nCompactHeld++;
			if (s->nodes[limiter].wiped)
				s->nCompactHeldByWiped++;
		}
		SIM_TRACE(s, "compact n%llu: nothing to drop (compacted to %llu, safe point %llu set by n%llu, retention %llu)",
				  (unsigned long long) n->id, (unsigned long long) n->compacted,
				  (unsigned long long) safe, (unsigned long long) limiter,
				  (unsigned long long) retention);
		return;
	}
	if (!raft_log_entry(n->raft, upto, &e))
		sim_fail(s, "compaction", "n%llu: entry %llu (applied %llu, compacted to %llu) is not in the log",
				 (unsigned long long) n->id, (unsigned long long) upto,
				 (unsigned long long) before.lastApplied, (unsigned long long) n->compacted);
	rc = raft_compact(n->raft, upto);
	SIM_TRACE(s, "compact n%llu to %llu/%llu (safe point %llu set by n%llu, retention %llu): %s",
			  (unsigned long long) n->id, (unsigned long long) upto, (unsigned long long) e.term,
			  (unsigned long long) safe, (unsigned long long) limiter,
			  (unsigned long long) retention, sim_rc(rc));
	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "n%llu: raft_compact(%llu) with lastApplied %llu, stableIndex %llu: %s",
				 (unsigned long long) n->id, (unsigned long long) upto,
				 (unsigned long long) before.lastApplied,
				 (unsigned long long) before.stableIndex, sim_rc(rc));
	raft_get_status(n->raft, &after);
	if (after.lastLogIndex != before.lastLogIndex || after.lastLogTerm != before.lastLogTerm ||
		after.commitIndex != before.commitIndex || after.lastApplied != before.lastApplied ||
		after.stableIndex != before.stableIndex || after.currentTerm != before.currentTerm ||
		after.role != before.role)
		sim_fail(s, "compaction", "n%llu: raft_compact(%llu) changed more than the log's start: last %llu/%llu commit %llu applied %llu stable %llu -> last %llu/%llu commit %llu applied %llu stable %llu",
				 (unsigned long long) n->id, (unsigned long long) upto,
				 (unsigned long long) before.lastLogIndex, (unsigned long long) before.lastLogTerm,
				 (unsigned long long) before.commitIndex, (unsigned long long) before.lastApplied,
				 (unsigned long long) before.stableIndex,
				 (unsigned long long) after.lastLogIndex, (unsigned long long) after.lastLogTerm,
				 (unsigned long long) after.commitIndex, (unsigned long long) after.lastApplied,
				 (unsigned long long) after.stableIndex);
	if (sim_disk_term_at(d, upto) != e.term)
		sim_fail(s, "host-protocol", "n%llu: entry %llu has term %llu in the core, %llu on the disk",
				 (unsigned long long) n->id, (unsigned long long) upto,
				 (unsigned long long) e.term, (unsigned long long) sim_disk_term_at(d, upto));
	s->nCompactions++;
	s->nCompacted += upto - n->compacted;
	s->anyCompacted = true;
	n->compacted = upto;
	n->compactedTerm = e.term;
	if (crash_point(s, n, "after compacting in memory, before the disk"))
		return;
	if (sim_rng_permille(&s->rng, 200))
	{
		raft_index	keep = sim_rng_below(&s->rng, 11);

		upto = upto - d->lastIncludedIndex > keep ? upto - keep : d->lastIncludedIndex;
	}
	if (upto > d->lastIncludedIndex)
		disk_compact(s, n, upto);
}

/* ---------------------------------------------------------------------
 * InstallSnapshot, the host's side
 *
 * When a ready batch says snapshotNeeded, the host copies the state
 * machine of some member that applied at least snapshotIndex (chosen at
 * random among those up; not necessarily the leader), at the index it
 * applied, with that entry's term, the chain there (the checker's
 * summary of the prefix) and the configuration in effect there.  raft.h's
 * host rule: only from a member whose currentTerm is at most this node's.
 * The copy travels like a message: it takes a few steps and may be lost
 * (the host then retries later).  When it arrives the host checks it can
 * still be installed (the core moved on meanwhile, say), makes it durable
 * in one atomic write (log emptied and restarted after the index, state
 * machine and applied index, the configuration as the disk's base; crash
 * points before and after), then calls raft_snapshot_installed.
 * --------------------------------------------------------------------- */
void
sim_node_snapshot_free(sim_node *n)
{
	free(n->xferSm);
	n->xferSm = NULL;
	n->xferActive = false;
}

/* The configuration in effect at index on d (index >= its compacted start, <= its log). */
static size_t
disk_config_at(const sim *s, const sim_disk *d, raft_index index, raft_member *out,
			   char addr[][SIM_ADDR_BYTES])
{
	raft_index	c = disk_latest_config(d, index);
	size_t		count = 0,
				i;

	if (c != 0)
	{
		const sim_disk_entry *de = sim_disk_entry_at(d, c);
		raft_member *m = NULL;

		if (raft_configuration_decode(de->data, de->len, NULL, &m, &count) != RAFT_OK ||
			count > SIM_MAX_NODES)
			sim_fail((sim *) s, "host-protocol", "configuration entry %llu does not decode",
					 (unsigned long long) c);
		memcpy(out, m, count * sizeof(raft_member));
		free(m);
	}
	else if (d->hasBase)
	{
		count = d->nBase;
		memcpy(out, d->base, count * sizeof(raft_member));
	}
	else
	{
		/* no configuration entry up to there: the bootstrap one */
		for (i = 0; i < s->nInitial; i++)
		{
			memset(&out[i], 0, sizeof(raft_member));
			out[i].id = s->voters[i];
			out[i].voter = true;
		}
		count = s->nInitial;
	}
	for (i = 0; i < count; i++)
	{
		if (out[i].addressLen > SIM_ADDR_BYTES)
			sim_fail((sim *) s, "host-protocol", "address of n%llu too long",
					 (unsigned long long) out[i].id);
		if (out[i].addressLen > 0)
			memcpy(addr[i], out[i].address, out[i].addressLen);
		out[i].address = out[i].addressLen > 0 ? addr[i] : NULL;
	}
	return count;
}

/* Start a transfer to n from a random member that can give it; false if none now. */
static bool
snapshot_start(sim *s, sim_node *n, const raft_status *st)
{
	raft_node_id cand[SIM_MAX_NODES];
	unsigned	nc = 0,
				i;
	sim_node   *src;
	const sim_disk *d;
	raft_index	k;
	uint64_t	chain = 0;

	for (i = 1; i <= s->nNodes; i++)
	{
		sim_node   *o = &s->nodes[i];
		raft_status os;

		if (o == n || o->raft == NULL || o->disk.applied < st->snapshotIndex)
			continue;
		raft_get_status(o->raft, &os);
		if (os.currentTerm > st->currentTerm)
			continue;			/* raft.h: not from a member at a later term */
		cand[nc++] = o->id;
	}
	if (nc == 0)
		return false;
	src = &s->nodes[cand[sim_rng_below(&s->rng, nc)]];
	d = &src->disk;
	sim_node_snapshot_free(n);
	n->xferActive = true;
	n->xferFrom = src->id;
	n->xferIndex = d->applied;
	n->xferTerm = d->sm[d->applied - 1].term;
	n->xferSm = sim_xmalloc(d->applied * sizeof(sim_sm_entry));
	memcpy(n->xferSm, d->sm, d->applied * sizeof(sim_sm_entry));
	for (k = 0; k < d->applied; k++)
		chain = sim_chain(chain, d->sm[k].term, d->sm[k].hash);
	n->xferChain = chain;
	n->xferNMembers = disk_config_at(s, d, d->applied, n->xferMembers, n->xferAddr);
	n->xferLost = !s->healing && sim_rng_permille(&s->rng, 100 + s->net.lossPermille);
	n->xferAt = s->step + 1 + sim_rng_below(&s->rng, s->healing ? 2 : 40);
	s->nSnapSent++;
	SIM_TRACE(s, "snapshot for n%llu (asks %llu): copy of n%llu at %llu/%llu, %zu members%s",
			  (unsigned long long) n->id, (unsigned long long) st->snapshotIndex,
			  (unsigned long long) src->id, (unsigned long long) n->xferIndex,
			  (unsigned long long) n->xferTerm, n->xferNMembers, n->xferLost ? " (will be lost)" : "");
	return true;
}

/* The copy arrived: install it (durably, atomically), then tell the core. */
static void
snapshot_install(sim *s, sim_node *n, const raft_status *st)
{
	sim_disk   *d = &n->disk;
	raft_index	index = n->xferIndex;
	raft_term	term = n->xferTerm;
	size_t		i;
	int			rc;

	/* what raft_snapshot_installed requires, and a durable term that covers it */
	if (!st->snapshotNeeded || index < st->snapshotIndex ||
		index < st->lastApplied || index < st->commitIndex ||
		term > st->currentTerm || term > d->hs.currentTerm || st->role == RAFT_LEADER)
	{
		SIM_TRACE(s, "snapshot for n%llu at %llu/%llu: no longer installable (applied %llu, commit %llu, term %llu, durable term %llu, %s)",
				  (unsigned long long) n->id, (unsigned long long) index,
				  (unsigned long long) term, (unsigned long long) st->lastApplied,
				  (unsigned long long) st->commitIndex, (unsigned long long) st->currentTerm,
				  (unsigned long long) d->hs.currentTerm,
				  st->snapshotNeeded ? "needed" : "not needed");
		sim_node_snapshot_free(n);
		n->snapRetryAt = s->step + 1 + sim_rng_below(&s->rng, 20);
		return;
	}
	if (crash_point(s, n, "before installing a snapshot"))
		return;
	sim_check_snapshot(s, n, index, term, n->xferChain, n->xferSm);

	/* one atomic write */
	disk_truncate(d, d->lastIncludedIndex + 1);
	d->cfgLast = 0;
	d->lastIncludedIndex = index;
	d->lastIncludedTerm = term;
	d->lastIncludedChain = n->xferChain;
	if (index > d->capSm)
	{
		d->capSm = index * 2;
		d->sm = sim_xrealloc(d->sm, d->capSm * sizeof(sim_sm_entry));
	}
	memcpy(d->sm, n->xferSm, index * sizeof(sim_sm_entry));
	d->applied = index;
	d->nBase = n->xferNMembers;
	for (i = 0; i < n->xferNMembers; i++)
	{
		d->base[i] = n->xferMembers[i];
		if (d->base[i].addressLen > 0)
			memcpy(d->baseAddr[i], n->xferAddr[i], d->base[i].addressLen);
		d->base[i].address = d->base[i].addressLen > 0 ? d->baseAddr[i] : NULL;
	}
	d->hasBase = true;
	d->baseIndex = index;
	if (index > n->mark.index)
		n->mark.index = index;
	SIM_TRACE(s, "snapshot installed on n%llu's disk: %llu/%llu from n%llu",
			  (unsigned long long) n->id, (unsigned long long) index,
			  (unsigned long long) term, (unsigned long long) n->xferFrom);
	if (crash_point(s, n, "after installing a snapshot, before raft_snapshot_installed"))
		return;

	rc = raft_snapshot_installed(n->raft, index, term, d->base, d->nBase);
	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "n%llu: raft_snapshot_installed(%llu/%llu) (applied %llu, commit %llu, term %llu): %s",
				 (unsigned long long) n->id, (unsigned long long) index,
				 (unsigned long long) term, (unsigned long long) st->lastApplied,
				 (unsigned long long) st->commitIndex, (unsigned long long) st->currentTerm,
				 sim_rc(rc));
	n->compacted = index;
	n->compactedTerm = term;
	n->snapWanted = false;
	sim_node_snapshot_free(n);
	s->nSnapInstalled++;
	{
		raft_status after;

		raft_get_status(n->raft, &after);
		if (after.lastLogIndex != index || after.lastLogTerm != term ||
			after.lastApplied != index || after.commitIndex != index ||
			after.stableIndex != index || after.snapshotNeeded)
			sim_fail(s, "snapshot", "n%llu after raft_snapshot_installed(%llu/%llu): last %llu/%llu applied %llu commit %llu stable %llu, needed %d",
					 (unsigned long long) n->id, (unsigned long long) index,
					 (unsigned long long) term, (unsigned long long) after.lastLogIndex,
					 (unsigned long long) after.lastLogTerm, (unsigned long long) after.lastApplied,
					 (unsigned long long) after.commitIndex, (unsigned long long) after.stableIndex,
					 after.snapshotNeeded);
	}
	sim_node_after_call(s, n);
}

/* Every node's host: start, deliver, retry its snapshot transfer. */
void
sim_node_snapshots(sim *s)
{
	unsigned	i;

	for (i = 1; i <= s->nNodes; i++)
	{
		sim_node   *n = &s->nodes[i];
		raft_status st;

		if (n->raft == NULL)
			continue;
		raft_get_status(n->raft, &st);
		if (!st.snapshotNeeded)
		{
			/* the log caught up, or it was installed */
			n->snapWanted = false;
			sim_node_snapshot_free(n);
			continue;
		}
		if (!n->snapWanted)
			continue;
		if (n->xferActive)
		{
			if (s->step < n->xferAt)
				continue;
			if (n->xferLost)
			{
				SIM_TRACE(s, "snapshot for n%llu from n%llu lost", (unsigned long long) n->id,
						  (unsigned long long) n->xferFrom);
				s->nSnapLost++;
				sim_node_snapshot_free(n);
				n->snapRetryAt = s->step + 1 + sim_rng_below(&s->rng, 60);
				continue;
			}
			snapshot_install(s, n, &st);
			continue;
		}
		if (s->step >= n->snapRetryAt && !snapshot_start(s, n, &st))
			n->snapRetryAt = s->step + 1 + sim_rng_below(&s->rng, s->healing ? 2 : 30);
	}
}
