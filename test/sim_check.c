/*
 * sim_check.c — the safety checker.
 *
 * Every violation fails the seed through sim_fail() with a tag naming the
 * property, so an injected bug can be matched to the check that caught it:
 *
 *   [election-safety]      two leaders in one term, ever; a vote changed
 *                          within a term; a vote or a candidacy sent before
 *                          it was durable
 *   [vote-floor]           a node restored after its disk was lost starts
 *                          below its floor's term, or grants or asks for a
 *                          (pre-)vote in a term <= it (sim_node.c, here)
 *   [leader-append-only]   a leader overwrote or deleted an entry of its log
 *   [log-matching]         two logs (at any times) hold an entry with the
 *                          same index and term but different content or
 *                          different earlier entries; log terms decrease
 *   [leader-completeness]  a leader lacks an entry that was committed when
 *                          a node at a term <= the leader's saw it committed
 *   [state-machine-safety] two nodes commit or apply different entries at
 *                          one index; a proposal applied with another payload
 *   [apply-exactly-once]   an entry applied twice, or one skipped (across
 *                          restarts)
 *   [commit-monotonic]     commitIndex moved back within an incarnation
 *   [applied-le-commit]    an entry applied beyond commitIndex
 *   [term-monotonic]       currentTerm moved back
 *   [durability]           an entry applied or acknowledged before it was
 *                          durable on that node
 *   [read-index]           a read point below an index that was committed
 *                          before the read was asked for
 *   [flow-control]         more in flight than maxInflight, more payload per
 *                          AppendEntries than maxMsgBytes
 *   [host-protocol]        the core's state disagrees with what it handed
 *                          the host, or a malformed ready batch
 *   [codec]                a message changed through raft_encode/raft_decode,
 *                          or the cluster id was not enforced (sim_net.c)
 *   [core-api]             a core call failed on valid input, or returned
 *                          something inconsistent (sim_node.c, sim.c)
 *   [leader-hint]          raft_leader_unreachable changed more than whom
 *                          a follower of that leader follows (term, vote,
 *                          log, commit index, role), or queued output
 *                          (sim_node.c)
 *   [liveness]             the heal phase: no stable leader in time, a lost
 *                          leadership without faults, writes or reads not
 *                          completing, logs not converging (sim.c)
 *   [memory-leak]          the core's allocator has live blocks after every
 *                          node was destroyed (sim.c)
 *   [prev-log-term]        a leader's AppendEntries names a term at
 *                          prevLogIndex other than its log has there (0
 *                          above index 0 included; a compacted index has
 *                          the committed entry's term)
 *   [commit-majority]      a leader's commit index moved to an entry that
 *                          a majority of the VOTERS of the configuration it
 *                          uses does not hold durably (learners never
 *                          count; a wiped voter whose vote floor covers the
 *                          index does)
 *   [removed-disrupts]     a member that knows a node was removed (its
 *                          configuration comes from the committed entry
 *                          that removed it, or a later one, and leaves it
 *                          out) had its term raised by that node's message,
 *                          other than one it sent as that term's leader
 *                          (sim_net.c)
 *   [snapshot]             a snapshot installed at index i that is not
 *                          exactly the committed prefix through i (an entry
 *                          seen committed or applied anywhere at an index
 *                          <= i differs, or the chain at i does), or that
 *                          would make its node apply an entry twice (i below
 *                          what it applied) or differently; the core's state
 *                          after raft_snapshot_installed not what raft.h says
 *                          (sim_node.c)
 *   [compaction]           a node compacted past its lastApplied or its
 *                          durable log (in memory or on its disk); anything
 *                          compacted anywhere that some member's durable log
 *                          does not hold (it would need compacted entries);
 *                          the core's log not starting where the host
 *                          compacted it; raft_compact not refusing what it
 *                          must refuse (past lastApplied, during a ready
 *                          batch), or changing more than the log's start
 *                          (sim_node.c); in the heal phase, the stable
 *                          leader needing a compacted entry for a follower,
 *                          which is why that one does not catch up (sim.c)
 *
 * How the properties are made cheap enough to check after every step:
 *   - Log Matching is checked globally and across time.  Each persisted
 *     entry carries a chain hash of its whole prefix (sim.h); the first
 *     time an (index, term) is persisted anywhere its chain is recorded, and
 *     every later copy, on any node, must have the same chain.  Raft gives
 *     this: an (index, term) is created once, by the term's only leader,
 *     and never changes position.
 *   - Committed entries are recorded per index with their chain, and with
 *     the observer's term.  A leader of term T must hold, with the same
 *     chain, the highest index seen committed by a node at a term <= T:
 *     that one compare covers every committed entry below it.  (A node's
 *     commitIndex covers an entry only once it was committed in a term no
 *     later than the node's current term, and an entry committed in term C
 *     is in the log of the leader of C and of every leader after it.  This
 *     is a little stronger than checking only leaders of terms > T.)
 *   - The disk of a node without a pending ready batch mirrors its log (the
 *     host persisted everything); that mirror is checked cheaply each step
 *     (last index and term) and fully every SIM_FULL_CHECK_EVERY steps.
 *   - A compacted disk keeps the chain at its lastIncludedIndex, so Log
 *     Matching and Leader Completeness still compare whole prefixes.
 *     Whether every member holds what was compacted anywhere is one chain
 *     compare per node, at the highest compacted index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define SIM_FULL_CHECK_EVERY 128

#define ID(x) ((unsigned long long) (x))

void
sim_check_init(sim *s)
{
	unsigned	i;

	memset(&s->ck, 0, sizeof(s->ck));
	/* the bootstrap configuration; sim_setup sets nInitial first */
	for (i = 0; i < s->nInitial; i++)
	{
		s->ck.cfgId[i] = i + 1;
		s->ck.cfgVoter[i] = true;
	}
	s->ck.cfgN = s->nInitial;
}

/* A configuration entry at index is committed: the latest such is kept. */
void
sim_check_config_committed(sim *s, raft_index index, const void *data, uint32_t len)
{
	sim_checker *ck = &s->ck;
	raft_member *m = NULL;
	size_t		n = 0,
				i;

	if (index <= ck->cfgIndex)
		return;
	if (raft_configuration_decode(data, len, NULL, &m, &n) != RAFT_OK || n > SIM_MAX_NODES)
		sim_fail(s, "host-protocol", "committed configuration entry %llu does not decode", ID(index));
	/* who left with this configuration (and who is back) */
	for (i = 0; i < ck->cfgN; i++)
	{
		size_t		k;
		bool		stays = false;

		for (k = 0; k < n; k++)
			stays = stays || m[k].id == ck->cfgId[i];
		if (!stays && ck->cfgId[i] <= SIM_MAX_NODES)
			ck->removedAt[ck->cfgId[i]] = index;
	}
	for (i = 0; i < n; i++)
	{
		ck->cfgId[i] = m[i].id;
		ck->cfgVoter[i] = m[i].voter;
		if (m[i].id <= SIM_MAX_NODES)
			ck->removedAt[m[i].id] = 0;
	}
	free(m);
	ck->cfgN = n;
	ck->cfgIndex = index;
	SIM_TRACE(s, "  configuration %llu committed: %zu members", ID(index), n);
}

bool
sim_committed_member(const sim *s, raft_node_id id)
{
	size_t		i;

	for (i = 0; i < s->ck.cfgN; i++)
		if (s->ck.cfgId[i] == id)
			return true;
	return false;
}

bool
sim_committed_voter(const sim *s, raft_node_id id)
{
	size_t		i;

	for (i = 0; i < s->ck.cfgN; i++)
		if (s->ck.cfgId[i] == id)
			return s->ck.cfgVoter[i];
	return false;
}

/*
 * The members of the cluster now, as the hosts would see them: those of
 * the configuration last seen committed, and of every configuration
 * appended after it (in a durable log, or in a running node's memory), so
 * a server being added counts from the moment a leader appends it.  A
 * removed node's own stale view does not count (its configuration is
 * older than the committed one).  member[] is indexed by id.
 */
void
sim_members_now(const sim *s, bool *member)
{
	raft_member m[RAFT_MAX_MEMBERS];
	raft_index	index;
	size_t		i,
				k,
				n;

	memset(member, 0, (SIM_MAX_NODES + 1) * sizeof(bool));
	for (i = 0; i < s->ck.cfgN; i++)
		member[s->ck.cfgId[i]] = true;
	for (i = 1; i <= s->nNodes; i++)
	{
		const sim_node *nd = &s->nodes[i];

		if (nd->disk.cfgLast > s->ck.cfgIndex)
		{
			n = sim_disk_config(s, nd, m, &index);
			for (k = 0; k < n; k++)
				member[m[k].id] = true;
		}
		if (nd->raft != NULL)
		{
			n = raft_get_configuration(nd->raft, m, RAFT_MAX_MEMBERS, &index, NULL);
			if (index > s->ck.cfgIndex)
				for (k = 0; k < n && k < RAFT_MAX_MEMBERS; k++)
					if (m[k].id <= SIM_MAX_NODES)
						member[m[k].id] = true;
		}
	}
}

/* Do the nodes held back by a vote floor (and extraHeld) stay a minority of these voters? */
static bool
floors_ok_in(const sim *s, const raft_member *m, size_t n, raft_node_id extraHeld)
{
	unsigned	voters = 0,
				held = 0;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		if (!m[i].voter)
			continue;
		voters++;
		if (m[i].id == extraHeld ||
			(m[i].id <= s->nNodes && s->nodes[m[i].id].floorPending))
			held++;
	}
	return held <= (voters > 0 ? voters - 1 : 0) / 2;
}

/*
 * Would the nodes held back by their vote floor stay a minority of the
 * voters of every configuration in play (the committed one, every one
 * appended after it, and proposed if not NULL), with extraHeld held back
 * too?  A majority held back elects nobody: that is the data loss Raft
 * does not survive, not a fault to test (sim_node_may_wipe).
 */
bool
sim_floors_ok(const sim *s, raft_node_id extraHeld, const raft_member *proposed, size_t nProposed)
{
	raft_member m[RAFT_MAX_MEMBERS];
	raft_index	index;
	size_t		i,
				n;

	for (i = 0; i < s->ck.cfgN; i++)
	{
		memset(&m[i], 0, sizeof(m[i]));
		m[i].id = s->ck.cfgId[i];
		m[i].voter = s->ck.cfgVoter[i];
	}
	if (!floors_ok_in(s, m, s->ck.cfgN, extraHeld))
		return false;
	if (proposed != NULL && !floors_ok_in(s, proposed, nProposed, extraHeld))
		return false;
	for (i = 1; i <= s->nNodes; i++)
	{
		const sim_node *nd = &s->nodes[i];

		if (nd->disk.cfgLast > s->ck.cfgIndex)
		{
			n = sim_disk_config(s, nd, m, &index);
			if (!floors_ok_in(s, m, n, extraHeld))
				return false;
		}
		if (nd->raft != NULL)
		{
			n = raft_get_configuration(nd->raft, m, RAFT_MAX_MEMBERS, &index, NULL);
			if (index > s->ck.cfgIndex && !floors_ok_in(s, m, n, extraHeld))
				return false;
		}
	}
	return true;
}

/*
 * A leader's commit index moved: the entry there must be durable on a
 * majority of the VOTERS of the configuration it uses (learners never
 * count; the leader itself only if it is a voter).  A voter counts if its
 * disk holds that entry (or compacted it), or if its disk was wiped and
 * its vote floor covers the index (its acknowledgement was honest; the
 * floor keeps it from undoing it).
 *
 * Injected bug "a learner counted as a voter in the commit majority"
 * (raft_maybe_commit taking every member's matchIndex, the quorum still of
 * the voters): 1813 of seeds 1..3000 failed, 1809 of them here, first seed
 * 5: "[commit-majority] step 33670 (heal phase): n3, leader of term 126,
 * commits 122/126 held by only 2 of the 5 voters of its configuration
 * (entry 10)" (the other 4: 2 state-machine-safety, 2 liveness).
 */
static void
check_commit_majority(sim *s, sim_node *n, const raft_status *st)
{
	raft_member m[RAFT_MAX_MEMBERS];
	raft_index	j = st->commitIndex,
				cfgIndex;
	raft_term	term = sim_node_term_at(n, j);
	size_t		count,
				i;
	unsigned	voters = 0,
				holding = 0;

	if (term == 0)
		return;
	count = raft_get_configuration(n->raft, m, RAFT_MAX_MEMBERS, &cfgIndex, NULL);
	for (i = 0; i < count; i++)
	{
		const sim_node *v;

		if (!m[i].voter)
			continue;
		voters++;
		if (m[i].id == RAFT_NONE || m[i].id > s->nNodes)
			continue;
		v = &s->nodes[m[i].id];
		if (j <= v->disk.lastIncludedIndex || sim_disk_term_at(&v->disk, j) == term ||
			(v->floorPending && v->floor.index >= j))
			holding++;
	}
	if (holding * 2 <= voters)
		sim_fail(s, "commit-majority", "n%llu, leader of term %llu, commits %llu/%llu held by only %u of the %u voters of its configuration (entry %llu)",
				 ID(n->id), ID(st->currentTerm), ID(j), ID(term), holding, voters, ID(cfgIndex));
}

void
sim_check_free(sim *s)
{
	sim_checker *ck = &s->ck;
	size_t		i;

	for (i = 0; i < ck->capIndex; i++)
		free(ck->seen[i].v);
	free(ck->seen);
	free(ck->committed);
	free(ck->applied);
	free(ck->propsAtIndex);
	free(ck->leaderOfTerm);
	free(ck->commitSeenAtTerm);
	memset(ck, 0, sizeof(*ck));
}

void
sim_check_reserve_index(sim *s, raft_index index)
{
	sim_checker *ck = &s->ck;
	size_t		old = ck->capIndex,
				cap,
				i;

	if (index < old)
		return;
	cap = old ? old : 256;
	while (cap <= index)
		cap *= 2;
	ck->seen = sim_xrealloc(ck->seen, cap * sizeof(sim_seen_slot));
	ck->committed = sim_xrealloc(ck->committed, cap * sizeof(sim_fixed_entry));
	ck->applied = sim_xrealloc(ck->applied, cap * sizeof(sim_fixed_entry));
	ck->propsAtIndex = sim_xrealloc(ck->propsAtIndex, cap * sizeof(int64_t));
	memset(ck->seen + old, 0, (cap - old) * sizeof(sim_seen_slot));
	memset(ck->committed + old, 0, (cap - old) * sizeof(sim_fixed_entry));
	memset(ck->applied + old, 0, (cap - old) * sizeof(sim_fixed_entry));
	for (i = old; i < cap; i++)
		ck->propsAtIndex[i] = -1;
	ck->capIndex = cap;
}

void
sim_check_reserve_term(sim *s, raft_term term)
{
	sim_checker *ck = &s->ck;
	size_t		old = ck->capTerms,
				cap;

	if (term < old)
		return;
	cap = old ? old : 64;
	while (cap <= term)
		cap *= 2;
	ck->leaderOfTerm = sim_xrealloc(ck->leaderOfTerm, cap * sizeof(raft_node_id));
	ck->commitSeenAtTerm = sim_xrealloc(ck->commitSeenAtTerm, cap * sizeof(raft_index));
	memset(ck->leaderOfTerm + old, 0, (cap - old) * sizeof(raft_node_id));
	memset(ck->commitSeenAtTerm + old, 0, (cap - old) * sizeof(raft_index));
	ck->capTerms = cap;
}

/* Election Safety: at most one leader per term, over the whole run. */
void
sim_check_leader_observed(sim *s, sim_node *n, raft_term term)
{
	sim_checker *ck = &s->ck;

	sim_check_reserve_term(s, term);
	if (ck->leaderOfTerm[term] == RAFT_NONE)
		ck->leaderOfTerm[term] = n->id;
	else if (ck->leaderOfTerm[term] != n->id)
		sim_fail(s, "election-safety", "two leaders in term %llu: n%llu and n%llu",
				 ID(term), ID(ck->leaderOfTerm[term]), ID(n->id));
}

/*
 * The term a leader's AppendEntries names at prevLogIndex must be the one
 * its log has there (for a compacted index: the committed entry's), and
 * not 0 above index 0, which no log matches.  Only messages of the
 * leader's current term, still leading: its log does not change under
 * them (Leader Append-Only; compaction keeps the terms).  A wrong term
 * could be accepted by a follower holding another entry of that term
 * there; term 0 is refused by every follower that holds the entry, and
 * the leader takes the refusal for a follower that went back.
 */
static void
check_prev_log_term(sim *s, sim_node *n, const raft_message *m)
{
	const sim_checker *ck = &s->ck;
	raft_term	truth;

	if (m->prevLogIndex == 0)
	{
		if (m->prevLogTerm != 0)
			sim_fail(s, "prev-log-term", "n%llu: AppendEntries to n%llu names term %llu at index 0",
					 ID(n->id), ID(m->to), ID(m->prevLogTerm));
		return;
	}
	if (m->prevLogTerm == 0)
		sim_fail(s, "prev-log-term", "n%llu, leader of term %llu, sends n%llu an AppendEntries naming term 0 at prevLogIndex %llu (compacted to %llu)",
				 ID(n->id), ID(m->term), ID(m->to), ID(m->prevLogIndex), ID(n->compacted));
	if (m->prevLogIndex < n->compacted)
	{
		if (m->prevLogIndex >= ck->capIndex || !ck->committed[m->prevLogIndex].set)
			return;
		truth = ck->committed[m->prevLogIndex].term;
	}
	else
		truth = sim_node_term_at(n, m->prevLogIndex);
	if (truth != m->prevLogTerm)
		sim_fail(s, "prev-log-term", "n%llu, leader of term %llu, sends n%llu an AppendEntries naming term %llu at prevLogIndex %llu, where its log has term %llu (compacted to %llu)",
				 ID(n->id), ID(m->term), ID(m->to), ID(m->prevLogTerm), ID(m->prevLogIndex),
				 ID(truth), ID(n->compacted));
}

/*
 * A ready batch must be well formed: entries contiguous and attached to the
 * durable log, terms never decreasing, the hard state never going back, and
 * no second vote in a term.
 */
void
sim_check_ready(sim *s, sim_node *n, const raft_ready *rd)
{
	const sim_disk *d = &n->disk;
	size_t		i;
	raft_term	termNow = rd->hardStateChanged ? rd->hardState.currentTerm : d->hs.currentTerm;

	if (rd->hardStateChanged)
	{
		if (rd->hardState.currentTerm < d->hs.currentTerm)
			sim_fail(s, "term-monotonic", "n%llu: hard state term %llu after durable term %llu",
					 ID(n->id), ID(rd->hardState.currentTerm), ID(d->hs.currentTerm));
		if (rd->hardState.currentTerm == d->hs.currentTerm &&
			d->hs.votedFor != RAFT_NONE && rd->hardState.votedFor != d->hs.votedFor)
			sim_fail(s, "election-safety", "n%llu changed its vote in term %llu from n%llu to n%llu",
					 ID(n->id), ID(d->hs.currentTerm), ID(d->hs.votedFor),
					 ID(rd->hardState.votedFor));
	}
	if (rd->nEntries > 0)
	{
		raft_index	first = rd->entries[0].index;

		if (rd->entries == NULL || first == 0 || first > sim_disk_last_index(d) + 1)
			sim_fail(s, "host-protocol", "n%llu: ready entries start at %llu but the durable log ends at %llu",
					 ID(n->id), ID(first), ID(sim_disk_last_index(d)));
		if (first <= d->lastIncludedIndex || first <= n->compacted)
			sim_fail(s, "compaction", "n%llu: ready entries start at %llu, in the compacted prefix (disk %llu, memory %llu)",
					 ID(n->id), ID(first), ID(d->lastIncludedIndex), ID(n->compacted));
		for (i = 0; i < rd->nEntries; i++)
		{
			const raft_entry *e = &rd->entries[i];
			raft_term	prevTerm = i == 0 ? sim_disk_term_at(d, first - 1) : rd->entries[i - 1].term;

			if (e->index != first + i)
				sim_fail(s, "host-protocol", "n%llu: ready entries not contiguous: entries[%zu].index = %llu after %llu",
						 ID(n->id), i, ID(e->index), ID(first));
			if (e->term < prevTerm || e->term == 0)
				sim_fail(s, "log-matching", "n%llu: entry %llu has term %llu after term %llu (log terms must not decrease)",
						 ID(n->id), ID(e->index), ID(e->term), ID(prevTerm));
			if (e->term > termNow)
				sim_fail(s, "host-protocol", "n%llu: entry %llu has term %llu above the node's term %llu",
						 ID(n->id), ID(e->index), ID(e->term), ID(termNow));
			if (e->type > RAFT_ENTRY_TYPE_MAX || (e->len > 0 && e->data == NULL))
				sim_fail(s, "host-protocol", "n%llu: malformed entry %llu in ready", ID(n->id), ID(e->index));
		}
	}
	for (i = 0; i < rd->nMessages; i++)
	{
		const raft_message *m = &rd->messages[i];

		if (m->from != n->id)
			sim_fail(s, "host-protocol", "n%llu: ready message %s claims to be from n%llu",
					 ID(n->id), sim_msg_type_name(m->type), ID(m->from));
		if (m->type == RAFT_MSG_APPEND_ENTRIES && rd->role == RAFT_LEADER && m->term == termNow)
			check_prev_log_term(s, n, m);
		if (m->type == RAFT_MSG_APPEND_ENTRIES && m->nEntries > 1)
		{
			size_t		bytes = 0,
						cap = s->maxMsgBytes ? s->maxMsgBytes : 1024 * 1024;
			uint32_t	k;

			for (k = 0; k < m->nEntries; k++)
				bytes += m->entries[k].len;
			if (bytes > cap)
				sim_fail(s, "flow-control", "n%llu: AppendEntries to n%llu carries %u entries, %zu payload bytes; maxMsgBytes is %zu",
						 ID(n->id), ID(m->to), m->nEntries, bytes, cap);
		}
	}
}

/*
 * Leader Append-Only, seen from the host: a leader's batch must not change
 * or delete an entry the host already made durable.  (A node that stepped
 * down is allowed to; a node cannot lose and regain leadership between two
 * batches, because winning needs its vote requests sent.)
 */
void
sim_check_persist(sim *s, sim_node *n, const raft_entry *e, size_t count)
{
	const sim_disk *d = &n->disk;
	raft_status st;
	size_t		k;
	raft_index	last = e[count - 1].index;

	raft_get_status(n->raft, &st);
	if (st.role != RAFT_LEADER)
		return;
	for (k = 0; k < count && e[k].index <= sim_disk_last_index(d); k++)
	{
		const sim_disk_entry *de = sim_disk_entry_at(d, e[k].index);

		if (de == NULL)
			sim_fail(s, "compaction", "n%llu persists entry %llu, compacted on its disk (to %llu)",
					 ID(n->id), ID(e[k].index), ID(d->lastIncludedIndex));
		if (de->term != e[k].term ||
			de->hash != sim_entry_hash(e[k].type, e[k].data, e[k].len))
			sim_fail(s, "leader-append-only", "n%llu, leader of term %llu, overwrites its entry %llu (term %llu) with term %llu",
					 ID(n->id), ID(st.currentTerm), ID(e[k].index), ID(de->term), ID(e[k].term));
	}
	if (last < sim_disk_last_index(d))
		sim_fail(s, "leader-append-only", "n%llu, leader of term %llu, deletes its entries %llu..%llu",
				 ID(n->id), ID(st.currentTerm), ID(last + 1), ID(sim_disk_last_index(d)));
}

/* Log Matching, across all nodes and all time (see the header comment). */
void
sim_check_entry_stored(sim *s, sim_node *n, raft_index index)
{
	const sim_disk_entry *de = sim_disk_entry_at(&n->disk, index);
	sim_seen_slot *slot;
	uint32_t	i;

	sim_check_reserve_index(s, index);
	slot = &s->ck.seen[index];
	for (i = 0; i < slot->n; i++)
	{
		sim_seen_entry *se = &slot->v[i];

		if (se->term != de->term)
			continue;
		if (se->hash != de->hash)
			sim_fail(s, "log-matching", "entry %llu/%llu: n%llu stores a different payload than n%llu did",
					 ID(index), ID(de->term), ID(n->id), ID(se->node));
		if (se->chain != de->chain)
			sim_fail(s, "log-matching", "entry %llu/%llu is the same on n%llu and n%llu but the entries before it differ",
					 ID(index), ID(de->term), ID(n->id), ID(se->node));
		return;
	}
	if (slot->n == slot->cap)
	{
		slot->cap = slot->cap ? slot->cap * 2 : 2;
		slot->v = sim_xrealloc(slot->v, slot->cap * sizeof(sim_seen_entry));
	}
	slot->v[slot->n].term = de->term;
	slot->v[slot->n].hash = de->hash;
	slot->v[slot->n].chain = de->chain;
	slot->v[slot->n].node = n->id;
	slot->n++;
}

/*
 * Messages other than AppendEntries go out after the flush, and must not
 * promise anything the disk does not hold: a vote (or a candidacy) must be
 * durable, an acknowledged entry must be durable.
 */
void
sim_check_sent_after_persist(sim *s, sim_node *n, const raft_message *m)
{
	const sim_disk *d = &n->disk;

	/*
	 * A vote is safe once durable, or once a later term is durable: the node
	 * can then never vote again in the vote's term.  (With deferred ready
	 * batches a node may vote in term t and move on to t+1 before the batch
	 * carrying the vote goes out.)
	 */
	switch (m->type)
	{
		case RAFT_MSG_REQUEST_VOTE:
			if (d->hs.currentTerm < m->term ||
				(d->hs.currentTerm == m->term && d->hs.votedFor != n->id))
				sim_fail(s, "election-safety", "n%llu asks for votes in term %llu but its durable hard state is term %llu vote %llu",
						 ID(n->id), ID(m->term), ID(d->hs.currentTerm), ID(d->hs.votedFor));
			break;
		case RAFT_MSG_REQUEST_VOTE_RESULT:
			if (m->voteGranted &&
				(d->hs.currentTerm < m->term ||
				 (d->hs.currentTerm == m->term && d->hs.votedFor != m->to)))
				sim_fail(s, "election-safety", "n%llu grants its vote to n%llu in term %llu but its durable hard state is term %llu vote %llu",
						 ID(n->id), ID(m->to), ID(m->term), ID(d->hs.currentTerm), ID(d->hs.votedFor));
			break;
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			/* likewise an acknowledgement of an earlier term is stale and harmless */
			if (m->success && d->hs.currentTerm == m->term && m->matchIndex > sim_disk_last_index(d))
				sim_fail(s, "durability", "n%llu acknowledges index %llu to n%llu but has only %llu entries durable",
						 ID(n->id), ID(m->matchIndex), ID(m->to), ID(sim_disk_last_index(d)));
			break;
		default:
			break;
	}
	/* a node that lost its disk may have voted in any term up to its floor's */
	if (n->floorPending && m->term <= n->floor.term &&
		(((m->type == RAFT_MSG_REQUEST_VOTE_RESULT || m->type == RAFT_MSG_PRE_VOTE_RESULT) &&
		  m->voteGranted) ||
		 m->type == RAFT_MSG_REQUEST_VOTE || m->type == RAFT_MSG_PRE_VOTE))
		sim_fail(s, "vote-floor", "n%llu, restored with floor term %llu, sends %s%s in term %llu",
				 ID(n->id), ID(n->floor.term), sim_msg_type_name(m->type),
				 m->voteGranted ? " (granted)" : "", ID(m->term));
	if (m->type != RAFT_MSG_PRE_VOTE && m->type != RAFT_MSG_PRE_VOTE_RESULT &&
		m->term > d->hs.currentTerm)
		sim_fail(s, "term-monotonic", "n%llu sends %s with term %llu above its durable term %llu",
				 ID(n->id), sim_msg_type_name(m->type), ID(m->term), ID(d->hs.currentTerm));
}

/*
 * One committed entry being applied on n: consecutive, within commitIndex,
 * durable locally, and the same entry every other node applied there.
 */
void
sim_check_apply(sim *s, sim_node *n, const raft_entry *e, raft_index commitIndex)
{
	sim_checker *ck = &s->ck;
	const sim_disk *d = &n->disk;
	uint64_t	hash = sim_entry_hash(e->type, e->data, e->len);
	sim_fixed_entry *a;
	int64_t		k;

	if (e->index <= d->applied)
		sim_fail(s, "apply-exactly-once", "n%llu applies entry %llu twice (applied index is %llu)",
				 ID(n->id), ID(e->index), ID(d->applied));
	if (e->index > d->applied + 1)
		sim_fail(s, "apply-exactly-once", "n%llu applies entry %llu after %llu, skipping entries",
				 ID(n->id), ID(e->index), ID(d->applied));
	if (e->index > commitIndex)
		sim_fail(s, "applied-le-commit", "n%llu applies entry %llu beyond its commitIndex %llu",
				 ID(n->id), ID(e->index), ID(commitIndex));
	if (sim_disk_entry_at(d, e->index) == NULL ||
		sim_disk_entry_at(d, e->index)->term != e->term ||
		sim_disk_entry_at(d, e->index)->hash != hash)
		sim_fail(s, "durability", "n%llu applies entry %llu/%llu that is not in its durable log (durable: %llu..%llu, term there %llu)",
				 ID(n->id), ID(e->index), ID(e->term), ID(d->lastIncludedIndex + 1),
				 ID(sim_disk_last_index(d)), ID(sim_disk_term_at(d, e->index)));

	/* a forwarded command: exactly what was sent */
	if (e->type == RAFT_ENTRY_NORMAL && e->len > 1 && ((const char *) e->data)[0] == 'f')
	{
		char		head[48];
		unsigned long long seed;
		size_t		num;
		size_t		hl = e->len < sizeof(head) - 1 ? e->len : sizeof(head) - 1;

		memcpy(head, e->data, hl);
		head[hl] = '\0';
		if (sscanf(head, "f%llu-%zu:", &seed, &num) == 2 && seed == s->seed &&
			num < s->nForwarded)
		{
			if (hash != s->forwardedHash[num])
				sim_fail(s, "forwarded-intact", "n%llu applies forwarded command f%zu at %llu with another payload than was sent",
						 ID(n->id), num, ID(e->index));
			if (s->forwardedAt[num] == 0)
			{
				s->forwardedAt[num] = e->index;
				s->nForwardApplied++;
			}
		}
	}

	sim_check_reserve_index(s, e->index);
	a = &ck->applied[e->index];
	if (!a->set)
	{
		a->set = true;
		a->term = e->term;
		a->hash = hash;
		a->node = n->id;
	}
	else if (a->term != e->term || a->hash != hash)
		sim_fail(s, "state-machine-safety", "n%llu applies %llu/%llu but n%llu applied %llu/%llu%s",
				 ID(n->id), ID(e->index), ID(e->term), ID(a->node), ID(e->index), ID(a->term),
				 a->term == e->term ? " with another payload" : "");
	if (ck->committed[e->index].set &&
		(ck->committed[e->index].term != e->term || ck->committed[e->index].hash != hash))
		sim_fail(s, "state-machine-safety", "n%llu applies %llu/%llu but %llu/%llu was seen committed on n%llu",
				 ID(n->id), ID(e->index), ID(e->term), ID(e->index),
				 ID(ck->committed[e->index].term), ID(ck->committed[e->index].node));

	/* the client's view: the proposal created at (index, term) */
	for (k = ck->propsAtIndex[e->index]; k >= 0; k = s->props[k].nextAtIndex)
	{
		sim_proposal *p = &s->props[k];

		if (p->term != e->term)
			continue;
		if (p->hash != hash || e->type != RAFT_ENTRY_NORMAL)
			sim_fail(s, "state-machine-safety", "n%llu applies %llu/%llu with a payload other than the one proposed on n%llu",
					 ID(n->id), ID(e->index), ID(e->term), ID(p->node));
		if (p->node == n->id && !p->acked)
		{
			p->acked = true;
			s->nAcked++;
			if (p->index > ck->maxAcked)
				ck->maxAcked = p->index;
			SIM_TRACE(s, "  client: proposal %llu/%llu committed (applied on n%llu)",
					  ID(p->index), ID(p->term), ID(n->id));
		}
	}
}

/* ReadIndex: the read point covers everything committed before the call. */
void
sim_check_read_state(sim *s, sim_node *n, const raft_read_state *rs)
{
	sim_read   *r;

	if (rs->requestId == 0 || rs->requestId > s->nReads)
		sim_fail(s, "read-index", "n%llu returns a read state for unknown request %llu",
				 ID(n->id), ID(rs->requestId));
	r = &s->reads[rs->requestId - 1];
	if (r->node != n->id)
		sim_fail(s, "read-index", "read state for request %llu (asked on n%llu) returned on n%llu",
				 ID(rs->requestId), ID(r->node), ID(n->id));
	if (rs->readIndex < r->required)
		sim_fail(s, "read-index", "n%llu: read %llu returns read index %llu but index %llu was committed before it was asked",
				 ID(n->id), ID(rs->requestId), ID(rs->readIndex), ID(r->required));
	SIM_TRACE(s, "  client: read %llu on n%llu: read index %llu (needs >= %llu)",
			  ID(rs->requestId), ID(n->id), ID(rs->readIndex), ID(r->required));
	if (!r->done)
		s->nReadStates++;
	r->done = true;
}

/* Record n's newly committed entries; they must agree with earlier sightings. */
static void
observe_commit(sim *s, sim_node *n, const raft_status *st)
{
	sim_checker *ck = &s->ck;
	raft_index	i;

	const sim_disk *d = &n->disk;

	sim_check_reserve_index(s, st->commitIndex);
	/* a compacted prefix: its last chain covers it (compared if seen committed) */
	if (d->lastIncludedIndex > n->obsCommit && d->lastIncludedIndex <= st->commitIndex &&
		ck->committed[d->lastIncludedIndex].set &&
		ck->committed[d->lastIncludedIndex].chain != d->lastIncludedChain)
		sim_fail(s, "state-machine-safety", "n%llu compacted a log through %llu/%llu that differs from the committed one (%llu/%llu seen on n%llu)",
				 ID(n->id), ID(d->lastIncludedIndex), ID(d->lastIncludedTerm),
				 ID(d->lastIncludedIndex), ID(ck->committed[d->lastIncludedIndex].term),
				 ID(ck->committed[d->lastIncludedIndex].node));
	for (i = (n->obsCommit > d->lastIncludedIndex ? n->obsCommit : d->lastIncludedIndex) + 1;
		 i <= st->commitIndex; i++)
	{
		const sim_disk_entry *de = sim_disk_entry_at(d, i);
		sim_fixed_entry *c = &ck->committed[i];

		if (de == NULL)
			sim_fail(s, "host-protocol", "n%llu: committed index %llu is not on its disk (%llu..%llu)",
					 ID(n->id), ID(i), ID(d->lastIncludedIndex + 1), ID(sim_disk_last_index(d)));
		if (!c->set)
		{
			c->set = true;
			c->term = de->term;
			c->hash = de->hash;
			c->chain = de->chain;
			c->node = n->id;
			c->obsTerm = st->currentTerm;
		}
		if (de->type == RAFT_ENTRY_CONFIG)
			sim_check_config_committed(s, i, de->data, de->len);
		else if (c->chain != de->chain)
			sim_fail(s, "state-machine-safety", "n%llu has committed %llu/%llu but n%llu saw %llu/%llu committed%s",
					 ID(n->id), ID(i), ID(de->term), ID(c->node), ID(i), ID(c->term),
					 c->term == de->term && c->hash == de->hash ? " (the entries before it differ)" : "");
	}
	if (st->commitIndex > n->obsCommit)
	{
		n->obsCommit = st->commitIndex;
		sim_check_reserve_term(s, st->currentTerm);
		if (st->commitIndex > ck->commitSeenAtTerm[st->currentTerm])
			ck->commitSeenAtTerm[st->currentTerm] = st->commitIndex;
		if (st->commitIndex > ck->maxCommit)
			ck->maxCommit = st->commitIndex;
	}
}

/* Leader Completeness (see the header comment for why one index suffices). */
static void
check_leader_completeness(sim *s, sim_node *n, const raft_status *st)
{
	sim_checker *ck = &s->ck;
	raft_index	need = 0;
	raft_term	t;
	const sim_fixed_entry *c;

	for (t = 0; t <= st->currentTerm && t < ck->capTerms; t++)
		if (ck->commitSeenAtTerm[t] > need)
			need = ck->commitSeenAtTerm[t];
	if (need == 0)
		return;
	c = &ck->committed[need];
	if (need > sim_disk_last_index(&n->disk))
		sim_fail(s, "leader-completeness", "n%llu leads term %llu with %llu entries, but %llu/%llu was committed (seen on n%llu at term %llu)",
				 ID(n->id), ID(st->currentTerm), ID(sim_disk_last_index(&n->disk)), ID(need),
				 ID(c->term), ID(c->node), ID(c->obsTerm));
	/* below a compacted start, the chain kept there covers need */
	if (need < n->disk.lastIncludedIndex)
	{
		need = n->disk.lastIncludedIndex;
		c = &ck->committed[need];
		if (!c->set)
			return;
	}
	if (sim_disk_chain_at(&n->disk, need) != c->chain)
		sim_fail(s, "leader-completeness", "n%llu leads term %llu but its log up to %llu (term there %llu) differs from the committed one (%llu/%llu seen on n%llu at term %llu)",
				 ID(n->id), ID(st->currentTerm), ID(need), ID(sim_disk_term_at(&n->disk, need)),
				 ID(need), ID(c->term), ID(c->node), ID(c->obsTerm));
}

/* The core's log must equal what it handed the host, entry by entry. */
static void
check_log_mirror(sim *s, sim_node *n)
{
	const sim_disk *d = &n->disk;
	raft_index	last = sim_disk_last_index(d);
	raft_entry	e;
	raft_index	i;

	/* the disk may keep entries the core compacted, never the reverse */
	for (i = d->lastIncludedIndex + 1; i <= last; i++)
	{
		const sim_disk_entry *de = sim_disk_entry_at(d, i);

		if (i <= n->compacted)
		{
			if (raft_log_entry(n->raft, i, &e))
				sim_fail(s, "compaction", "n%llu: raft_log_entry(%llu) present, but the log was compacted to %llu",
						 ID(n->id), ID(i), ID(n->compacted));
			continue;
		}
		if (!raft_log_entry(n->raft, i, &e))
			sim_fail(s, "host-protocol", "n%llu: raft_log_entry(%llu) missing, the durable log holds %llu..%llu (compacted to %llu)",
					 ID(n->id), ID(i), ID(d->lastIncludedIndex + 1), ID(last), ID(n->compacted));
		if (e.index != i || e.term != de->term || e.type != de->type || e.len != de->len ||
			(e.len > 0 && memcmp(e.data, de->data, e.len) != 0))
			sim_fail(s, "host-protocol", "n%llu: entry %llu in the core (%llu/%llu) differs from the one it handed to the host (term %llu)",
					 ID(n->id), ID(i), ID(e.index), ID(e.term), ID(de->term));
	}
	for (i = 1; i <= d->lastIncludedIndex; i++)
		if (raft_log_entry(n->raft, i, &e))
			sim_fail(s, "compaction", "n%llu: raft_log_entry(%llu) present, but the disk was compacted to %llu (memory to %llu)",
					 ID(n->id), ID(i), ID(d->lastIncludedIndex), ID(n->compacted));
	if (raft_log_entry(n->raft, last + 1, &e))
		sim_fail(s, "host-protocol", "n%llu: the core has entry %llu that it never handed to the host",
				 ID(n->id), ID(last + 1));
}

void
sim_check_full_logs(sim *s)
{
	unsigned	i;

	for (i = 1; i <= s->nNodes; i++)
	{
		sim_node   *n = &s->nodes[i];

		if (n->raft != NULL && !raft_has_ready(n->raft))
			check_log_mirror(s, n);
	}
}

static void
trace_changes(sim *s, const sim_node *n, const raft_status *st)
{
	const raft_status *o = &n->last;

	if (st->role != o->role || st->currentTerm != o->currentTerm || st->leader != o->leader)
		sim_trace(s, "  n%llu: %s t%llu leader %llu -> %s t%llu leader %llu", ID(n->id),
				  raft_role_name(o->role), ID(o->currentTerm), ID(o->leader),
				  raft_role_name(st->role), ID(st->currentTerm), ID(st->leader));
	if (st->commitIndex != o->commitIndex)
		sim_trace(s, "  n%llu: commit %llu -> %llu", ID(n->id), ID(o->commitIndex), ID(st->commitIndex));
}

/*
 * The highest index n's durable log holds matching the committed log (as
 * far as the checker saw it committed): the prefix through it is committed
 * and is every member's.  A compacted prefix counts as held (it was
 * applied).  A wiped disk holds nothing until it catches up.
 */
raft_index
sim_check_held_index(const sim *s, const sim_node *n)
{
	const sim_checker *ck = &s->ck;
	const sim_disk *d = &n->disk;
	raft_index	i = sim_disk_last_index(d);

	if (i > ck->maxCommit)
		i = ck->maxCommit;
	for (; i > d->lastIncludedIndex; i--)
		if (ck->committed[i].set && ck->committed[i].chain == sim_disk_entry_at(d, i)->chain)
			return i;
	return d->lastIncludedIndex;
}

/*
 * How far n's host may compact: what n applied and made durable, and what
 * every member's durable log holds (sim_check_held_index), up or down; so
 * no member ever needs an entry that was compacted anywhere (raft.h's
 * contract for raft_compact).  In half the seeds (compactByLeader), on a
 * leader, also no further than its matchIndex of every follower, as the
 * product's host (it posts the lowest matchIndex the leader knows); in the
 * others a leader may compact past what it knows a follower holds, and
 * must still serve that follower.  *limiter is the node that sets it.
 */
raft_index
sim_check_safe_point(const sim *s, const sim_node *n, const raft_status *st,
					 raft_node_id *limiter)
{
	raft_index	safe = st->lastApplied < st->stableIndex ? st->lastApplied : st->stableIndex;
	unsigned	i;
	bool		member[SIM_MAX_NODES + 1];

	*limiter = n->id;
	/* every member's: a removed node is left behind, a server being added holds us back */
	sim_members_now(s, member);
	for (i = 1; i <= s->nNodes; i++)
	{
		raft_index	held;

		if (!member[i])
			continue;
		held = sim_check_held_index(s, &s->nodes[i]);
		/* the product's raft_ext.log_hold_entries: far behind, it will need a snapshot */
		if (s->holdEntries > 0 && held + s->holdEntries < safe)
			continue;

		if (held < safe)
		{
			safe = held;
			*limiter = s->nodes[i].id;
		}
	}
	if (st->role == RAFT_LEADER && s->compactByLeader)
	{
		raft_progress pr;

		for (i = 0; raft_get_progress(n->raft, i, &pr); i++)
			if (pr.id != n->id && pr.matchIndex < safe &&
				!(s->holdEntries > 0 && pr.matchIndex + s->holdEntries < safe))
			{
				safe = pr.matchIndex;
				*limiter = pr.id;
			}
	}
	return safe;
}

/*
 * A leader that needs, for a live follower, an entry it compacted (its
 * nextIndex points into its compacted prefix): while the network still
 * loses and reorders, this may last until the next heartbeat answer; in
 * the heal phase it is the reason a follower does not converge.
 */
void
sim_check_leader_needs_compacted(sim *s, sim_node *leader)
{
	raft_progress pr;
	unsigned	k;

	/* with InstallSnapshot that is what the follower gets */
	if (s->snapshots)
		return;
	for (k = 0; raft_get_progress(leader->raft, k, &pr); k++)
		if (pr.id != leader->id && pr.nextIndex <= leader->compacted)
			sim_fail(s, "compaction", "n%llu, leader compacted to %llu, needs entry %llu for n%llu (%s, matchIndex %llu), whose durable log holds %llu of the committed log",
					 ID(leader->id), ID(leader->compacted), ID(pr.nextIndex),
					 ID(pr.id), pr.state == RAFT_PROGRESS_PROBE ? "probe" : "replicate",
					 ID(pr.matchIndex), ID(sim_check_held_index(s, &s->nodes[pr.id])));
}

/*
 * A live node's compaction: the core's log starts where the host compacted
 * it, and neither it nor the disk went past what was applied and durable.
 */
static void
check_compacted(sim *s, sim_node *n, const raft_status *st)
{
	const sim_disk *d = &n->disk;
	raft_entry	e;

	if (n->compacted > 0 && raft_log_entry(n->raft, n->compacted, &e))
		sim_fail(s, "compaction", "n%llu: the core still holds entry %llu, compacted by its host",
				 ID(n->id), ID(n->compacted));
	if (n->compacted < st->lastLogIndex && !raft_log_entry(n->raft, n->compacted + 1, &e))
		sim_fail(s, "compaction", "n%llu: the core lacks entry %llu (its host compacted to %llu, the log ends at %llu)",
				 ID(n->id), ID(n->compacted + 1), ID(n->compacted), ID(st->lastLogIndex));
	if (n->compacted > st->lastApplied || n->compacted > d->applied)
		sim_fail(s, "compaction", "n%llu compacted its log to %llu past its lastApplied %llu (applied on disk %llu)",
				 ID(n->id), ID(n->compacted), ID(st->lastApplied), ID(d->applied));
	if (n->compacted > st->stableIndex)
		sim_fail(s, "compaction", "n%llu compacted its log to %llu past its stableIndex %llu",
				 ID(n->id), ID(n->compacted), ID(st->stableIndex));
	if (d->lastIncludedIndex > n->compacted || d->lastIncludedIndex > d->applied)
		sim_fail(s, "compaction", "n%llu: its disk is compacted to %llu, memory to %llu, applied %llu",
				 ID(n->id), ID(d->lastIncludedIndex), ID(n->compacted), ID(d->applied));
}

/*
 * Nothing compacted anywhere (in memory or on a disk, of a node up or
 * down) is missing from any member's durable log: no member can ever need
 * a compacted entry.  One compare per node, at the highest compacted index:
 * chains compare whole prefixes.
 */
static void
check_compaction_held_everywhere(sim *s)
{
	const sim_checker *ck = &s->ck;
	raft_index	top = 0;
	raft_node_id topNode = RAFT_NONE;
	unsigned	i;
	bool		member[SIM_MAX_NODES + 1];

	/* with InstallSnapshot a member may need compacted entries: it gets a copy */
	if (s->snapshots)
		return;

	for (i = 1; i <= s->nNodes; i++)
	{
		const sim_node *n = &s->nodes[i];
		raft_index	c = n->disk.lastIncludedIndex;

		if (n->raft != NULL && n->compacted > c)
			c = n->compacted;
		if (c > top)
		{
			top = c;
			topNode = n->id;
		}
	}
	if (top == 0 || top >= ck->capIndex || !ck->committed[top].set)
		return;
	sim_members_now(s, member);
	for (i = 1; i <= s->nNodes; i++)
	{
		const sim_node *n = &s->nodes[i];
		const sim_disk *d = &n->disk;

		if (top <= d->lastIncludedIndex || !member[i])
			continue;
		if (sim_disk_chain_at(d, top) != ck->committed[top].chain)
			sim_fail(s, "compaction", "n%llu compacted its log through %llu, but n%llu (%s) holds only %llu of the committed log on its disk (%llu..%llu): it needs compacted entries",
					 ID(topNode), ID(top), ID(n->id), n->raft != NULL ? "up" : "down",
					 ID(sim_check_held_index(s, n)), ID(d->lastIncludedIndex + 1),
					 ID(sim_disk_last_index(d)));
	}
}

/*
 * A snapshot about to be installed on n at index (term, chain there, the
 * state machine sm[0..index-1]): exactly the committed prefix through
 * index, consistent with everything applied anywhere, and not below what n
 * applied (no entry applied twice); the prefix n applied must be the
 * snapshot's (no entry applied differently).  The snapshot's entries
 * count as applied from now on.
 */
void
sim_check_snapshot(sim *s, sim_node *n, raft_index index, raft_term term,
				   uint64_t chain, const sim_sm_entry *sm)
{
	sim_checker *ck = &s->ck;
	const sim_disk *d = &n->disk;
	raft_index	i;

	if (index < d->applied)
		sim_fail(s, "snapshot", "n%llu installs a snapshot at %llu below what it applied (%llu): entries would be applied twice",
				 ID(n->id), ID(index), ID(d->applied));
	if (index == 0 || sm[index - 1].term != term)
		sim_fail(s, "snapshot", "n%llu installs a snapshot at %llu/%llu whose last entry has term %llu",
				 ID(n->id), ID(index), ID(term), ID(index ? sm[index - 1].term : 0));
	sim_check_reserve_index(s, index);
	for (i = 1; i <= index; i++)
	{
		const sim_fixed_entry *c = &ck->committed[i];
		sim_fixed_entry *a = &ck->applied[i];

		if (c->set && (c->term != sm[i - 1].term || c->hash != sm[i - 1].hash))
			sim_fail(s, "snapshot", "n%llu installs a snapshot at %llu holding %llu/%llu, but %llu/%llu was seen committed on n%llu",
					 ID(n->id), ID(index), ID(i), ID(sm[i - 1].term), ID(i), ID(c->term), ID(c->node));
		if (a->set && (a->term != sm[i - 1].term || a->hash != sm[i - 1].hash))
			sim_fail(s, "snapshot", "n%llu installs a snapshot at %llu holding %llu/%llu, but n%llu applied %llu/%llu",
					 ID(n->id), ID(index), ID(i), ID(sm[i - 1].term), ID(a->node), ID(i), ID(a->term));
		if (i <= d->applied && (d->sm[i - 1].term != sm[i - 1].term || d->sm[i - 1].hash != sm[i - 1].hash))
			sim_fail(s, "snapshot", "n%llu installs a snapshot at %llu holding %llu/%llu, but it applied %llu/%llu there",
					 ID(n->id), ID(index), ID(i), ID(sm[i - 1].term), ID(i), ID(d->sm[i - 1].term));
		if (!a->set)
		{
			a->set = true;
			a->term = sm[i - 1].term;
			a->hash = sm[i - 1].hash;
			a->node = n->id;
		}
	}
	if (ck->committed[index].set && ck->committed[index].chain != chain)
		sim_fail(s, "snapshot", "n%llu installs a snapshot at %llu whose prefix differs from the committed one (seen on n%llu)",
				 ID(n->id), ID(index), ID(ck->committed[index].node));
}

/* Everything that must hold between two steps, for every live node. */
void
sim_check_step(sim *s)
{
	unsigned	i;
	bool		full = s->step % SIM_FULL_CHECK_EVERY == 0;

	for (i = 1; i <= s->nNodes; i++)
	{
		sim_node   *n = &s->nodes[i];
		raft_status st;
		const sim_disk *d = &n->disk;

		if (n->raft == NULL)
			continue;
		raft_get_status(n->raft, &st);
		if (s->trace)
			trace_changes(s, n, &st);
		if (st.id != n->id)
			sim_fail(s, "core-api", "status of n%llu says id %llu", ID(n->id), ID(st.id));
		if (st.role == RAFT_LEADER)
		{
			sim_check_leader_observed(s, n, st.currentTerm);
			if (n->leaderTerm != st.currentTerm)
			{
				n->leaderTerm = st.currentTerm;
				s->nElections++;
			}
		}
		if (st.role == RAFT_LEADER && n->last.role == RAFT_LEADER &&
			st.currentTerm == n->last.currentTerm && st.lastLogIndex < n->last.lastLogIndex)
			sim_fail(s, "leader-append-only", "n%llu, leader of term %llu, shrank its log from %llu to %llu entries",
					 ID(n->id), ID(st.currentTerm), ID(n->last.lastLogIndex), ID(st.lastLogIndex));
		if (st.currentTerm < n->last.currentTerm)
			sim_fail(s, "term-monotonic", "n%llu: currentTerm went from %llu to %llu",
					 ID(n->id), ID(n->last.currentTerm), ID(st.currentTerm));
		if (st.commitIndex < n->last.commitIndex)
			sim_fail(s, "commit-monotonic", "n%llu: commitIndex went from %llu back to %llu",
					 ID(n->id), ID(n->last.commitIndex), ID(st.commitIndex));
		if (d->applied > st.commitIndex || st.lastApplied > st.commitIndex)
			sim_fail(s, "applied-le-commit", "n%llu: applied %llu (core says %llu) beyond commitIndex %llu",
					 ID(n->id), ID(d->applied), ID(st.lastApplied), ID(st.commitIndex));
		if (st.commitIndex > st.lastLogIndex)
			sim_fail(s, "host-protocol", "n%llu: commitIndex %llu beyond its last log index %llu",
					 ID(n->id), ID(st.commitIndex), ID(st.lastLogIndex));

		if (!raft_has_ready(n->raft))
		{
			/* everything was handed out: the disk mirrors the core */
			if (st.currentTerm != d->hs.currentTerm || st.votedFor != d->hs.votedFor)
				sim_fail(s, "host-protocol", "n%llu: term %llu vote %llu in the core, but the host was given term %llu vote %llu",
						 ID(n->id), ID(st.currentTerm), ID(st.votedFor),
						 ID(d->hs.currentTerm), ID(d->hs.votedFor));
			if (st.lastLogIndex != sim_disk_last_index(d) ||
				st.lastLogTerm != sim_disk_term_at(d, sim_disk_last_index(d)))
				sim_fail(s, "host-protocol", "n%llu: log ends at %llu/%llu in the core, but the host was given %llu/%llu",
						 ID(n->id), ID(st.lastLogIndex), ID(st.lastLogTerm),
						 ID(sim_disk_last_index(d)),
						 ID(sim_disk_term_at(d, sim_disk_last_index(d))));
			if (st.lastApplied != d->applied)
				sim_fail(s, "host-protocol", "n%llu: core says lastApplied %llu, the host applied %llu",
						 ID(n->id), ID(st.lastApplied), ID(d->applied));
			observe_commit(s, n, &st);
			if (st.role == RAFT_LEADER)
				check_leader_completeness(s, n, &st);
			if (full)
				check_log_mirror(s, n);
		}
		if (st.role == RAFT_LEADER)
		{
			unsigned	k;
			unsigned	maxInflight = s->maxInflight ? s->maxInflight : 64;
			raft_progress pr;

			if (st.commitIndex > n->last.commitIndex)
				check_commit_majority(s, n, &st);
			for (k = 0; k < st.nMembers; k++)
			{
				if (!raft_get_progress(n->raft, k, &pr))
					sim_fail(s, "core-api", "n%llu leads but raft_get_progress(%u) fails", ID(n->id), k);
				if (pr.inflight > maxInflight)
					sim_fail(s, "flow-control", "n%llu: %u AppendEntries in flight to n%llu, maxInflight is %u",
							 ID(n->id), pr.inflight, ID(pr.id), maxInflight);
				if (pr.matchIndex > st.lastLogIndex)
					sim_fail(s, "host-protocol", "n%llu: matchIndex of n%llu is %llu beyond the leader's log (%llu)",
							 ID(n->id), ID(pr.id), ID(pr.matchIndex), ID(st.lastLogIndex));
			}
		}
		check_compacted(s, n, &st);
		n->last = st;
	}
	check_compaction_held_everywhere(s);
}
