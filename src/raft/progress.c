/*
 * progress.c — the leader's view of each follower: Figure 2's nextIndex[]
 * and matchIndex[], plus flow control.
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

int
raft_progress_init(raft_node *node)
{
	size_t		i;

	node->progress = raft_malloc(&node->alloc, node->nVoters * sizeof(raft_peer_progress));
	if (node->progress == NULL)
		return RAFT_ENOMEM;
	memset(node->progress, 0, node->nVoters * sizeof(raft_peer_progress));
	for (i = 0; i < node->nVoters; i++)
	{
		node->progress[i].id = node->voters[i];
		node->progress[i].inflight = raft_malloc(&node->alloc,
												 node->maxInflight * sizeof(raft_index));
		if (node->progress[i].inflight == NULL)
		{
			raft_progress_free(node);
			return RAFT_ENOMEM;
		}
	}
	return RAFT_OK;
}

void
raft_progress_free(raft_node *node)
{
	size_t		i;

	if (node->progress == NULL)
		return;
	for (i = 0; i < node->nVoters; i++)
		raft_free(&node->alloc, node->progress[i].inflight);
	raft_free(&node->alloc, node->progress);
	node->progress = NULL;
}

/* On election (Figure 2): nextIndex = leader's last log index + 1, matchIndex = 0. */
void
raft_progress_reset(raft_node *node)
{
	size_t		i;
	raft_index	last = raft_log_last_index(&node->log);

	for (i = 0; i < node->nVoters; i++)
	{
		raft_peer_progress *pr = &node->progress[i];

		pr->nextIndex = last + 1;
		pr->matchIndex = 0;
		pr->state = RAFT_PROGRESS_PROBE;
		pr->probeSent = false;
		pr->recentActive = false;
		pr->matchAtLastHeartbeat = 0;
		pr->ackedReadSeq = 0;
		pr->sentCommit = 0;
		pr->inflightStart = 0;
		pr->inflightCount = 0;
		/* matchIndex starts again from 0: nothing to have gone back from */
		pr->regressed = false;
		pr->regressedFrom = 0;
	}
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
