/*
 * test_scenarios.c — named, readable scenarios of the Raft core, each the
 * story of one thing Raft promises, told with the in-memory cluster of
 * cluster.h.
 *
 * The stories are the seed notes' (first election, split vote, leader loss,
 * a follower catching up) and the paper's (Figure 8's commit rule), plus
 * the extensions the core implements: pre-vote, check-quorum, leadership
 * transfer, ReadIndex, and restart from disk.  Every test ends by checking
 * that the cluster's host loop saw no safety violation.
 */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "testlib.h"

/* Every scenario ends with this: no safety property was breached. */
#define CHECK_NO_VIOLATIONS(c) CHECK((c)->violations == 0)

/*
 * First election from a cold start, with ticks only: exactly one leader;
 * the others follow it in the same term; the leader's first entry is a
 * no-op of its own term (§5.4.2, §8) and it commits on every node.
 */
static void
test_first_election_from_cold_start(void)
{
	cluster    *c = cl_new(3);
	raft_node_id leader;
	raft_status ls;
	raft_entry	first;
	size_t		i;

	cl_start_all(c);
	leader = cl_run_until_leader(c, 10 * CL_ELECTION_MAX);
	REQUIRE(leader != RAFT_NONE);
	/* a few heartbeats so the commit index reaches every follower */
	cl_run(c, 3 * CL_HEARTBEAT);

	ls = cl_status(c, leader);
	CHECK(cl_count_leaders(c) == 1);
	CHECK(ls.leader == leader);
	for (i = 1; i <= c->n; i++)
	{
		raft_status st = cl_status(c, (raft_node_id) i);

		if (i == leader)
			continue;
		CHECK(st.role == RAFT_FOLLOWER);
		CHECK(st.currentTerm == ls.currentTerm);
		CHECK(st.leader == leader);
	}

	REQUIRE(raft_log_entry(c->node[leader].raft, 1, &first));
	CHECK(first.type == RAFT_ENTRY_NOOP);
	CHECK(first.term == ls.currentTerm);
	for (i = 1; i <= c->n; i++)
	{
		CHECK(cl_status(c, (raft_node_id) i).commitIndex >= 1);
		REQUIRE(c->node[i].sm.n >= 1);
		CHECK(c->node[i].sm.e[0].type == RAFT_ENTRY_NOOP);
		CHECK(c->node[i].sm.e[0].term == ls.currentTerm);
	}
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * Split vote: in a 4-node cluster nodes 1 and 2 campaign in the same term
 * and each gets exactly one other vote (3 votes for 1, 4 votes for 2).
 * Neither reaches a majority of 3, so the term ends without a leader;
 * randomized election timeouts then elect one in a later term.
 */
static void
test_split_vote(void)
{
	cluster    *c = cl_new(4);
	raft_node_id leader;
	size_t		i;

	cl_start_all(c);
	CHECK(cl_campaign(c, 1) == RAFT_OK);
	CHECK(cl_campaign(c, 2) == RAFT_OK);

	/* each candidate's request reaches "its" voter first */
	CHECK(cl_deliver_first(c, 1, 3, RAFT_MSG_REQUEST_VOTE));
	CHECK(cl_deliver_first(c, 2, 4, RAFT_MSG_REQUEST_VOTE));
	cl_deliver_all(c);

	CHECK(cl_status(c, 3).votedFor == 1);
	CHECK(cl_status(c, 4).votedFor == 2);
	CHECK(cl_count_leaders(c) == 0);
	for (i = 1; i <= c->n; i++)
		CHECK(cl_status(c, (raft_node_id) i).currentTerm == 1);

	leader = cl_run_until_leader(c, 20 * CL_ELECTION_MAX);
	REQUIRE(leader != RAFT_NONE);
	CHECK(cl_status(c, leader).currentTerm > 1);
	CHECK(c->leaderOfTerm[1] == RAFT_NONE);	/* nobody ever led term 1 */
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * Leader loss and re-election: the leader is cut off; the other two elect
 * a new leader at a higher term and keep committing.  When the old leader
 * returns it steps down, and the entries it accepted alone while cut off
 * are replaced by the new leader's (they were never committed).
 */
static void
test_leader_loss_and_reelection(void)
{
	cluster    *c = cl_new(3);
	raft_node_id old,
				leader = RAFT_NONE;
	raft_term	oldTerm;
	raft_index	lostIndex;
	unsigned	t;
	size_t		i;

	cl_start_all(c);
	old = cl_run_until_leader(c, 10 * CL_ELECTION_MAX);
	REQUIRE(old != RAFT_NONE);
	oldTerm = cl_status(c, old).currentTerm;
	CHECK(cl_propose(c, old, "a", NULL) == RAFT_OK);
	cl_deliver_all(c);

	cl_isolate(c, old, true);
	CHECK(cl_propose(c, old, "lost-1", &lostIndex) == RAFT_OK);
	CHECK(cl_propose(c, old, "lost-2", NULL) == RAFT_OK);
	cl_deliver_all(c);

	for (t = 0; t < 20 * CL_ELECTION_MAX; t++)
	{
		cl_tick_all(c);
		leader = cl_leader(c);
		if (leader != old && leader != RAFT_NONE)
			break;
	}
	REQUIRE(leader != old && leader != RAFT_NONE);
	CHECK(cl_status(c, leader).currentTerm > oldTerm);
	CHECK(cl_propose(c, leader, "new", NULL) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);

	cl_heal(c);
	cl_run(c, 3 * CL_ELECTION_MAX);

	CHECK(cl_status(c, old).role == RAFT_FOLLOWER);
	CHECK(cl_status(c, old).currentTerm == cl_status(c, leader).currentTerm);
	CHECK(cl_status(c, old).leader == leader);
	CHECK(cl_is_leader(c, leader));
	CHECK(cl_term_at(c, old, lostIndex) != oldTerm);
	CHECK(cl_same_log(c, old, leader));
	for (i = 1; i <= c->n; i++)
	{
		CHECK(!cl_applied_data(c, (raft_node_id) i, "lost-1"));
		CHECK(!cl_applied_data(c, (raft_node_id) i, "lost-2"));
		CHECK(cl_applied_data(c, (raft_node_id) i, "new"));
	}
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/* What the catch-up scenario saw on the wire to the returning follower. */
typedef struct catchup_stats
{
	raft_node_id follower;
	size_t		maxMsgBytes;
	unsigned	appendsWithEntries;
	unsigned	maxEntries;
	unsigned	overCap;		/* multi-entry messages above maxMsgBytes */
	unsigned	rejections;
} catchup_stats;

static void
catchup_on_send(cluster *c, const raft_message *m, void *arg)
{
	catchup_stats *s = arg;
	size_t		cap = s->maxMsgBytes == 0 ? 1024 * 1024 : s->maxMsgBytes;

	(void) c;
	if (m->type == RAFT_MSG_APPEND_ENTRIES && m->to == s->follower && m->nEntries > 0)
	{
		s->appendsWithEntries++;
		if (m->nEntries > s->maxEntries)
			s->maxEntries = m->nEntries;
		if (m->nEntries > 1 && cl_msg_payload(m) > cap)
			s->overCap++;
	}
	if (m->type == RAFT_MSG_APPEND_ENTRIES_RESULT && m->from == s->follower && !m->success)
		s->rejections++;
}

/*
 * Node 3 is down while 200 entries commit.  It restarts just as node 2
 * takes over: the new leader knows nothing of node 3, starts its
 * nextIndex at its own log's end (Figure 2) and must back off to node 3's
 * log.  Returns the number of entry-bearing AppendEntries node 3 needed.
 */
static unsigned
run_follower_catch_up(size_t maxMsgBytes, catchup_stats *s)
{
	cluster    *c = cl_new(3);
	char		payload[101];
	raft_progress pr;
	raft_status ls,
				fs;
	bool		elected;
	int			k;
	size_t		i;

	memset(s, 0, sizeof(*s));
	s->follower = 3;
	s->maxMsgBytes = maxMsgBytes;
	for (i = 1; i <= c->n; i++)
		c->node[i].cfg.maxMsgBytes = maxMsgBytes;
	cl_start_all(c);
	elected = cl_elect(c, 1);
	CHECK(elected);
	if (!elected)
	{
		cl_free(c);
		return 0;
	}

	cl_crash(c, 3);
	memset(payload, 'x', 100);
	payload[100] = '\0';
	for (k = 0; k < 200; k++)
	{
		CHECK(cl_propose(c, 1, payload, NULL) == RAFT_OK);
		cl_deliver_all(c);
	}
	CHECK(cl_status(c, 1).commitIndex == 201);	/* no-op + 200 */

	/* node 3 comes back; node 2 (whose log is complete) takes over */
	c->onSend = catchup_on_send;
	c->onSendArg = s;
	CHECK(cl_start(c, 3) == RAFT_OK);
	CHECK(cl_elect(c, 2));
	cl_run(c, 4 * CL_HEARTBEAT);

	ls = cl_status(c, 2);
	fs = cl_status(c, 3);
	CHECK(ls.role == RAFT_LEADER);
	CHECK(fs.lastLogIndex == ls.lastLogIndex);
	CHECK(fs.commitIndex == ls.commitIndex);
	CHECK(c->node[3].applied == ls.commitIndex);
	CHECK(cl_same_log(c, 2, 3));
	CHECK(raft_get_progress(c->node[2].raft, 2, &pr));
	CHECK(pr.id == 3 && pr.matchIndex == ls.lastLogIndex);

	/* fast back-off: a rejection or two, not one per missing entry */
	CHECK(s->rejections >= 1);
	CHECK(s->rejections <= 2);
	CHECK(s->maxEntries > 1);	/* catching up moves entries in batches */
	CHECK(s->overCap == 0);
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
	return s->appendsWithEntries;
}

/*
 * A follower catching up: with the default 1 MiB cap a few big batches
 * do; with maxMsgBytes = 1000 (ten 100-byte entries, plus any 0-byte
 * no-op) it takes at least 20 messages, each within the cap.
 */
static void
test_follower_catch_up(void)
{
	catchup_stats big,
				small;
	unsigned	nBig = run_follower_catch_up(0, &big);
	unsigned	nSmall = run_follower_catch_up(1000, &small);

	CHECK(nBig >= 1);
	CHECK(nSmall >= 20);
	CHECK(nSmall > nBig);
	/* the cap is on bytes (run_follower_catch_up checks each message's payload) */
	CHECK(small.maxEntries < big.maxEntries);
	CHECK(big.overCap == 0 && small.overCap == 0);
}

/* ---------------------------------------------------------------------
 * Figure 8 of the Raft paper (§5.4.2)
 *
 * Five servers S1..S5, all holding index 1 of term 1, committed.  Each new
 * leader appends a no-op, which plays the paper's "new entry":
 *   (a) S1 leads term 2; its index 2 (term 2) reaches S2 only.
 *   (b) S1 crashes; S5 leads term 3 (votes of S3, S4) and appends index 2
 *       (term 3), which reaches nobody; S5 crashes.
 *   (c) S1 restarts and leads term 4; index 2 (term 2) reaches S3 as well:
 *       S1, S2, S3 — a majority — store it, and S1 knows it, yet it must
 *       NOT be committed: S1's own index 3 (term 4) is on S1 only.
 * Then either
 *   (d) S1 crashes; S5 can be elected (term 5, votes of S2, S3, S4) and
 *       overwrites index 2 with its term-3 entry — which is why (c) must
 *       not have committed it; or
 *   (e) S1 replicates an entry of term 4 on a majority first: that commits
 *       index 2 with it, and S5 can no longer be elected.
 * The network is scripted with a filter; followers never tick, so every
 * election happens exactly when raft_campaign says.
 * --------------------------------------------------------------------- */
typedef enum fig8_phase
{
	FIG8_A,						/* S1's entries reach S2 only */
	FIG8_B,						/* S5's entries reach nobody */
	FIG8_C,						/* S1's entries up to index 2 reach S2, S3 */
	FIG8_E,						/* S1's entries reach S2, S3 */
	FIG8_OPEN					/* no filter */
} fig8_phase;

static bool
fig8_filter(cluster *c, cl_msg *msg, void *arg)
{
	fig8_phase	phase = *(const fig8_phase *) arg;
	raft_message *m = &msg->m;
	uint32_t	keep;

	(void) c;
	if (m->type != RAFT_MSG_APPEND_ENTRIES)
		return true;			/* votes travel freely */
	switch (phase)
	{
		case FIG8_A:
			return !(m->from == 1 && m->to != 2);
		case FIG8_B:
			return m->from != 5;
		case FIG8_C:
			if (m->from == 1 && (m->to == 4 || m->to == 5))
				return false;
			/* a prefix of an AppendEntries is one the leader could have sent */
			for (keep = 0; keep < m->nEntries && m->prevLogIndex + 1 + keep <= 2; keep++)
				;
			cl_msg_truncate(msg, keep);
			return true;
		case FIG8_E:
			return !(m->from == 1 && (m->to == 4 || m->to == 5));
		case FIG8_OPEN:
			return true;
	}
	return true;
}

/* Bring the five servers to state (c); false if the script went astray. */
static bool
figure8_to_state_c(cluster *c, fig8_phase *phase)
{
	raft_progress pr;
	size_t		i;
	int			k;

	for (i = 1; i <= c->n; i++)
		cl_seed_entry(c, (raft_node_id) i, 1, "x", true);
	cl_start_all(c);
	c->filter = fig8_filter;
	c->filterArg = phase;

	/* (a) */
	*phase = FIG8_A;
	if (!cl_elect(c, 1))
		return false;
	CHECK(cl_status(c, 1).currentTerm == 2);
	CHECK(cl_term_at(c, 1, 2) == 2);
	CHECK(cl_term_at(c, 2, 2) == 2);
	CHECK(cl_status(c, 3).lastLogIndex == 1);
	CHECK(cl_status(c, 1).commitIndex == 1);

	/* (b) */
	cl_crash(c, 1);
	*phase = FIG8_B;
	if (!cl_elect(c, 5))
		return false;
	CHECK(cl_status(c, 5).currentTerm == 3);
	CHECK(cl_term_at(c, 5, 2) == 3);
	cl_crash(c, 5);

	/*
	 * (c) S1 restarts at term 2.  Its first campaign (term 3) fails: S3 and
	 * S4 already voted for S5 in term 3.  The second (term 4) wins.
	 */
	*phase = FIG8_C;
	CHECK(cl_start(c, 1) == RAFT_OK);
	CHECK(!cl_elect(c, 1));
	CHECK(cl_status(c, 1).currentTerm == 3);
	if (!cl_elect(c, 1))
		return false;
	CHECK(cl_status(c, 1).currentTerm == 4);
	CHECK(cl_term_at(c, 1, 3) == 4);	/* S1's no-op of term 4 */
	for (k = 0; k < 3; k++)
	{
		cl_tick(c, 1);			/* heartbeats; only the leader ticks */
		cl_deliver_all(c);
	}

	CHECK(cl_term_at(c, 2, 2) == 2);
	CHECK(cl_term_at(c, 3, 2) == 2);
	CHECK(cl_status(c, 2).lastLogIndex == 2);
	CHECK(cl_status(c, 3).lastLogIndex == 2);
	/* the leader knows S2 and S3 store index 2 ... */
	CHECK(raft_get_progress(c->node[1].raft, 1, &pr) && pr.matchIndex == 2);
	CHECK(raft_get_progress(c->node[1].raft, 2, &pr) && pr.matchIndex == 2);
	/* ... and still must not commit it by counting replicas */
	CHECK(cl_status(c, 1).commitIndex == 1);
	for (i = 1; i <= c->n; i++)
		CHECK(c->node[i].applied == 1);
	return true;
}

/* Figure 8 (c) then (d): the majority-stored entry of term 2 was rightly left uncommitted. */
static void
test_figure8_old_term_entry_not_committed_then_overwritten(void)
{
	cluster    *c = cl_new(5);
	fig8_phase	phase = FIG8_A;
	raft_node_id id;
	int			k;

	REQUIRE(figure8_to_state_c(c, &phase));

	/* (d) S1 crashes; S5 restarts at term 3: term 4 is taken, term 5 wins */
	cl_crash(c, 1);
	phase = FIG8_OPEN;
	CHECK(cl_start(c, 5) == RAFT_OK);
	CHECK(!cl_elect(c, 5));
	REQUIRE(cl_elect(c, 5));
	CHECK(cl_status(c, 5).currentTerm == 5);
	for (k = 0; k < 3; k++)
	{
		cl_tick(c, 5);
		cl_deliver_all(c);
	}

	for (id = 2; id <= 5; id++)
	{
		CHECK(cl_term_at(c, id, 2) == 3);	/* S2, S3: overwritten */
		REQUIRE(c->node[id].sm.n >= 2);
		CHECK(c->node[id].sm.e[1].term == 3);
	}
	CHECK(c->chosen.n >= 2 && c->chosen.e[1].term == 3);
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/* Figure 8 (c) then (e): an entry of the leader's own term commits the old one with it. */
static void
test_figure8_current_term_entry_commits_old_one(void)
{
	cluster    *c = cl_new(5);
	fig8_phase	phase = FIG8_A;
	raft_index	idx;
	raft_node_id id;
	int			k;

	REQUIRE(figure8_to_state_c(c, &phase));

	/* (e) */
	phase = FIG8_E;
	CHECK(cl_propose(c, 1, "e", &idx) == RAFT_OK);
	CHECK(idx == 4);
	for (k = 0; k < 2 * CL_ELECTION_MIN; k++)
	{
		cl_tick(c, 1);
		cl_deliver_all(c);
	}
	CHECK(cl_status(c, 1).commitIndex == 4);
	for (id = 1; id <= 3; id++)
	{
		REQUIRE(c->node[id].sm.n == 4);
		CHECK(c->node[id].sm.e[1].term == 2);	/* index 2, term 2: committed now */
		CHECK(c->node[id].sm.e[3].term == 4);
	}

	/* S1 crashes; S5 (last entry: index 2, term 3) cannot win any more */
	cl_crash(c, 1);
	phase = FIG8_OPEN;
	CHECK(cl_start(c, 5) == RAFT_OK);
	CHECK(!cl_elect(c, 5));		/* term 4: everyone voted for S1 */
	CHECK(!cl_elect(c, 5));		/* term 5: S2, S3 have a more up-to-date log */
	CHECK(cl_term_at(c, 2, 2) == 2);
	CHECK(cl_term_at(c, 3, 2) == 2);
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * Pre-vote: a follower cut off for a long time only polls (pre-candidate)
 * and never raises its term; when it returns, the healthy leader keeps
 * leading in the same term.  Here its log is as up to date as anyone's,
 * so what stops it is the others' recent contact with the leader
 * (check-quorum's lease, thesis §9.6).
 */
static void
test_prevote_partitioned_node_does_not_disrupt(void)
{
	cluster    *c = cl_new(3);
	raft_node_id leader,
				loner;
	raft_term	term;
	unsigned	t;
	bool		termRose = false;

	cl_set_options(c, true, true);
	cl_start_all(c);
	leader = cl_run_until_leader(c, 10 * CL_ELECTION_MAX);
	REQUIRE(leader != RAFT_NONE);
	cl_run(c, CL_ELECTION_MAX);
	term = cl_status(c, leader).currentTerm;
	loner = leader == 3 ? 1 : 3;

	cl_isolate(c, loner, true);
	for (t = 0; t < 10 * CL_ELECTION_MAX; t++)
	{
		cl_tick_all(c);
		if (cl_status(c, loner).currentTerm != term)
			termRose = true;
	}
	CHECK(!termRose);
	CHECK(cl_status(c, loner).role == RAFT_PRE_CANDIDATE);
	CHECK(cl_is_leader(c, leader));

	cl_heal(c);
	cl_run(c, 3 * CL_ELECTION_MAX);
	CHECK(cl_is_leader(c, leader));
	CHECK(cl_status(c, leader).currentTerm == term);
	CHECK(cl_status(c, loner).role == RAFT_FOLLOWER);
	CHECK(cl_status(c, loner).currentTerm == term);
	CHECK(cl_status(c, loner).leader == leader);
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * Pre-vote without check-quorum: the cluster keeps committing while the
 * node is away, so on return its stale log loses every poll; it never
 * raises its term and the leader is not deposed.
 */
static void
test_prevote_stale_node_rejoins_quietly(void)
{
	cluster    *c = cl_new(3);
	raft_node_id leader,
				loner;
	raft_term	term;
	unsigned	t;
	bool		termRose = false;
	char		buf[16];
	int			k;

	cl_set_options(c, true, false);
	cl_start_all(c);
	leader = cl_run_until_leader(c, 10 * CL_ELECTION_MAX);
	REQUIRE(leader != RAFT_NONE);
	term = cl_status(c, leader).currentTerm;
	loner = leader == 3 ? 1 : 3;

	cl_isolate(c, loner, true);
	for (k = 0; k < 5; k++)
	{
		snprintf(buf, sizeof(buf), "w%d", k);
		CHECK(cl_propose(c, leader, buf, NULL) == RAFT_OK);
	}
	for (t = 0; t < 10 * CL_ELECTION_MAX; t++)
	{
		cl_tick_all(c);
		if (cl_status(c, loner).currentTerm != term)
			termRose = true;
	}
	CHECK(!termRose);
	CHECK(cl_status(c, loner).role == RAFT_PRE_CANDIDATE);

	cl_heal(c);
	cl_run(c, 3 * CL_ELECTION_MAX);
	CHECK(cl_is_leader(c, leader));
	CHECK(cl_status(c, leader).currentTerm == term);
	CHECK(cl_status(c, loner).currentTerm == term);
	CHECK(cl_same_log(c, leader, loner));
	CHECK(cl_applied_data(c, loner, "w4"));
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * Check-quorum: a leader that cannot hear from a majority steps down
 * within about an election timeout, instead of leading (and accepting
 * proposals) forever in a minority.
 */
static void
test_check_quorum_isolated_leader_steps_down(void)
{
	cluster    *c = cl_new(3);
	raft_node_id leader;
	unsigned	t;

	cl_set_options(c, false, true);
	cl_start_all(c);
	leader = cl_run_until_leader(c, 10 * CL_ELECTION_MAX);
	REQUIRE(leader != RAFT_NONE);
	cl_run(c, CL_ELECTION_MAX);

	cl_isolate(c, leader, true);
	for (t = 0; t < 4 * CL_ELECTION_MAX && cl_is_leader(c, leader); t++)
		cl_tick(c, leader);
	CHECK(!cl_is_leader(c, leader));
	CHECK(t <= 2 * CL_ELECTION_MAX);
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/* Check-quorum's other half: a leader that still reaches a majority stays. */
static void
test_check_quorum_leader_with_majority_stays(void)
{
	cluster    *c = cl_new(3);
	raft_node_id leader,
				other;
	raft_term	term;
	unsigned	t;
	bool		lost = false;

	cl_set_options(c, false, true);
	cl_start_all(c);
	leader = cl_run_until_leader(c, 10 * CL_ELECTION_MAX);
	REQUIRE(leader != RAFT_NONE);
	term = cl_status(c, leader).currentTerm;
	other = leader == 3 ? 1 : 3;

	/* one follower unreachable: the leader still has a majority (itself + one) */
	cl_cut_link(c, leader, other, true);
	for (t = 0; t < 10 * CL_ELECTION_MAX; t++)
	{
		cl_tick_all(c);
		if (!cl_is_leader(c, leader) || cl_status(c, leader).currentTerm != term)
			lost = true;
	}
	CHECK(!lost);
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * Leadership transfer to an up-to-date follower: TimeoutNow makes it
 * campaign at once, so it leads at term + 1 without waiting for any
 * timeout; meanwhile the old leader refuses proposals (RAFT_EBUSY).
 */
static void
test_transfer_to_caught_up_follower(void)
{
	cluster    *c = cl_new(3);
	raft_term	term;
	raft_progress pr;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	CHECK(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	cl_deliver_all(c);
	term = cl_status(c, 1).currentTerm;
	CHECK(raft_get_progress(c->node[1].raft, 1, &pr) &&
		  pr.matchIndex == cl_status(c, 1).lastLogIndex);

	CHECK(raft_transfer_leadership(c->node[1].raft, 2) == RAFT_OK);
	cl_process(c, 1);
	CHECK(cl_status(c, 1).transferTarget == 2);
	CHECK(cl_count_msgs(c, 1, 2, RAFT_MSG_TIMEOUT_NOW) == 1);
	CHECK(cl_propose(c, 1, "during", NULL) == RAFT_EBUSY);

	cl_deliver_all(c);			/* no ticks: nothing but the transfer happens */
	CHECK(cl_is_leader(c, 2));
	CHECK(cl_status(c, 2).currentTerm == term + 1);
	CHECK(cl_status(c, 1).role == RAFT_FOLLOWER);
	CHECK(cl_status(c, 1).leader == 2);
	CHECK(cl_status(c, 3).leader == 2);
	CHECK(!cl_applied_data(c, 2, "during"));
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

typedef struct transfer_watch
{
	bool		sawTimeoutNow;
	raft_index	targetLast;		/* target's last index when TimeoutNow arrived */
	raft_index	leaderLast;
} transfer_watch;

static bool
transfer_filter(cluster *c, cl_msg *msg, void *arg)
{
	transfer_watch *w = arg;

	if (msg->m.type == RAFT_MSG_TIMEOUT_NOW && !w->sawTimeoutNow)
	{
		w->sawTimeoutNow = true;
		w->targetLast = cl_status(c, msg->m.to).lastLogIndex;
		w->leaderLast = cl_status(c, msg->m.from).lastLogIndex;
	}
	return true;
}

/*
 * Leadership transfer to a lagging follower: the leader first brings it
 * up to date and only then sends TimeoutNow (a target missing entries
 * could not win, §3.10); proposals are refused meanwhile.
 */
static void
test_transfer_to_lagging_follower_catches_it_up_first(void)
{
	cluster    *c = cl_new(3);
	transfer_watch w;
	raft_term	term;
	unsigned	t;
	int			k;

	memset(&w, 0, sizeof(w));
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	term = cl_status(c, 1).currentTerm;
	cl_cut_link(c, 1, 3, true);
	for (k = 0; k < 20; k++)
		CHECK(cl_propose(c, 1, "lagging", NULL) == RAFT_OK);
	cl_deliver_all(c);
	cl_heal(c);
	REQUIRE(cl_status(c, 3).lastLogIndex < cl_status(c, 1).lastLogIndex);

	c->filter = transfer_filter;
	c->filterArg = &w;
	CHECK(raft_transfer_leadership(c->node[1].raft, 3) == RAFT_OK);
	cl_process(c, 1);
	CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_TIMEOUT_NOW) == 0);
	CHECK(cl_propose(c, 1, "during", NULL) == RAFT_EBUSY);

	for (t = 0; t < CL_ELECTION_MIN && !cl_is_leader(c, 3); t++)
		cl_tick_all(c);
	CHECK(cl_is_leader(c, 3));
	CHECK(cl_status(c, 3).currentTerm == term + 1);
	CHECK(w.sawTimeoutNow);
	CHECK(w.targetLast == w.leaderLast);
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * ReadIndex on the leader (thesis §6.4): the read point is the commit
 * index at request time, handed out only once a heartbeat round shows a
 * majority still follows this leader.  Five nodes, so that one answer is
 * not yet a majority and two are.
 */
static void
test_read_index_on_leader(void)
{
	cluster    *c = cl_new(5);
	raft_index	commitAtRequest;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	CHECK(cl_propose(c, 1, "w", NULL) == RAFT_OK);
	cl_deliver_all(c);
	commitAtRequest = cl_status(c, 1).commitIndex;
	CHECK(commitAtRequest == 2);

	CHECK(raft_read_index(c->node[1].raft, 42) == RAFT_OK);
	cl_process(c, 1);
	CHECK(c->node[1].nReads == 0);
	CHECK(cl_count_msgs(c, 1, 2, RAFT_MSG_APPEND_ENTRIES) >= 1);

	/* node 2 answers the heartbeat: with the leader, 2 of 5 */
	CHECK(cl_deliver_first(c, 1, 2, RAFT_MSG_APPEND_ENTRIES));
	CHECK(cl_deliver_first(c, 2, 1, RAFT_MSG_APPEND_ENTRIES_RESULT));
	CHECK(c->node[1].nReads == 0);

	/* node 3's heartbeat arrives, its answer is not back yet */
	CHECK(cl_deliver_first(c, 1, 3, RAFT_MSG_APPEND_ENTRIES));
	CHECK(c->node[1].nReads == 0);

	/* node 3's answer makes 3 of 5 */
	CHECK(cl_deliver_first(c, 3, 1, RAFT_MSG_APPEND_ENTRIES_RESULT));
	REQUIRE(c->node[1].nReads == 1);
	CHECK(c->node[1].reads[0].requestId == 42);
	CHECK(c->node[1].reads[0].readIndex == commitAtRequest);
	cl_deliver_all(c);
	CHECK(c->node[1].nReads == 1);
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/* ReadIndex on a follower: it asks the leader, who confirms with a heartbeat round first. */
static void
test_read_index_on_follower(void)
{
	cluster    *c = cl_new(3);
	raft_index	commitAtRequest;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	CHECK(cl_propose(c, 1, "w", NULL) == RAFT_OK);
	cl_run(c, CL_HEARTBEAT);
	commitAtRequest = cl_status(c, 1).commitIndex;

	CHECK(raft_read_index(c->node[2].raft, 7) == RAFT_OK);
	cl_process(c, 2);
	CHECK(c->node[2].nReads == 0);
	CHECK(cl_deliver_first(c, 2, 1, RAFT_MSG_READ_INDEX));
	/* the leader must confirm its leadership before answering */
	CHECK(cl_count_msgs(c, 1, 2, RAFT_MSG_READ_INDEX_RESULT) == 0);
	CHECK(c->node[2].nReads == 0);

	cl_deliver_all(c);
	REQUIRE(c->node[2].nReads == 1);
	CHECK(c->node[2].reads[0].requestId == 7);
	CHECK(c->node[2].reads[0].readIndex == commitAtRequest);
	CHECK(c->node[1].nReads == 0);	/* the answer went to the follower's host only */
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * A new leader does not know what earlier terms committed until its own
 * no-op commits (thesis §6.4 step 1): a read asked before then waits and
 * gets a read index covering the no-op.
 */
static void
test_read_index_on_fresh_leader_waits_for_its_noop(void)
{
	cluster    *c = cl_new(3);

	cl_start_all(c);
	CHECK(cl_campaign(c, 1) == RAFT_OK);
	/* deliver only the votes: node 1 leads, its no-op not yet replicated */
	while (cl_deliver_first(c, 1, RAFT_NONE, RAFT_MSG_REQUEST_VOTE) ||
		   cl_deliver_first(c, RAFT_NONE, 1, RAFT_MSG_REQUEST_VOTE_RESULT))
		;
	REQUIRE(cl_is_leader(c, 1));
	CHECK(cl_status(c, 1).commitIndex == 0);

	CHECK(raft_read_index(c->node[1].raft, 5) == RAFT_OK);
	cl_process(c, 1);
	CHECK(c->node[1].nReads == 0);
	cl_deliver_all(c);
	REQUIRE(c->node[1].nReads == 1);
	CHECK(c->node[1].reads[0].requestId == 5);
	CHECK(c->node[1].reads[0].readIndex == 1);	/* the no-op */
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * A deposed leader never answers a read: cut off, it cannot collect a
 * majority of heartbeat answers, while the others elect a new leader and
 * commit new writes its read would miss.
 */
static void
test_read_index_deposed_leader_never_answers(void)
{
	cluster    *c = cl_new(3);
	raft_node_id leader = RAFT_NONE;
	unsigned	t;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	cl_run(c, CL_HEARTBEAT);

	cl_isolate(c, 1, true);
	CHECK(raft_read_index(c->node[1].raft, 9) == RAFT_OK);
	cl_process(c, 1);
	for (t = 0; t < 20 * CL_ELECTION_MAX; t++)
	{
		cl_tick_all(c);
		leader = cl_leader(c);
		if (leader != 1 && leader != RAFT_NONE)
			break;
	}
	REQUIRE(leader != 1 && leader != RAFT_NONE);
	CHECK(cl_propose(c, leader, "newer", NULL) == RAFT_OK);
	cl_run(c, 5 * CL_ELECTION_MAX);
	CHECK(c->node[1].nReads == 0);

	cl_heal(c);
	cl_run(c, 3 * CL_ELECTION_MAX);
	CHECK(cl_status(c, 1).role == RAFT_FOLLOWER);
	CHECK(c->node[1].nReads == 0);
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/* A 1-node cluster is its own majority: it elects itself and commits alone. */
static void
test_single_node_cluster(void)
{
	cluster    *c = cl_new(1);
	raft_index	idx;

	cl_start_all(c);
	REQUIRE(cl_run_until_leader(c, 2 * CL_ELECTION_MAX) == 1);
	CHECK(cl_status(c, 1).currentTerm == 1);
	CHECK(cl_propose(c, 1, "a", &idx) == RAFT_OK);
	CHECK(idx == 2);
	CHECK(cl_propose(c, 1, "b", NULL) == RAFT_OK);
	CHECK(cl_propose(c, 1, "c", NULL) == RAFT_OK);
	CHECK(cl_status(c, 1).commitIndex == 4);
	REQUIRE(c->node[1].sm.n == 4);
	CHECK(c->node[1].sm.e[0].type == RAFT_ENTRY_NOOP);
	CHECK(cl_entry_data_is(&c->node[1].sm.e[1], "a"));
	CHECK(cl_entry_data_is(&c->node[1].sm.e[3], "c"));
	CHECK(c->qn == 0);			/* nobody to talk to */
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * Crash and restart from disk: a node keeps its term, its vote and its
 * log, and does not hand out again what its host already applied; a
 * whole-cluster restart loses nothing committed.
 */
static void
test_crash_restart_keeps_state(void)
{
	cluster    *c = cl_new(3);
	raft_status before,
				after;
	raft_index	appliedBefore;
	raft_node_id leader;
	raft_term	termBefore;
	char		buf[16];
	int			k;
	size_t		i;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	for (k = 0; k < 10; k++)
	{
		snprintf(buf, sizeof(buf), "v%d", k);
		CHECK(cl_propose(c, 1, buf, NULL) == RAFT_OK);
	}
	cl_run(c, CL_HEARTBEAT);

	before = cl_status(c, 2);
	appliedBefore = c->node[2].applied;
	CHECK(appliedBefore == 11);
	cl_crash(c, 2);
	REQUIRE(cl_start(c, 2) == RAFT_OK);
	after = cl_status(c, 2);
	CHECK(after.currentTerm == before.currentTerm);
	CHECK(after.votedFor == before.votedFor);
	CHECK(after.votedFor == 1);
	CHECK(after.lastLogIndex == before.lastLogIndex);
	CHECK(after.lastLogTerm == before.lastLogTerm);
	CHECK(after.lastApplied == appliedBefore);
	cl_process(c, 2);
	CHECK(c->node[2].sm.n == appliedBefore);	/* nothing handed out twice */

	CHECK(cl_propose(c, 1, "after-restart", NULL) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);
	CHECK(c->node[2].applied == 12);
	CHECK(cl_applied_data(c, 2, "after-restart"));

	/* everyone down at once, everyone back */
	termBefore = cl_status(c, 1).currentTerm;
	for (i = 1; i <= c->n; i++)
		cl_crash(c, (raft_node_id) i);
	cl_drop_all(c);
	cl_start_all(c);
	for (i = 1; i <= c->n; i++)
	{
		CHECK(cl_status(c, (raft_node_id) i).currentTerm == termBefore);
		CHECK(cl_status(c, (raft_node_id) i).lastLogIndex == 12);
		CHECK(cl_status(c, (raft_node_id) i).lastApplied == c->node[i].applied);
	}
	leader = cl_run_until_leader(c, 20 * CL_ELECTION_MAX);
	REQUIRE(leader != RAFT_NONE);
	CHECK(cl_status(c, leader).currentTerm > termBefore);
	CHECK(cl_propose(c, leader, "after-all", NULL) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);
	for (i = 1; i <= c->n; i++)
	{
		CHECK(cl_applied_data(c, (raft_node_id) i, "after-all"));
		CHECK(c->node[i].sm.n == c->node[i].applied);
		CHECK(c->node[i].sm.n == 14);	/* 12 + the new no-op + after-all */
	}
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

/*
 * A running cluster of n (pre-vote and check-quorum on, as raft_ext runs
 * it; seeds from seedBase) with a leader that has committed "before",
 * stopped right after a heartbeat reached every follower, so that every
 * follower's election timer has just restarted.  Returns the leader.
 */
static raft_node_id
failover_setup(cluster *c, uint64_t seedBase)
{
	raft_node_id leader;
	size_t		i;
	unsigned	t;

	cl_set_options(c, true, true);
	for (i = 1; i <= c->n; i++)
		c->node[i].cfg.seed = seedBase + 17 * i;
	cl_start_all(c);
	leader = cl_run_until_leader(c, 10 * CL_ELECTION_MAX);
	if (leader == RAFT_NONE)
		return RAFT_NONE;
	cl_run(c, CL_ELECTION_MAX);
	if (cl_propose(c, leader, "before", NULL) != RAFT_OK)
		return RAFT_NONE;
	cl_run(c, 2 * CL_HEARTBEAT);

	/* only the leader's clock runs until it sends its next heartbeat */
	for (t = 0; t < 2 * CL_HEARTBEAT && cl_count_msgs(c, leader, RAFT_NONE, RAFT_MSG_APPEND_ENTRIES) == 0; t++)
		cl_tick(c, leader);
	if (cl_count_msgs(c, leader, RAFT_NONE, RAFT_MSG_APPEND_ENTRIES) != c->n - 1)
		return RAFT_NONE;
	cl_deliver_all(c);
	cl_crash(c, leader);
	return leader;
}

/* Rounds of ticks (all running nodes) until some running node leads; maxTicks + 1 if none did. */
static unsigned
ticks_until_new_leader(cluster *c, unsigned maxTicks)
{
	unsigned	t;

	for (t = 0; t < maxTicks && cl_leader(c) == RAFT_NONE; t++)
		cl_tick_all(c);
	return cl_leader(c) == RAFT_NONE ? maxTicks + 1 : t;
}

/*
 * Fast failover: the leader's process dies and every survivor's host sees
 * the connection reset (raft_leader_unreachable).  Told nothing, the
 * survivors wait out a whole election timeout (at least electionTickMin
 * ticks after the last heartbeat) before anyone even polls; told, the
 * first of them polls within CL_HINT_SPAN ticks and, its peers no longer
 * in the lease, wins at once.  Both runs start from the same state (same
 * seeds, same calls): a twin cluster.  Either way the new leader has the
 * committed entry and commits new ones, and the old leader rejoins.
 *
 * Returns whether the told cluster elected within CL_HINT_SPAN + 2 ticks,
 * in one election round.  Survivors that polled at the same tick could
 * split the vote and then wait a full timeout like everyone else; their
 * delays are drawn in disjoint windows so that this does not happen.
 */
static bool
failover_hint_case(size_t n, uint64_t seedBase)
{
	cluster    *plain = cl_new(n);
	cluster    *told = cl_new(n);
	raft_node_id old,
				oldTwin,
				leader;
	raft_term	oldTerm;
	unsigned	tPlain,
				tTold;
	size_t		i;
	bool		fast = false;

	old = failover_setup(plain, seedBase);
	oldTwin = failover_setup(told, seedBase);
	if (old == RAFT_NONE || oldTwin != old)
	{
		CHECK(old != RAFT_NONE && oldTwin == old);
		goto done;
	}
	oldTerm = plain->node[old].hs.currentTerm;

	tPlain = ticks_until_new_leader(plain, 20 * CL_ELECTION_MAX);

	for (i = 1; i <= n; i++)
		if (i != old)
			CHECK(cl_leader_unreachable(told, (raft_node_id) i, old) == RAFT_OK);
	tTold = ticks_until_new_leader(told, 20 * CL_ELECTION_MAX);

	CHECK(tPlain >= CL_ELECTION_MIN);
	CHECK(tPlain <= 20 * CL_ELECTION_MAX);
	CHECK(tTold >= 1);
	CHECK(tTold <= 20 * CL_ELECTION_MAX);
	leader = cl_leader(told);
	if (leader == RAFT_NONE || leader == old)
	{
		CHECK(leader != RAFT_NONE && leader != old);
		goto done;
	}
	fast = tTold <= CL_HINT_SPAN + 2 &&
		cl_status(told, leader).currentTerm == oldTerm + 1;
	printf("     %zu nodes, seeds %llu: new leader after %u ticks when told, %u ticks when not%s\n",
		   n, (unsigned long long) seedBase, tTold, tPlain, fast ? "" : " (split vote)");

	CHECK(cl_propose(told, leader, "after", NULL) == RAFT_OK);
	cl_run(told, 2 * CL_HEARTBEAT);
	for (i = 1; i <= n; i++)
	{
		if (i == old)
			continue;
		CHECK(cl_status(told, (raft_node_id) i).leader == leader);
		CHECK(cl_applied_data(told, (raft_node_id) i, "before"));
		CHECK(cl_applied_data(told, (raft_node_id) i, "after"));
	}

	/* the old leader comes back and follows */
	CHECK(cl_start(told, old) == RAFT_OK);
	cl_run(told, 2 * CL_ELECTION_MAX);
	CHECK(cl_is_leader(told, leader));
	CHECK(cl_status(told, old).leader == leader);
	CHECK(cl_applied_data(told, old, "after"));

done:
	CHECK_NO_VIOLATIONS(plain);
	CHECK_NO_VIOLATIONS(told);
	cl_free(plain);
	cl_free(told);
	return fast;
}

/*
 * Over 32 crashes (3 and 5 nodes, 16 seed sets each): every time, the
 * cluster not told waits at least electionTickMin; every time the told one
 * elects within CL_HINT_SPAN + 2 ticks (no split vote: the survivors' delays
 * are staggered).  Deterministic: the seeds are fixed.
 */
static void
test_leader_crash_hint_fast_failover(void)
{
	unsigned	k,
				cases = 0,
				fast = 0;

	for (k = 0; k < 16; k++)
	{
		cases += 2;
		fast += failover_hint_case(3, 1000 + 100 * k) ? 1 : 0;
		fast += failover_hint_case(5, 1000 + 100 * k) ? 1 : 0;
	}
	printf("     fast failovers: %u of %u\n", fast, cases);
	/* the survivors poll in staggered windows: no split vote, ever */
	CHECK(fast == cases);
}

/*
 * A false hint: one follower is told the leader is gone while the leader
 * is alive and the others hear it.  The follower forgets the leader and
 * polls soon, but the others are in check-quorum's lease and ignore the
 * poll, the leader's next heartbeat makes it a follower again, and nobody
 * changes term: the leader keeps its leadership.
 */
static void
test_spurious_leader_unreachable_hint_does_not_depose_leader(void)
{
	cluster    *c = cl_new(3);
	raft_node_id leader,
				f;
	raft_term	term;
	unsigned	t;
	size_t		i;
	bool		termChanged = false;

	cl_set_options(c, true, true);
	cl_start_all(c);
	leader = cl_run_until_leader(c, 10 * CL_ELECTION_MAX);
	REQUIRE(leader != RAFT_NONE);
	cl_run(c, CL_ELECTION_MAX);
	term = cl_status(c, leader).currentTerm;
	f = leader == 1 ? 2 : 1;

	CHECK(cl_leader_unreachable(c, f, leader) == RAFT_OK);
	CHECK(cl_status(c, f).leader == RAFT_NONE);

	/* only f's clock runs until it polls: its poll reaches everyone */
	for (t = 0; t < CL_ELECTION_MAX && cl_status(c, f).role == RAFT_FOLLOWER; t++)
	{
		cl_tick(c, f);
		cl_deliver_all(c);
	}
	CHECK(t <= CL_HINT_SPAN);
	CHECK(cl_status(c, f).role == RAFT_PRE_CANDIDATE);
	CHECK(cl_is_leader(c, leader));

	for (t = 0; t < 5 * CL_ELECTION_MAX; t++)
	{
		cl_tick_all(c);
		for (i = 1; i <= c->n; i++)
			if (cl_status(c, (raft_node_id) i).currentTerm != term)
				termChanged = true;
	}
	CHECK(!termChanged);
	CHECK(cl_is_leader(c, leader));
	CHECK(cl_count_leaders(c) == 1);
	CHECK(cl_status(c, f).role == RAFT_FOLLOWER);
	CHECK(cl_status(c, f).leader == leader);
	CHECK(cl_propose(c, leader, "still", NULL) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);
	CHECK(cl_applied_data(c, f, "still"));
	CHECK_NO_VIOLATIONS(c);
	cl_free(c);
}

int
main(void)
{
	/* line by line: a sanitizer report at exit must not swallow the results */
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN_TEST(test_first_election_from_cold_start);
	RUN_TEST(test_split_vote);
	RUN_TEST(test_leader_loss_and_reelection);
	RUN_TEST(test_follower_catch_up);
	RUN_TEST(test_figure8_old_term_entry_not_committed_then_overwritten);
	RUN_TEST(test_figure8_current_term_entry_commits_old_one);
	RUN_TEST(test_prevote_partitioned_node_does_not_disrupt);
	RUN_TEST(test_prevote_stale_node_rejoins_quietly);
	RUN_TEST(test_check_quorum_isolated_leader_steps_down);
	RUN_TEST(test_check_quorum_leader_with_majority_stays);
	RUN_TEST(test_transfer_to_caught_up_follower);
	RUN_TEST(test_transfer_to_lagging_follower_catches_it_up_first);
	RUN_TEST(test_read_index_on_leader);
	RUN_TEST(test_read_index_on_follower);
	RUN_TEST(test_read_index_on_fresh_leader_waits_for_its_noop);
	RUN_TEST(test_read_index_deposed_leader_never_answers);
	RUN_TEST(test_single_node_cluster);
	RUN_TEST(test_crash_restart_keeps_state);
	RUN_TEST(test_leader_crash_hint_fast_failover);
	RUN_TEST(test_spurious_leader_unreachable_hint_does_not_depose_leader);
	return test_summary("test_scenarios");
}
