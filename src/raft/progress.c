/*
 * progress.c — the leader's view of each follower: Figure 2's nextIndex[]
 * and matchIndex[], plus flow control.  One per member of the leader's
 * configuration, voters and learners alike (learners are replicated to
 * like followers; only the commit rule tells them apart), rebuilt when the
 * configuration changes (raft_progress_rebuild).
 *
 * A follower is in one of two states (as in etcd-io/raft):
 *   PROBE      we do not know where its log matches ours; send one
 *              AppendEntries and wait for the answer before the next, moving
 *              nextIndex back with the follower's conflict hint.
 *   REPLICATE  its log matches up to matchIndex; stream AppendEntries
 *              optimistically (nextIndex runs ahead of matchIndex), at most
 *              maxInflight messages unacknowledged.
 * The inflight ring holds the last index of each unacknowledged message, so
 * an acknowledgement of index i frees every message ending at or before i.
 *
 * matchIndex only grows within a term, except when the follower is found
 * to have lost what it acknowledged (raft_progress_went_back): the leader
 * must not go on counting entries it no longer holds.
 */
#include <string.h>

#include "raft_int.h"

/* A member's progress as a new leader starts it (Figure 2): nextIndex = last + 1, matchIndex = 0. */
static void
progress_start(raft_peer_progress *pr, raft_node_id id, raft_index last)
{
	raft_index *inflight = pr->inflight;
	uint64_t	regressions = pr->regressions;

	memset(pr, 0, sizeof(*pr));
	pr->id = id;
	pr->inflight = inflight;
	/* counted over the node's life */
	pr->regressions = regressions;
	pr->nextIndex = last + 1;
	pr->removed = false;
	pr->removedBeats = 0;
	pr->removedAcked = false;
	pr->state = RAFT_PROGRESS_PROBE;
}

/*
 * One progress per member of the configuration, in its order, then one per
 * member the configuration removed (raft_config_removed_ids), whom the
 * leader goes on replicating to until they know (raft_progress_prune_removed).
 * On election (reset) every one starts afresh; on a change of configuration
 * a leader keeps what it knows of the members that stay and of those just
 * removed, a new member starts probing at lastIndex + 1, the rest is
 * dropped.  RAFT_ENOMEM: the progress is as it was.
 */
int
raft_progress_rebuild(raft_node *node, bool reset)
{
	raft_peer_progress *next;
	raft_index	last = raft_log_last_index(&node->log);
	raft_node_id removedIds[RAFT_MAX_MEMBERS];
	size_t		nRemoved = raft_config_removed_ids(node, removedIds);
	size_t		total = node->nMembers + nRemoved;
	size_t		i,
				j;
	bool	   *kept;

	next = raft_malloc(&node->alloc, (total > 0 ? total : 1) * sizeof(raft_peer_progress));
	kept = raft_malloc(&node->alloc, node->nProgress > 0 ? node->nProgress : 1);
	if (next == NULL || kept == NULL)
	{
		raft_free(&node->alloc, next);
		raft_free(&node->alloc, kept);
		return RAFT_ENOMEM;
	}
	memset(next, 0, (total > 0 ? total : 1) * sizeof(raft_peer_progress));
	memset(kept, 0, node->nProgress > 0 ? node->nProgress : 1);
	for (i = 0; i < total; i++)
	{
		bool		removed = i >= node->nMembers;
		raft_node_id id = removed ? removedIds[i - node->nMembers] : node->members[i].id;

		for (j = 0; j < node->nProgress; j++)
			if (node->progress[j].id == id)
				break;
		if (j < node->nProgress)
		{
			next[i] = node->progress[j];
			kept[j] = true;
			if (reset)
				progress_start(&next[i], id, last);
			if (next[i].removed != removed)
			{
				next[i].removed = removed;
				next[i].removedBeats = 0;
				next[i].removedAcked = false;
			}
			continue;
		}
		next[i].inflight = raft_malloc(&node->alloc, node->maxInflight * sizeof(raft_index));
		if (next[i].inflight == NULL)
		{
			/* give back what was allocated here, keep the rest as it was */
			for (j = 0; j < i; j++)
			{
				size_t		k;
				bool		old = false;

				for (k = 0; k < node->nProgress; k++)
					if (node->progress[k].inflight == next[j].inflight)
						old = true;
				if (!old)
					raft_free(&node->alloc, next[j].inflight);
			}
			raft_free(&node->alloc, next);
			raft_free(&node->alloc, kept);
			return RAFT_ENOMEM;
		}
		progress_start(&next[i], id, last);
		next[i].removed = removed;
	}
	for (j = 0; j < node->nProgress; j++)
		if (!kept[j])
			raft_free(&node->alloc, node->progress[j].inflight);
	raft_free(&node->alloc, kept);
	raft_free(&node->alloc, node->progress);
	node->progress = next;
	node->nProgress = total;
	return RAFT_OK;
}

raft_peer_progress *
raft_progress_removed(const raft_node *node, raft_node_id id)
{
	size_t		i;

	if (node->role != RAFT_LEADER)
		return NULL;
	for (i = node->nMembers; i < node->nProgress; i++)
		if (node->progress[i].id == id)
			return &node->progress[i];
	return NULL;
}

/*
 * A removed member learns its removal committed from our leaderCommit once
 * it holds the entry (then it never stands again, membership.c): once
 * the entry is committed and it acknowledged holding it after we had let
 * it take that commit (removedAcked, replication.c), or RAFT_REMOVED_GRACE_HEARTBEATS
 * heartbeat intervals after the commit (it may be down for good), it is
 * dropped.  heartbeat: one more interval has passed.
 */
void
raft_progress_prune_removed(raft_node *node, bool heartbeat)
{
	size_t		i,
				k;
	bool		committed = node->configIndex <= node->commitIndex;

	if (node->role != RAFT_LEADER)
		return;
	k = node->nMembers;
	for (i = node->nMembers; i < node->nProgress; i++)
	{
		raft_peer_progress *pr = &node->progress[i];

		if (committed && heartbeat)
			pr->removedBeats++;
		if (committed && (pr->removedAcked ||
						  pr->removedBeats > RAFT_REMOVED_GRACE_HEARTBEATS))
		{
			raft_free(&node->alloc, pr->inflight);
			continue;
		}
		if (k != i)
			node->progress[k] = *pr;
		k++;
	}
	node->nProgress = k;
}

void
raft_progress_free(raft_node *node)
{
	size_t		i;

	if (node->progress == NULL)
		return;
	for (i = 0; i < node->nProgress; i++)
		raft_free(&node->alloc, node->progress[i].inflight);
	raft_free(&node->alloc, node->progress);
	node->progress = NULL;
	node->nProgress = 0;
}

void
raft_progress_become_probe(raft_peer_progress *pr)
{
	pr->state = RAFT_PROGRESS_PROBE;
	pr->probeSent = false;
	pr->inflightStart = 0;
	pr->inflightCount = 0;
	/* resume right after what is known to match */
	pr->nextIndex = pr->matchIndex + 1;
}

/* PROBE from nextIndex (not below matchIndex + 1). */
void
raft_progress_probe_at(raft_peer_progress *pr, raft_index nextIndex)
{
	raft_progress_become_probe(pr);
	if (nextIndex > pr->nextIndex)
		pr->nextIndex = nextIndex;
}

void
raft_progress_become_replicate(raft_peer_progress *pr)
{
	pr->state = RAFT_PROGRESS_REPLICATE;
	pr->probeSent = false;
	pr->inflightStart = 0;
	pr->inflightCount = 0;
	pr->nextIndex = pr->matchIndex + 1;
}

bool
raft_progress_inflight_full(const raft_node *node, const raft_peer_progress *pr)
{
	return pr->inflightCount >= node->maxInflight;
}

void
raft_progress_inflight_add(const raft_node *node, raft_peer_progress *pr, raft_index last)
{
	unsigned	slot = (pr->inflightStart + pr->inflightCount) % node->maxInflight;

	pr->inflight[slot] = last;
	pr->inflightCount++;
}

void
raft_progress_inflight_free_to(const raft_node *node, raft_peer_progress *pr, raft_index index)
{
	while (pr->inflightCount > 0 && pr->inflight[pr->inflightStart] <= index)
	{
		pr->inflightStart = (pr->inflightStart + 1) % node->maxInflight;
		pr->inflightCount--;
	}
}

/*
 * A follower acknowledged its log matches ours through matchIndex.  Returns
 * whether this was news: duplicated and reordered acknowledgements must
 * never move matchIndex backwards.
 */
bool
raft_progress_update(raft_peer_progress *pr, raft_index matchIndex)
{
	bool		updated = false;

	if (matchIndex > pr->matchIndex)
	{
		pr->matchIndex = matchIndex;
		updated = true;
	}
	if (pr->nextIndex < matchIndex + 1)
		pr->nextIndex = matchIndex + 1;
	if (pr->regressed && pr->matchIndex >= pr->regressedFrom)
	{
		pr->regressed = false;
		pr->regressedFrom = 0;
	}
	return updated;
}

/*
 * The follower's log no longer holds what it acknowledged: it is known to
 * match only through matchIndex (below the old one).  Keep the highest
 * matchIndex it had until it is back there; the commit notification it is
 * owed follows the lower match.
 *
 * nextIndex does not drop to what the evidence says it holds: while the
 * follower is marked, heartbeats ask again about the old matchIndex
 * (replication.c), and a follower that really went back refuses them, or
 * the AppendEntries after it, and its hint moves nextIndex down as for any
 * refusal, one round trip later.  An answer that was only stale (a network
 * that reorders) is settled by the next acknowledgement, without sending
 * again everything it already holds.
 */
void
raft_progress_went_back(raft_peer_progress *pr, raft_index matchIndex)
{
	if (!pr->regressed || pr->regressedFrom < pr->matchIndex)
		pr->regressedFrom = pr->matchIndex;
	pr->regressed = true;
	pr->regressions++;
	pr->matchIndex = matchIndex;
	pr->matchAtLastHeartbeat = matchIndex;
	if (pr->sentCommit > matchIndex)
		pr->sentCommit = matchIndex;
}
