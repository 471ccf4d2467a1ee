/*
 * election.c — roles, terms and votes (Raft §5.2, §5.4.1), pre-vote and
 * check-quorum (thesis §9.6), and the receiving side of leadership
 * transfer (TimeoutNow, thesis §3.10).
 *
 * Why pre-vote: a node cut off from the cluster keeps timing out; without
 * pre-vote it would raise its term each time and, on return, force the
 * healthy leader to step down.  A pre-candidate asks "would you vote for me
 * at term+1?" without changing anyone's term, and only a node that could
 * win starts a real election.
 *
 * Why check-quorum: a leader that cannot hear from a majority for an
 * election timeout steps down, so clients stop talking to a leader that
 * cannot commit; and it lets followers ignore votes while they hear from a
 * live leader (the "lease"), which a returning node cannot break.
 *
 * The vote floor (raft.h, raft_vote_floor) is here too: a node that lost
 * its state votes and stands for election only once doing so cannot undo
 * what it voted and acknowledged before.
 *
 * Membership (membership.c): only voters of the node's own configuration
 * stand (and a voter that the latest, uncommitted, configuration removed)
 * and are asked for votes; only voters' votes count.  A learner or a node
 * outside its configuration never campaigns (its timer and TimeoutNow
 * start nothing).  A node asked for its vote answers on the log alone:
 * see membership.c for why a learner's refusal could stall a cluster.
 */
#include <string.h>

#include "raft_int.h"

void
raft_reset_election_timer(raft_node *node)
{
	unsigned	span = node->electionTickMax - node->electionTickMin;

	node->electionElapsed = 0;
	node->randomizedElectionTimeout = node->electionTickMin +
		(unsigned) (raft_rand_next(&node->rng) % span);
}

/* ---------------------------------------------------------------------
 * The vote floor
 * --------------------------------------------------------------------- */
bool
raft_vote_floor_held(const raft_node *node)
{
	return node->voteFloor.term != 0 || node->voteFloor.index != 0;
}

/*
 * May this node vote, for another or for itself, in term?  Not in a term
 * it may have voted in before it lost its state.  And not before a leader
 * confirmed its log through floor.index: until then it may lack entries it
 * acknowledged, which may be committed, and its vote could elect a leader
 * that lacks them too.  The length of its log is not enough: an old backup
 * can be as long and hold, at those indexes, entries a later leader
 * replaced.  A leader's match is: the leader of a term >= floor.term holds
 * every entry committed while this node had its state (those were
 * acknowledged in terms <= floor.term), and a match through floor.index
 * makes our log its log up to there.  Entries cut after that are
 * uncommitted ones, as for any follower.  Judged on the in-memory log: a
 * vote leaves only in a batch whose entries the host made durable first.
 */
bool
raft_vote_floor_allows(const raft_node *node, raft_term term)
{
	if (!raft_vote_floor_held(node))
		return true;
	return term > node->voteFloor.term && node->floorMatched;
}

/*
 * Our log matches the current leader's through matchIndex (we are about
 * to say so).  Our term is at least floor.term, since it never goes below
 * it, so this leader counts.
 */
void
raft_vote_floor_note_match(raft_node *node, raft_index matchIndex)
{
	if (raft_vote_floor_held(node) && matchIndex >= node->voteFloor.index)
		node->floorMatched = true;
}

/*
 * Lift the floor once the durable state has passed it: the host drops the
 * floor when raft_status says it no longer holds, so a restart from what
 * is on disk must be safe without it.  A durable term above floor.term,
 * and a durable log that a leader matched through floor.index (a log cut
 * below stableIndex lowers stableIndex, so the durable prefix up to it is
 * the in-memory one).
 */
void
raft_vote_floor_maybe_lift(raft_node *node)
{
	if (raft_vote_floor_held(node) && node->floorMatched &&
		node->persistedHardState.currentTerm > node->voteFloor.term &&
		node->stableIndex >= node->voteFloor.index)
	{
		memset(&node->voteFloor, 0, sizeof(node->voteFloor));
		node->floorMatched = false;
	}
}

static void
reset_votes(raft_node *node)
{
	memset(node->votes, 0, RAFT_MAX_MEMBERS);
}

void
raft_become_follower(raft_node *node, raft_term term, raft_node_id leader)
{
	if (node->role == RAFT_LEADER)
		raft_read_drop_all(node);
	if (term != node->currentTerm)
	{
		/* a new term: no vote cast in it yet (Figure 2, "Rules for Servers") */
		node->currentTerm = term;
		node->votedFor = RAFT_NONE;
	}
	node->role = RAFT_FOLLOWER;
	node->leader = leader;
	node->transferTarget = RAFT_NONE;
	raft_reset_election_timer(node);
}

int
raft_become_leader(raft_node *node)
{
	int			rc;
	int			self = raft_member_slot(node, node->id);

	/* one progress per member: voters and learners */
	rc = raft_progress_rebuild(node, true);
	if (rc == RAFT_OK)
	{
		node->role = RAFT_LEADER;
		node->leader = node->id;
		node->transferTarget = RAFT_NONE;
		node->electionElapsed = 0;
		node->heartbeatElapsed = 0;
		if (self >= 0)
			node->progress[self].recentActive = true;

		/*
		 * A leader cannot know which entries of earlier terms are committed
		 * until it commits one of its own (§5.4.2, §8): append a no-op now.
		 */
		rc = raft_node_append(node, node->currentTerm, RAFT_ENTRY_NOOP, NULL, 0);
	}
	if (rc != RAFT_OK)
	{
		/* cannot lead without the no-op; give the term up cleanly */
		raft_become_follower(node, node->currentTerm, RAFT_NONE);
		return rc;
	}
	return RAFT_OK;
}

static size_t
count_votes(const raft_node *node, uint8_t which)
{
	size_t		i,
				n = 0;

	for (i = 0; i < node->nMembers; i++)
		if (node->members[i].voter && node->votes[i] == which)
			n++;
	return n;
}

/*
 * May this node stand for election now?  RAFT_ERANGE when the term it
 * would stand in is past RAFT_MAX_TERM, or its log is full: as leader it
 * could not append its no-op.  RAFT_EFLOOR when its vote floor forbids
 * the vote for itself (a pre-vote is for that same term).
 */
static int
may_campaign(const raft_node *node)
{
	if (node->currentTerm >= RAFT_MAX_TERM ||
		raft_log_last_index(&node->log) >= RAFT_MAX_INDEX)
		return RAFT_ERANGE;
	if (!raft_vote_floor_allows(node, node->currentTerm + 1))
		return RAFT_EFLOOR;
	return RAFT_OK;
}

/*
 * Begin an election.  With preVote, only poll at term+1; otherwise become
 * candidate: increment currentTerm and vote for self (§5.2).  A node that
 * may not stand (may_campaign) changes nothing and says why.
 */
int
raft_start_election(raft_node *node, bool preVote, bool transfer)
{
	size_t		i;
	raft_term	voteTerm;
	int			rc;

	if (!raft_may_stand(node))
		return RAFT_OK;			/* a learner or not a member: never stands */
	rc = may_campaign(node);
	if (rc != RAFT_OK)
		return rc;

	if (preVote)
	{
		node->role = RAFT_PRE_CANDIDATE;
		voteTerm = node->currentTerm + 1;
	}
	else
	{
		node->role = RAFT_CANDIDATE;
		node->currentTerm++;
		node->votedFor = node->id;
		voteTerm = node->currentTerm;
	}
	node->leader = RAFT_NONE;
	node->transferTarget = RAFT_NONE;
	raft_reset_election_timer(node);
	reset_votes(node);
	/* its own vote counts only if it is a voter (raft_may_stand) */
	if (raft_is_voter(node))
		node->votes[raft_voter_slot(node, node->id)] = 1;

	if (count_votes(node, 1) >= raft_quorum(node))
	{
		/*
		 * A lone voter wins at once, but leads only once its vote for
		 * itself is durable (raft_candidate_maybe_win, from raft_advance):
		 * elsewhere the voters' durable votes make the term its leader's
		 * alone; here only its own does.  A leader that crashed before
		 * that would come back at the term before, win the same term
		 * again and create entries at indexes and terms it had already
		 * given out (to a client, or to a learner) with other contents.
		 */
		if (preVote)
			return raft_start_election(node, false, transfer);
		return raft_candidate_maybe_win(node);
	}

	for (i = 0; i < node->nMembers; i++)
	{
		raft_message m;
		int			r;

		/* only voters are asked */
		if (!node->members[i].voter || node->members[i].id == node->id)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = preVote ? RAFT_MSG_PRE_VOTE : RAFT_MSG_REQUEST_VOTE;
		m.to = node->members[i].id;
		m.lastLogIndex = raft_log_last_index(&node->log);
		m.lastLogTerm = raft_log_last_term(&node->log);
		m.leadershipTransfer = transfer;
		r = raft_send(node, &m);
		/* raft_send stamps currentTerm; a pre-vote asks about the next term */
		if (r == RAFT_OK)
			node->msgs[node->nMsgs - 1].term = voteTerm;
		else
			rc = r;				/* a lost request is a lost message */
	}
	return rc;
}

/*
 * An election the node starts on its own (its timer, TimeoutNow): one it
 * may not stand in is skipped, and waits for the next timeout.  That is
 * no error of the host's call, which must not fail because of it.
 */
static int
start_election_if_allowed(raft_node *node, bool preVote, bool transfer)
{
	int			rc;

	/*
	 * A removed voter that stands (raft_may_stand) always polls first,
	 * pre-vote or not: it must not raise the terms of members that do not
	 * know it was removed unless it can win.
	 */
	if (!transfer && !raft_is_voter(node))
		preVote = true;
	rc = raft_start_election(node, preVote, transfer);

	if (rc == RAFT_ERANGE || rc == RAFT_EFLOOR)
	{
		raft_reset_election_timer(node);
		return RAFT_OK;
	}
	return rc;
}

int
raft_tick_election(raft_node *node)
{
	node->electionElapsed++;
	if (node->electionElapsed >= node->randomizedElectionTimeout)
	{
		/* heard from no leader, granted no vote: try to become leader */
		return start_election_if_allowed(node, node->preVote, false);
	}
	return RAFT_OK;
}

int
raft_tick_leader(raft_node *node)
{
	int			rc = RAFT_OK;

	node->heartbeatElapsed++;
	node->electionElapsed++;

	if (node->electionElapsed >= node->electionTickMin)
	{
		node->electionElapsed = 0;
		if (node->checkQuorum)
		{
			size_t		i,
						active = 0;

			/* voters only; the leader itself while it is one */
			for (i = 0; i < node->nMembers; i++)
			{
				if (node->members[i].voter &&
					(node->members[i].id == node->id || node->progress[i].recentActive))
					active++;
				node->progress[i].recentActive = false;
			}
			if (active < raft_quorum(node))
			{
				raft_become_follower(node, node->currentTerm, RAFT_NONE);
				return RAFT_OK;
			}
		}
		/* a transfer that did not finish within an election timeout is abandoned */
		node->transferTarget = RAFT_NONE;
	}

	if (node->heartbeatElapsed >= node->heartbeatTick)
	{
		size_t		i;

		node->heartbeatElapsed = 0;
		/* removed members that know, or had their time, are no longer sent to */
		raft_progress_prune_removed(node, true);

		/*
		 * A follower in REPLICATE whose matchIndex did not move for a whole
		 * heartbeat interval while entries were outstanding has probably lost
		 * an AppendEntries: fall back to probing from matchIndex + 1.
		 */
		for (i = 0; i < node->nProgress; i++)
		{
			raft_peer_progress *pr = &node->progress[i];

			if (pr->id == node->id)
				continue;
			/* an InstallSnapshot may have been lost: resend, once an interval */
			pr->snapshotSent = false;
			if (pr->state == RAFT_PROGRESS_REPLICATE &&
				pr->inflightCount > 0 &&
				pr->matchIndex == pr->matchAtLastHeartbeat)
				raft_progress_become_probe(pr);
			pr->matchAtLastHeartbeat = pr->matchIndex;
		}
		rc = raft_broadcast_heartbeat(node);
	}
	return rc;
}

static bool
log_is_up_to_date(const raft_node *node, raft_term lastLogTerm, raft_index lastLogIndex)
{
	raft_term	myTerm = raft_log_last_term(&node->log);

	/* §5.4.1: compare the terms of the last entries, then the lengths */
	if (lastLogTerm != myTerm)
		return lastLogTerm > myTerm;
	return lastLogIndex >= raft_log_last_index(&node->log);
}

/* RequestVote and PreVote receiver; the term has been dealt with in raft_step. */
int
raft_handle_vote_request(raft_node *node, const raft_message *m)
{
	raft_message r;
	bool		isPre = (m->type == RAFT_MSG_PRE_VOTE);
	bool		canVote;
	int			rc;

	/*
	 * One vote per term (Figure 2: votedFor is null or candidateId).  A node
	 * that knows a leader for this term has no vote to give.  A pre-vote
	 * for a later term commits to nothing and may be granted freely.
	 */
	canVote = node->votedFor == m->from ||
		(node->votedFor == RAFT_NONE && node->leader == RAFT_NONE) ||
		(isPre && m->term > node->currentTerm);
	/* a node that lost its state may have voted in this term, or lack entries */
	canVote = canVote && raft_vote_floor_allows(node, m->term);

	/*
	 * Not our configuration's business (membership.c): a candidate counts
	 * this vote only if its configuration makes us a voter, one we may
	 * not have seen yet.  Candidates ask voters only, and a node hears
	 * vote requests only from members of its own configuration (raft_step).
	 */

	memset(&r, 0, sizeof(r));
	r.type = isPre ? RAFT_MSG_PRE_VOTE_RESULT : RAFT_MSG_REQUEST_VOTE_RESULT;
	r.to = m->from;
	r.voteGranted = canVote && log_is_up_to_date(node, m->lastLogTerm, m->lastLogIndex);

	if (r.voteGranted && !isPre)
	{
		/* durable before the grant leaves: the host persists before sending */
		node->votedFor = m->from;
		node->electionElapsed = 0;
	}
	rc = raft_send(node, &r);
	/*
	 * A granted pre-vote answers in the asked-for term, so the pre-candidate
	 * can tell it from a stale answer; a refusal carries our own term.
	 */
	if (rc == RAFT_OK && isPre && r.voteGranted)
		node->msgs[node->nMsgs - 1].term = m->term;
	return rc;
}

/*
 * A candidate holding a majority becomes leader once its own vote is
 * durable (the host confirmed it with raft_advance).  A candidate that got
 * votes from others had sent its requests after that already.
 */
int
raft_candidate_maybe_win(raft_node *node)
{
	if (node->role != RAFT_CANDIDATE || count_votes(node, 1) < raft_quorum(node))
		return RAFT_OK;
	if (node->persistedHardState.currentTerm != node->currentTerm ||
		node->persistedHardState.votedFor != node->id)
		return RAFT_OK;
	return raft_become_leader(node);
}

int
raft_handle_vote_result(raft_node *node, const raft_message *m)
{
	int			slot = raft_voter_slot(node, m->from);
	size_t		granted,
				refused;

	if (slot < 0)
		return RAFT_OK;
	if (node->role == RAFT_PRE_CANDIDATE)
	{
		if (m->type != RAFT_MSG_PRE_VOTE_RESULT)
			return RAFT_OK;
		if (m->voteGranted ? m->term != node->currentTerm + 1 : m->term != node->currentTerm)
			return RAFT_OK;		/* an answer to an older poll */
	}
	else if (node->role == RAFT_CANDIDATE)
	{
		if (m->type != RAFT_MSG_REQUEST_VOTE_RESULT || m->term != node->currentTerm)
			return RAFT_OK;
	}
	else
		return RAFT_OK;

	if (node->votes[slot] == 0)
		node->votes[slot] = m->voteGranted ? 1 : 2;

	granted = count_votes(node, 1);
	refused = count_votes(node, 2);
	if (granted >= raft_quorum(node))
	{
		if (node->role == RAFT_PRE_CANDIDATE)
		{
			int			rc = raft_start_election(node, false, false);

			/* the poll was allowed, so the election is; should that change, stand down */
			if (rc == RAFT_ERANGE || rc == RAFT_EFLOOR)
			{
				raft_become_follower(node, node->currentTerm, RAFT_NONE);
				return RAFT_OK;
			}
			return rc;
		}
		return raft_become_leader(node);
	}
	if (refused >= raft_quorum(node))
	{
		/* lost: wait, as a follower, for a fresh random timeout */
		raft_become_follower(node, node->currentTerm, RAFT_NONE);
	}
	return RAFT_OK;
}

int
raft_handle_timeout_now(raft_node *node, const raft_message *m)
{
	(void) m;
	if (node->role == RAFT_LEADER)
		return RAFT_OK;
	/* the leader asked us to take over: skip pre-vote and any lease */
	return start_election_if_allowed(node, false, true);
}

/*
 * The host saw leader's connection closed by the peer (raft.h).  Waiting out
 * the election timeout after the last heartbeat would be pointless: we
 * know no heartbeat is coming.  Forgetting the leader lifts the lease, so
 * we grant the (pre-)votes of whoever campaigns first; shortening our own
 * timer makes that us or a peer within about one election round.
 *
 * Every follower gets the same hint at about the same moment, and equal
 * timers would split the vote (both poll, both win the poll, both stand,
 * each votes for itself), costing a whole election timeout.  So the span
 * is cut into one window per surviving voter, in id order (the same order
 * on every node), and each node draws its delay in its own window: the
 * first poll has the others' votes before their timers fire.  If it fails
 * (its log is behind), the next window's node polls a few ticks later.
 * Only timing and soft state change, so a false hint is harmless to safety.
 */
int
raft_leader_unreachable(raft_node *node, raft_node_id leader)
{
	unsigned	span;
	unsigned	window;
	unsigned	rank = 0;
	unsigned	others = 0;
	unsigned	wanted;
	unsigned	remaining;
	size_t		i;

	if (node == NULL)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (node->role != RAFT_FOLLOWER || leader == RAFT_NONE ||
		leader == node->id || node->leader != leader)
		return RAFT_OK;			/* not our leader: nothing we knew is wrong */

	node->leader = RAFT_NONE;

	span = (node->electionTickMax - node->electionTickMin) / 2;
	if (span == 0)
		span = 1;
	for (i = 0; i < node->nMembers; i++)
	{
		if (!node->members[i].voter || node->members[i].id == leader)
			continue;
		others++;				/* this node included, if a voter */
		if (node->members[i].id < node->id)
			rank++;
	}
	window = others > 0 ? span / others : span;
	if (window == 0)
		window = 1;
	wanted = 1 + rank * window + (unsigned) (raft_rand_next(&node->rng) % window);
	remaining = node->electionElapsed < node->randomizedElectionTimeout ?
		node->randomizedElectionTimeout - node->electionElapsed : 0;
	/* only ever sooner: a timer already closer to firing is left alone */
	if (remaining > wanted)
		node->electionElapsed = node->randomizedElectionTimeout - wanted;
	return RAFT_OK;
}
