/*
 * replication.c — AppendEntries, both sides (Raft §5.3), the commit rule
 * (§5.4.2), heartbeats, and the sending side of leadership transfer.
 * The leader replicates to every member of its configuration, learners
 * included, and commits on a majority of its voters (membership.c).
 *
 * Entry-bearing AppendEntries are built only inside raft_ready_get(), never
 * when a proposal or an acknowledgement arrives: every proposal made since
 * the last batch then travels in one message per follower, and the
 * message's entries can point straight into the log, which cannot change
 * until raft_advance().
 *
 * Heartbeats and commit notifications are empty AppendEntries whose
 * prevLogIndex is the follower's matchIndex: they always pass the
 * consistency check, so they never disturb nextIndex probing, and the
 * follower may take leaderCommit up to that index (Figure 2: "index of last
 * new entry").
 *
 * A follower can take a commit index only up to the last entry of the
 * message that carries it, so sentCommit records min(leaderCommit, that
 * index) for the messages sent.  A commit notification is owed to a
 * follower whose sentCommit is below min(commitIndex, matchIndex): what it
 * holds could be committed and it has not been told.  It is settled in
 * raft_ready_get(), after that batch's entry-bearing AppendEntries were
 * built: when new proposals go out in the same batch, they carry
 * leaderCommit and no extra message is sent.  Followers learn the new
 * commitIndex in the batch that advanced it, or in the batch that processes
 * their acknowledgement when that comes later.
 */
#include <stdlib.h>
#include <string.h>

#include "raft_int.h"

/* ---------------------------------------------------------------------
 * Leader side
 * --------------------------------------------------------------------- */

/* What commit index an AppendEntries lets its follower take (Figure 2, rule 5). */
static void
note_sent_commit(raft_peer_progress *pr, const raft_message *m)
{
	raft_index	last = m->prevLogIndex + m->nEntries;
	raft_index	c = m->leaderCommit < last ? m->leaderCommit : last;

	if (c > pr->sentCommit)
		pr->sentCommit = c;
}

/* Could this follower take a higher commit index than it was sent? */
static bool
commit_notify_owed(const raft_node *node, const raft_peer_progress *pr)
{
	raft_index	c = node->commitIndex < pr->matchIndex ? node->commitIndex : pr->matchIndex;

	return pr->id != node->id && c > pr->sentCommit;
}

static int
send_heartbeat(raft_node *node, raft_peer_progress *pr)
{
	raft_message m;

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_ENTRIES;
	m.to = pr->id;
	/* a follower that seemed to go back is asked about what it had */
	m.prevLogIndex = pr->regressed ? pr->regressedFrom : pr->matchIndex;

	/*
	 * Below our log's start we know no term: ask about the start itself,
	 * which a member that holds it accepts; one that does not refuses, and
	 * is sent InstallSnapshot (it still hears from its leader).
	 */
	if (m.prevLogIndex < node->log.lastIncludedIndex)
		m.prevLogIndex = node->log.lastIncludedIndex;
	/* the term of the entry it names (not of matchIndex: they differ for a regressed follower) */
	m.prevLogTerm = raft_log_term_at(&node->log, m.prevLogIndex);
	m.leaderCommit = node->commitIndex;
	m.readSeq = node->readSeq;
	note_sent_commit(pr, &m);
	return raft_send(node, &m);
}

int
raft_broadcast_heartbeat(raft_node *node)
{
	size_t		i;
	int			rc = RAFT_OK;

	for (i = 0; i < node->nProgress; i++)
	{
		int			r;

		if (node->progress[i].id == node->id)
			continue;
		r = send_heartbeat(node, &node->progress[i]);
		if (r != RAFT_OK)
			rc = r;
	}
	return rc;
}

/* Is some follower owed the current commitIndex? */
bool
raft_wants_commit_notify(const raft_node *node)
{
	size_t		i;

	if (node->role != RAFT_LEADER)
		return false;
	for (i = 0; i < node->nProgress; i++)
		if (commit_notify_owed(node, &node->progress[i]))
			return true;
	return false;
}

/* Settle what raft_wants_commit_notify() found owed (in raft_ready_get). */
int
raft_send_commit_notify(raft_node *node)
{
	size_t		i;

	if (node->role != RAFT_LEADER)
		return RAFT_OK;
	for (i = 0; i < node->nProgress; i++)
	{
		raft_peer_progress *pr = &node->progress[i];

		if (commit_notify_owed(node, pr))
		{
			int			rc = send_heartbeat(node, pr);

			if (rc != RAFT_OK)
				return rc;
		}
	}
	return RAFT_OK;
}

/*
 * The last entry this follower is sent.  A member the configuration
 * removed gets entries only up to the configuration entry that removed it
 * (progress.c): what it needs to learn its removal.  With nothing of a
 * later term, its vote requests stay ones members drop (node.c,
 * heard_from_non_member); with a leader's later entries it could win.
 */
static raft_index
send_limit(const raft_node *node, const raft_peer_progress *pr)
{
	raft_index	last = raft_log_last_index(&node->log);

	if (pr->removed && node->configIndex < last)
		return node->configIndex;
	return last;
}

/*
 * Does this member need entries our log no longer holds (they were
 * compacted)?  Then it gets InstallSnapshot instead of AppendEntries.  Not
 * a member the configuration removed: it needs only to learn its removal.
 */
bool
raft_needs_snapshot(const raft_node *node, const raft_peer_progress *pr)
{
	return pr->id != node->id && !pr->removed &&
		pr->nextIndex <= node->log.lastIncludedIndex;
}

/* An InstallSnapshot is owed: needed, and none went out this heartbeat interval. */
static bool
snapshot_owed(const raft_node *node, const raft_peer_progress *pr)
{
	return raft_needs_snapshot(node, pr) && !pr->snapshotSent;
}

/* InstallSnapshot: our log's start, whose entries the member needs (Figure 5.3, metadata only). */
static int
send_install_snapshot(raft_node *node, raft_peer_progress *pr)
{
	raft_message m;
	int			rc;

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_INSTALL_SNAPSHOT;
	m.to = pr->id;
	m.lastIncludedIndex = node->log.lastIncludedIndex;
	m.lastIncludedTerm = node->log.lastIncludedTerm;
	rc = raft_send(node, &m);
	if (rc == RAFT_OK)
		pr->snapshotSent = true;
	return rc;
}

/* Would send_append() send anything to this follower now? */
static bool
can_send_append(const raft_node *node, const raft_peer_progress *pr)
{
	if (pr->id == node->id)
		return false;
	/* entries before our log's start went into a snapshot: InstallSnapshot */
	if (pr->nextIndex <= node->log.lastIncludedIndex)
		return false;
	if (pr->state == RAFT_PROGRESS_PROBE)
		return !pr->probeSent;
	return pr->nextIndex <= send_limit(node, pr) &&
		!raft_progress_inflight_full(node, pr);
}

bool
raft_wants_append(const raft_node *node)
{
	size_t		i;

	if (node->role != RAFT_LEADER)
		return false;
	for (i = 0; i < node->nProgress; i++)
		if (can_send_append(node, &node->progress[i]) || snapshot_owed(node, &node->progress[i]))
			return true;
	return false;
}

/*
 * Send what this follower is missing: in PROBE one message (possibly empty,
 * to find where logs match), in REPLICATE as many as flow control allows,
 * each up to maxMsgBytes of payload.
 */
static int
send_append(raft_node *node, raft_peer_progress *pr)
{
	raft_index	last = send_limit(node, pr);

	while (can_send_append(node, pr))
	{
		raft_message m;
		raft_index	i;
		size_t		bytes = 0;
		uint32_t	n = 0;
		int			rc;

		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_APPEND_ENTRIES;
		m.to = pr->id;
		m.prevLogIndex = pr->nextIndex - 1;
		m.prevLogTerm = raft_log_term_at(&node->log, m.prevLogIndex);
		m.leaderCommit = node->commitIndex;
		m.readSeq = node->readSeq;
		for (i = pr->nextIndex; i <= last && n < RAFT_MAX_ENTRIES_PER_MESSAGE; i++)
		{
			const raft_entry *e = raft_log_get(&node->log, i);

			/* at least one entry, however large, else stay under the cap */
			if (n > 0 && bytes + e->len > node->maxMsgBytes)
				break;
			bytes += e->len;
			n++;
		}
		m.nEntries = n;
		m.entries = n > 0 ? raft_log_get(&node->log, pr->nextIndex) : NULL;

		rc = raft_send(node, &m);
		if (rc != RAFT_OK)
			return rc;
		note_sent_commit(pr, &m);

		if (pr->state == RAFT_PROGRESS_PROBE)
		{
			pr->probeSent = true;
			break;
		}
		raft_progress_inflight_add(node, pr, m.prevLogIndex + n);
		pr->nextIndex = m.prevLogIndex + n + 1;
	}
	return RAFT_OK;
}

int
raft_send_append_entries_all(raft_node *node)
{
	size_t		i;

	if (node->role != RAFT_LEADER)
		return RAFT_OK;
	for (i = 0; i < node->nProgress; i++)
	{
		int			rc = snapshot_owed(node, &node->progress[i]) ?
			send_install_snapshot(node, &node->progress[i]) :
			send_append(node, &node->progress[i]);

		if (rc != RAFT_OK)
			return rc;
	}
	return RAFT_OK;
}

int
raft_maybe_send_timeout_now(raft_node *node, size_t slot)
{
	raft_message m;
	raft_peer_progress *pr = &node->progress[slot];

	if (node->transferTarget != pr->id ||
		pr->matchIndex != raft_log_last_index(&node->log))
		return RAFT_OK;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_TIMEOUT_NOW;
	m.to = pr->id;
	return raft_send(node, &m);
}

static int
compare_index_desc(const void *a, const void *b)
{
	raft_index	x = *(const raft_index *) a;
	raft_index	y = *(const raft_index *) b;

	return x < y ? 1 : (x > y ? -1 : 0);
}

/*
 * §5.3/§5.4.2: commitIndex = N if a majority has matchIndex >= N and
 * log[N].term == currentTerm.  A majority of the VOTERS of the
 * configuration in use (the latest in the log, committed or not, thesis
 * §4.1): learners never count, and the leader counts itself only while it
 * is a voter, and only up to what its host has made durable.  Entries of
 * earlier terms are never committed by counting replicas; they commit with
 * the first entry of this term.
 */
int
raft_maybe_commit(raft_node *node)
{
	raft_index	stackMatches[16];
	raft_index *matches = stackMatches;
	raft_index	n;
	size_t		i,
				k = 0;
	int			rc = RAFT_OK;

	if (node->role != RAFT_LEADER || node->nVoters == 0)
		return RAFT_OK;
	if (node->nVoters > 16)
	{
		matches = raft_malloc(&node->alloc, node->nVoters * sizeof(raft_index));
		if (matches == NULL)
			return RAFT_ENOMEM;
	}
	for (i = 0; i < node->nMembers; i++)
	{
		if (!node->members[i].voter)
			continue;
		matches[k++] = node->members[i].id == node->id ? node->stableIndex
			: node->progress[i].matchIndex;
	}
	qsort(matches, k, sizeof(raft_index), compare_index_desc);
	n = matches[raft_quorum(node) - 1];
	if (matches != stackMatches)
		raft_free(&node->alloc, matches);

	if (n > node->commitIndex &&
		raft_log_term_at(&node->log, n) == node->currentTerm)
	{
		bool		firstInTerm = !raft_committed_in_current_term(node);

		node->commitIndex = n;
		if (firstInTerm)
			rc = raft_read_on_commit_in_term(node);

		/*
		 * Followers learn the new commit index in the next ready batch, not
		 * a heartbeat later: raft_wants_commit_notify() is now true.
		 */
		if (rc == RAFT_OK)
			rc = raft_config_after_commit(node);
	}
	return rc;
}

/*
 * Does this answer show the follower no longer holds what it acknowledged?
 * Within our term its log only grows past matchIndex: only we append to
 * it, consistently with our log, and it acknowledges only durable
 * entries.  So a log ending below matchIndex, or a refusal at an index it
 * had matched, means it lost state (or came back from an older copy).
 * Over a FIFO link (the host's transport) an answer that arrives after the
 * acknowledgement was sent after it, and the evidence is exact.  A network
 * that reorders can bring an answer sent before it: then matchIndex is
 * lowered for nothing, which is safe (it is a lower bound) and mended by
 * the next acknowledgement.
 */
static bool
follower_went_back(const raft_peer_progress *pr, const raft_message *m)
{
	if (pr->matchIndex == 0)
		return false;
	if (m->lastLogIndex < pr->matchIndex)
		return true;
	return !m->success && m->rejectedIndex <= pr->matchIndex;
}

static void
note_went_back(raft_node *node, raft_peer_progress *pr, raft_index matchIndex)
{
	raft_progress_went_back(pr, matchIndex);
	node->followerRegressions++;
}

int
raft_handle_append_entries_result(raft_node *node, const raft_message *m)
{
	int			slot = raft_member_slot(node, m->from);
	raft_peer_progress *pr;
	int			rc = RAFT_OK;

	/*
	 * A leader hears its members, and the members its latest configuration
	 * removed while it still replicates to them (raft_step drops the others)
	 */
	if (node->role != RAFT_LEADER || m->from == node->id)
		return RAFT_OK;
	pr = slot >= 0 ? &node->progress[slot] : raft_progress_removed(node, m->from);
	if (pr == NULL)
		return RAFT_OK;
	if (pr->removed)
	{
		/* counted nowhere; only its own catching up matters */
		if (m->success)
		{
			raft_progress_update(pr, m->matchIndex);
			raft_progress_inflight_free_to(node, pr, m->matchIndex);
			if (pr->state == RAFT_PROGRESS_PROBE)
				raft_progress_become_replicate(pr);
			if (m->matchIndex >= node->configIndex &&
				node->commitIndex >= node->configIndex &&
				pr->sentCommit >= node->configIndex)
				pr->removedAcked = true;
			raft_progress_prune_removed(node, false);
			return RAFT_OK;
		}
		pr->probeSent = false;
		if (m->rejectedIndex <= pr->matchIndex)
		{
			/* it lost what it had (or the refusal is stale): start over, it is cheap here */
			pr->matchIndex = 0;
			pr->sentCommit = 0;
		}
		else if (pr->state == RAFT_PROGRESS_PROBE && m->rejectedIndex != pr->nextIndex - 1)
			return RAFT_OK;
		raft_progress_become_probe(pr);
		pr->nextIndex = m->conflictIndex < m->rejectedIndex ? m->conflictIndex : m->rejectedIndex;
		if (pr->nextIndex < pr->matchIndex + 1)
			pr->nextIndex = pr->matchIndex + 1;
		return RAFT_OK;
	}
	pr->recentActive = true;
	pr->probeSent = false;		/* an answer: PROBE may send again */

	if (m->readSeq > pr->ackedReadSeq)
	{
		/* any answer at our term confirms we were still leader when it was sent */
		pr->ackedReadSeq = m->readSeq;
		rc = raft_read_check_quorum(node);
		if (rc != RAFT_OK)
			return rc;
	}

	if (!m->success)
	{
		raft_index	next;

		if (follower_went_back(pr, m))
		{
			/* a refusal proves no match at all; probe again where we were */
			note_went_back(node, pr, 0);
			raft_progress_probe_at(pr, pr->nextIndex);
			return RAFT_OK;
		}
		/* stale refusals (duplicated, reordered) must not move nextIndex */
		if (m->rejectedIndex <= pr->matchIndex)
			return RAFT_OK;
		if (pr->state == RAFT_PROGRESS_PROBE && m->rejectedIndex != pr->nextIndex - 1)
			return RAFT_OK;

		/*
		 * Fast back-off (§5.3, last paragraphs): if we hold entries of the
		 * conflicting term, resume after our last one; otherwise skip the
		 * follower's whole conflicting term.
		 */
		next = m->conflictIndex;
		if (m->conflictTerm != 0)
		{
			raft_index	l = raft_log_last_index_of_term(&node->log, m->conflictTerm,
														m->rejectedIndex);

			if (l != 0)
				next = l + 1;
		}
		if (next > m->rejectedIndex)
			next = m->rejectedIndex;
		if (next < pr->matchIndex + 1)
			next = pr->matchIndex + 1;
		if (next < 1)
			next = 1;
		raft_progress_become_probe(pr);
		pr->nextIndex = next;
		return RAFT_OK;
	}

	/* an acknowledgement proves its log matches ours through matchIndex */
	if (follower_went_back(pr, m))
		note_went_back(node, pr, m->matchIndex);
	if (raft_progress_update(pr, m->matchIndex))
	{
		raft_progress_inflight_free_to(node, pr, m->matchIndex);
		if (pr->state == RAFT_PROGRESS_PROBE)
			raft_progress_become_replicate(pr);
		rc = raft_maybe_commit(node);
		if (rc != RAFT_OK)
			return rc;
	}
	else if (pr->state == RAFT_PROGRESS_PROBE && pr->matchIndex == pr->nextIndex - 1)
	{
		/* the probe point matched (e.g. matchIndex 0 on an empty log) */
		raft_progress_become_replicate(pr);
	}
	return raft_maybe_send_timeout_now(node, (size_t) slot);
}

/* ---------------------------------------------------------------------
 * Follower side (Figure 2, AppendEntries RPC, receiver implementation)
 * --------------------------------------------------------------------- */

/*
 * InstallSnapshot receiver (thesis Figure 5.3, the data left to the host);
 * the term rules were applied in raft_step, as for AppendEntries.  If our
 * log already holds lastIncludedIndex with that term (Log Matching: then
 * it holds the leader's prefix), or our commitIndex is at or past it (what
 * is committed is in every later leader's log), answer as to a heartbeat:
 * we match through lastIncludedIndex, and the leader goes on from there.
 * Otherwise the host must install a copy of the state machine; it is told
 * once per distinct request (raft_ready.snapshotNeeded), and a resend of
 * the same one, or of a lower index, changes nothing.
 */
int
raft_handle_install_snapshot(raft_node *node, const raft_message *m)
{
	raft_index	L = m->lastIncludedIndex;

	if (L <= node->log.lastIncludedIndex || node->commitIndex >= L ||
		(L <= raft_log_last_index(&node->log) &&
		 raft_log_term_at(&node->log, L) == m->lastIncludedTerm))
	{
		raft_message r;

		memset(&r, 0, sizeof(r));
		r.type = RAFT_MSG_APPEND_ENTRIES_RESULT;
		r.to = m->from;
		r.success = true;
		r.matchIndex = L;
		r.lastLogIndex = raft_log_last_index(&node->log);
		raft_vote_floor_note_match(node, r.matchIndex);
		return raft_send(node, &r);
	}
	if (node->snapshotNeeded && L <= node->snapshotIndex &&
		node->snapshotLeader == m->from)
		return RAFT_OK;			/* a resend, or an older request */
	node->snapshotNeeded = true;
	node->snapshotLeader = m->from;
	node->snapshotIndex = L;
	node->snapshotTerm = m->lastIncludedTerm;
	node->snapshotReport = true;
	return RAFT_OK;
}
int
raft_handle_append_entries(raft_node *node, const raft_message *m)
{
	raft_message r;
	raft_index	lastNew;
	uint32_t	i;

	memset(&r, 0, sizeof(r));
	r.type = RAFT_MSG_APPEND_ENTRIES_RESULT;
	r.to = m->from;
	r.readSeq = m->readSeq;

	/*
	 * Our log starts after prevLogIndex: what we compacted was committed,
	 * so it is in the leader's log too (Leader Completeness), and matches
	 * it up to lastIncludedIndex.  Say so, and the leader goes on from there.
	 */
	if (m->prevLogIndex < node->log.lastIncludedIndex)
	{
		r.success = true;
		r.matchIndex = node->log.lastIncludedIndex;
		r.lastLogIndex = raft_log_last_index(&node->log);
		raft_vote_floor_note_match(node, r.matchIndex);
		return raft_send(node, &r);
	}

	/* 2. Reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm */
	if (m->prevLogIndex > raft_log_last_index(&node->log) ||
		raft_log_term_at(&node->log, m->prevLogIndex) != m->prevLogTerm)
	{
		r.success = false;
		r.rejectedIndex = m->prevLogIndex;
		r.lastLogIndex = raft_log_last_index(&node->log);
		if (m->prevLogIndex > raft_log_last_index(&node->log))
		{
			r.conflictIndex = raft_log_last_index(&node->log) + 1;
			r.conflictTerm = 0;
		}
		else
		{
			r.conflictTerm = raft_log_term_at(&node->log, m->prevLogIndex);
			r.conflictIndex = raft_log_first_index_of_term(&node->log, m->prevLogIndex);
		}
		return raft_send(node, &r);
	}

	/*
	 * 3. If an existing entry conflicts with a new one (same index, different
	 * term), delete it and all that follow.  4. Append any new entries not
	 * already in the log.  Entries that already match are kept: a delayed
	 * duplicate of an older AppendEntries must not cut off newer entries.
	 */
	for (i = 0; i < m->nEntries; i++)
	{
		const raft_entry *e = &m->entries[i];
		raft_index	idx = m->prevLogIndex + 1 + i;

		if (idx <= raft_log_last_index(&node->log))
		{
			if (raft_log_term_at(&node->log, idx) == e->term)
				continue;
			/* a configuration cut away here falls back to the one before */
			raft_node_truncate(node, idx);
			if (node->stableIndex >= idx)
				node->stableIndex = idx - 1;
		}
		{
			int			rc = raft_node_append(node, e->term, e->type, e->data, e->len);

			if (rc != RAFT_OK)
				return rc;		/* what was appended stays; the leader resends */
		}
	}

	/* 5. If leaderCommit > commitIndex, commitIndex = min(leaderCommit, index of last new entry) */
	lastNew = m->prevLogIndex + m->nEntries;
	if (m->leaderCommit > node->commitIndex)
	{
		raft_index	c = m->leaderCommit < lastNew ? m->leaderCommit : lastNew;

		if (c > node->commitIndex)
			node->commitIndex = c;
	}

	r.success = true;
	r.matchIndex = lastNew;
	r.lastLogIndex = raft_log_last_index(&node->log);
	raft_vote_floor_note_match(node, r.matchIndex);
	return raft_send(node, &r);
}
