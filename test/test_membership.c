/*
 * test_membership.c — rule tests of membership (src/raft/membership.c;
 * raft.h, "Membership"): single-server changes through RAFT_ENTRY_CONFIG
 * entries, learners, removal (the leader's own too), the configuration's
 * life in the log (append, truncation, compaction, restore), the forced
 * configuration, and what nodes outside the configuration may do.
 *
 * Clusters are cluster.h's: nodes 1..3 start as the voters {1, 2, 3};
 * nodes 4 and 5, when present, start with an EMPTY configuration (servers
 * to be added), and learn theirs from their leader's log.
 */
#include <string.h>

#include "cluster.h"
#include "testlib.h"

static const raft_node_id three[] = {1, 2, 3};

/* the core's grace (raft_int.h, RAFT_REMOVED_GRACE_HEARTBEATS) */
#define RAFT_REMOVED_GRACE_HEARTBEATS_FOR_TEST 20


static int
change(cluster *c, raft_node_id on, raft_change_type type, raft_node_id id, raft_index *index)
{
	char		addr[32];
	int			rc;

	snprintf(addr, sizeof(addr), "host%llu:5432", (unsigned long long) id);
	rc = raft_propose_change(c->node[on].raft, type, id, addr, (uint32_t) strlen(addr), index, NULL);
	cl_process(c, on);
	return rc;
}

static size_t
members_of(cluster *c, raft_node_id id, raft_member *out, raft_index *index, bool *committed)
{
	return raft_get_configuration(c->node[id].raft, out, RAFT_MAX_MEMBERS, index, committed);
}

static bool
has_member(cluster *c, raft_node_id on, raft_node_id id, bool voter)
{
	raft_member m[RAFT_MAX_MEMBERS];
	size_t		n = members_of(c, on, m, NULL, NULL),
				i;

	for (i = 0; i < n; i++)
		if (m[i].id == id)
			return m[i].voter == voter;
	return false;
}

/* A 3-voter cluster led by 1 with a learner 4 caught up. */
static cluster *
with_learner(bool preVote, bool checkQuorum)
{
	cluster    *c = cl_new_three_voters(4, preVote, checkQuorum);

	cl_elect(c, 1);
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 4, NULL) == RAFT_OK);
	cl_deliver_all(c);
	cl_run(c, 3);
	return c;
}

/* ---------------------------------------------------------------------
 * The configuration encoding and creation
 * --------------------------------------------------------------------- */
static void
test_create_forms(void)
{
	raft_config cfg;
	raft_node  *n = NULL;
	raft_member m[3];
	raft_member got[4];
	raft_status st;
	raft_index	idx = 99;
	bool		committed = false;

	memset(&cfg, 0, sizeof(cfg));
	cfg.id = 2;
	cfg.electionTickMin = 10;
	cfg.electionTickMax = 20;
	cfg.heartbeatTick = 2;
	memset(m, 0, sizeof(m));
	m[0].id = 1; m[0].voter = true; m[0].address = "a"; m[0].addressLen = 1;
	m[1].id = 3; m[1].voter = true; m[1].address = "ccc"; m[1].addressLen = 3;
	m[2].id = 7; m[2].voter = false;
	cfg.members = m;
	cfg.nMembers = 3;

	/* members: this node need not be one (restored after its removal) */
	REQUIRE(raft_node_create(&cfg, NULL, NULL, 0, 0, &n) == RAFT_OK);
	raft_get_status(n, &st);
	CHECK(st.nMembers == 3 && st.nVoters == 2 && !st.isVoter && st.configIndex == 0 && st.configCommitted);
	CHECK(raft_get_configuration(n, got, 4, &idx, &committed) == 3 && idx == 0 && committed);
	CHECK(got[1].id == 3 && got[1].addressLen == 3 && memcmp(got[1].address, "ccc", 3) == 0);
	CHECK(got[2].id == 7 && !got[2].voter);
	/* cap smaller than the configuration: counts all, copies cap */
	CHECK(raft_get_configuration(n, got, 1, NULL, NULL) == 3 && got[0].id == 1);
	/* never campaigns */
	CHECK(raft_campaign(n) == RAFT_OK);
	raft_get_status(n, &st);
	CHECK(st.role == RAFT_FOLLOWER && st.currentTerm == 0);
	raft_node_destroy(n);

	/* both forms: refused; unsorted, duplicate, no voter: refused */
	cfg.voters = three;
	cfg.nVoters = 3;
	CHECK(raft_node_create(&cfg, NULL, NULL, 0, 0, &n) == RAFT_EINVAL);
	cfg.voters = NULL;
	cfg.nVoters = 0;
	m[1].id = 1;
	CHECK(raft_node_create(&cfg, NULL, NULL, 0, 0, &n) == RAFT_EINVAL);
	m[1].id = 3;
	m[0].voter = m[1].voter = false;
	CHECK(raft_node_create(&cfg, NULL, NULL, 0, 0, &n) == RAFT_EINVAL);
	m[0].voter = true;

	/* empty: a server waiting to be added */
	cfg.members = NULL;
	cfg.nMembers = 0;
	REQUIRE(raft_node_create(&cfg, NULL, NULL, 0, 0, &n) == RAFT_OK);
	raft_get_status(n, &st);
	CHECK(st.nMembers == 0 && st.nVoters == 0 && !st.isVoter);
	CHECK(raft_campaign(n) == RAFT_OK);
	{
		unsigned	t;

		for (t = 0; t < 100; t++)
			CHECK(raft_tick(n) == RAFT_OK);
	}
	CHECK(!raft_has_ready(n));
	raft_node_destroy(n);
}

static void
test_restore_with_configuration_entries(void)
{
	raft_config cfg;
	raft_node  *n = NULL;
	raft_member m[2];
	uint8_t		buf[64];
	size_t		len = 0;
	raft_entry	e[3];
	raft_hard_state hs = {3, 0};
	raft_status st;
	raft_member got[4];
	raft_index	idx = 0;
	bool		committed = true;

	memset(&cfg, 0, sizeof(cfg));
	cfg.id = 1;
	cfg.electionTickMin = 10;
	cfg.electionTickMax = 20;
	cfg.heartbeatTick = 2;
	cfg.voters = three;
	cfg.nVoters = 3;

	memset(m, 0, sizeof(m));
	m[0].id = 1; m[0].voter = true;
	m[1].id = 9; m[1].voter = false; m[1].address = "nine"; m[1].addressLen = 4;
	REQUIRE(raft_configuration_encode(m, 2, buf, sizeof(buf), &len) == RAFT_OK);
	memset(e, 0, sizeof(e));
	e[0].term = 2; e[0].index = 11; e[0].type = RAFT_ENTRY_NORMAL;
	e[1].term = 2; e[1].index = 12; e[1].type = RAFT_ENTRY_CONFIG; e[1].data = buf; e[1].len = (uint32_t) len;
	e[2].term = 3; e[2].index = 13; e[2].type = RAFT_ENTRY_NOOP;

	/* compacted to 10; the log's configuration entry overrides the base */
	REQUIRE(raft_node_restore(&cfg, &hs, 10, 2, e, 3, 11, &n) == RAFT_OK);
	raft_get_status(n, &st);
	CHECK(st.nMembers == 2 && st.nVoters == 1 && st.isVoter && st.configIndex == 12 && !st.configCommitted);
	CHECK(raft_get_configuration(n, got, 4, &idx, &committed) == 2 && idx == 12 && !committed);
	CHECK(got[1].id == 9 && got[1].addressLen == 4 && memcmp(got[1].address, "nine", 4) == 0);
	raft_node_destroy(n);

	/* a malformed configuration entry in the log: refused */
	buf[0] = 2;
	CHECK(raft_node_restore(&cfg, &hs, 10, 2, e, 3, 11, &n) == RAFT_EINVAL);
}

/* ---------------------------------------------------------------------
 * raft_propose_change's rules
 * --------------------------------------------------------------------- */
static void
test_change_refused_before_first_commit_of_term(void)
{
	cluster    *c = cl_new_three_voters(4, false, false);
	raft_index	idx = 0;

	cl_campaign(c, 1);
	/* deliver the votes only: the leader's no-op is appended, not committed */
	while (cl_deliver_first(c, 2, 1, RAFT_MSG_REQUEST_VOTE_RESULT) ||
		   cl_deliver_first(c, 1, 2, RAFT_MSG_REQUEST_VOTE) ||
		   cl_deliver_first(c, 1, 3, RAFT_MSG_REQUEST_VOTE) ||
		   cl_deliver_first(c, 3, 1, RAFT_MSG_REQUEST_VOTE_RESULT))
		;
	REQUIRE(cl_is_leader(c, 1));
	CHECK(cl_status(c, 1).commitIndex < cl_status(c, 1).lastLogIndex);
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 4, &idx) == RAFT_EBUSY);
	cl_deliver_all(c);
	CHECK(cl_status(c, 1).commitIndex == cl_status(c, 1).lastLogIndex);
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 4, &idx) == RAFT_OK);
	CHECK(idx == cl_status(c, 1).lastLogIndex);
	CHECK(c->violations == 0);
	cl_free(c);
}

static void
test_one_change_at_a_time(void)
{
	cluster    *c = cl_new_three_voters(5, false, false);
	raft_index	idx = 0;
	raft_status st;

	cl_elect(c, 1);
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 4, &idx) == RAFT_OK);
	/* in effect on the leader at once, uncommitted */
	st = cl_status(c, 1);
	CHECK(st.nMembers == 4 && st.nVoters == 3 && st.configIndex == idx && !st.configCommitted);
	CHECK(has_member(c, 1, 4, false));
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 5, NULL) == RAFT_EBUSY);
	CHECK(change(c, 1, RAFT_CHANGE_PROMOTE, 4, NULL) == RAFT_EBUSY);
	cl_deliver_all(c);
	st = cl_status(c, 1);
	CHECK(st.configCommitted && st.commitIndex >= idx);
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 5, NULL) == RAFT_OK);
	cl_deliver_all(c);
	CHECK(cl_status(c, 1).nMembers == 5);
	CHECK(c->violations == 0);
	cl_free(c);
}

static void
test_change_refusals(void)
{
	cluster    *c = cl_new_three_voters(4, false, false);
	char		big[RAFT_MAX_ADDRESS_BYTES + 1];

	memset(big, 'x', sizeof(big));
	cl_elect(c, 1);
	/* not the leader */
	CHECK(change(c, 2, RAFT_CHANGE_ADD_LEARNER, 4, NULL) == RAFT_ENOTLEADER);
	/* adding a member, promoting a voter or a non-member, removing a non-member */
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 2, NULL) == RAFT_EINVAL);
	CHECK(change(c, 1, RAFT_CHANGE_PROMOTE, 2, NULL) == RAFT_EINVAL);
	CHECK(change(c, 1, RAFT_CHANGE_PROMOTE, 4, NULL) == RAFT_EINVAL);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 4, NULL) == RAFT_EINVAL);
	CHECK(change(c, 1, (raft_change_type) 9, 4, NULL) == RAFT_EINVAL);
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, RAFT_NONE, NULL) == RAFT_EINVAL);
	/* an address too long, or missing */
	CHECK(raft_propose_change(c->node[1].raft, RAFT_CHANGE_ADD_LEARNER, 4, big,
							  sizeof(big), NULL, NULL) == RAFT_EINVAL);
	CHECK(raft_propose_change(c->node[1].raft, RAFT_CHANGE_ADD_LEARNER, 4, NULL,
							  3, NULL, NULL) == RAFT_EINVAL);
	/* during a transfer */
	cl_cut_link(c, 1, 2, true);
	cl_rc(c, raft_propose(c->node[1].raft, "x", 1, NULL, NULL), "propose", 1);
	cl_process(c, 1);
	CHECK(raft_transfer_leadership(c->node[1].raft, 2) == RAFT_OK);
	CHECK(cl_status(c, 1).transferTarget == 2);
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 4, NULL) == RAFT_EBUSY);
	cl_drop_all(c);
	cl_free(c);

	/* the last voter cannot be removed */
	c = cl_new(1);
	cl_start_all(c);
	cl_elect(c, 1);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 1, NULL) == RAFT_EINVAL);
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 2, NULL) == RAFT_OK);
	cl_drop_all(c);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Learners
 * --------------------------------------------------------------------- */
static void
test_learner_catches_up_from_empty_and_is_promoted(void)
{
	cluster    *c = with_learner(true, true);
	raft_index	idx;
	raft_status st;
	raft_progress pr;
	size_t		i;
	bool		sawLearner = false;

	/* the empty server accepted its leader though not in its configuration */
	st = cl_status(c, 4);
	CHECK(st.nMembers == 4 && st.nVoters == 3 && !st.isVoter && st.leader == 1);
	CHECK(has_member(c, 4, 4, false) && has_member(c, 2, 4, false));
	CHECK(cl_propose(c, 1, "a", &idx) == RAFT_OK);
	cl_deliver_all(c);
	cl_run(c, 2);
	CHECK(cl_applied_data(c, 4, "a"));
	CHECK(cl_same_log(c, 1, 4));
	/* progress over the members, the learner's flagged */
	for (i = 0; raft_get_progress(c->node[1].raft, i, &pr); i++)
		if (pr.id == 4)
		{
			sawLearner = true;
			CHECK(!pr.voter && pr.matchIndex == cl_status(c, 1).lastLogIndex);
		}
		else
			CHECK(pr.voter);
	CHECK(sawLearner && i == 4);
	/* a learner cannot be handed leadership */
	CHECK(raft_transfer_leadership(c->node[1].raft, 4) == RAFT_EINVAL);

	CHECK(change(c, 1, RAFT_CHANGE_PROMOTE, 4, &idx) == RAFT_OK);
	cl_deliver_all(c);
	cl_run(c, 2);
	st = cl_status(c, 4);
	CHECK(st.isVoter && st.nVoters == 4 && st.configIndex == idx && st.configCommitted);
	/* now it can lead */
	CHECK(raft_transfer_leadership(c->node[1].raft, 4) == RAFT_OK);
	cl_process(c, 1);
	cl_deliver_all(c);
	CHECK(cl_is_leader(c, 4));
	CHECK(c->violations == 0);
	cl_free(c);
}

/* 3 voters + 1 learner: an entry held by the leader and the learner only is not committed. */
static void
test_learner_not_counted_in_commit(void)
{
	cluster    *c = with_learner(false, false);
	raft_index	idx = 0;

	cl_cut_link(c, 1, 2, true);
	cl_cut_link(c, 1, 3, true);
	CHECK(cl_propose(c, 1, "only-two", &idx) == RAFT_OK);
	cl_deliver_all(c);
	CHECK(cl_term_at(c, 4, idx) == cl_status(c, 1).currentTerm);
	CHECK(cl_status(c, 1).commitIndex < idx);
	CHECK(!cl_applied_data(c, 1, "only-two"));
	/* one more voter makes the majority */
	cl_cut_link(c, 1, 2, false);
	cl_run(c, 3);
	CHECK(cl_status(c, 1).commitIndex >= idx);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* A learner never campaigns; asked for its vote, it answers on the log (membership.c). */
static void
test_learner_never_campaigns_answers_votes_on_the_log(void)
{
	cluster    *c = with_learner(false, false);
	raft_status before = cl_status(c, 4);
	raft_message m;
	unsigned	t;

	cl_isolate(c, 4, true);
	for (t = 0; t < 200; t++)
		cl_tick(c, 4);
	CHECK(cl_count_msgs(c, 4, 0, RAFT_MSG_REQUEST_VOTE) == 0);
	CHECK(cl_count_msgs(c, 4, 0, RAFT_MSG_PRE_VOTE) == 0);
	CHECK(cl_status(c, 4).role == RAFT_FOLLOWER && cl_status(c, 4).currentTerm == before.currentTerm);
	CHECK(cl_campaign(c, 4) == RAFT_OK && cl_status(c, 4).role == RAFT_FOLLOWER);
	/* TimeoutNow starts nothing either */
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_TIMEOUT_NOW;
	m.from = 1;
	m.to = 4;
	m.term = before.currentTerm;
	CHECK(cl_step(c, 4, &m) == RAFT_OK);
	CHECK(cl_status(c, 4).role == RAFT_FOLLOWER && cl_status(c, 4).currentTerm == before.currentTerm);
	cl_drop_all(c);

	/*
	 * Asked (by a candidate whose configuration would make it a voter), it
	 * answers on the log alone: behind, refused; up to date, granted.
	 */
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_REQUEST_VOTE;
	m.from = 2;
	m.to = 4;
	m.term = before.currentTerm + 5;
	m.lastLogIndex = 1;
	m.lastLogTerm = 1;
	CHECK(cl_step(c, 4, &m) == RAFT_OK);
	{
		const raft_message *r = cl_find_msg(c, 4, 2, RAFT_MSG_REQUEST_VOTE_RESULT);

		CHECK(r != NULL && !r->voteGranted);
	}
	cl_drop_all(c);
	m.lastLogIndex = before.lastLogIndex + 10;
	m.lastLogTerm = before.currentTerm + 4;
	CHECK(cl_step(c, 4, &m) == RAFT_OK);
	{
		const raft_message *r = cl_find_msg(c, 4, 2, RAFT_MSG_REQUEST_VOTE_RESULT);

		CHECK(r != NULL && r->voteGranted);
		CHECK(cl_status(c, 4).votedFor == 2);
	}
	/* still never campaigns */
	CHECK(cl_status(c, 4).role == RAFT_FOLLOWER && !cl_status(c, 4).isVoter);
	cl_drop_all(c);
	for (t = 0; t < 200; t++)
		cl_tick(c, 4);
	CHECK(cl_count_msgs(c, 4, 0, RAFT_MSG_REQUEST_VOTE) == 0 &&
		  cl_count_msgs(c, 4, 0, RAFT_MSG_PRE_VOTE) == 0);
	cl_drop_all(c);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* Check-quorum counts voters: a leader hearing only its learner steps down. */
static void
test_check_quorum_counts_voters_only(void)
{
	cluster    *c = with_learner(false, true);
	unsigned	t;

	cl_cut_link(c, 1, 2, true);
	cl_cut_link(c, 1, 3, true);
	for (t = 0; t < 3 * CL_ELECTION_MAX && cl_is_leader(c, 1); t++)
	{
		cl_tick(c, 1);
		cl_tick(c, 4);
		cl_deliver_all(c);
	}
	CHECK(!cl_is_leader(c, 1));
	cl_drop_all(c);
	cl_free(c);
}

/* ReadIndex: learners' echoes do not confirm leadership. */
static void
test_read_index_needs_voters(void)
{
	cluster    *c = with_learner(false, false);
	size_t		i;

	cl_cut_link(c, 1, 2, true);
	cl_cut_link(c, 1, 3, true);
	CHECK(raft_read_index(c->node[1].raft, 77) == RAFT_OK);
	cl_process(c, 1);
	cl_deliver_all(c);
	cl_run(c, 3);
	for (i = 0; i < c->node[1].nReads; i++)
		CHECK(c->node[1].reads[i].requestId != 77);
	cl_heal(c);
	cl_run(c, 3);
	{
		bool		got = false;

		for (i = 0; i < c->node[1].nReads; i++)
			got = got || c->node[1].reads[i].requestId == 77;
		CHECK(got);
	}
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Removal
 * --------------------------------------------------------------------- */
static void
test_removed_voter(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	idx = 0;
	raft_status s1,
				s2;
	raft_message m;
	unsigned	t;

	cl_elect(c, 1);
	/* 3 never hears of its removal (test_removed_node_learns_its_removal: it does) */
	cl_cut_link(c, 1, 3, true);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 3, &idx) == RAFT_OK);
	cl_deliver_all(c);
	s1 = cl_status(c, 1);
	CHECK(s1.nVoters == 2 && s1.configCommitted && s1.commitIndex >= idx);
	CHECK(cl_status(c, 3).nVoters == 3);	/* it never heard */

	/* it campaigns (it does not know); members ignore it, terms untouched */
	for (t = 0; t < 100; t++)
	{
		cl_tick(c, 3);
		cl_tick(c, 1);
		cl_tick(c, 2);
		cl_deliver_all(c);
	}
	CHECK(cl_status(c, 3).currentTerm > s1.currentTerm);
	s2 = cl_status(c, 1);
	CHECK(s2.role == RAFT_LEADER && s2.currentTerm == s1.currentTerm);
	CHECK(cl_status(c, 2).currentTerm == s1.currentTerm);
	/* members drop its messages before the term rules */
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_ENTRIES_RESULT;
	m.from = 3;
	m.to = 1;
	m.term = s1.currentTerm + 50;
	m.success = true;
	m.matchIndex = 1;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_is_leader(c, 1) && cl_status(c, 1).currentTerm == s1.currentTerm);
	/* transfer to a non-member: refused */
	CHECK(raft_transfer_leadership(c->node[1].raft, 3) == RAFT_EINVAL);
	CHECK(c->violations == 0);
	cl_free(c);
}


/*
 * The leader goes on replicating to a member its latest configuration
 * removed (not counting it) until the removal is committed and the removed
 * node acknowledged holding it after being sent that commit: so it learns
 * it was removed and never stands again.  Then the leader stops.
 */
static void
test_removed_node_learns_its_removal(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	idx = 0;
	raft_status s1,
				s3;
	raft_progress pr;
	size_t		i;
	unsigned	t;

	cl_elect(c, 1);
	/* 3 is slow: the removal commits on {1, 2} before 3 hears anything */
	cl_cut_link(c, 1, 3, true);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 3, &idx) == RAFT_OK);
	cl_deliver_all(c);
	s1 = cl_status(c, 1);
	CHECK(s1.nVoters == 2 && s1.configCommitted);
	CHECK(cl_status(c, 3).nVoters == 3);
	/* the leader's view lists members only */
	for (i = 0; raft_get_progress(c->node[1].raft, i, &pr); i++)
		CHECK(pr.id != 3);
	CHECK(i == 2);
	CHECK(cl_propose(c, 1, "after", NULL) == RAFT_OK);
	cl_deliver_all(c);
	cl_cut_link(c, 1, 3, false);
	/* heartbeats still go to 3 and carry the commit; it answers */
	for (t = 0; t < CL_HEARTBEAT; t++)
		cl_tick(c, 1);
	CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_APPEND_ENTRIES) == 1);
	cl_deliver_all(c);
	for (t = 0; t < 3 * CL_HEARTBEAT; t++)
		cl_tick_all(c);
	s3 = cl_status(c, 3);
	/* up to the entry that removed it, nothing later (the leader's no-op, say, of a later term could win it votes) */
	CHECK(cl_status(c, 1).lastLogIndex > idx || cl_propose(c, 1, "after", NULL) == RAFT_OK);
	CHECK(s3.lastLogIndex == idx && s3.commitIndex >= idx && s3.configCommitted);
	CHECK(!s3.isVoter && s3.nVoters == 2 && s3.nMembers == 2);
	/* it never stands again, and the leader no longer sends to it */
	for (t = 0; t < 200; t++)
	{
		cl_tick(c, 1);
		cl_tick(c, 2);
		cl_tick(c, 3);
		CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_APPEND_ENTRIES) == 0);
		CHECK(cl_count_msgs(c, 3, 0, RAFT_MSG_PRE_VOTE) == 0 &&
			  cl_count_msgs(c, 3, 0, RAFT_MSG_REQUEST_VOTE) == 0);
		cl_deliver_all(c);
	}
	CHECK(cl_is_leader(c, 1) && cl_status(c, 1).currentTerm == s1.currentTerm);
	CHECK(cl_status(c, 3).role == RAFT_FOLLOWER);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * The same for a learner, and while the entry is uncommitted the removed
 * node is replicated to but never counted: {1, 2, 3} removing 3, with 2
 * down, does not commit on {1, 3}.
 */
static void
test_removed_node_not_counted(void)
{
	cluster    *c = with_learner(false, false);
	raft_index	idx = 0;
	unsigned	t;

	cl_isolate(c, 2, true);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 3, &idx) == RAFT_OK);
	CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_APPEND_ENTRIES) == 1);
	cl_deliver_all(c);
	/* 3 holds it, 1 holds it: not a majority of {1, 2} */
	CHECK(cl_status(c, 3).lastLogIndex >= idx);
	CHECK(cl_status(c, 1).commitIndex < idx);
	CHECK(!cl_status(c, 3).configCommitted);
	cl_isolate(c, 2, false);
	cl_run(c, 3 * CL_HEARTBEAT);
	CHECK(cl_status(c, 1).commitIndex >= idx);
	CHECK(cl_status(c, 3).configCommitted && cl_status(c, 3).nMembers == 3);

	/* now the learner 4 */
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 4, &idx) == RAFT_OK);
	cl_deliver_all(c);
	cl_run(c, 3 * CL_HEARTBEAT);
	CHECK(cl_status(c, 4).configCommitted && cl_status(c, 4).commitIndex >= idx &&
		  cl_status(c, 4).nMembers == 2);
	cl_drop_all(c);
	for (t = 0; t < 4 * CL_HEARTBEAT; t++)
		cl_tick(c, 1);
	CHECK(cl_count_msgs(c, 1, 4, RAFT_MSG_APPEND_ENTRIES) == 0 &&
		  cl_count_msgs(c, 1, 3, RAFT_MSG_APPEND_ENTRIES) == 0);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A removed node that is down: the leader gives up on it a bounded number
 * of heartbeat intervals after the removal committed.  A removed node's
 * answer at a higher term never deposes the leader.
 */
static void
test_removed_node_down_is_given_up(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	idx = 0;
	raft_message m;
	unsigned	t,
				sent = 0;

	cl_elect(c, 1);
	cl_isolate(c, 3, true);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 3, &idx) == RAFT_OK);
	cl_deliver_all(c);
	CHECK(cl_status(c, 1).configCommitted);
	for (t = 0; t < (RAFT_REMOVED_GRACE_HEARTBEATS_FOR_TEST + 5) * CL_HEARTBEAT; t++)
	{
		cl_tick(c, 1);
		sent += (unsigned) cl_count_msgs(c, 1, 3, RAFT_MSG_APPEND_ENTRIES);
		cl_drop_all(c);
	}
	CHECK(sent >= RAFT_REMOVED_GRACE_HEARTBEATS_FOR_TEST - 1 &&
		  sent <= RAFT_REMOVED_GRACE_HEARTBEATS_FOR_TEST + 2);
	for (t = 0; t < 10 * CL_HEARTBEAT; t++)
	{
		cl_tick(c, 1);
		CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_APPEND_ENTRIES) == 0);
		cl_drop_all(c);
	}

	/* a new removal: 2's answer at a higher term after its removal is not heard */
	cl_free(c);
	c = cl_new_three_voters(3, false, false);
	cl_elect(c, 1);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 3, &idx) == RAFT_OK);
	cl_drop_all(c);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_ENTRIES_RESULT;
	m.from = 3;
	m.to = 1;
	m.term = cl_status(c, 1).currentTerm + 5;
	m.success = true;
	m.matchIndex = idx;
	m.lastLogIndex = idx;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_is_leader(c, 1) && cl_status(c, 1).currentTerm + 5 == m.term);
	/* at its term it is heard, and counts for nothing */
	m.term = cl_status(c, 1).currentTerm;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).commitIndex < idx);
	CHECK(c->violations == 0);
	cl_free(c);
}


/*
 * A removed member that loses its state while the leader still replicates
 * to it (the removal not yet committed) is probed again from the start:
 * its refusals at an index it had matched must not make the leader resend
 * the same probe forever.
 */
static void
test_removed_node_that_lost_state(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	idx = 0;
	unsigned	t;

	cl_elect(c, 1);
	cl_isolate(c, 2, true);		/* {1, 2} cannot commit the removal of 3 */
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 3, &idx) == RAFT_OK);
	cl_deliver_all(c);
	CHECK(cl_status(c, 3).lastLogIndex >= idx && cl_status(c, 1).commitIndex < idx);
	/* 3's disk is lost; it comes back empty */
	cl_crash(c, 3);
	memset(&c->node[3].hs, 0, sizeof(raft_hard_state));
	cl_log_truncate(&c->node[3].log, 1);
	cl_log_truncate(&c->node[3].sm, 1);
	c->node[3].applied = 0;
	CHECK(cl_start(c, 3) == RAFT_OK);
	for (t = 0; t < 3 * CL_HEARTBEAT; t++)
	{
		cl_tick(c, 1);
		cl_deliver_all(c);
	}
	CHECK(c->violations == 0);	/* the network became quiet every time */
	CHECK(cl_status(c, 3).lastLogIndex == idx);
	cl_isolate(c, 2, false);
	cl_run(c, 4 * CL_HEARTBEAT);
	CHECK(cl_status(c, 1).commitIndex >= idx && cl_status(c, 3).configCommitted);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A removed voter that appended its removal may stand while that is
 * uncommitted (the previous configuration may need it), not counting its
 * own vote; once it knows it committed, it never campaigns.
 */
static void
test_removed_node_that_knows_never_campaigns(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	idx = 0;
	raft_term	term;
	size_t		k;
	unsigned	t;
	bool		sent = false;
	raft_message hb;

	cl_elect(c, 1);
	term = cl_status(c, 1).currentTerm;
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 3, &idx) == RAFT_OK);
	/* hand it the entry anyway, as a copy of what its peer got */
	for (k = 0; k < c->qn; k++)
		if (cl_msg_matches(&c->q[k].m, 1, 2, RAFT_MSG_APPEND_ENTRIES) && c->q[k].m.nEntries > 0)
		{
			cl_msg		copy = cl_msg_copy(&c->q[k].m);

			copy.m.to = 3;
			cl_rc(c, raft_step(c->node[3].raft, &copy.m), "raft_step", 3);
			cl_process(c, 3);
			cl_msg_free(&copy);
			sent = true;
			break;
		}
	REQUIRE(sent);
	CHECK(!cl_status(c, 3).isVoter && cl_status(c, 3).nMembers == 2 && !cl_status(c, 3).configCommitted);
	/* the leader's own messages (which would tell it the commit) are lost */
	cl_cut_link(c, 1, 3, true);
	cl_deliver_all(c);
	cl_cut_link(c, 1, 3, false);
	cl_drop_all(c);
	/*
	 * uncommitted as far as it knows: it stands, asking the voters {1, 2}
	 * only, and always with a poll first (pre-vote is off here)
	 */
	CHECK(cl_campaign(c, 3) == RAFT_OK);
	CHECK(cl_status(c, 3).role == RAFT_PRE_CANDIDATE);
	CHECK(cl_count_msgs(c, 3, 1, RAFT_MSG_PRE_VOTE) == 1 &&
		  cl_count_msgs(c, 3, 2, RAFT_MSG_PRE_VOTE) == 1 &&
		  cl_count_msgs(c, 3, 3, RAFT_MSG_PRE_VOTE) == 0 &&
		  cl_count_msgs(c, 3, 0, RAFT_MSG_REQUEST_VOTE) == 0);
	cl_drop_all(c);
	/* told the commit (a heartbeat of the leader of a later term, say): never again */
	memset(&hb, 0, sizeof(hb));
	hb.type = RAFT_MSG_APPEND_ENTRIES;
	hb.from = 1;
	hb.to = 3;
	hb.term = cl_status(c, 3).currentTerm;
	hb.prevLogIndex = idx;
	hb.prevLogTerm = term;
	hb.leaderCommit = idx;
	CHECK(cl_step(c, 3, &hb) == RAFT_OK);
	CHECK(cl_status(c, 3).configCommitted && cl_status(c, 3).role == RAFT_FOLLOWER);
	cl_drop_all(c);
	cl_isolate(c, 3, true);
	for (t = 0; t < 200; t++)
		cl_tick(c, 3);
	CHECK(cl_count_msgs(c, 3, 0, RAFT_MSG_PRE_VOTE) == 0 &&
		  cl_count_msgs(c, 3, 0, RAFT_MSG_REQUEST_VOTE) == 0);
	CHECK(cl_campaign(c, 3) == RAFT_OK && cl_status(c, 3).role == RAFT_FOLLOWER);
	cl_drop_all(c);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A leader that removed itself and lost its follower before the removal
 * committed (check-quorum) stands again: {1, 2} removing 1, only 1 holds
 * the entry, 2 (still on {1, 2}) cannot win without 1, whose log is
 * longer.  1 asks the new configuration's voter, wins without counting
 * itself, commits its removal and hands over.
 */
static void
test_removed_leader_stands_again_until_committed(void)
{
	cluster    *c = cl_new(2);
	raft_index	idx = 0;
	unsigned	t;

	cl_set_options(c, true, true);
	cl_start_all(c);
	cl_elect(c, 1);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 1, &idx) == RAFT_OK);
	cl_drop_all(c);
	cl_isolate(c, 1, true);
	for (t = 0; t < 3 * CL_ELECTION_MAX && cl_is_leader(c, 1); t++)
		cl_tick(c, 1);
	CHECK(!cl_is_leader(c, 1) && !cl_status(c, 1).configCommitted);
	cl_drop_all(c);
	cl_heal(c);
	for (t = 0; t < 20 * CL_ELECTION_MAX; t++)
	{
		cl_tick_all(c);
		if (cl_is_leader(c, 2) && cl_status(c, 2).configCommitted && cl_status(c, 2).nVoters == 1)
			break;
	}
	CHECK(cl_is_leader(c, 2) && cl_status(c, 2).nVoters == 1 && cl_status(c, 2).configIndex == idx);
	CHECK(cl_status(c, 1).configCommitted && !cl_status(c, 1).isVoter);
	CHECK(cl_count_leaders(c) == 1);
	CHECK(c->violations == 0);
	cl_free(c);
}

static void
test_leader_removal_hands_over(void)
{
	cluster    *c = cl_new_three_voters(3, true, true);
	raft_index	idx = 0;
	raft_status s;
	raft_term	t0;
	raft_node_id next;
	unsigned	t;

	cl_elect(c, 1);
	t0 = cl_status(c, 1).currentTerm;
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 1, &idx) == RAFT_OK);
	s = cl_status(c, 1);
	/* still leading, not a voter, not counting itself */
	CHECK(s.role == RAFT_LEADER && !s.isVoter && s.nVoters == 2 && s.commitIndex < idx);
	/* one follower acknowledging is not a majority of {2, 3} */
	while (cl_deliver_first(c, 1, 2, RAFT_MSG_APPEND_ENTRIES) ||
		   cl_deliver_first(c, 2, 1, RAFT_MSG_APPEND_ENTRIES_RESULT))
		;
	CHECK(cl_status(c, 1).commitIndex < idx && cl_is_leader(c, 1));
	/* both: committed; it hands over and steps down */
	while (cl_deliver_first(c, 1, 3, RAFT_MSG_APPEND_ENTRIES) ||
		   cl_deliver_first(c, 3, 1, RAFT_MSG_APPEND_ENTRIES_RESULT))
		;
	s = cl_status(c, 1);
	CHECK(s.role == RAFT_FOLLOWER && s.commitIndex >= idx);
	CHECK(cl_count_msgs(c, 1, 0, RAFT_MSG_TIMEOUT_NOW) == 1);
	cl_deliver_all(c);
	next = cl_leader(c);
	CHECK((next == 2 || next == 3) && cl_status(c, next).currentTerm == t0 + 1);
	/* the old leader never campaigns, even cut off */
	cl_isolate(c, 1, true);
	for (t = 0; t < 200; t++)
		cl_tick(c, 1);
	CHECK(cl_count_msgs(c, 1, 0, RAFT_MSG_PRE_VOTE) == 0 &&
		  cl_count_msgs(c, 1, 0, RAFT_MSG_REQUEST_VOTE) == 0);
	cl_heal(c);
	cl_drop_all(c);
	CHECK(cl_propose(c, next, "after", NULL) == RAFT_OK);
	cl_deliver_all(c);
	cl_run(c, 2);
	CHECK(cl_applied_data(c, next == 2 ? 3 : 2, "after"));
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * The configuration's life in the log
 * --------------------------------------------------------------------- */
static void
test_config_reverts_on_truncation(void)
{
	cluster    *c = cl_new(5);
	raft_index	idx = 0;
	raft_status st;
	size_t		k;

	cl_start_all(c);
	cl_elect(c, 1);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 5, &idx) == RAFT_OK);
	/* only 2 gets the entry, and its answer is lost */
	for (k = 0; k < c->qn;)
	{
		if (cl_msg_matches(&c->q[k].m, 1, 2, RAFT_MSG_APPEND_ENTRIES))
			cl_deliver_at(c, k);
		else
			k++;
	}
	cl_drop_all(c);
	st = cl_status(c, 2);
	CHECK(st.nMembers == 4 && st.configIndex == idx && !st.configCommitted);
	/* 3 leads a new term without it and overwrites it on 2 */
	cl_isolate(c, 1, true);
	REQUIRE(cl_elect(c, 3));
	cl_run(c, 2);
	st = cl_status(c, 2);
	CHECK(st.nMembers == 5 && st.configIndex == 0 && st.configCommitted);
	CHECK(cl_term_at(c, 2, idx) == cl_status(c, 3).currentTerm);
	CHECK(c->violations == 0);
	cl_free(c);
}

static void
test_compaction_keeps_configuration(void)
{
	cluster    *c = with_learner(false, false);
	raft_index	idx = 0,
				cfgIdx = 0,
				got = 0;
	raft_member m[RAFT_MAX_MEMBERS];
	bool		committed = false;
	raft_status st;

	members_of(c, 2, m, &cfgIdx, NULL);
	CHECK(cfgIdx > 0);
	CHECK(cl_propose(c, 1, "x", &idx) == RAFT_OK);
	cl_deliver_all(c);
	cl_run(c, 2);
	st = cl_status(c, 2);
	REQUIRE(st.lastApplied >= idx);
	CHECK(raft_compact(c->node[2].raft, st.lastApplied) == RAFT_OK);
	CHECK(members_of(c, 2, m, &got, &committed) == 4 && got == cfgIdx && committed);
	CHECK(m[3].id == 4 && !m[3].voter && m[3].addressLen == strlen("host4:5432") &&
		  memcmp(m[3].address, "host4:5432", m[3].addressLen) == 0);
	/* the leader too, and it still replicates and changes */
	st = cl_status(c, 1);
	CHECK(raft_compact(c->node[1].raft, st.lastApplied) == RAFT_OK);
	CHECK(members_of(c, 1, m, &got, NULL) == 4 && got == cfgIdx);
	CHECK(change(c, 1, RAFT_CHANGE_PROMOTE, 4, NULL) == RAFT_OK);
	cl_deliver_all(c);
	CHECK(cl_status(c, 4).isVoter && cl_status(c, 2).nVoters == 4);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Forced configuration
 * --------------------------------------------------------------------- */
static void
test_forced_configuration_lone_survivor(void)
{
	cluster    *c = cl_new_three_voters(3, true, true);
	raft_member alone;
	raft_member other;
	raft_index	idx = 0;
	raft_node_id leader;

	cl_elect(c, 1);
	CHECK(cl_propose(c, 1, "before", NULL) == RAFT_OK);
	cl_deliver_all(c);
	/* 3 holds an uncommitted entry when 1 and 2 are lost for good */
	cl_cut_link(c, 1, 2, true);
	CHECK(cl_propose(c, 1, "half", &idx) == RAFT_OK);
	cl_deliver_all(c);
	cl_crash(c, 1);
	cl_crash(c, 2);

	memset(&alone, 0, sizeof(alone));
	alone.id = 3;
	alone.voter = true;
	memset(&other, 0, sizeof(other));
	other.id = 2;
	other.voter = true;
	CHECK(raft_force_configuration(c->node[3].raft, &other, 1) == RAFT_EINVAL);
	other.voter = false;
	CHECK(raft_force_configuration(c->node[3].raft, &alone, 0) == RAFT_EINVAL);
	CHECK(raft_force_configuration(c->node[3].raft, &alone, 1) == RAFT_OK);
	cl_process(c, 3);
	CHECK(cl_status(c, 3).nVoters == 1 && cl_status(c, 3).isVoter);
	leader = cl_run_until_leader(c, 3 * CL_ELECTION_MAX);
	CHECK(leader == 3);
	cl_run(c, 1);
	CHECK(cl_applied_data(c, 3, "half"));
	CHECK(cl_propose(c, 3, "alone", NULL) == RAFT_OK);
	cl_run(c, 1);
	CHECK(cl_applied_data(c, 3, "alone"));
	/* it grows again the ordinary way */
	CHECK(change(c, 3, RAFT_CHANGE_ADD_LEARNER, 2, NULL) == RAFT_OK);
	CHECK(c->violations == 0);
	cl_free(c);
}

static void
test_forced_configuration_on_leader(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_member alone;

	cl_elect(c, 1);
	cl_isolate(c, 1, true);
	memset(&alone, 0, sizeof(alone));
	alone.id = 1;
	alone.voter = true;
	CHECK(raft_force_configuration(c->node[1].raft, &alone, 1) == RAFT_OK);
	cl_process(c, 1);
	CHECK(cl_is_leader(c, 1) && cl_status(c, 1).configCommitted);
	CHECK(cl_propose(c, 1, "solo", NULL) == RAFT_OK);
	CHECK(cl_applied_data(c, 1, "solo"));
	cl_drop_all(c);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Non-members
 * --------------------------------------------------------------------- */
static void
test_non_member_messages(void)
{
	cluster    *c = cl_new_three_voters(4, false, false);
	raft_message m;
	raft_status before;

	cl_elect(c, 1);
	before = cl_status(c, 2);
	/* a proposal from a non-member: ignored */
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_PROPOSE;
	m.from = 4;
	m.to = 1;
	m.term = before.currentTerm;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).lastLogIndex == cl_status(c, 2).lastLogIndex);
	/* ... but the empty node 4 takes its leader's AppendEntries (it is not in 4's configuration) */
	CHECK(cl_status(c, 4).nMembers == 0);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_ENTRIES;
	m.from = 1;
	m.to = 4;
	m.term = before.currentTerm;
	CHECK(cl_step(c, 4, &m) == RAFT_OK);
	CHECK(cl_status(c, 4).leader == 1 && cl_status(c, 4).currentTerm == before.currentTerm);
	CHECK(cl_count_msgs(c, 4, 1, RAFT_MSG_APPEND_ENTRIES_RESULT) == 1);
	/* the leader ignores the answer: 4 is not its member */
	cl_deliver_all(c);
	CHECK(cl_is_leader(c, 1));
	/* a malformed configuration entry is refused like any invalid message */
	{
		raft_entry	e;
		uint8_t		bad[3] = {1, 0, 0};

		memset(&e, 0, sizeof(e));
		e.term = before.currentTerm;
		e.index = cl_status(c, 2).lastLogIndex + 1;
		e.type = RAFT_ENTRY_CONFIG;
		e.data = bad;
		e.len = sizeof(bad);
		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_APPEND_ENTRIES;
		m.from = 1;
		m.to = 2;
		m.term = before.currentTerm;
		m.prevLogIndex = e.index - 1;
		m.prevLogTerm = cl_term_at(c, 2, e.index - 1);
		m.nEntries = 1;
		m.entries = &e;
		CHECK(raft_step(c->node[2].raft, &m) == RAFT_EINVAL);
	}
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * Vote requests from a node outside the configuration: dropped before the
 * term rules when the candidate's log lacks our configuration's entry (a
 * removed node that never got its removal), taken when it holds it (a
 * server added by an entry we may not have seen).
 */
static void
test_non_member_vote_requests(void)
{
	cluster    *c = cl_new_three_voters(5, false, false);
	raft_index	idx = 0;
	raft_term	t;
	raft_message m;

	cl_elect(c, 1);
	CHECK(change(c, 1, RAFT_CHANGE_REMOVE, 3, &idx) == RAFT_OK);
	cl_deliver_all(c);
	t = cl_status(c, 2).currentTerm;
	REQUIRE(cl_status(c, 2).configIndex == idx);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_REQUEST_VOTE;
	m.from = 3;
	m.to = 2;
	m.term = t + 3;
	m.lastLogIndex = idx - 1;
	m.lastLogTerm = t;
	CHECK(cl_step(c, 2, &m) == RAFT_OK);
	CHECK(cl_status(c, 2).currentTerm == t && c->qn == 0);
	m.type = RAFT_MSG_PRE_VOTE;
	CHECK(cl_step(c, 2, &m) == RAFT_OK && c->qn == 0);
	/* an older term with a longer log does not make up for it */
	m.lastLogIndex = idx + 100;
	m.lastLogTerm = t - 1;
	CHECK(cl_step(c, 2, &m) == RAFT_OK && c->qn == 0);
	/* holding the entry that removed it (it may stand then): still dropped */
	m.type = RAFT_MSG_REQUEST_VOTE;
	m.lastLogIndex = cl_status(c, 2).lastLogIndex;
	m.lastLogTerm = t;
	CHECK(cl_step(c, 2, &m) == RAFT_OK);
	CHECK(cl_status(c, 2).currentTerm == t && c->qn == 0);
	/* a node never in our configurations, holding the entry (added by one we lack): taken, granted */
	m.from = 5;
	CHECK(cl_step(c, 2, &m) == RAFT_OK);
	CHECK(cl_status(c, 2).currentTerm == t + 3);
	{
		const raft_message *r = cl_find_msg(c, 2, 5, RAFT_MSG_REQUEST_VOTE_RESULT);

		CHECK(r != NULL && r->voteGranted);
	}
	cl_drop_all(c);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * The 2015 counterexample (Ongaro, raft-dev, "bug in single-server
 * membership changes"), with a learner promoted instead of a server added:
 * voters {1, 2, 3, 4}, learner 5.  Leader 1 (term T1) promotes 5; only 5
 * gets the entry.  2 is elected in T2 by {2, 3, 4} without it.  Were 2 to
 * remove 4 at once, before committing an entry of T2, {2, 3} would commit
 * that with its no-op (a majority of {1, 2, 3}), and 1 could then be
 * elected in T3 by {1, 4, 5} (a majority of {1, 2, 3, 4, 5}, none of which
 * holds T2's entries) and overwrite them.  The core refuses the change
 * (RAFT_EBUSY) until 2 has committed an entry of T2; then it is safe.
 */
static void
test_2015_counterexample_refused(void)
{
	static const raft_node_id four[] = {1, 2, 3, 4};
	cluster    *c = cl_new(5);
	raft_index	idx = 0;
	size_t		k,
				i;
	int			rc;

	for (i = 1; i <= 4; i++)
	{
		c->node[i].cfg.voters = four;
		c->node[i].cfg.nVoters = 4;
	}
	c->node[5].cfg.voters = NULL;
	c->node[5].cfg.nVoters = 0;
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 5, NULL) == RAFT_OK);
	cl_deliver_all(c);
	cl_run(c, 2);
	REQUIRE(cl_status(c, 5).nMembers == 5);

	/* T1: promote 5; only 5 gets it */
	CHECK(change(c, 1, RAFT_CHANGE_PROMOTE, 5, &idx) == RAFT_OK);
	for (k = 0; k < c->qn;)
	{
		if (cl_msg_matches(&c->q[k].m, 1, 5, RAFT_MSG_APPEND_ENTRIES))
			cl_deliver_at(c, k);
		else
			k++;
	}
	cl_drop_all(c);
	CHECK(cl_status(c, 1).commitIndex < idx && cl_status(c, 5).nVoters == 5);

	/* T2: 2 elected by {2, 3, 4}; 4 hears nothing more from it */
	cl_isolate(c, 1, true);
	cl_isolate(c, 5, true);
	cl_campaign(c, 2);
	for (k = 0; k < c->qn;)
	{
		if (c->q[k].m.type == RAFT_MSG_REQUEST_VOTE)
			cl_deliver_at(c, k);
		else
			k++;
	}
	c->cut[2][4] = true;		/* 4's vote reaches 2; nothing of 2's reaches 4 */
	cl_deliver_all(c);
	REQUIRE(cl_is_leader(c, 2));
	CHECK(cl_status(c, 2).commitIndex < cl_status(c, 2).lastLogIndex);
	rc = change(c, 2, RAFT_CHANGE_REMOVE, 4, NULL);
	CHECK(rc == RAFT_EBUSY);
	/* what the rule prevents, if it were broken: the scenario plays on */
	cl_deliver_all(c);
	cl_run(c, 2);
	/* T3: 1 stands with {4, 5} */
	cl_isolate(c, 2, true);
	cl_isolate(c, 3, true);
	cl_isolate(c, 1, false);
	cl_isolate(c, 5, false);
	cl_cut_link(c, 1, 2, true);
	cl_cut_link(c, 1, 3, true);
	cl_cut_link(c, 5, 2, true);
	cl_cut_link(c, 5, 3, true);
	cl_cut_link(c, 4, 2, true);
	cl_cut_link(c, 4, 3, true);
	cl_drop_all(c);
	/* 1 still thinks it leads T1: it restarts, and 4 voted in T2, so T3 */
	cl_crash(c, 1);
	cl_rc(c, cl_start(c, 1), "restart", 1);
	for (i = 0; i < 3 && !cl_is_leader(c, 1); i++)
	{
		cl_campaign(c, 1);
		cl_deliver_all(c);
	}
	cl_run(c, 3);
	cl_heal(c);
	cl_run(c, 3 * CL_ELECTION_MAX);
	/* with the rule: nothing committed was lost (cluster.h checks every apply) */
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A lone voter wins its election at once but leads only once its vote for
 * itself is durable: crashing before that, it would win the same term
 * again and give out the same (index, term) for other contents (the
 * simulation found it once clusters could shrink to one voter).
 */
static void
test_lone_voter_leads_once_its_vote_is_durable(void)
{
	cluster    *c = cl_new(1);
	raft_index	idx = 0;
	raft_term	term = 0;

	cl_start_all(c);
	CHECK(raft_campaign(c->node[1].raft) == RAFT_OK);
	CHECK(cl_status(c, 1).role == RAFT_CANDIDATE && cl_status(c, 1).currentTerm == 1);
	CHECK(raft_propose(c->node[1].raft, "x", 1, NULL, NULL) == RAFT_ENOTLEADER);
	/* the batch holding its vote is lost with the process */
	cl_crash(c, 1);
	cl_rc(c, cl_start(c, 1), "restart", 1);
	CHECK(cl_status(c, 1).currentTerm == 0);
	CHECK(raft_campaign(c->node[1].raft) == RAFT_OK);
	cl_process(c, 1);
	CHECK(cl_is_leader(c, 1) && c->node[1].hs.currentTerm == 1 && c->node[1].hs.votedFor == 1);
	CHECK(raft_propose(c->node[1].raft, "y", 1, &idx, &term) == RAFT_OK && term == 1);
	cl_process(c, 1);
	CHECK(cl_applied_data(c, 1, "y"));
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A learner asked for its vote answers on the log: {1} + learner 2, 1
 * promotes 2 and restarts before 2 heard of it; 1 now needs 2's vote,
 * which a learner refusing all votes would never give.
 */
static void
test_promoted_learner_votes_before_it_knows(void)
{
	cluster    *c = cl_new(2);
	static const raft_node_id one[] = {1};
	raft_index	idx = 0;

	c->node[1].cfg.voters = one;
	c->node[1].cfg.nVoters = 1;
	c->node[2].cfg.voters = NULL;
	c->node[2].cfg.nVoters = 0;
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	CHECK(change(c, 1, RAFT_CHANGE_ADD_LEARNER, 2, NULL) == RAFT_OK);
	cl_deliver_all(c);
	cl_run(c, 2);
	CHECK(change(c, 1, RAFT_CHANGE_PROMOTE, 2, &idx) == RAFT_OK);
	cl_drop_all(c);
	cl_crash(c, 1);
	cl_rc(c, cl_start(c, 1), "restart", 1);
	CHECK(cl_status(c, 1).nVoters == 2 && !cl_status(c, 2).isVoter);
	CHECK(cl_run_until_leader(c, 5 * CL_ELECTION_MAX) == 1);
	cl_run(c, 2);
	CHECK(cl_status(c, 2).isVoter && cl_status(c, 1).configCommitted);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* Out of memory while a leader takes a new configuration: nothing changed. */
static int	failAfter = -1;

static void *
fail_malloc(void *ctx, size_t size)
{
	(void) ctx;
	if (failAfter == 0)
		return NULL;
	if (failAfter > 0)
		failAfter--;
	return malloc(size);
}

static void *
fail_realloc(void *ctx, void *p, size_t size)
{
	(void) ctx;
	if (failAfter == 0)
		return NULL;
	if (failAfter > 0)
		failAfter--;
	return realloc(p, size);
}

static void
fail_free(void *ctx, void *p)
{
	(void) ctx;
	free(p);
}

static void
test_change_out_of_memory(void)
{
	static const raft_allocator fa = {fail_malloc, fail_realloc, fail_free, NULL};
	cluster    *c = cl_new(3);
	int			k;
	bool		done = false;

	c->node[1].cfg.allocator = &fa;
	cl_start_all(c);
	cl_elect(c, 1);
	for (k = 0; k < 20 && !done; k++)
	{
		raft_status before = cl_status(c, 1),
					after;
		int			rc;

		failAfter = k;
		rc = raft_propose_change(c->node[1].raft, RAFT_CHANGE_ADD_LEARNER, 4, "a", 1, NULL, NULL);
		failAfter = -1;
		after = cl_status(c, 1);
		if (rc == RAFT_OK)
		{
			done = true;
			CHECK(after.nMembers == 4 && after.lastLogIndex == before.lastLogIndex + 1);
		}
		else
		{
			CHECK(rc == RAFT_ENOMEM);
			CHECK(after.nMembers == 3 && after.lastLogIndex == before.lastLogIndex &&
				  after.configIndex == before.configIndex);
		}
	}
	CHECK(done);
	cl_process(c, 1);
	cl_deliver_all(c);
	CHECK(cl_status(c, 2).nMembers == 4);
	CHECK(c->violations == 0);
	cl_free(c);
}

int
main(void)
{
	RUN_TEST(test_create_forms);
	RUN_TEST(test_restore_with_configuration_entries);
	RUN_TEST(test_change_refused_before_first_commit_of_term);
	RUN_TEST(test_one_change_at_a_time);
	RUN_TEST(test_change_refusals);
	RUN_TEST(test_2015_counterexample_refused);
	RUN_TEST(test_learner_catches_up_from_empty_and_is_promoted);
	RUN_TEST(test_learner_not_counted_in_commit);
	RUN_TEST(test_learner_never_campaigns_answers_votes_on_the_log);
	RUN_TEST(test_check_quorum_counts_voters_only);
	RUN_TEST(test_read_index_needs_voters);
	RUN_TEST(test_removed_voter);
	RUN_TEST(test_removed_node_that_knows_never_campaigns);
	RUN_TEST(test_removed_node_learns_its_removal);
	RUN_TEST(test_removed_node_not_counted);
	RUN_TEST(test_removed_node_down_is_given_up);
	RUN_TEST(test_removed_node_that_lost_state);
	RUN_TEST(test_removed_leader_stands_again_until_committed);
	RUN_TEST(test_leader_removal_hands_over);
	RUN_TEST(test_config_reverts_on_truncation);
	RUN_TEST(test_compaction_keeps_configuration);
	RUN_TEST(test_forced_configuration_lone_survivor);
	RUN_TEST(test_forced_configuration_on_leader);
	RUN_TEST(test_non_member_messages);
	RUN_TEST(test_non_member_vote_requests);
	RUN_TEST(test_lone_voter_leads_once_its_vote_is_durable);
	RUN_TEST(test_promoted_learner_votes_before_it_knows);
	RUN_TEST(test_change_out_of_memory);
	return test_summary("test_membership");
}
